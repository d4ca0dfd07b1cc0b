"""benchmark.py --jobs-ceiling: runs side by side at one thread against one run on every core."""
import pytest

from fmnist.bench import jobs


@pytest.mark.slow
def test_the_ceiling_is_the_side_by_side_rate_over_the_alone_rate_at_the_threads_asked():
    result = jobs.measure(2, seconds=0.3, rounds=1, tasks=(("FF_Net", "train"),), log=lambda line: None)
    n = result["networks"]["FF_Net training"]
    assert n["threads_alone"] == 2 and n["threads_beside"] == 1  # what each measuring process ran at
    assert n["alone_steps_per_s"] > 0 and n["beside_steps_per_s"] == pytest.approx(
        2 * n["one_thread_beside_steps_per_s"], rel=0.5
    )
    assert n["ceiling"] == pytest.approx(n["beside_steps_per_s"] / n["alone_steps_per_s"])


def _made_up(*ceilings) -> dict:
    return {"cores": 2, "seconds": 4, "rounds": 3, "networks": {
        f"net{i} training": {"alone_steps_per_s": 100.0, "beside_steps_per_s": 100.0 * c,
                             "one_thread_beside_steps_per_s": 50.0 * c, "ceiling": c} for i, c in enumerate(ceilings)}}


def test_the_sentence_follows_the_ceilings():
    assert "--jobs 1 is as fast as running runs side by side" in jobs.sentence(_made_up(1.01, 1.03))
    assert "--jobs 2 can gain at most 13 % here" in jobs.sentence(_made_up(1.05, 1.13))
    assert "--jobs 2 pays here" in jobs.sentence(_made_up(1.1, 1.43))
    assert "| net1 training | 100.0 | 143.0 | 71.5 | 1.43x |" in jobs.markdown(_made_up(1.1, 1.43))


def test_the_committed_ceilings_load_and_a_damaged_file_is_one_line(tmp_path):
    from pathlib import Path

    from fmnist.core.storage import UserError
    committed = jobs.load(Path(__file__).resolve().parent.parent / "outputs" / "jobs.json")
    assert committed["cores"] >= 1 and all(n["ceiling"] > 0 for n in committed["networks"].values())
    assert jobs.load(tmp_path / "none.json") == {}
    for text in ("{oops", '{"cores": 2, "seconds": 4, "rounds": 3, "networks": {"x": {"ceiling": 1.1}}}'):
        (tmp_path / "jobs.json").write_text(text)
        with pytest.raises(UserError, match="jobs.json.*benchmark.py --jobs-ceiling again"):
            jobs.load(tmp_path / "jobs.json")
