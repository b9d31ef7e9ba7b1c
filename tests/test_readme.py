"""The README's generated blocks (bdnn.report.readme_blocks, `bdnn readme`): written from the
committed results, and the committed README equal to what they give."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from bdnn.report.readme_blocks import BEGIN, END, BlockError, blocks, replace_blocks, verdict_cell
from tests.conftest import REPO

CLAIM = {"verdict": "holds", "statistic": 0.0123, "interval": [0.004, None], "p": 1 / 65536, "n": 16, "left_out": 0,
         "p_reverse": 1.0, "p_min": 1 / 65536, "text": "..."}  # fmt: skip


def test_a_verdict_cell_gives_its_statistic_interval_n_and_p():
    assert verdict_cell(CLAIM) == "**holds**: 0.01 [0.00, +inf], n = 16, p = 1/65,536 (min), reverse p = 1"
    pp = verdict_cell({**CLAIM, "left_out": 2, "p": 0.03}, 100, "+.2f", " pp")
    assert pp == "**holds**: +1.23 pp [+0.40, +inf], n = 16, p = 0.03, reverse p = 1, 2 seed(s) left out"
    assert verdict_cell({"verdict": "inconclusive (n < 6)", "statistic": None, "interval": None, "p": None, "n": 3}) == (
        "**inconclusive (n < 6)**, n = 3"
    )
    # CSV rows (the study's map) carry strings, empty where missing
    row = {"verdict": "fails", "statistic": "-0.5", "interval": ["-0.9", "-0.1"], "p": "0.001", "n": "16", "p_reverse": "", "p_min": ""}
    assert verdict_cell(row) == "**fails**: -0.50 [-0.90, -0.10], n = 16, p = 0.001"


def _claims() -> dict:
    reading = {"claim1": CLAIM, "claim2": {**CLAIM, "verdict": "fails"}, "claim3": CLAIM}
    draws = {"1200": CLAIM, "19200": {**CLAIM, "verdict": "inconclusive"}}
    return {"readings": {"S a, E b": reading, "S c, E d": reading}, "configured_reading": "S a, E b", "claim4": CLAIM,
            "claim4_controls": {"unpruned": draws, "random": draws}, "task_transfer": CLAIM, "task_transfer_controls": {},
            "unpruned_acc": 0.8848}  # fmt: skip


def test_blocks_are_tables_of_every_claim_and_control():
    out = blocks(_claims(), None)
    assert set(out) == {"claims", "claim4", "task-transfer"}  # no study map
    assert out["task-transfer"] == "(no transfer to another task in this run)"
    lines = out["claims"].splitlines()
    assert lines[0] == "| claim | S a, E b | S c, E d |"
    assert lines[3].startswith("| 2. the size at the peak grows with the samples | **fails**: 0.01; per-seed mean [0.00, +inf]")
    assert lines[5].endswith(" | not transferred |")  # claim 4 only under the configured reading
    assert "test accuracy 88.48%" in out["claims"]
    rows = out["claim4"].splitlines()
    assert rows[0] == "| control | 1,200 new samples | 19,200 new samples |"
    assert rows[2].startswith("| `unpruned` | **holds**: +1.23 pp [+0.40, +inf]") and "**inconclusive**" in rows[2]
    assert rows[-1] == "As a whole: **holds**."
    study = [{"cell": "default", "claim": c, "verdict": "holds", "statistic": "1", "interval_low": "", "interval_high": "", "p": "",
              "n": "16"} for c in ("claim1", "claim2", "claim2_range", "claim3")]  # fmt: skip
    table = blocks(_claims(), study)["study"].splitlines()
    assert table[0] == "| cell | claim 1 | claim 2 | claim 2' | claim 3 |"
    assert table[2] == "| default |" + " **holds**: 1.00, n = 16 |" * 4  # no interval: none printed, of either statistic


def test_replace_blocks_rewrites_only_between_markers_and_refuses_a_missing_one():
    text = f"intro\n{BEGIN.format(name='claims')}\nold\nlines\n{END.format(name='claims')}\noutro\n"
    new = replace_blocks(text, {"claims": "new"})
    assert new == f"intro\n{BEGIN.format(name='claims')}\nnew\n{END.format(name='claims')}\noutro\n"
    assert replace_blocks(new, {"claims": "new"}) == new
    with pytest.raises(BlockError, match="no block 'claim4'"):
        replace_blocks(text, {"claims": "new", "claim4": "x"})
    with pytest.raises(BlockError, match="block 'claims' has nothing to write it from"):  # it would go stale unchecked
        replace_blocks(text, {})


def _readme(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bdnn", "readme", *args], cwd=cwd, capture_output=True, text=True)


def test_the_committed_readme_equals_what_the_committed_results_give():
    """The README's tables of verdicts and numbers are regenerated from figures/claims.json (and
    the study's map) and must not differ by a byte."""
    res = _readme("--check")
    assert res.returncode == 0, res.stderr


