"""Fast, exact matching of the registry's key patterns over many (possibly long) tensor names.

The registry's patterns (hfprobe/data/families.json) mostly read `(^|_)down_blocks_\\d+_…`: a token boundary, then
literal text. Python's `re` cannot skip ahead to the literal when a pattern starts with a group or an anchor, so
it tries the whole pattern at every character: about 30 µs for a 500-character name, 20 s for a maximal header.
`KeyPattern` rewrites each pattern into *variants* that start with their literal text (`_down_blocks_\\d+_…` and
`^down_blocks_\\d+_…`), which `re` finds with a fast literal scan, and keeps the longest literal every match of a
variant holds as a cheap prefilter (`literal in name`; `KeySet` first asks whether any name can hold it at all, and
runs each pattern once per set of names; `count` scans prose only around the literals). The rewrite is exact, for
the shapes it knows (anything else is used as written):

- top-level alternatives `A|B` become variants in order;
- a leading `(^|_)` or `(?:^|_)` becomes a `^` variant and a `_` variant (same match start);
- a leading group of plain alternatives `(x|y)rest` becomes `x rest`, `y rest`;
- negative lookbehinds right after the boundary, `(?<!encoder_)layers_`, move after the literal they precede,
  `layers_(?<!encoder_layers_)`, which tests the same characters.

`search` answers "does the pattern match anywhere" (capturing groups may be expanded away);
`first` gives the leftmost match with the pattern's own groups (only non-capturing groups are expanded, and
among variants the one starting first wins, ties in the original pattern's order: the original's choice).
tests/test_keymatch.py checks every registry pattern against `re` on real and adversarial names.

>>> p = KeyPattern(r"(^|_)(down_blocks|up_blocks)_\\d+_attentions")
>>> p.search("unet_down_blocks_0_attentions_1"), p.search("unetdown_blocks_0_attentions")
(True, False)
>>> [v.pattern[:9] for v, _ in p.variants]
['^down_blo', '^up_block', '_down_blo', '_up_block']
>>> KeyPattern(r"(?:^|_)layers_(\\d+)_", groups=True).first("model_layers_11_q").group(1)
'11'
"""

from __future__ import annotations

import re
from collections import Counter

from ..formats.presence import Presence, gate, gate_keys, runs

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-/ ")
_QUANTIFIERS = frozenset("?*+{")
_UNSAFE = re.compile(r"\\[0-9]|\(\?P=|\(\?\(|\(\?<=|\(\?[aiLmsux-]")  # backrefs, conditionals, lookbehind+, flags


def _max_width(pattern: str, flags: int) -> int | None:
    """The most characters one match can span, or None if unbounded (or unknown)."""
    try:
        from re import _parser  # the parser `re` itself uses (private, so any failure means "unknown")

        width = _parser.parse(pattern, flags).getwidth()[1]
    except Exception:  # noqa: BLE001 - no bound known: callers scan everything
        return None
    return width if width < _parser.MAXREPEAT else None


_LOOKAROUND = re.compile(r"(?<!\\)\(\?<?[=!]")


def _max_reach(pattern: str, flags: int) -> int | None:
    """The most characters one match and its lookarounds can read, or None if unbounded (or unknown): its width with
    each lookaround counted as text it matches (`(?!-Coder-Next)` reads 11 characters past the match it allows)."""
    return _max_width(_LOOKAROUND.sub("(?:", pattern), flags)


def _skip_class(p: str, i: int) -> int:
    """Index just past the character class that starts at p[i] == '['."""
    j = i + 1
    if j < len(p) and p[j] == "^":
        j += 1
    if j < len(p) and p[j] == "]":
        j += 1
    while j < len(p) and p[j] != "]":
        j += 2 if p[j] == "\\" else 1
    return j + 1


def _scan(p: str, i: int = 0):
    """(index, char, open groups after it) for each character of p[i:] outside escapes and `[...]` classes."""
    depth, j = 0, i
    while j < len(p):
        c = p[j]
        if c == "\\":
            j += 2
            continue
        if c == "[":
            j = _skip_class(p, j)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        yield j, c, depth
        j += 1


