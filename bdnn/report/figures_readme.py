"""The README of a figures folder: what each figure shows, which commit, date and machine made
them, and their sha256, rewritten only when a figure's bytes change (the same results leave it,
and `git status`, untouched)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bdnn.files import write_text
from bdnn.report.names import FIGURES_README


@dataclass(frozen=True)
class FiguresRecord:
    """What a figures README says besides the hashes."""

    heading: str  # "Figures of the last full reproduction"
    writer: str  # the command that writes it
    made_by: str  # the command that made the figures
    verdicts: str  # where the run's verdicts are
    texts: Mapping[str, str]  # figure name -> what it shows


def paper_figure_texts(full: int, small: int | None, task_from: str | None, task_to: str | None) -> dict[str, str]:
    """What the reproduction's figures show, with the config's class counts and task names."""
    versus = f"{full} vs {small} classes" if small else f"{full} classes"
    texts = {
        "fig3": f"A, S, E, F against the remaining hidden neurons ({full} classes, log scale), one line per sample count, "
        "mean over seeds with a min-max band",
        "fig4": f"(A) hidden size at the F peak against the sample count, {versus}; (B, C) error on the new samples "
        "during transfer, developed vs accuracy-matched un-pruned network; (D) paired differences of every control",
        "transfer_controls": "the developed network and its four controls during transfer, and the paired differences with 95% intervals",
        "task_transfer": f"beyond the paper: the networks of {task_from} (developed, accuracy-matched un-pruned, and a fresh "
        f"one of the developed size) with a new output layer learning {task_to}, and the paired differences",
    }
    if task_from is None:
        texts["task_transfer"] = "beyond the paper: the transfer to another task (off in this config: the figure says so)"
    return texts


def record_figures(out: Path, paths: Sequence[Path], record: FiguresRecord, provenance: Callable[[], tuple[str, str]]) -> list[Path]:
    """Write <out>/README.md only when a figure's bytes differ from the hashes it records;
    `provenance()` gives (the code's commit, the machine) when it is written."""
    hashes = {Path(p).relative_to(out).as_posix(): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}
    readme = out / FIGURES_README
    recorded = dict(re.findall(r"^- `([^`]+)`: sha256 ([0-9a-f]{64})$", readme.read_text(), re.M)) if readme.is_file() else {}
    if recorded == hashes:
        return []
    commit, machine = provenance()
    lines = [
        f"# {record.heading}",
        "",
        f"Written by {record.writer} whenever the figures' bytes change; never edited by hand.",
        "",
        f"- Made by: {record.made_by}, code at commit {commit}",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, on {machine}",
        "- The numbers behind them depend on the CPU and the torch thread count only through float rounding; the verdicts "
        f"are in {record.verdicts} of the same run (summarised in the repository's README).",
        "",
        *[f"- `{name}.png` / `.pdf`: {text}" for name, text in record.texts.items()],
        "",
        "## sha256 of each file",
        "",
        *[f"- `{name}`: sha256 {digest}" for name, digest in sorted(hashes.items())],
        "",
    ]
    write_text(readme, "\n".join(lines))
    return [readme]
