"""benchmark.py --against (fmnist.bench.against): the ABBA order, resuming, the worktree tidied away,
and the verdicts against hand-made numbers."""
import subprocess

import pytest

from fmnist.bench import against
from fmnist.core import provenance


def pairs_of(seconds: list[tuple[float, float]], train: float = 100.0) -> dict:
    return {"earlier": "a5c338f" + "0" * 33, "today": "b" * 40, "today_dirty": False, "machine": "m",
            "started": "t", "pairs": [{"first": "earlier", "earlier": {"wall_s": e, "train_s": train},
                                       "today": {"wall_s": t, "train_s": train}} for e, t in seconds]}


def test_the_first_to_run_alternates_abba():
    assert [against.order(i)[0] for i in range(8)] == ["earlier", "today", "today", "earlier"] * 2
    assert all(set(against.order(i)) == set(against.SIDES) for i in range(8))


def test_three_sides_take_every_place_equally_often():
    three = ("earlier", "today", "auto")
    turns = [against.order(i, three) for i in range(6)]
    assert turns[:3] == [three, ("today", "auto", "earlier"), ("auto", "earlier", "today")]
    assert turns[3] == ("auto", "today", "earlier")  # the rotations again, reversed
    for side in three:  # first, middle and last twice each in six rounds
        assert sorted(turn.index(side) for turn in turns) == [0, 0, 1, 1, 2, 2]


def test_auto_rounds_get_their_own_columns_and_verdicts():
    results = pairs_of([(183, 178), (185, 177), (190, 182)])
    results["sides"] = ["earlier", "today", "auto"]
    for p, auto in zip(results["pairs"], (150, 152, 149)):
        p["auto"] = {"wall_s": auto, "train_s": 70.0, "precision": "bf16"}
    text = "\n".join(against.markdown(results))
    assert (
        "| 1 | earlier | 183.0 s | 100.0 s | 178.0 s | 100.0 s | 150.0 s | 70.0 s (bf16) | -5.0 s | -33.0 s |" in text
    )
    # auto minus earlier: -33, -33, -41 (mean -35.7 of 186.0: 19.2 %); auto minus today fp32: -28, -25, -33
    assert "- The whole run with --precision auto, against a5c338f: auto faster than a5c338f by 35.7 s (19.2 %" in text
    assert (
        "- The whole run with --precision auto, against current in fp32: auto faster than current in fp32 by 28.7 s"
        in text
    )
    assert "The whole run: current faster than a5c338f by 7.0 s" in text  # fp32's verdict as before
    assert "auto" not in "\n".join(against.markdown(pairs_of([(183, 178), (185, 177), (190, 182)])))


def test_verdicts_follow_the_interval_of_the_per_pair_differences():
    faster = against.markdown(pairs_of([(183, 178), (185, 177), (190, 182)]))
    # 7.0 s of the earlier 186.0 s mean is 3.8 %
    assert "- The whole run: current faster than a5c338f by 7.0 s (3.8 %; 95 % CI -11.3 to -2.7 s, 3 pairs)." in faster
    mixed = "\n".join(against.markdown(pairs_of([(183, 190), (185, 177), (190, 188)])))
    assert "no difference detected at 3 pairs (current minus a5c338f -1.0 s" in mixed
    # differences +7, -8, -2: sd 7.55, so the upper end is -1.0 + 4.303 x 7.55 / sqrt(3) = 17.8
    assert "current is at most 17.8 s slower" in mixed
    slower = "\n".join(against.markdown(pairs_of([(180, 190), (181, 190), (182, 193)])))
    assert "current slower than a5c338f by 10.0 s" in slower
    single = "\n".join(against.markdown(pairs_of([(180, 170)])))
    assert "from a single pair: no interval, so no verdict" in single
    # outside training: the same walls with today's training 10 s shorter leave no gain outside it
    same = pairs_of([(183, 178), (185, 177), (190, 182)])
    for p in same["pairs"]:
        p["today"]["train_s"] = p["today"]["wall_s"] - (p["earlier"]["wall_s"] - p["earlier"]["train_s"])
    assert "The time outside training: no difference detected" in "\n".join(against.markdown(same))


