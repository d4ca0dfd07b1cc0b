"""The studies of experiments.py: the engine (the Study interface, resumable runs, tables, the
PDF), the run configuration (configs), one classifier run as every study trains it (measure),
the study networks, the figures, the fraction sweep, and one module per study. Nothing here
imports the top-level scripts."""
