"""Spec 001 (the hand-in): questions 1-9 in the assignment's order, from what fashionmnist.py
and kernel_vis.py wrote (metrics.json and the PNGs of figures.pdf). The PDF of the hand-in is
figures.pdf itself; these items give its LaTeX source."""
from fmnist.core import storage
from fmnist.core.assignment import MODELS, NAMES
from fmnist.core.words import training_words
from fmnist.handin import document
from fmnist.handin.answers import q8_paragraph, q9_paragraph
from fmnist.handin.readings import q7_summary, q7_table
from fmnist.reports.build import Item, handin_lines
from fmnist.reports.latex import Table, Text

H = "metrics"


def _png(*stems):
    return lambda src: [f"{s}.png" for s in stems if src.png(f"{s}.png").is_file()]


COLUMN_INCHES = {"examples": 3.4, "loss": 4.2}  # figures with room to spare at the column's default height


def drawn(src) -> dict:
    """The hand-in's figures drawn again for the column, from metrics.json, cnn.pth and
    sample_image.png, as fashionmnist.py and kernel_vis.py draw them for figures.pdf: questions
    1-7 as {stem: Figure} (5-7 left out where the weights or the sample image are missing),
    questions 8 and 9 as {"q8"/"q9": [figures and table dicts]} (document.question_column). Drawn
    once for the items that share them (kept in src.drawn)."""
    if not src.drawn:
        from fmnist.handin.kernels import CHANNELS, kernel_pages, load_image, q7_stages  # torch: this report only
        figs = {p.stem: p.fig for p in document.training_pages(src.metrics, column=True)}
        weights, sample = src.out_dir / "cnn.pth", src.out_dir / "sample_image.png"
        if weights.is_file() and sample.is_file():
            model = storage.load_weights(MODELS["cnn"](), weights, "CNN (Conv_Net)", "run python fashionmnist.py first")
            image, note = load_image(sample)
            pages = kernel_pages(model.eval(), image, note, CHANNELS, read_in_figure=False)
            figs.update({p.stem: p.fig for p in pages})
            src.drawn["q7"] = q7_stages(model, image, CHANNELS)
        for stem, fig in figs.items():
            fig.column_inches = COLUMN_INCHES.get(stem.split("_", 1)[-1])
        src.drawn.update(figs)
        src.drawn.update(document.question_column(src.metrics, document.read_locality(src.out_dir)))
    return src.drawn


def _figures(*stems):
    """An item's figures drawn for the column (drawn), each stem's PNG where it could not be drawn."""
    def visuals(src) -> list:
        figs = drawn(src)
        return [figs[s] if s in figs else f"{s}.png" for s in stems if s in figs or src.png(f"{s}.png").is_file()]
    return visuals


def _question(key: str, *stems):
    """Question 8's or 9's figures and tables drawn for the column, figures.pdf's pages (`stems`'
    PNGs) where metrics.json has no such entry."""
    def visuals(src) -> list:
        shown = drawn(src).get(key)
        return ([Text(v["text"]) if isinstance(v, dict) and "text" in v else Table(v) if isinstance(v, dict) else v
                 for v in shown] if shown else _png(*stems)(src))
    return visuals


def parameters(src) -> str:
    return "\n".join(f"{NAMES[k]}: {net['parameters']['total']:,} trainable parameters."
                     for k, net in src.metrics["networks"].items())


def q8(src) -> str:
    q = src.metrics["questions"]["q8"]
    comparisons, _ = document.locality_note(document.read_locality(src.out_dir))
    configs = {k: net.get("config", {}) for k, net in src.metrics["networks"].items()}
    return q8_paragraph(q, comparisons, shift=2, configs=configs)


def q9(src) -> str:
    return q9_paragraph(src.metrics["questions"]["q9"], stages=False)  # each stage's reading under its patches


def setup(src) -> list[str]:
    return handin_lines(src, studies=False) + [
        f"- {NAMES[k]}: {document.architecture_words(net['parameters'])}; {net['parameters']['total']:,} parameters"
        + (f"; {training_words(net['config'])}; {document.evaluation_words(net['config'])}." if net.get("config")
           else ".")
        for k, net in src.metrics["networks"].items()
    ]


ITEMS = [
    Item(
        "1",
        "a correct and an incorrect test prediction per network",
        "For each neural network, submit a figure "
        "containing one image that is classified incorrectly by the model, and one image classified correctly by the "
        "model, with the network, the predicted and the true classes.",
        (H,),
        _figures("ffn_examples", "cnn_examples"),
        None,
        "3",
    ),
    Item(
        "2",
        "training loss over time per network",
        "For each neural network, submit one plot showing your training loss over time.",
        (H,),
        _figures("ffn_loss", "cnn_loss"),
        None,
        "2",
    ),
    Item(
        "3",
        "parameters per network",
        "For each neural network, submit its total number of parameters.",
        (H,),
        _figures("ffn_parameters", "cnn_parameters"),
        parameters,
        "1",
    ),
    Item(
        "4",
        "confusion matrices on the test data",
        "For each neural network, submit a confusion matrix plot on the "
        "test data, with predicted and true classes labelled.",
        (H,),
        _figures("ffn_confusion", "cnn_confusion"),
        None,
        "2",
    ),
    Item(
        "5",
        "first-layer kernels",
        "Submit a plot of the kernels your model learns at the first convolutional layer, arranged in a grid.",
        (H,),
        _figures("cnn_kernels"),
        None,
        "4",
    ),
    Item(
        "6",
        "the sample image through each first-layer kernel",
        "Submit a plot of the features extracted from the "
        "sample image by each of the kernels at the first convolutional layer, arranged in a grid.",
        (H,),
        _figures("cnn_kernel_responses"),
        None,
        "4",
    ),
    Item(
        "7",
        "feature maps through every layer",
        "Process the provided sample image through each layer of your CNN and "
        "visualize the feature maps at each stage, labelled by the layer that produced them.",
        (H,),
        lambda src: _figures("cnn_feature_maps")(src) + ([Table(q7_table(drawn(src)["q7"]))] if "q7" in drawn(src)
                                                         else []),
        lambda src: q7_summary(drawn(src)["q7"]) if "q7" in drawn(src) else "",  # figures.pdf: under its maps
        "4",
    ),
    Item("8", "why the CNN does better", document.Q8_TEXT, (H,), _question("q8", "q8_gains", "q8_why"), q8, "2"),
    Item(
        "9",
        "how the features evolve through the CNN",
        document.Q9_TEXT,
        (H,),
        _question("q9", "q9_stages", "q9_patches", "q9_patches_2", "q9_patches_3"),
        q9,
        "3",
    ),
]