def _group_end(p: str, i: int) -> int:
    """Index of the ')' that closes the group opened at p[i] == '(' (len(p) if unbalanced)."""
    return next((j for j, c, depth in _scan(p, i) if c == ")" and depth == 0), len(p))


def split_alternatives(p: str) -> list[str]:
    """The top-level alternatives of a pattern.

    >>> split_alternatives(r"a(b|c)|[|]d|e\\|f")
    ['a(b|c)', '[|]d', 'e\\\\|f']
    """
    out, start = [], 0
    for j, c, depth in _scan(p):
        if c == "|" and depth == 0:
            out.append(p[start:j])
            start = j + 1
    out.append(p[start:])
    return out


def leading_literal(p: str, *, anchors: bool = False) -> str:
    """The literal text every match of `p` starts with (after a leading `^`), '' if none is known. With
    `anchors`, leading `\\b` are skipped too (the text is then only known to occur in every match).

    >>> leading_literal(r"attn2_(processor_)?to"), leading_literal(r"lora_te1?_x"), leading_literal(r"\\.weight$")
    ('attn2_', 'lora_te', '.weight')
    >>> leading_literal(r"\\bSDXL\\b"), leading_literal(r"\\bSDXL\\b", anchors=True)
    ('', 'SDXL')
    """
    j = 1 if p.startswith("^") else 0
    while anchors and p.startswith("\\b", j):
        j += 2
    out: list[str] = []
    while j < len(p):
        c = p[j]
        if c in _PLAIN:
            out.append(c)
            j += 1
        elif c == "\\" and j + 1 < len(p) and not p[j + 1].isalnum():
            out.append(p[j + 1])
            j += 2
        else:
            break
    if out and j < len(p) and p[j] in _QUANTIFIERS:
        out.pop()  # the last character is optional or repeated
    return "".join(out)


def _skip_quantifier(p: str, j: int) -> int:
    """Index past the quantifier at p[j] (`?`, `*`, `+`, `{m,n}`, each maybe lazy or possessive), or j if none."""
    if j >= len(p) or p[j] not in _QUANTIFIERS:
        return j
    j = (p.find("}", j) + 1 or len(p)) if p[j] == "{" else j + 1
    return j + 1 if j < len(p) and p[j] in "?+" else j


def required_literal(p: str) -> str:
    """The longest literal text that occurs in every match of `p` (one alternative: no top-level `|`), '' if none.

    >>> required_literal(r"_\\d+_1_transformer_blocks_(\\d+)_"), required_literal(r"\\bGPT-?2\\b")
    ('_1_transformer_blocks_', 'GPT')
    >>> required_literal(r"ab{2,3}45"), required_literal(r"(x|y)+?z\\.w")
    ('45', 'z.w')
    """
    return max(required_literals(p), key=len, default="")


def required_literals(p: str) -> list[str]:
    """Every literal run that occurs in every match of `p` (one alternative), longest first: the runs outside
    groups and inside groups that must match once (no quantifier, no top-level `|`, not a lookaround).

    >>> required_literals(r"(^|_)blocks_\\d+_(ls[12]_gamma)$"), required_literals(r"^(vae_)?(encoder_(a|b))")
    (['blocks_', '_gamma', 'ls', '_'], ['encoder_'])
    """
    runs, run, j = [], [], 0
    while j < len(p):
        c = p[j]
        if c in _PLAIN or (c == "\\" and j + 1 < len(p) and not p[j + 1].isalnum()):
            run.append(c if c != "\\" else p[j + 1])
            j += 1 if c != "\\" else 2
            if j < len(p) and p[j] in _QUANTIFIERS:
                run.pop()  # optional or repeated: not in every match
                runs.append("".join(run))
                run = []
                j = _skip_quantifier(p, j)
            continue
        runs.append("".join(run))
        run = []
        if c == "(":
            end = _group_end(p, j)
            body = _group_body(p[j + 1 : end])
            j = end + 1
            if body is not None and (j >= len(p) or p[j] not in _QUANTIFIERS) and len(split_alternatives(body)) == 1:
                runs.extend(required_literals(body))  # a group every match passes through once
        elif c == "[":
            j = _skip_class(p, j)
        else:
            j += 2 if c == "\\" else 1
        j = _skip_quantifier(p, j)  # whatever was just skipped may be quantified
    runs.append("".join(run))
    return sorted({r for r in runs if r}, key=lambda r: (-len(r), r))