def test_a_hand_edited_block_fails_the_check_and_bdnn_readme_mends_it(tmp_path):
    readme = tmp_path / "README.md"
    shutil.copy(REPO / "README.md", readme)
    text = readme.read_text()
    begin = BEGIN.format(name="claims")
    assert begin in text
    readme.write_text(text.replace(begin + "\n", begin + "\n| typed by hand |\n", 1))
    claims = str(REPO / "figures" / "claims.json")  # and the study's map where it is committed (the default path)
    res = _readme("--check", "--readme", str(readme), "--claims", claims)
    assert res.returncode == 1 and "differ" in res.stderr
    assert _readme("--readme", str(readme), "--claims", claims).returncode == 0
    assert readme.read_text() == text
    bad = tmp_path / "claims.json"
    bad.write_text(json.dumps({"readings": {}}))
    res = _readme("--check", "--readme", str(readme), "--claims", str(bad))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "not a claims.json" in res.stderr
    res = _readme("--check", "--readme", str(readme), "--claims", claims, "--study-map", str(tmp_path / "none.csv"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "no file" in res.stderr


def test_the_compare_block_tables_each_baseline_and_claim_per_dataset():
    from bdnn.report.readme_blocks import compare_block

    base = {**CLAIM, "statistic": -0.0042, "interval": [-0.01, 0.002], "p": 0.5, "p_reverse": 0.04, "verdict": "inconclusive"}
    record = {"comparison": {"baselines": {"random": CLAIM, "scratch": base}}, "claims": {"claim1": CLAIM, "claim3": CLAIM}}
    data = {"datasets": {"fashion-mnist": {"comparison": None, "claims": {}}, "mnist": record},  # sorted, as claims.json
            "dataset_order": ["mnist", "fashion-mnist"],
            "claim5": {**CLAIM, "statistic": 3.25, "harder": "fashion-mnist", "easier": "mnist"}}  # fmt: skip
    lines = compare_block(data).splitlines()
    assert lines[0] == "| | MNIST | Fashion-MNIST |"
    assert lines[2] == "| Eq. 1 minus `random` | **holds**: +1.23 pp [+0.40, +inf], n = 16, p = 1/65,536 (min), reverse p = 1 |  |"
    assert lines[3].startswith("| Eq. 1 minus `scratch` | **inconclusive**: -0.42 pp [-1.00, +0.20], n = 16, p = 0.5, reverse p = 0.04")
    assert lines[4].startswith("| 1. F has an interior peak | **holds**: 0.01") and lines[5].endswith("|  |  |")  # no claim 2 anywhere
    assert lines[-1].startswith("Claim 5, on the harder task the developed network is larger (Fashion-MNIST minus MNIST")
    assert "**holds**: +3.25 neurons [+0.00, +inf], n = 16" in lines[-1]
