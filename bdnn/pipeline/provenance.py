"""Where a result came from: the code's git commit and the machine (recorded beside results)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def git_commit() -> str:
    """The commit of the checkout bdnn runs from, with `-dirty` when its code has uncommitted changes;
    `unknown` outside a git checkout (an installed package)."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, cwd=here).stdout.strip()
        if not head:
            return "unknown"
        code = ["bdnn", "workflow", "Snakefile", "config", "pyproject.toml", "requirements.lock"]  # not the outputs (figures/)
        status = ["git", "status", "--porcelain", "--untracked-files=no", "--", *code]
        dirty = subprocess.run(status, capture_output=True, text=True, timeout=10, cwd=here.parent)
        return head + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def machine() -> str:
    """The CPU and core count, in words."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}"
