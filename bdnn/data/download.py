"""A dataset's canonical download (its four IDX .gz files at one address), where the internet is
reachable. What it yields is verified like every other source."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from pathlib import Path

from bdnn.data.registry import DataError, DatasetSpec

TIMEOUT_S = 60


def download(spec: DatasetSpec, into: Path) -> Path:
    """The four IDX .gz files from spec.download_url into `into`; returns `into`. A DataError where
    the address is unreachable or a file is missing."""
    if spec.download_url is None:
        raise DataError(f"{spec.title}: no canonical download is known")
    into.mkdir(parents=True, exist_ok=True)
    for stem in spec.idx_files.values():
        url = f"{spec.download_url}{stem}.gz"
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 (a fixed http(s) address)
                (into / f"{stem}.gz").write_bytes(response.read())
        except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as exc:
            raise DataError(f"{url}: {getattr(exc, 'reason', exc)}") from None
    return into
