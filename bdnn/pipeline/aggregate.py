"""Collect the per-job result files of a sweep into the results tables.

The caller (the workflow's `aggregate` rule) names every file; nothing here knows the layout.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bdnn import BDNNError
from bdnn.files import atomic_path
from bdnn.pipeline.layout import DRAW_KEYS, NETWORK_KEYS, RUN_KEYS, SUMMARY_COLUMNS, TRANSFER_COLUMNS, TRANSFER_SUMMARY_COLUMNS


def _read(path: str | Path, reader):
    try:
        return reader(Path(path))
    except FileNotFoundError:
        raise BDNNError(f"missing result {path}: run its develop/transfer job first") from None


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def collect(
    curve_files: Sequence[str | Path],
    summary_files: Sequence[str | Path],
    transfer_files: Sequence[str | Path],
    transfer_summary_files: Sequence[str | Path],
    task_transfer_files: Sequence[str | Path] = (),
    task_transfer_summary_files: Sequence[str | Path] = (),
) -> dict[str, pd.DataFrame]:
    """The tables of bdnn.pipeline.layout.TABLES; curve_files[i] and summary_files[i] are one develop run's
    (the task-transfer tables are empty where that experiment is off)."""
    if len(curve_files) != len(summary_files):
        raise BDNNError(f"{len(curve_files)} curve files but {len(summary_files)} summaries: give one of each per run")
    curves, summaries = [], []
    for curve_file, summary_file in zip(curve_files, summary_files, strict=True):
        s = _read(summary_file, _json)
        keys = {k: s[k] for k in RUN_KEYS}
        curve = _read(curve_file, pd.read_csv)
        curves.append(curve.assign(**keys)[RUN_KEYS + list(curve.columns)])
        summaries.append({k: s[k] for k in SUMMARY_COLUMNS})
    transfer, transfer_summary = transfer_tables(transfer_files, transfer_summary_files)
    task, task_summary = transfer_tables(task_transfer_files, task_transfer_summary_files)
    return {
        "curves": pd.concat(curves, ignore_index=True),
        "summary": pd.DataFrame(summaries, columns=SUMMARY_COLUMNS),
        "transfer": transfer,
        "transfer_summary": transfer_summary,
        "task_transfer": task,
        "task_transfer_summary": task_summary,
    }


def transfer_tables(table_files: Sequence[str | Path], summary_files: Sequence[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The curves of transfer jobs (their transfer.csv), and one row per seed, network and draw
    from their summary.json."""
    networks = []
    for f in summary_files:
        s = _read(f, _json)
        for n, draw in s["draws"].items():
            networks.append(
                {"seed": s["seed"], **{k: s[k] for k in NETWORK_KEYS}, "new_samples": int(n), **{k: draw[k] for k in DRAW_KEYS}}
            )
    curves = [_read(f, pd.read_csv) for f in table_files]
    table = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=TRANSFER_COLUMNS)
    return table, pd.DataFrame(networks, columns=TRANSFER_SUMMARY_COLUMNS)


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return Path(path)
