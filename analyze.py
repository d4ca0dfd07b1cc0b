"""What the trained networks learned, beyond questions 5-7: one command, one document.

    python analyze.py                  # after python fashionmnist.py; about 2 minutes on 2 cores
    python analyze.py --quick          # small subsets: a smoke run
    python analyze.py --out-dir DIR --data-dir DIR --device auto

Reads ffn.pth, cnn.pth and metrics.json from --out-dir and the test set; writes
analysis/*.png, analysis.pdf (a summary page, then one page per figure), analysis.json
(every number on the pages) and predictions_ffn.csv / predictions_cnn.csv (id,label: the
predicted class of each test image, in test-set order) to --out-dir.
"""
from fmnist.core.python_version import require  # first, so an old Python gets one clear line

require("analyze.py")

import sys
import textwrap
import time
from pathlib import Path

import torch

from fmnist.analysis import averaged, from_noise, optimised, randomisation, saliency, sections, synthesis, templates
from fmnist.analysis.settings import QUICK, QUICK_VISUAL, AnalysisSettings, VisualSettings
from fmnist.core import assignment, cli, data, files, provenance, storage
from fmnist.core.device import pick_device
from fmnist.core.pages import PngsAside, series, text_pages, write_document
from fmnist.core.training import predict

HERE = Path(__file__).resolve().parent


def parse_args(argv=None):
    p = cli.Parser(prog="analyze.py", doc=__doc__)
    p.add_argument("--out-dir", type=Path, default=HERE / "outputs",
                   help="where the trained networks are; analysis.pdf, analysis.json and analysis/ go there too")
    p.add_argument("--data-dir", type=Path, help=cli.DATA_HELP)
    p.add_device()
    p.add_argument("--quick", action="store_true", help="small subsets and few attack steps: a smoke run")
    return p.parse_args(argv)


class Timer:
    """Prints how long each part took, and keeps the times for analysis.json."""

    def __init__(self):
        self.seconds, self.start = {}, time.perf_counter()

    def part(self, name, fn, *args):
        start = time.perf_counter()
        result = fn(*args)
        self.seconds[name] = round(time.perf_counter() - start, 2)
        print(f"  {name:34} {self.seconds[name]:6.1f}s", flush=True)
        return result


def summary_lines(results: dict) -> list[str]:
    """The first page: the networks' key numbers; the findings follow as the list of pages, each
    with its computed sentence."""
    lines = [f"{'network':8} {'test acc':>9} {'(metrics.json)':>15} {'macro AUC':>10} {'parameters':>11} "
             f"{'neurons':>8} {'mult-adds':>10}"]
    for key, r in results["networks"].items():
        t = r["layers"]["totals"]["total"]
        lines.append(f"{key.upper():8} {100 * r['accuracy']:8.2f}% {100 * r['metrics_json_accuracy']:14.2f}% "
                     f"{r['roc']['macro_auc']:10.4f} {t['parameters']:>11,} {t['neurons']:>8,} "
                     f"{t['multiply_adds']:>10,}")
    lines += [
        "",
        f"neuron: {results['networks']['cnn']['layers']['definition']}.",
        "The CNN's logits average the image and its mirror image (its evaluation mode): every gradient, optimised "
        "image and attack of the CNN is of that two-view average.",
        "",
        "What each network relies on (each line computed from the pages that follow, beside its control):",
    ]
    return lines + [f"- {line}" for line in synthesis.synthesis_lines(results)] + [""]


def settings_lines(results: dict, settings, visual) -> list[str]:
    """The last page: how each part was set up and timed, the weights and the machine."""
    lines = [f"guided backprop: {results['guided']['tensor']};",
             f"  channels {', '.join(str(c['channel']) for c in results['guided']['channels'])}, chosen "
             "one per class: " + results["guided"]["how_chosen"] + ".",
             f"t-SNE: {results['tsne']['note']}.",
             f"fooling: random: {results['fooling']['random_note']}; greedy: {results['fooling']['greedy_note']}.",
             "FGSM and PGD: " + "; ".join(f"{k}: {v}" for k, v in results["robustness"]["notes"].items()) + ".",
             f"class models and channel visualisations: {results['class_models']['method']}.",
             f"class images from noise: {results['from_noise']['method']}.",
             f"class-averaged gradients: d logit / d pixel of each class over its first "
             f"{results['averaged']['per_class']} correctly classified test images, beside a copy with every layer "
             "re-drawn.",
             f"predictions_ffn.csv, predictions_cnn.csv: {results['csv_rows']:,} rows each (id = test index).",
             "", "time per part: " + ", ".join(f"{k} {v:.1f}s" for k, v in results["seconds"].items()),
             f"settings: {settings}", f"visual settings: {visual}", "",
             "weights: " + ", ".join(f"{k}.pth sha256 {v[:16]}..." for k, v in results["weights_sha256"].items()),
             provenance.line(results["provenance"])]
    return [part for line in lines for part in (textwrap.wrap(line, 110, subsequent_indent="  ") or [""])]


