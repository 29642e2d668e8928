"""Candidate label vocabularies: the ImageNet-1k names open_clip ships plus styles, and a user's file."""

from __future__ import annotations

from importlib import resources

from ..config import read_text_lines
from ..errors import TextEncoderError, UsageError


def default_vocabulary(which: str = "imagenet+styles") -> list[str]:
    """The open candidate list used when the user gives none: ImageNet-1k names (from open_clip) + styles.

    >>> len(default_vocabulary("imagenet")), "goldfish" in default_vocabulary()
    (998, True)
    """
    out: list[str] = []
    for part in which.split("+"):
        name = {"imagenet": "vocab_imagenet.txt", "styles": "vocab_styles.txt"}.get(part)
        if name is None:
            raise TextEncoderError(f"readout: unknown vocabulary {part!r}; use imagenet, styles or imagenet+styles")
        text = resources.files("hfprobe").joinpath(f"data/{name}").read_text(encoding="utf-8")
        out += [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return list(dict.fromkeys(out))


def read_vocab_file(path: str) -> list[str]:
    """A user's --vocab file: one label per line, '#' comments and blank lines ignored."""
    try:
        lines = read_text_lines(path, "vocabulary file", "pass a UTF-8 text file with one label per line")
    except UsageError as err:  # the same one line, as the error type this module raises
        raise TextEncoderError(str(err)) from None
    labels = list(dict.fromkeys(ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")))
    if not labels:
        raise TextEncoderError(f"vocabulary file {path} has no labels; write one label per line")
    return labels