def _group_body(inner: str) -> str | None:
    """The pattern a group matches with (its text after `?:` or `?P<name>`); None for lookarounds and the rest."""
    if not inner.startswith("?"):
        return inner
    if inner.startswith("?:"):
        return inner[2:]
    if inner.startswith("?P<"):
        close = inner.find(">")
        return inner[close + 1 :] if close > 0 else None
    return None


def _literal_span(body: str, lit: str) -> int:
    """How many pattern characters spell `lit` at the start of `body` (an escape is two)."""
    j = 0
    for _ in lit:
        j += 2 if body[j] == "\\" else 1
    return j


def _plain_alternatives(inner: str) -> list[str] | None:
    """The alternatives of a group body when each is plain literal text, else None."""
    alts = split_alternatives(inner)
    plain = all(a and not a.startswith("^") and leading_literal(a) == a.replace("\\", "") for a in alts)
    return alts if plain else None


def _variants(branch: str, groups: bool) -> list[str]:
    """Equivalent variants of one top-level alternative, in the order the original tries them at one start."""
    heads, rest = [""], branch
    if branch.startswith("(?:^|_)"):
        heads, rest = ["^", "_"], branch[7:]
    elif branch.startswith("(^|_)") and not groups:
        heads, rest = ["^", "_"], branch[5:]
    behind: list[str] = []  # plain negative lookbehinds right after the boundary
    while heads != [""] and rest.startswith("(?<!"):
        end = _group_end(rest, 0)
        inner = rest[4:end]
        if end >= len(rest) or not inner or inner.startswith("^") or leading_literal(inner) != inner.replace("\\", ""):
            break
        behind.append(inner)
        rest = rest[end + 1 :]
    bodies = [rest]
    opener = "(?:" if rest.startswith("(?:") else "(" if rest.startswith("(") and not rest.startswith("(?") else None
    if opener and not (opener == "(" and groups):
        end = _group_end(rest, 0)
        after = rest[end + 1 :]
        alts = _plain_alternatives(rest[len(opener) : end]) if end < len(rest) else None
        if alts and after[:1] not in _QUANTIFIERS:
            bodies = [a + after for a in alts]
    out = []
    for head in heads:
        for body in bodies:
            lit = leading_literal(body) if behind else ""
            if behind and not lit:  # no literal to move the lookbehinds past: they stay where they were
                moved = "".join(f"(?<!{b})" for b in behind) + body
            else:
                checks = "".join(f"(?<!{b}{re.escape(lit)})" for b in behind)
                moved = body[: _literal_span(body, lit)] + checks + body[_literal_span(body, lit) :]
            out.append(head + moved)
    return out


def windows(text: str, literals, reach: int, *, within: str | None = None) -> list[tuple[int, int]]:
    """The spans of `text` within `reach` characters of an occurrence of any of `literals` (in `within`, a copy
    of `text` as long as it, e.g. its lower case, where given), in order, those that touch merged: a pattern whose
    every match holds one of the literals and spans at most `reach - 2` characters finds, searched in each span,
    what it finds in the whole text (each span reaches 2 characters further, so an end check sees the real text).

    >>> windows("ab....ab..........ab", ["ab"], 2)
    [(0, 10), (16, 20)]
    """
    where = text if within is None else within
    spans = []
    for lit in literals:
        at = where.find(lit)
        while at != -1:
            spans.append((max(0, at - reach), min(len(text), at + len(lit) + reach)))
            at = where.find(lit, at + 1)
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def trie(names: list[str]) -> str:
    """One regex alternative per name, as a trie: at any position at most one branch can go on, and a longer name
    is tried before a shorter one it extends, so the match is the one `longest|…|shortest` gives, found without
    trying every name at every character.

    >>> trie(["ab/c", "ab/cd", "x/y"])
    '(?:ab/c(?:d)?|x/y)'
    """
    root: dict = {}
    for name in names:
        node = root
        for ch in name.lower():
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        alts = []
        for ch, child in node.items():
            if ch:
                text = re.escape(ch)
                while len(child) == 1 and "" not in child:  # a chain of single children: one literal
                    ((nxt, child),) = child.items()
                    text += re.escape(nxt)
                alts.append(text + build(child))
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


