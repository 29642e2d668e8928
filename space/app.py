"""The hfprobe Space (written by `hfprobe space push`; in a checkout: `python space/app.py`). The page is
`hfprobe.space.app` (on a Space, the hfprobe/ folder beside this file); its settings are in hfprobe-space.json
beside it, where a variable of the same name in the environment wins."""

from pathlib import Path

from hfprobe.space.app import main

if __name__ == "__main__":
    main(Path(__file__).resolve().parent)