def optimisation_pages(results, models, metrics, x, y, logits, train, device, vs, timer, settings) -> list:
    """What the networks see, by optimisation: class models, channel visualisations (of the
    question 9 channels), saliency beside guided backpropagation, targeted fooling."""
    pages = []
    results["class_models"], more = timer.part(
        "class models (both networks)", optimised.class_models_part, models, x, y, logits, vs, device
    )
    pages += more
    results["from_noise"], more = timer.part("class images from noise (both networks)", from_noise.noise_part,
                                             models, x, y, vs.noise, device)
    pages += more
    q9 = (metrics.get("questions") or {}).get("q9")
    if q9:
        results["channel_visuals"], more = timer.part("CNN channel visualisations", optimised.channel_part,
                                                      models["cnn"][1], q9, x, vs, device)
        pages += more
    examples = {k: results["networks"][k]["right_wrong"] for k in models}
    results["saliency"], page = timer.part("saliency (both networks)", saliency.saliency_part, models, examples, x,
                                           logits, device, settings.seed)
    pages.append(page)
    shuffled = timer.part("networks on shuffled labels (controls)", randomisation.shuffled_networks,
                          models, train, device, settings)
    results["averaged"], page = timer.part("class-averaged gradients (both networks)", averaged.averaged_part, models,
                                           x, y, logits, device, settings.seed, shuffled)
    pages.append(page)
    results["explain"], more = timer.part("explanations of right and wrong (both networks)", saliency.explain_part,
                                          models, examples, x, device, settings)
    pages += more
    results["sanity"], page = timer.part("sanity check of the maps", saliency.sanity_part, models, x, y, logits, device,
                                         settings.seed)
    pages.append(page)
    (results["cascade"], results["randomisation"]), more = timer.part(
        "randomisation tests of the maps (cascade, each layer alone, shuffled labels)", randomisation.checks_part,
        models, x, y, logits, shuffled, device, settings)
    pages += more
    results["targeted"], more = timer.part("targeted fooling (both networks)", sections.targeted_part, models, metrics,
                                           x, y, logits, vs, device)
    pages += more
    return pages