class LiteralIndex:
    """Which of many groups of literals may occur in a text, found in one scan of its lower case rather than a
    scan per literal (a README's text hints: 175 patterns, each a scan or two of the whole text).

    One regex, a lookahead over the trie of every literal (lower case), tries each position once and gives the
    longest literal starting there; the shorter literals it begins with occur there too. A literal in a text is, in
    lower case, in the text's lower case (ASCII letters lower alike anywhere), so `possible` is sound for
    case-sensitive patterns as well; a group with no literal (None) or one outside ASCII is always possible.

    >>> LiteralIndex([("Qwen",), ("stable-diffusion", "SDXL"), ("llama",), (None,)]).possible("an sdxl and qwen2 lora")
    [0, 1, 3]
    """

    def __init__(self, groups):
        self._always, by_literal = [], {}
        for j, group in enumerate(groups):
            if not group or any(lit is None or not lit.isascii() for lit in group):
                self._always.append(j)
            else:
                for lit in group:
                    by_literal.setdefault(lit.lower(), set()).add(j)
        lits = sorted(by_literal, key=len, reverse=True)
        self._rx = re.compile("(?=(" + trie(lits) + "))") if lits else None
        # each literal: the groups of it and of every literal it begins with
        self._groups = {lit: frozenset().union(*(by_literal[p] for p in lits if lit.startswith(p))) for lit in lits}

    def possible(self, low: str) -> list[int]:
        """The indices of the groups one of whose literals may occur in the text whose lower case is `low`."""
        found = set(self._always)
        if self._rx is not None:
            for longest in {m.group(1) for m in self._rx.finditer(low)}:
                found |= self._groups[longest]
        return sorted(found)


