"""Process-wide settings read from the environment, in one place."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Where hfprobe keeps zoos, experts and indexes: $HFPROBE_CACHE or ~/.cache/hfprobe."""
    root = os.environ.get("HFPROBE_CACHE") or os.path.join(Path.home(), ".cache", "hfprobe")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def debug() -> bool:
    """HFPROBE_DEBUG=1 shows tracebacks instead of one-line errors."""
    return os.environ.get("HFPROBE_DEBUG", "") not in ("", "0", "false", "False")
