"""Checkpoints of networks of any hidden size, with the config that made them.

Loaded with `torch.load(weights_only=True)`: a checkpoint can never execute code.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from bdnn import BDNNError
from bdnn.files import atomic_path
from bdnn.method.model import PrunableMLP

FORMAT_VERSION = 1


class CheckpointError(BDNNError):
    """A checkpoint is unreadable, of a newer format, or of an unexpected shape."""


def save_checkpoint(path: str | Path, model: PrunableMLP, config: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> None:
    """Write model weights, layer sizes, config and metadata atomically."""
    payload = {
        "format_version": FORMAT_VERSION,
        "sizes": [model.n_in, model.n_hidden, model.n_out],
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "config": dict(config),
        "meta": dict(meta or {}),
    }
    buf = io.BytesIO()  # not the temporary file name: torch would record it inside the archive
    torch.save(payload, buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def load_checkpoint(
    path: str | Path, expect_in: int | None = None, expect_out: int | None = None, device: str | torch.device = "cpu"
) -> tuple[PrunableMLP, dict[str, Any], dict[str, Any]]:
    """Load (model, config, meta); checks the format version and, if given, the input/output sizes."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path}: no such file") from None
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path}: unreadable or not a bdnn checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or "format_version" not in payload:
        raise CheckpointError(f"checkpoint {path}: not a bdnn checkpoint")
    version = payload["format_version"]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path}: format {version} is newer than this bdnn reads ({FORMAT_VERSION}); upgrade bdnn")
    n_in, n_hidden, n_out = payload["sizes"]
    if expect_in is not None and n_in != expect_in or expect_out is not None and n_out != expect_out:
        raise CheckpointError(
            f"checkpoint {path}: network {n_in}-{n_hidden}-{n_out} does not fit the task ({expect_in} inputs, {expect_out} outputs)"
        )
    model = PrunableMLP(n_in, n_hidden, n_out)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint {path}: weights do not match sizes {n_in}-{n_hidden}-{n_out} ({str(exc).splitlines()[0]})"
        ) from None
    return model.to(device), payload.get("config", {}), payload.get("meta", {})