class KeyPattern:
    """A registry pattern as fast, exact variants; see the module docstring.

    `variants` is a list of (compiled variant, literal) where the literal (or None) must occur in any text the
    variant matches; `literals` lists them all (None in it: no prefilter is possible). `needs[i]` holds every
    literal that must occur in a text variant i matches (the longest first), so a set of names missing any of them
    is never searched.
    """

    __slots__ = (
        "pattern",
        "flags",
        "_compiled",
        "_variants",
        "_sources",
        "needs",
        "groups",
        "_width",
        "_reach",
        "gate",
        "gate_keys",
        "literals",
    )

    def __init__(self, pattern: str, flags: int = 0, *, groups: bool = False):
        self.pattern, self.flags, self.groups = pattern, flags, groups
        self._compiled: re.Pattern | None = None  # the whole pattern and its width: built when first needed
        self._width: int | None | bool = False  # (most patterns only ever run as their variants)
        self._reach: int | None | bool = False
        found = []
        if not flags and not _UNSAFE.search(pattern):
            try:
                found = [
                    (v, tuple(required_literals(v))) for b in split_alternatives(pattern) for v in _variants(b, groups)
                ]
                if groups:  # (a variant must keep the pattern's groups: compiled now to check)
                    found = [(re.compile(v), need) for v, need in found]
                    if any(v.groups != self.compiled.groups for v, _ in found):
                        found = []
            except (re.error, RecursionError, OverflowError, ValueError):
                found = []
        firsts = [(v, need[0] if need else None) for v, need in found]
        # the variants are compiled when first run (`variants`): most patterns never run on most processes' files
        self._variants, self._sources = (firsts, []) if groups else (None, firsts)
        if not found:  # as written: no literal every match holds is known
            self._variants, self._sources, found = [(self.compiled, None)], [], [(self.pattern, ())]
        self.literals = tuple(need[0] if need else None for _, need in found)  # (None: the variant needs none)
        self.needs = [need for _, need in found]
        # a piece of each variant's first literal (`presence.gate`): names holding none match no variant; None
        # where a variant needs no literal
        self.gate = (gate(need[0] for need in self.needs) or None) if all(self.needs) else None
        self.gate_keys = gate_keys(self.gate)  # (their first bytes: `Presence.grams` answers most with one lookup)

    @property
    def compiled(self) -> re.Pattern:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    @property
    def variants(self) -> list[tuple[re.Pattern, str | None]]:
        if self._variants is None:
            try:
                self._variants = [(re.compile(v), lit) for v, lit in self._sources]
            except re.error as e:  # (a rewrite of a pattern that compiles: a bug here, never a file's doing)
                raise RuntimeError(f"{self.pattern!r}: a variant does not compile ({e})") from e
        return self._variants

    @property
    def width(self) -> int | None:
        """The most characters one match can span, or None if unbounded (or unknown)."""
        if self._width is False:
            self._width = _max_width(self.pattern, self.flags)
        return self._width

    def search(self, text: str) -> bool:
        """Whether the pattern matches anywhere in `text` (as `bool(re.search(pattern, text))`)."""
        for v, lit in self.variants:
            if (lit is None or lit in text) and v.search(text):
                return True
        return False

    def first(self, text: str) -> re.Match | None:
        """The leftmost match, with the original pattern's groups (as `re.search(pattern, text)`; needs groups=True)."""
        best = None
        for v, lit in self.variants:
            if lit is None or lit in text:
                m = v.search(text)
                if m and (best is None or m.start() < best.start()):
                    best = m
        return best

    def count(self, text: str) -> int:
        """`len(re.findall(pattern, text))`, scanning only around the occurrences of the variants' literals.

        Every match holds one of the literals, and it and its lookarounds read at most `reach` characters, so they
        lie within `reach` characters of a literal's occurrence; windows that touch are merged (a match never spans
        two), and each reaches 2 characters further, so an end check (`\\b`) sees the real text. Without literals
        or a bounded reach, the whole text is scanned.

        >>> KeyPattern(r"\\bSD ?1(\\.[0-9x])?\\b|stable-diffusion-v1").count("SD 1.5, SDXL and stable-diffusion-v1-5")
        2
        >>> KeyPattern(r"\\bQwen ?3(?![- ]?(Coder[- ])?Next)").count("Qwen3-Coder-Next, not Qwen3")
        1
        """
        literals = self.literals
        if self._reach is False:
            self._reach = _max_reach(self.pattern, self.flags)
        if self._reach is None or None in literals:
            return len(self.compiled.findall(text))
        if not any(map(text.__contains__, literals)):  # (most prose names none of most patterns' literals)
            return 0
        near = windows(text, set(literals), self._reach + 2)
        return sum(len(self.compiled.findall(text, lo, hi)) for lo, hi in near)

    def __repr__(self) -> str:
        return f"KeyPattern({self.pattern!r}, {len(self.variants)} variants)"


