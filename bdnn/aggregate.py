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
from bdnn.layout import RUN_KEYS, SUMMARY_COLUMNS


def _read(path: str | Path, reader):
    try:
        return reader(Path(path))
    except FileNotFoundError:
        raise BDNNError(f"missing result {path}: run its develop/transfer job first") from None


def collect(
    curve_files: Sequence[str | Path], summary_files: Sequence[str | Path], transfer_files: Sequence[str | Path]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(curves, summary, transfer) tables; curve_files[i] and summary_files[i] are one run's."""
    if len(curve_files) != len(summary_files):
        raise BDNNError(f"{len(curve_files)} curve files but {len(summary_files)} summaries: give one of each per run")
    curves, summaries = [], []
    for curve_file, summary_file in zip(curve_files, summary_files, strict=True):
        s = _read(summary_file, lambda p: json.loads(p.read_text()))
        keys = {k: s[k] for k in RUN_KEYS}
        curve = _read(curve_file, pd.read_csv)
        curves.append(curve.assign(**keys)[RUN_KEYS + list(curve.columns)])
        summaries.append({k: s[k] for k in SUMMARY_COLUMNS})
    transfer = [_read(f, pd.read_csv) for f in transfer_files]
    return (
        pd.concat(curves, ignore_index=True),
        pd.DataFrame(summaries, columns=SUMMARY_COLUMNS),
        pd.concat(transfer, ignore_index=True),
    )


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return Path(path)