def test_each_side_runs_its_own_commits_make_run_recipe(tmp_path):
    py, out = against.sys.executable, tmp_path / "out"
    today = against.recipe(against.ROOT, out, precision="fp32")  # this checkout's Makefile
    assert [cmd[1] for cmd in today] == ["fashionmnist.py", "kernel_vis.py"] and all(c[0] == py for c in today)
    assert today[0][2:] == ["--no-pdf", "--precision", "fp32", "--out-dir", str(out)]  # make run: the PDF once
    assert today[1][2:] == ["--checkpoint", str(out / "cnn.pth"), "--out-dir", str(out)]
    old = tmp_path / "a5c338f"  # that commit's recipe: the two scripts with no options
    old.mkdir()
    (old / "Makefile").write_text("PY := .venv/bin/python\nrun: $(VENV)/.installed\n\t$(PY) fashionmnist.py\n"
                                  "\t$(PY) kernel_vis.py\n\ntest: $(VENV)/.installed\n\t$(PY) -m pytest -q\n")
    assert against.recipe(old, out, precision=None) == [
        [py, "fashionmnist.py", "--out-dir", str(out)],
        [py, "kernel_vis.py", "--checkpoint", str(out / "cnn.pth"), "--out-dir", str(out)]]
    (old / "Makefile").write_text("run:\n\t$(PY) fashionmnist.py --no-pdf\n\t$(PY) kernel_vis.py\n")
    assert against.recipe(old, out, precision=None)[0][2] == "--no-pdf"
    (old / "Makefile").unlink()  # no Makefile at all: the two scripts
    assert [c[1:2] for c in against.recipe(old, out, precision=None)] == [["fashionmnist.py"], ["kernel_vis.py"]]
    (old / "Makefile").write_text("run:\n\t$(PY) fashionmnist.py\n\tcp outputs/figures.pdf /tmp\n")
    with pytest.raises(against.storage.UserError, match="not only"):
        against.recipe(old, out, precision=None)


git_only = pytest.mark.skipif(provenance.git_state()["commit"] == provenance.NOT_GIT, reason="not a git checkout")


@git_only
def test_pairs_resume_and_the_worktree_is_removed(tmp_path, monkeypatch):
    ran = []

    def fake_run(code, out, precision):
        ran.append((code.name if code != against.ROOT else "today", precision))
        assert (code / "fashionmnist.py").exists()
        return {"wall_s": 10.0 + len(ran), "train_s": 5.0, "test_acc": {}, "precision": precision}

    monkeypatch.setattr(against, "default_run", fake_run)
    path = tmp_path / "against.json"
    first = against.execute(path, "HEAD", 1, log=lambda line: None)
    assert [p["first"] for p in first["pairs"]] == ["earlier"] and len(ran) == 2
    assert ran == [("earlier", "fp32"), ("today", "fp32")]  # HEAD has --precision, so both get fp32
    again = against.execute(path, "HEAD", 3, log=lambda line: None)  # goes on: two more pairs, not three
    assert len(ran) == 6 and [p["first"] for p in again["pairs"]] == ["earlier", "today", "today"]
    assert again["pairs"][0] == first["pairs"][0]
    trees = subprocess.run(["git", "worktree", "list"], cwd=against.ROOT, capture_output=True, text=True).stdout
    assert str(tmp_path) not in trees and "earlier" not in trees
    with pytest.raises(against.storage.UserError, match="git rev-parse"):
        against.execute(path, "no-such-commit-xyz", 1, log=lambda line: None)
    ran.clear()  # with auto: other sides, so the saved pairs are not taken for its rounds
    auto = against.execute(path, "HEAD", 2, log=lambda line: None, with_auto=True)
    assert auto["sides"] == ["earlier", "today", "auto"] and len(auto["pairs"]) == 2
    assert ran[:3] == [("earlier", "fp32"), ("today", "fp32"), ("today", "auto")]
    assert ran[3:] == [("today", "fp32"), ("today", "auto"), ("earlier", "fp32")]


@git_only
def test_an_unknown_commit_is_refused_before_any_measurement(capsys):
    import benchmark
    with pytest.raises(SystemExit) as stop:
        benchmark.main(["--against", "no-such-commit-xyz"])
    assert stop.value.code == 2 and "--against: git rev-parse" in capsys.readouterr().err
