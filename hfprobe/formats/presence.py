"""Which literal strings may occur in a set of names: a quick test that scales to maximal headers.

`Presence(names)(literal)` looks for the literal's digit-free pieces in the names with every ASCII digit masked
(`#`) and duplicates dropped. A maximal header's 20,000 long names usually differ only in block numbers, so the
text searched shrinks to a few lines, and a hundred literals cost next to nothing instead of a hundred scans of
megabytes. The answer is an over-approximation: it may say yes for an absent literal, never no for a present one
(a piece without digits that occurs in a name occurs, unchanged, in its masked copy). Callers use it to skip work
that cannot find anything, then test each name exactly.

>>> present = Presence(["unet.down_blocks.0.attn1", "unet.down_blocks.1.attn1"])
>>> present("down_blocks.7"), present("up_blocks"), present("attn2")
(True, False, True)

Most of the registry's patterns can match none of a file's names. `gate(literals)` keeps the longest piece of each
literal; where the masked names are small enough to scan for each (`small`, else None), names holding none of a
gate's pieces hold none of its literals, and a pattern needing one of them is passed over at once.

>>> [any(p in present.small for p in gate(lits)) for lits in (["up_blocks", "mid_block"], ["up_blocks", "attn1"])]
[False, True]

Scanning for each piece still costs a scan per pattern. `grams` holds every run of `GRAM` bytes of the small text, made
once: a piece occurs only where its first `GRAM` bytes are one of them, so `grams.isdisjoint(gate_keys(pieces))` passes
over most patterns with one set operation and no scan.

>>> present.grams.isdisjoint(gate_keys(gate(["up_blocks", "mid_block"]))), gate_keys((b"attn",)) is None
(True, False)
"""

from __future__ import annotations

import functools
import re

_MASK = bytes.maketrans(b"0123456789", b"##########")
_DIGIT_RUNS = re.compile(r"[0-9]+")


class Presence:
    """A sound "may occur in some name" test for literals; see the module docstring."""

    __slots__ = ("_text", "_seen", "_pieces", "_absent", "_present", "_holds", "small", "_grams")

    def __init__(self, names):
        masked = "\n".join(names).encode("utf-8", "surrogatepass").translate(_MASK)
        self._text = b"\n".join(set(masked.split(b"\n")))
        # a small text is scanned for each piece at once; a large one through `_piece`, which spares scans
        self._holds = self._text.__contains__ if len(self._text) < LARGE else self._piece
        self.small = self._text if len(self._text) < LARGE else None  # (scanned for a `gate`'s pieces at once)
        self._seen: dict[str, bool] = {}
        self._pieces: dict[bytes, bool] = {}
        self._absent: list[bytes] = []  # pieces known absent / present, where each scan is dear (a large text)
        self._present: list[bytes] = []
        self._grams: frozenset[bytes] | None = None

    @property
    def grams(self) -> frozenset[bytes] | None:
        """Every run of `GRAM` bytes of the small masked text (made at the first call), or None where it is large."""
        if self._grams is None and self.small is not None:
            text = self.small
            self._grams = frozenset(runs(text))
        return self._grams

    def __call__(self, literal: str) -> bool:
        found = self._seen.get(literal)
        if found is None:
            found = self._seen[literal] = all(map(self._holds, _pieces(literal)))
        return found

    def _piece(self, piece: bytes) -> bool:
        found = self._pieces.get(piece)
        if found is None:  # names that share no block structure (random ones): spare scans of megabytes
            if any(a in piece for a in self._absent):  # holds an absent piece: absent too
                found = False
            elif any(piece in q for q in self._present):  # inside a present piece: present too
                found = True
            else:
                found = piece in self._text
                (self._present if found else self._absent).append(piece)
            self._pieces[piece] = found
        return found


LARGE = 256 * 1024  # bytes of masked names above which known pieces are used to skip scans
GRAM = 4  # bytes of a piece looked up among `Presence.grams` (few of the registry's pieces are shorter)


@functools.lru_cache(maxsize=4096)
def _pieces(literal: str) -> tuple[bytes, ...]:
    """The digit-free pieces of a literal, as UTF-8 (literals are the registry's: a few hundred)."""
    return tuple(p.encode("utf-8", "surrogatepass") for p in _DIGIT_RUNS.split(literal) if p)


def gate(literals) -> tuple[bytes, ...]:
    """The longest digit-free piece of each literal (a literal without one: no gate can be made, `()`)."""
    found = []
    for literal in literals:
        pieces = _pieces(literal)
        if not pieces:
            return ()
        found.append(max(pieces, key=len))
    return tuple(dict.fromkeys(found))


def gate_keys(pieces) -> frozenset[bytes] | None:
    """The first `GRAM` bytes of each of a gate's pieces, or None where one is shorter (it is then scanned for)."""
    return frozenset(p[:GRAM] for p in pieces) if pieces and all(len(p) >= GRAM for p in pieces) else None


def runs(text: bytes) -> list[bytes]:
    """Every run of `GRAM` bytes of `text`, in order (none where it is shorter)."""
    return [text[i : i + GRAM] for i in range(len(text) - GRAM + 1)]
