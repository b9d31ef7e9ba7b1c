"""A Debian package that carries a dataset's original IDX files (Fashion-MNIST: Debian's
`dataset-fashion-mnist`, its files under usr/share/datasets/fashion-mnist/): where it is installed,
read in place; where it is not, fetched with `apt-get download` and unpacked with `dpkg-deb -x`
into a temporary folder (neither needs root). What it yields is verified like every other source."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bdnn.data.registry import DataError, DatasetSpec

TIMEOUT_S = 600  # apt-get download of a 31 MB package


def installed_folder(spec: DatasetSpec, root: Path = Path("/")) -> Path | None:
    """The dataset's folder of the installed package, or None where it is not there."""
    if spec.debian is None:
        return None
    folder = root / spec.debian.folder
    return folder if all(any(folder.glob(f"{stem}*")) for stem in spec.idx_files.values()) else None


def _run(cmd: list[str], cwd: Path) -> str:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DataError(f"{' '.join(cmd[:2])}: {exc}") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        hint = " (the package lists may be missing: apt-get update, as root)" if "Unable to locate" in last else ""
        raise DataError(f"{' '.join(cmd[:2])} {cmd[-1]} failed: {last}{hint}")
    return proc.stdout


def fetch_and_unpack(spec: DatasetSpec, into: Path) -> Path:
    """`apt-get download` the dataset's package into `into` and unpack it there with `dpkg-deb -x`;
    returns the dataset's folder inside. A DataError where apt-get or dpkg-deb is missing or fails."""
    if spec.debian is None:
        raise DataError(f"{spec.title}: no Debian package is known to carry it")
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise DataError(f"{spec.title}: {tool} not found (the Debian package {spec.debian.package} cannot be fetched here)")
    into.mkdir(parents=True, exist_ok=True)
    _run(["apt-get", "download", "-q", spec.debian.package], into)
    debs = sorted(into.glob(f"{spec.debian.package}_*.deb"))
    if not debs:
        raise DataError(f"apt-get download {spec.debian.package}: no .deb file appeared in {into}")
    _run(["dpkg-deb", "-x", str(debs[-1]), str(into / "root")], into)
    folder = installed_folder(spec, into / "root")
    if folder is None:
        raise DataError(f"{debs[-1].name}: has no {spec.debian.folder}/ with the {spec.title} IDX files")
    return folder
