"""Spec 003's code as its text names it, over its data layout: a folder of images and a CSV of
(image name, label) per split, read by `FolderDataset`, which divides the training split into
training and validation inside itself; then `init_network`, `train`, `test`, `save`, `load`,
`visualize` and `main` with the spec's parameters. Everything runs on the package's one
training loop (`fit`) and prediction pass (`predict`).

    python -m fmnist.studies.mobilenet_assignment export data/fmnist_folders   # Fashion-MNIST in that layout
    python -m fmnist.studies.mobilenet_assignment run data/fmnist_folders --train-size 5000 --val-size 1000 \\
        --test-size 2000 --conv-blocks 1 --mobilenet-blocks 3 --epochs 10 --visualize
    python -m fmnist.studies.mobilenet_assignment run data/fmnist_folders --test-size 2000 --no-training
"""
import csv
import sys
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image
from sklearn.metrics import accuracy_score, f1_score, recall_score
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from fmnist.core import cli as cli_parser
from fmnist.core import data, diagnostics, plotting, storage
from fmnist.core.data import CLASSES
from fmnist.core.device import pick_device
from fmnist.core.metrics import confusion_matrix, macro_f1, per_class, scores
from fmnist.core.training import TrainSettings, fit, predict
from fmnist.studies.figures import curves_figure
from fmnist.studies.networks import init_network

CSV_NAME, IMAGES = "labels.csv", "images"
TRANSFORM = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])  # values in [-1, 1]


class FolderDataset(Dataset):
    """One split of spec 003's layout: `root/images/NAME.png` and `root/labels.csv` (image name,
    label). `part` "train" or "val" divides it, by a seeded shuffle, into `val_size` validation
    images and the rest (at most `size` of them); "all" keeps every image in CSV order."""

    def __init__(self, root, part: str = "all", size: int | None = None, val_size: int = 0, seed: int = 0,
                 transform=TRANSFORM):
        self.root, self.transform = Path(root), transform
        with open(self.root / CSV_NAME, newline="") as f:
            rows = [(name, int(label)) for name, label in list(csv.reader(f))[1:]]
        if part not in ("all", "train", "val"):
            raise ValueError(f"part is all, train or val, not {part!r}")
        if part != "all":
            order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed)).tolist()
            rows = [rows[i] for i in (order[:val_size] if part == "val" else order[val_size:])]
        self.rows = rows[:size] if size is not None else rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        name, label = self.rows[i]
        with Image.open(self.root / IMAGES / name) as image:
            return self.transform(image.convert("L")), label


def loaders(path, train_size: int, val_size: int, test_size: int, batch_size: int = 128, seed: int = 0) -> dict:
    """The three data loaders: training and validation divided inside the train folder's dataset."""
    sets = {"train": FolderDataset(Path(path) / "train", "train", train_size, val_size, seed),
            "val": FolderDataset(Path(path) / "train", "val", None, val_size, seed),
            "test": FolderDataset(Path(path) / "test", "all", test_size)}
    return {k: DataLoader(s, batch_size=batch_size, shuffle=k == "train", generator=torch.Generator().manual_seed(seed))
            for k, s in sets.items()}


def tensors(loader: DataLoader) -> tuple[torch.Tensor, torch.Tensor]:
    """A loader's images and labels as two tensors (what train and test take)."""
    xs, ys = zip(*loader) if len(loader) else ((torch.empty(0, 1, 28, 28),), (torch.empty(0, dtype=torch.long),))
    return torch.cat(xs), torch.cat(ys)


def export(x: torch.Tensor, y: torch.Tensor, root) -> int:
    """Write images (N, 1, 28, 28) in [-1, 1] and their labels in spec 003's layout under `root`."""
    root = Path(root)
    (root / IMAGES).mkdir(parents=True, exist_ok=True)
    with open(root / CSV_NAME, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["image", "label"])
        for i, (image, label) in enumerate(zip(data.to_uint8(x[:, 0]), y.tolist())):
            Image.fromarray(image.numpy(), mode="L").save(root / IMAGES / f"{i:05d}.png")
            out.writerow([f"{i:05d}.png", label])
    return len(y)


