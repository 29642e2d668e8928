"""`python -m hfprobe.space [FOLDER]`: run the Space locally (FOLDER: where its settings and index live)."""

from __future__ import annotations

import sys

from .app import main

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
