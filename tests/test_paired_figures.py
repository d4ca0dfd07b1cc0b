"""Two networks in one figure for a report's column (spec 003's R3-R5): each panel shows what its
network measured (read back from the drawn artists), and a page still holds one network."""
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from fmnist.core import plotting
from fmnist.core.data import CLASSES
from fmnist.studies import figures


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_two_confusion_matrices_side_by_side_annotate_their_own_counts_with_the_names_once():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 90, (10, 10)), rng.integers(0, 90, (10, 10))
    fig = plotting.column_confusion_figure({"plain": a, "mobile": b.tolist()}, CLASSES)
    FigureCanvasAgg(fig).draw()
    heat = [ax for ax in fig.axes if ax.get_xlabel() == "Predicted class"]
    assert len(heat) == 2 and fig.column_inches == 4.3
    for ax, m in zip(heat, (a, b)):  # row by row, each cell its count
        assert _texts(ax) == [str(v) for v in m.ravel()]
    assert [t.get_text() for t in heat[0].get_yticklabels()] == list(CLASSES) and not heat[1].get_yticklabels()
    assert f"{100 * np.trace(b) / b.sum():.2f}%" in heat[1].get_title()
    one = plotting.confusion_figure("plain", a, CLASSES, column=True)  # one matrix: the same code
    assert "plain: confusion matrix on the" in one.get_suptitle()


def _example(index: int, true: int, pred: int) -> dict:
    return {"index": index, "true": true, "pred": pred, "true_name": CLASSES[true], "pred_name": CLASSES[pred],
            "confidence": 0.9, "pixels": np.full((28, 28), 127.5)}


def test_right_and_wrong_rows_give_each_network_one_row_and_name_the_true_class_of_a_mistake():
    chosen = {n: [_example(k, 1, 1) for k in range(4)] + [_example(10 + k, 5, 7) for k in range(4)]
              for n in ("plain", "mobile")}
    fig = plotting.right_wrong_rows_figure(chosen)
    assert len(fig.subfigs) == 2 and fig.column_inches == 2 * 1.9
    for row, network in zip(fig.subfigs, chosen):
        assert row.get_suptitle().startswith(network) and len(row.axes) == 8
        titles = [ax.get_title() for ax in row.axes]
        assert all("true" not in t for t in titles[:4]) and all("true Sandal" in t for t in titles[4:])
    page = plotting.right_wrong_figure("plain", chosen["plain"])  # one network: two rows of 4
    assert not page.subfigs and len(page.axes) == 8 and "WRONG" in page.axes[-1].get_title()


def test_filters_of_two_networks_draw_each_kernel_in_its_tile():
    kernels = np.arange(2 * 3 * 9, dtype=float).reshape(2, 3, 3, 3)
    depthwise = {"kernels": -kernels[:1], "rows": "r", "columns": "c", "kernels_label": "dw",
                 "pointwise": np.eye(4).tolist(), "pointwise_label": "pw"}
    fig = figures.filters_figure({"plain": {"kernels": kernels, "rows": "out", "columns": "in",
                                            "kernels_label": "conv4"}, "mobile": depthwise})
    assert [row.get_suptitle() for row in fig.subfigs] == ["plain", "mobile"]
    mosaic = fig.subfigs[0].axes[0].images[0].get_array()
    for i in range(2):
        for j in range(3):  # tile (i, j) at rows 4i.., columns 4j.., a 1-pixel gap between tiles
            assert np.array_equal(mosaic[4 * i:4 * i + 3, 4 * j:4 * j + 3], kernels[i, j])
    assert mosaic.shape == (7, 11) and np.ma.getmaskarray(mosaic)[3].all()  # the gap drawn as nothing
    assert np.array_equal(fig.subfigs[1].subfigs[1].axes[0].images[0].get_array(), np.eye(4))
