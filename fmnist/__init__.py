"""The machinery behind the scripts at the top of the repository: one shared folder, and one
folder per script.

    core/      shared by every script: data, training (the one loop, `fit`, and the one
               prediction pass, `predict`), device and precision, memory, metrics,
               diagnostics (ROC, t-SNE), layers, stats (the one verdict rule), words, the
               command line, storage, files (JSON schemas), provenance, pages, plotting, and
               the assignment's two networks with their recipes
    handin/    fashionmnist.py and kernel_vis.py: questions 1-9 and figures.pdf
    analysis/  analyze.py: what the networks learned
    studies/   experiments.py: the engine, the study networks, one module per study
    reports/   report.py: one report per spec (reads the studies' results)
    bench/     benchmark.py: training-time budgets, runs against an earlier commit

Imports run one way: a script imports core/ and its own folder; a folder imports core/ and
itself (reports/ also studies/); core/ imports no folder; nothing here imports a script
(tests/test_layout.py holds the rule).
"""