class KeySet:
    """Names (in order) and what patterns find in them, each pattern evaluated once per set.

    `present(literal)` (a `hfprobe.formats.presence.Presence` unless given, e.g. one shared with a superset) is a
    quick, sound test of whether a literal can occur in any name: patterns whose literals cannot are never run.

    >>> ks = KeySet(["unet_down_blocks_0_attentions_1_proj", "unet_mid_block_attentions_0_proj"])
    >>> sorted(ks.matches(KeyPattern(r"(^|_)mid_block_")))
    ['unet_mid_block_attentions_0_proj']
    """

    def __init__(self, keys, present=None):
        self.keys = list(keys)
        self.present = present or Presence(self.keys)
        self._small = self.present.small if isinstance(self.present, Presence) else None  # (the masked names)
        self._matches: dict[str, set[str]] = {}
        self._values: dict[str, dict[str, int]] = {}
        self._having: dict[str, list[str]] = {"": self.keys}

    def having(self, literal: str) -> list[str]:
        """The names that hold `literal` (kept: the registry's variants share a few hundred literals)."""
        found = self._having.get(literal)
        if found is None:
            found = self._having[literal] = [k for k in self.keys if literal in k]
        return found

    @property
    def grams(self) -> frozenset[bytes] | None:
        """`Presence.grams` of the names (None where they are many, or `present` is not a `Presence`)."""
        return self.present.grams if self._small is not None else None

    def _active(self, pattern: KeyPattern) -> list[tuple[re.Pattern, str]]:
        present, pieces, small = self.present, pattern.gate, self._small
        if pieces is not None and small is not None:  # (most patterns, for most files: no variant's literal can occur)
            starts = pattern.gate_keys
            if starts is not None and present.grams.isdisjoint(starts):
                return []
            if not any(map(small.__contains__, pieces)):
                return []
        return [(v, lit or "") for (v, lit), need in zip(pattern.variants, pattern.needs) if all(map(present, need))]

    def matches(self, pattern: KeyPattern) -> set[str]:
        """The names `pattern` matches anywhere (as `re.search`)."""
        found = self._matches.get(pattern.pattern)
        if found is None:
            found = self._matches[pattern.pattern] = set()
            for v, lit in self._active(pattern):  # (the names holding `lit` only: most do not)
                found.update(filter(v.search, self.having(lit)))
        return found

    def index_values(self, pattern: KeyPattern) -> dict[str, int]:
        """{name: int(group 1) of the leftmost match} for the names `pattern` (built with groups=True) matches."""
        values = self._values.get(pattern.pattern)
        if values is None:
            best: dict[str, re.Match] = {}
            for v, lit in self._active(pattern):  # in order: on a tie the earlier variant stays
                for k in self.having(lit):
                    m = v.search(k)
                    if m is not None and (k not in best or m.start() < best[k].start()):
                        best[k] = m
            values = self._values[pattern.pattern] = {k: int(m.group(1)) for k, m in best.items()}
        return values


class GateIndex:
    """Which of many patterns may match a set of names, found at once rather than pattern by pattern: each piece of a
    pattern's gate (`KeyPattern.gate`) is filed under one of its runs of `GRAM` bytes, the one fewest of the index's
    pieces hold (`attn` is in many, `_emb` in few), and names whose masked text holds none of a pattern's runs
    (`KeySet.grams`) hold none of its pieces, and match nothing it matches. Patterns with a piece shorter than a run,
    or no gate, are always possible; where the names are many, every pattern is.

    >>> patterns = [KeyPattern(p) for p in (r"(^|_)mid_block_", r"\\.q_proj$", r"_attn1$", r"^fc_")]
    >>> GateIndex(patterns).possible(KeySet(["unet_mid_block_attentions_0_attn1"]))  # (`fc_`: too short to file)
    [0, 2, 3]
    """

    def __init__(self, patterns):
        gates = [p.gate if p.gate_keys is not None else None for p in patterns]  # (pieces of GRAM bytes or more)
        held = Counter(run for pieces in gates for piece in pieces or () for run in set(runs(piece)))
        self.count = len(gates)
        self._always = [n for n, pieces in enumerate(gates) if pieces is None]
        self._filed: dict[bytes, list[int]] = {}
        for n, pieces in enumerate(gates):
            for piece in pieces or ():
                self._filed.setdefault(min(runs(piece), key=held.__getitem__), []).append(n)
        self._keys = frozenset(self._filed)  # (two sets: their intersection walks the smaller)

    def possible(self, keys: KeySet) -> list[int]:
        """The indexes (in order) of the patterns that may match some of `keys`; the others match none."""
        grams = keys.grams
        if grams is None:
            return list(range(self.count))
        found = set(self._always)
        for key in grams & self._keys:
            found.update(self._filed[key])
        return sorted(found)
