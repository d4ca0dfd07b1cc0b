"""Every script's --help: each flag explained, its default shown, examples at the end."""
import argparse

import pytest

import analyze
import benchmark
import experiments
import fashionmnist
import kernel_vis
import report
from fmnist.core import cli
from fmnist.studies import mobilenet_assignment, reference_assignment

SCRIPTS = {"fashionmnist.py": fashionmnist.parse_args, "kernel_vis.py": kernel_vis.parse_args,
           "analyze.py": analyze.parse_args, "experiments.py": experiments.parse_args, "report.py": report.parse_args,
           "benchmark.py": benchmark.parse_args, "train.py": reference_assignment.parse_args,
           "mobilenet_assignment run": lambda argv: mobilenet_assignment.parse_args(["run", *argv])}


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_flag_has_help_with_its_default_and_the_help_ends_with_examples(script, monkeypatch, capsys):
    made = []
    real = cli.Parser.__init__

    def record(self, *args, **kwargs):
        real(self, *args, **kwargs)
        made.append(self)
    monkeypatch.setattr(cli.Parser, "__init__", record)
    with pytest.raises(SystemExit) as info:
        SCRIPTS[script](["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    parser = made[-1]  # the parser that printed (a subcommand's, for mobilenet_assignment run)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings:
            continue
        assert action.help, f"{script}: {action.option_strings[0]} has no help"
        shown = cli.HelpFormatter("x")._get_help_string(action)
        if action.default is not None and not isinstance(action.default, bool):
            assert "default" in shown, f"{script}: {action.option_strings[0]} does not say its default"
    assert "\nexamples:\n" in made[0].format_help() and "python" in made[0].epilog
    assert text.strip()


def test_the_formatter_shows_a_path_under_the_repository_relative_to_it():
    p = cli.Parser(prog="x", doc="Does x.\n\n    python x.py --out-dir DIR   # an example\n")
    p.add_argument("--out-dir", default=cli.ROOT / "outputs", help="where it goes")
    p.add_argument("--n", type=int, default=3, help="how many (default 3)")
    text = p.format_help()
    assert "where it goes (default: outputs/)" in text and "(default 3)" in text and "(default: 3)" not in text
    assert text.rstrip().endswith("examples:\n  python x.py --out-dir DIR   # an example")


def test_a_renamed_flag_still_works_and_says_its_new_name(capsys):
    args = benchmark.parse_args(["--seeds", "0", "--budgets"])
    assert args.runs == 0 and args.time_budgets is True
    err = capsys.readouterr().err
    assert "benchmark.py: note: --seeds is now --runs; the old name still works" in err
    assert "benchmark.py: note: --budgets is now --time-budgets" in err
    assert benchmark.parse_args([]).runs == 3 and "note" not in capsys.readouterr().err