def train(net, train_set_x, train_set_y, valid_set_x, valid_set_y, learning_rate: float, training_epochs: int,
          loss_func: str = "cross-entropy", optimizer: str = "sgd", batch_size: int = 128, seed: int = 0,
          settings: TrainSettings | None = None, device=None, name: str = "mobilenet", log=print):
    """Train `net` with early stopping on the validation loss under `training_epochs`; the
    per-epoch history (loss and accuracy, training and validation) is kept on `net.history`, fit's
    whole record on `net.fit_record`. `settings`: a whole recipe instead (the mobilenet study passes
    its own, so that its reported numbers come through this function)."""
    settings = settings or TrainSettings(epochs=training_epochs, batch_size=batch_size, lr=learning_rate,
                                         label_smoothing=0.0, loss=loss_func, optimizer=optimizer,
                                         schedule="plateau", flip=False)
    history = fit(net, (train_set_x, train_set_y), (valid_set_x, valid_set_y), settings,
                  device or pick_device("auto"), seed, name=name, log=log)
    net.history, net.fit_record = history["epochs"], history
    return net


def test(net, model, test_set_x, test_set_y, logits: bool = False, device=None, log=print) -> torch.Tensor:
    """Predictions of `net` on the test images (with `logits`, the logits themselves); `model`, when
    given, is a saved state_dict's path to load into `net` first. Prints (`log`) the test loss,
    accuracy and macro F1."""
    if model is not None:
        net.load_state_dict(torch.load(model, map_location="cpu", weights_only=True))
    out = _report_test(predict(net, test_set_x, device or pick_device("auto")).float().cpu(), test_set_y, log)
    return out if logits else out.argmax(1)


def _report_test(logits: torch.Tensor, y: torch.Tensor, log=print) -> torch.Tensor:
    """Print the test loss, accuracy and macro F1 of `logits`; return them."""
    s = scores(logits, y)
    log(f"test: loss {s['loss']:.4f}, accuracy {100 * s['accuracy']:.2f}%, macro F1 "
        f"{macro_f1(confusion_matrix(y, logits.argmax(1))):.4f}")
    return logits


