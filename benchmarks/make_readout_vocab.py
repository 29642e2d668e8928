"""Write hfprobe/data/vocab_imagenet.txt from the ImageNet-1k class names that open_clip ships.

Provenance: open_clip (`open_clip.zero_shot_metadata.IMAGENET_CLASSNAMES`, the cleaned names OpenAI's CLIP
zero-shot evaluation used), one name per line, in class-id order; a repeated name keeps its first occurrence
and the line notes nothing else. hfprobe/data/vocab_styles.txt is hand-written (art and photo styles) and is
not generated here.

    .venv/bin/python benchmarks/make_readout_vocab.py
"""

from __future__ import annotations

from pathlib import Path

import open_clip
from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

OUT = Path(__file__).resolve().parents[1] / "hfprobe" / "data" / "vocab_imagenet.txt"


def main() -> None:
    names = list(dict.fromkeys(n.strip() for n in IMAGENET_CLASSNAMES))
    header = (
        f"# ImageNet-1k class names from open_clip {open_clip.__version__} zero_shot_metadata.IMAGENET_CLASSNAMES "
        f"({len(names)} unique of {len(IMAGENET_CLASSNAMES)})\n"
    )
    OUT.write_text(header + "\n".join(names) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(names)} names)")


if __name__ == "__main__":
    main()
