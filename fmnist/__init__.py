"""The machinery behind the scripts at the top of the repository, one module per concern.

    data       find, check and load Fashion-MNIST (and the preprocessing)
    training   the one training loop (`fit`) and the one prediction pass (`predict`)
    metrics    everything derived from predictions: accuracy, confusion, per-class scores
    storage    staged outputs, safe checkpoint loading, JSON, the one-line-error parser
    plots      pure figure functions of the hand-in (questions 1-7)
    report     the hand-in's pages and figures.pdf
    kernels    what the CNN sees: kernels, responses, feature maps (kernel_vis.py)
    layers     the layer table: shapes, parameters, neurons, multiply-adds
    attribution  guided backpropagation and saliency
    fooling    the pixel attacks of the fooling curve
    analysis   analyze.py's computations; analysis_plots its figures

Scripts import this package; nothing here imports a script.
"""