def save(net, path) -> Path:
    """The network's weights as a plain state_dict."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    storage.save_weights(net, path)
    return Path(path)


def load(path, conv_block_count: int, mobilenet_block_count: int, input_dim=(1, 28, 28), num_classes: int = 10):
    """The saved network, rebuilt and loaded strictly, ready to predict."""
    net = init_network(conv_block_count, mobilenet_block_count, input_dim, num_classes)
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.eval()


def visualize(history, x: torch.Tensor, y: torch.Tensor, logits: torch.Tensor, out_dir) -> list[Path]:
    """Loss and accuracy curves (training and validation, per epoch), the test set's confusion
    matrix, its F1 score and recall per class with the accuracy and macro F1 (scikit-learn's), and 4
    right and 4 wrong predictions, as PNGs."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pred = logits.argmax(1)
    confusion = confusion_matrix(y, pred, len(CLASSES))
    figs = {"confusion": plotting.confusion_figure("test set", confusion, CLASSES),
            "scores": scores_figure(y.numpy(), pred.numpy()),
            "right_wrong": plotting.right_wrong_figure("test set", diagnostics.pick_right_wrong(x, y, logits, 0))}
    if history:
        figs["curves"] = curves_figure("training and validation, per epoch", {"network": history})
    paths = []
    for name, fig in figs.items():
        fig.savefig(out_dir / f"{name}.png", dpi=100)
        paths.append(out_dir / f"{name}.png")
    return paths


def scores_figure(y: np.ndarray, pred: np.ndarray) -> Figure:
    """The test set's F1 score and recall per class (bars), its accuracy across them (a dashed line)
    and, in the title, the accuracy and macro F1, all from sklearn.metrics as spec 003 asks."""
    labels = list(range(len(CLASSES)))
    f1 = f1_score(y, pred, labels=labels, average=None, zero_division=0)
    recall = recall_score(y, pred, labels=labels, average=None, zero_division=0)
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    ax = fig.subplots()
    at = np.arange(len(labels))
    ax.bar(at - 0.2, f1, 0.4, label="F1 score")
    ax.bar(at + 0.2, recall, 0.4, label="recall")
    accuracy = accuracy_score(y, pred)
    ax.axhline(accuracy, color="black", ls="--", lw=1, label=f"accuracy, all classes ({100 * accuracy:.2f}%)")
    ax.set_xticks(at, CLASSES, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("score on the test set")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower right")
    fig.suptitle(f"Test set ({len(y):,} images): accuracy {100 * accuracy:.2f}%, macro F1 "
                 f"{f1_score(y, pred, labels=labels, average='macro', zero_division=0):.4f}; per class, F1 and recall")
    return fig


def main(dataset_path, train_size: int, val_size: int, test_size: int, conv_block_count: int = 1,
         mobilenet_block_count: int = 3, input_dim=(1, 28, 28), num_classes: int = 10, visualize_results: bool = False,
         training_epochs: int = 10, is_training: bool = True, model_path="outputs/spec003/mobilenet.pth",
         learning_rate: float = 0.1, name: str = "not given", roll_no: str = "not given") -> dict:
    """Spec 003's main: the data loaders, then training from scratch (is_training) or the saved
    model; the test predictions, every number the spec asks printed, the figures if asked."""
    print(f"name: {name}; roll no: {roll_no}")
    print(f"parameters: conv blocks {conv_block_count}, MobileNet blocks {mobilenet_block_count}, input {input_dim}, "
          f"{num_classes} classes, learning rate {learning_rate:g}, at most {training_epochs} epochs, batch 128, SGD "
          "with Nesterov momentum 0.9, cross-entropy, early stopping on the validation loss (patience 5)")
    sets = loaders(dataset_path, train_size, val_size, test_size)
    (x_tr, y_tr), (x_val, y_val), (x_te, y_te) = (tensors(sets[k]) for k in ("train", "val", "test"))
    print(f"images: {len(y_tr):,} training, {len(y_val):,} validation, {len(y_te):,} test")
    if is_training:
        net = train(init_network(conv_block_count, mobilenet_block_count, input_dim, num_classes),
                    x_tr, y_tr, x_val, y_val, learning_rate, training_epochs)
        save(net, model_path)
        print(f"saved {model_path}")
    else:
        net = load(model_path, conv_block_count, mobilenet_block_count, input_dim, num_classes)
        net.history = []
    device = pick_device("auto")
    results = {}
    for split, (x, y) in (("training", (x_tr, y_tr)), ("validation", (x_val, y_val))):
        if len(y):
            results[split] = scores(predict(net, x, device).float().cpu(), y)
            print(f"{split}: loss {results[split]['loss']:.4f}, accuracy {100 * results[split]['accuracy']:.2f}%")
    logits = test(net, None, x_te, y_te, logits=True, device=device)
    pred = logits.argmax(1)
    confusion = confusion_matrix(y_te, pred, num_classes)
    f1 = {k: v["f1"] for k, v in per_class(confusion, CLASSES[:num_classes]).items()}
    print("test F1 per class: " + ", ".join(f"{k} {v:.3f}" for k, v in f1.items()))
    print("test confusion matrix (rows: true class, columns: predicted):\n" + np.array2string(confusion))
    results.update(test_accuracy=float((pred == y_te).float().mean()), f1=f1, predictions=pred)
    if visualize_results:
        results["figures"] = visualize(net.history, x_te, y_te, logits, Path(model_path).parent / "figures")
        print("figures: " + ", ".join(str(p) for p in results["figures"]))
    return results


def parse_args(argv=None):
    p = cli_parser.Parser(prog="python -m fmnist.studies.mobilenet_assignment", doc=__doc__,
                          description="Spec 003's own code: its folder+CSV data set, train, test, save, load, "
                                      "visualize and main.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=cli_parser.Parser)
    e = sub.add_parser("export", help="write Fashion-MNIST as train/ and test/ folders of PNGs with labels.csv",
                       epilog=cli_parser.examples(__doc__))
    e.add_argument("out_dir", type=Path, metavar="OUT", help="the folder to write train/ and test/ into")
    e.add_argument("--train", type=cli_parser.number(int, 1, "a whole number >= 1"), default=60000,
                   help="training images to write (default all 60000)")
    e.add_argument("--test", type=cli_parser.number(int, 1, "a whole number >= 1"), default=10000,
                   help="test images to write (default all 10000)")
    e.add_argument("--data-dir", default=None, help=cli_parser.DATA_HELP)
    r = sub.add_parser("run", help="spec 003's main on a folder written by export (or the spec's own data)",
                       epilog=cli_parser.examples(__doc__))
    r.add_argument("dataset_path", help="a folder with train/ and test/, each holding labels.csv and the images")
    whole = cli_parser.number(int, 1, "a whole number >= 1")
    r.add_argument("--train-size", type=whole, default=5000, help="training images (default 5000)")
    r.add_argument("--val-size", type=whole, default=1000, help="validation images (default 1000)")
    r.add_argument("--test-size", type=whole, default=10000, help="test images (default 10000)")
    r.add_argument("--conv-blocks", type=cli_parser.number(int, 0, "a whole number >= 0"), default=1,
                   help="standard conv blocks (default 1)")
    r.add_argument("--mobilenet-blocks", type=cli_parser.number(int, 0, "a whole number >= 0"), default=3,
                   help="depthwise-separable blocks (default 3)")
    r.add_argument("--epochs", type=whole, default=10, help="training epochs (default 10)")
    r.add_argument("--lr", type=cli_parser.number(float, 1e-12, "a learning rate above 0"), default=0.1,
                   help="learning rate (default 0.1)")
    r.add_argument("--visualize", action="store_true", help="also plot the curves, F1 and accuracy")
    r.add_argument("--no-training", action="store_true", help="load the saved model instead of training")
    r.add_argument("--model-path", default="outputs/spec003/mobilenet.pth",
                   help="where the weights are saved or loaded (default outputs/spec003/mobilenet.pth)")
    r.add_argument("--name", default="not given", help="your name, as the spec's main takes it")
    r.add_argument("--roll-no", default="not given", help="your roll number, as the spec's main takes it")
    args = p.parse_args(argv)
    if args.command == "run":
        args.out_dir = Path(args.model_path).parent  # what the run writes: the model and its figures
    return args


def run(args) -> int:
    if args.command == "export":
        splits = data.load(args.data_dir)
        every = tuple(torch.cat(parts) for parts in zip(splits["train"], splits["val"]))  # all 60,000
        for split, (x, y), n in (("train", every, args.train), ("test", splits["test"], args.test)):
            print(f"{split}: {export(x[:n], y[:n], args.out_dir / split):,} images in {args.out_dir / split}")
        return 0
    main(args.dataset_path, args.train_size, args.val_size, args.test_size, args.conv_blocks, args.mobilenet_blocks,
         visualize_results=args.visualize, training_epochs=args.epochs, is_training=not args.no_training,
         model_path=args.model_path, learning_rate=args.lr, name=args.name, roll_no=args.roll_no)
    return 0


def cli(argv=None) -> int:
    args = parse_args(argv)
    return cli_parser.run_script("mobilenet_assignment", run, args, (data.DataError, FileNotFoundError, ValueError),
                                 "files already written (the exported images, a model saved before the "
                                 "interruption) are kept")


if __name__ == "__main__":
    sys.exit(cli())
