"""Candidate label lists: their one check, the ImageNet-1k names open_clip ships plus styles, and a user's file.
No torch: a prediction checks its labels before it knows whether anything will embed them."""

from __future__ import annotations

from collections import Counter
from importlib import resources

from ..config import read_text_lines
from ..errors import TextEncoderError, UsageError


def check_labels(labels, *, what: str = "labels", unique: bool = True) -> list[str]:
    """Validate a list of category names before embedding; returns them stripped.

    Raises TextEncoderError on an empty list, a non-string, a blank name or a duplicate,
    because each of those silently breaks a softmax over classes.

    >>> check_labels([" dog", "cat "])
    ['dog', 'cat']
    """
    if labels is None or isinstance(labels, str) or len(labels) == 0:
        raise TextEncoderError(
            f"{what}: the label list is empty; pass at least one category name (e.g. --labels 'dog,cat')"
        )
    out = []
    for lab in labels:
        if not isinstance(lab, str) or not lab.strip():
            raise TextEncoderError(f"{what}: label {lab!r} is not a non-empty string; remove it or give it a name")
        out.append(lab.strip())
    dupes = sorted(x for x, n in Counter(out).items() if n > 1) if unique else []
    if dupes:
        raise TextEncoderError(f"{what}: duplicate labels {dupes}; each category must appear once")
    return out


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