def run(args) -> int:
    started = provenance.now()
    settings = QUICK if args.quick else AnalysisSettings()
    out_dir = storage.check_out_dir(args.out_dir)
    metrics = files.load_metrics(out_dir)
    if not all(k in metrics.get("networks", {}) for k in assignment.MODELS):
        raise storage.UserError(f"{out_dir / 'metrics.json'} lacks the results of both networks: "
                                "run python fashionmnist.py first, or pass --out-dir")
    models, shas = {}, {}
    for key, make in assignment.MODELS.items():
        model = storage.load_weights(make(), out_dir / f"{key}.pth", key.upper(),
                                     "run python fashionmnist.py first, or pass --out-dir")
        shas[key] = files.check_weights(metrics, out_dir / "metrics.json", key, out_dir / f"{key}.pth")
        models[key] = (assignment.NAMES[key], model.eval())
    device = pick_device(args.device)
    splits = data.load(args.data_dir)  # the test split, and training images for the shuffled-label networks
    x, y = splits["test"]
    print(f"analysing {out_dir}/ffn.pth and cnn.pth on {len(y):,} test images, device {device}", flush=True)
    timer = Timer()
    results, pages = {"networks": {}}, []
    logits = {}
    for key, (label, model) in models.items():
        model.to(device, memory_format=torch.channels_last)
        logits[key] = timer.part(f"{key.upper()} predictions", predict, model, x, device)
        table, page = timer.part(f"{key.upper()} layer table", sections.layers_part, label, key, model)
        pages.append(page)
        results["networks"][key] = {"accuracy": float((logits[key].argmax(1) == y).float().mean()),
                                    "metrics_json_accuracy": metrics["networks"][key]["test"]["accuracy"],
                                    "layers": table}
    results["ffn_templates"], page = timer.part("FFN first-layer templates", templates.templates_part,
                                                models["ffn"][1], x, y, settings.seed)
    pages.append(page)
    cnn = models["cnn"][1]
    results["guided"], more = timer.part(
        "CNN guided backpropagation", sections.guided_part, cnn, x, y, device, settings
    )
    pages += more
    results["class_feature_maps"], more = timer.part("CNN feature maps per class", sections.class_maps_part,
                                                     cnn, x, y, settings)
    pages += more
    for key, (label, _model) in models.items():
        chosen, page = timer.part(f"{key.upper()} right and wrong", sections.right_wrong_part, label, key, x, y,
                                  logits[key], settings.seed)
        results["networks"][key]["right_wrong"] = [{k: v for k, v in e.items() if k != "pixels"} for e in chosen]
        pages.append(page)
    roc, page = timer.part("ROC (both networks)", sections.roc_part, {k: m[0] for k, m in models.items()}, y, logits)
    for key in models:
        results["networks"][key]["roc"] = roc[key]
    pages.append(page)
    results["tsne"], page = timer.part("t-SNE (both networks)", sections.tsne_part, models, x, y, device, settings)
    pages.append(page)
    results["fooling"], page = timer.part(
        "fooling (both networks)", sections.fooling_part, models, x, y, device, settings
    )
    pages.append(page)
    results["robustness"], page = timer.part("FGSM and PGD (both networks)", sections.robustness_part, models, x, y,
                                             device, settings)
    pages.append(page)
    visual = QUICK_VISUAL if args.quick else VisualSettings()
    seen = optimisation_pages(results, models, metrics, x, y, logits, splits["train"], device, visual, timer,
                              settings)
    at = 1 + max(i for i, p in enumerate(pages) if p.stem.startswith("cnn_guided_backprop"))
    pages[at:at] = seen  # after guided backpropagation
    results["seconds"] = timer.seconds
    results["csv_rows"] = len(y)
    results["settings"] = settings.__dict__
    results["weights_sha256"] = shas
    results["provenance"] = provenance.record(device, settings.seed, data.locate(args.data_dir), started)
    with storage.staged(out_dir) as stage:
        (stage / "analysis").mkdir()
        for key in models:
            storage.write_predictions(logits[key].argmax(1), stage / f"predictions_{key}.csv")
        with PngsAside(pages, stage / "analysis", 110) as pngs:  # drawn beside the PDF
            closing = series("settings", "Settings and provenance", "how each page was made, how long it took, on "
                             "what", text_pages("Settings and provenance", settings_lines(results, settings, visual)))
            count = write_document(stage / "analysis.pdf", "Fashion-MNIST: what the networks learned",
                                   summary_lines(results), pages + closing, "Fashion-MNIST analysis",
                                   "Findings, page by page (each page's sentence, computed from its numbers; "
                                   "settings, times and provenance on the last page):")
            pngs.wait()
        storage.write_json(results, stage / "analysis.json")
    for key, r in results["networks"].items():
        agree = "agrees with" if round(r["accuracy"] * len(y)) == round(r["metrics_json_accuracy"] * len(y)) \
            else "DIFFERS from"
        print(f"{key.upper()}: test accuracy {100 * r['accuracy']:.2f}% ({agree} metrics.json), "
              f"macro AUC {r['roc']['macro_auc']:.4f}")
    print(f"wrote analysis.pdf ({count} pages), analysis/ ({len(pages)} figures), analysis.json, "
          f"predictions_ffn.csv and predictions_cnn.csv to {out_dir} in {time.perf_counter() - timer.start:.0f}s")
    print(f"look at {out_dir / 'analysis.pdf'} (the figures one by one: {out_dir / 'analysis'}/); "
          f"the hand-in is {out_dir / 'figures.pdf'}")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    return cli.run_script(
        "analyze.py",
        run,
        args,
        (data.DataError,),
        f"nothing from this run was kept, and the last complete analysis is unchanged in {args.out_dir}",
    )


if __name__ == "__main__":
    sys.exit(main())
