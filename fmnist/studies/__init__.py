"""The studies of experiments.py: the runner (resumable runs, tables, the PDF), one classifier
run as every study trains it, the statistics of every verdict, the figures, the fraction
sweep, and one module per study. Nothing here imports the top-level scripts."""
