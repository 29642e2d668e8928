"""The fast paths answer as the plain regexes do.

classify never runs the registry's patterns as written on every name (too slow on long names, see
hfprobe/tree/keymatch.py); these tests keep the plain `re` forms as the oracle, on real names, names sampled from
the patterns themselves (so each one matches often) and near misses.
"""

from __future__ import annotations

import re

import pytest

from hfprobe.tree.names import normalize_key, shapes_from_raw


def _sample(pattern: str, rng) -> str:
    """A string the pattern matches, more or less: literals, one branch, a few repeats; anchors and lookarounds
    are left out, so some samples are near misses."""
    from re import _constants as c
    from re import _parser

    out: list[str] = []

    def gen(sub):
        for op, av in sub:
            if op is c.LITERAL:
                out.append(chr(av))
            elif op is c.IN:
                choices = [chr(a) for o, a in av if o is c.LITERAL] or ["7"]
                out.append(rng.choice(choices))
            elif op is c.BRANCH:
                gen(rng.choice(av[1]))
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
                for _ in range(rng.randint(av[0], min(av[1], av[0] + 2))):
                    gen(av[2])
            elif op is c.SUBPATTERN:
                gen(av[-1])
            elif op in (c.ANY, c.CATEGORY, c.NOT_LITERAL):
                out.append(rng.choice("a5_"))

    gen(_parser.parse(pattern))
    return "".join(out)


def _noisy(texts, rng, pieces) -> set[str]:
    """Each text with random prefixes, suffixes, newlines and one character changed or dropped."""
    out = set()
    for text in texts:
        for _ in range(3):
            pre = "_".join(rng.choice(pieces) for _ in range(rng.randint(0, 3)))
            suf = "_".join(rng.choice(pieces) for _ in range(rng.randint(0, 2)))
            k = (pre + rng.choice(["_", "", "__"]) if pre else rng.choice(["", "_"])) + text
            k += rng.choice(["", "_", "\n", "\n_"]) + suf if rng.random() < 0.5 else ""
            if k and rng.random() < 0.3:
                i = rng.randrange(len(k))
                k = k[:i] + rng.choice(["", "_", "1", "\n", "a"]) + k[i + 1 :]
            out.add(k)
    return out


def _realzoo_names(limit: int = 4000) -> list[str]:
    from hfprobe.source.resolve import resolve
    from hfprobe.source.safetensors import read_header
    from tests.conftest import REALZOO

    names: list[str] = []
    for path in sorted((REALZOO / "files").rglob("*.safetensors")) if REALZOO.is_dir() else []:
        with resolve(str(path)) as src:
            names += list(read_header(src.open(src.default_file), allow_truncated=True).tensors)
    return names[:limit]


_CHUNKS = 8  # the patterns in this many slices, each with a corpus of its own (the cost grows with the registry)


@pytest.fixture(scope="module")
def _key_corpus():
    """Every distinct pattern of the registry's rules and layouts, the realzoo's names, and a sampling seed."""
    from hfprobe.tree.registry import families, layout

    reg = families()
    exist = [kp for kp, *_ in reg["_rules"]] + [kp for f in reg["families"] for kp, _, _ in layout(f)[0]]
    first = [kp for f in reg["families"] for kp, _ in layout(f)[1]]
    real = [normalize_key(k) for k in _realzoo_names()]
    return list(dict.fromkeys(exist)), list(dict.fromkeys(first)), real


@pytest.mark.parametrize("chunk", range(_CHUNKS))
def test_key_patterns_match_as_re_does(chunk, _key_corpus):
    """One slice of the patterns (in registry order: a family's patterns side by side), each against its own
    samples and their near misses, its slice's, 3,000 of the other slices' and the real names."""
    import random

    from hfprobe.tree.keymatch import KeySet

    exist_all, first_all, real = _key_corpus
    order = list(dict.fromkeys(kp.pattern for kp in exist_all + first_all))
    lo, hi = chunk * len(order) // _CHUNKS, (chunk + 1) * len(order) // _CHUNKS
    mine = set(order[lo:hi])
    exist = [kp for kp in exist_all if kp.pattern in mine]
    first = [kp for kp in first_all if kp.pattern in mine]
    rng = random.Random(chunk)
    pieces = ["", "a", "unet", "model", "text_model", "vision_model", "encoder", "decoder", "single", "layers", "1"]
    samples = [_sample(p, rng) for p in order[lo:hi] for _ in range(12)]
    others = [_sample(p, rng) for p in rng.sample(order[:lo] + order[hi:], min(1000, len(order) - hi + lo))]
    names = sorted(_noisy(samples + others, rng, pieces) | set(samples) | set(others))  # clean ones: anchored hits
    names += real + ["", "_", "\n", "layers_1_", "_layers_1_self_attn_q_proj", "encoder_layers_0_self_attn_q_proj"]
    assert len(names) > 3000
    # the oracle: `re` over every name, once per pattern (the checks below reuse it: it is most of the cost)
    hit, lead = {}, {}
    for p in dict.fromkeys(kp.pattern for kp in exist):
        hit[p] = set(filter(re.compile(p).search, names))  # (filter: the loop in C, not a comprehension)
    for p in dict.fromkeys(kp.pattern for kp in first):
        rx = re.compile(p)
        lead[p] = {n: m for n in names if (m := rx.search(n))}
    for kp in exist:
        assert set(filter(kp.search, names)) == hit[kp.pattern], kp.pattern
        assert hit[kp.pattern], f"the corpus never matches {kp.pattern}"
    for kp in first:
        want = lead[kp.pattern]
        for n in names:
            a, b = kp.first(n), want.get(n)
            assert (a and (a.span(), a.groups())) == (b and (b.span(), b.groups())), (kp.pattern, n)
    # and over a whole set of names at once (joined by newlines, or one by one where a name holds a newline)
    for group in ([n for n in names if "\n" not in n], names):
        keys, members = KeySet(group), set(group)
        for kp in exist:
            assert keys.matches(kp) == hit[kp.pattern] & members, kp.pattern
        for kp in first:
            want = {n: int(m.group(1)) for n, m in lead[kp.pattern].items() if n in members}
            assert keys.index_values(kp) == want, kp.pattern
    # and over small sets, where most of a pattern's literals are absent and its variants are skipped
    for i in range(0, len(names), 60):
        group = names[i : i + 60]
        keys, members = KeySet(group), set(group)
        for kp in exist:
            assert keys.matches(kp) == hit[kp.pattern] & members, kp.pattern
    for kp in exist + first:  # every literal a variant needs is in every name it matches
        for (v, _), need in zip(kp.variants, kp.needs):
            assert all(lit in n for n in filter(v.search, names) for lit in need), (v.pattern, need)


def test_required_literals_are_in_every_match():
    import random

    from hfprobe.tree.keymatch import required_literals

    rng = random.Random(5)
    cases = {
        r"a(bc)?d": ["a", "d"],
        r"x(?=yz)y": ["x", "y"],
        r"(?P<g>abc)_d": ["abc", "_d"],
        r"(?:ab|cd)e_(f(g)h)": ["e_", "f", "g", "h"],
        r"(ab)+c": ["c"],
        r"(ab){0,2}c(?!zz)": ["c"],
        r"(?<!q)w(x|y)z\.v": ["z.v", "w"],
        r"k(l(mn|op)q)*r": ["k", "r"],
        r"[ab]cd(e[fg]h)": ["cd", "e", "h"],
    }
    for pattern, want in cases.items():
        assert required_literals(pattern) == want, pattern
        for _ in range(50):
            text = _sample(pattern, rng)
            m = re.search(pattern, text)  # (the sampler ignores lookarounds: a sample may not match)
            assert m is None or all(lit in m.group(0) for lit in want), (pattern, text)


def test_normalisation_and_pairing_match_the_plain_regexes():
    import random

    suffix = re.compile(
        r"[._](lora[._]?(a|b|down|up)|lora_embedding_(a|b))(\.default)?$|"
        r"\.(base_layer|original_module|modules_to_save\.default)$"
    )
    part = re.compile(
        r"^(?P<base>.*?)[._:](?P<part>lora_a|lora_b|lora\.down|lora\.up|lora_down|lora_up|down|up)(\.default)?"
        r"(\.weight)?$",
        re.I,
    )

    def plain_normalize(key):
        k = re.sub(r"\.(weight|bias|alpha)$", "", re.sub(r"^base_model\.model\.", "", key.lower()))
        k = suffix.sub("", suffix.sub("", k))
        return re.sub(r"[.:/\-]", "_", re.sub(r"_lora$", "", k))

    def plain_pairs(raw):
        out = {}
        for key, shape in raw.items():
            if key.endswith(".alpha") or len(shape) < 2:
                continue
            m = re.match(r"^w_(a|b)_(\d+)$", key)
            m2 = part.match(key) if not m and ("lora" in key.lower() or ":" in key) else None
            if m:
                base, p = f"w_{m.group(2)}", "down" if m.group(1) == "a" else "up"
            elif m2:
                base, p = m2.group("base"), m2.group("part").lower()
            else:
                out[re.sub(r"\.weight$", "", key)] = (shape[0], shape[1])
                continue
            side = 1 if p in ("lora_a", "lora.down", "lora_down", "down") else 0  # A gives d_in, B d_out
            slot = list(out.get(base, (None, None)))
            slot[side] = shape[side]
            out[base] = tuple(slot)
        return out

    tokens = [
        "base_model",
        "model",
        "lora",
        "lora_A",
        "LORA_b",
        "lora_embedding_A",
        "default",
        "weight",
        "alpha",
        "bias",
        "down",
        "Up",
        "base_layer",
        "original_module",
        "modules_to_save",
        "w_a",
        "w_b",
        "0",
        "x" * 40,
    ]
    rng = random.Random(1)
    keys = sorted(
        {
            "".join(rng.choice(tokens) + rng.choice(".:_-/\n") for _ in range(rng.randint(1, 6)))[:-1]
            for _ in range(30000)
        }
        | set(_realzoo_names())
    )
    from re import _parser

    from hfprobe.tree import names

    for pattern in (names._SUFFIX, names._WEIGHT_TAIL, names._LORA_TAIL, names._DOT_WEIGHT, names._LORA_SUFFIX):
        assert _parser.parse(pattern.pattern).getwidth()[1] + 1 < names.TAIL  # (+1: `$` before a final newline)
    assert [normalize_key(k) for k in keys] == [plain_normalize(k) for k in keys]
    assert names.normalize_keys(keys) == [plain_normalize(k) for k in keys]
    for i in range(0, len(keys), 40):
        raw = {k: (4, 8) for k in keys[i : i + 40]}
        assert shapes_from_raw(raw) == plain_pairs(raw), keys[i : i + 40]


def test_prose_scans_find_what_the_plain_regexes_find():
    import random

    from hfprobe.tree.mentions import (
        _hub_id_pattern,
        _hub_names,
        _name_pattern,
        _registry_names,
        hub_id_mentions,
        name_mentions,
    )
    from hfprobe.tree.registry import families
    from tests.conftest import REALZOO

    hints = [(kp, any_case) for kp, _, any_case in families()["_text_hints"]]
    names = _hub_names()
    checkpoints = list(_registry_names())
    plain_ids = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, names)) + r")(?![\w/-]|\.\w)", re.I)
    assert _hub_id_pattern().pattern != plain_ids.pattern  # the trie form is what is compared
    rng = random.Random(2)
    words = [
        "SD",
        "SDXL",
        " ",
        ".",
        "1",
        "5",
        "-",
        "x",
        "/",
        "é",
        "\n",
        "Stable Diffusion",
        "v1",
        "FLUX",
        "T5",
        ".ckpt",
    ]
    words += ["İ", ".safetensors", "_"]  # (İ lower-cases to two characters)
    texts = (
        [p.read_text(errors="replace") for p in sorted((REALZOO / "files").rglob("*.md"))] if REALZOO.is_dir() else []
    )
    for _ in range(1500):
        parts = [rng.choice(words) for _ in range(rng.randint(0, 12))]
        for _ in range(rng.randint(1, 4)):
            parts.insert(
                rng.randint(0, len(parts)),
                rng.choice(
                    [
                        _sample(rng.choice(hints)[0].pattern, rng),
                        rng.choice(names).upper(),
                        rng.choice(names),
                        rng.choice(checkpoints),
                        rng.choice(checkpoints).upper(),
                    ]
                ),
            )
        texts.append("".join(parts))
    texts += ["İ" * 80 + " " + checkpoints[-1] + ".ckpt, " + "İ" * 80 + " " + checkpoints[0]]  # (positions shift)
    index = families()["_text_hint_index"]  # the hints asked at all: those whose literals the text may hold
    for text in texts:
        possible = set(index.possible(text.lower()))
        for j, (kp, any_case) in enumerate(hints):
            seen = text.lower() if any_case else text
            n = kp.count(seen)
            assert n == len(kp.compiled.findall(seen)), (kp.pattern, text[:80])
            assert j in possible or not any(lit in seen for lit in kp.literals), (kp.pattern, text[:80])
        found = [(m.span(), m.group(1)) for m in hub_id_mentions(text)]
        assert found == [(m.span(), m.group(1)) for m in plain_ids.finditer(text)], text[:80]
        found = [(m.span(), m.group(1)) for m in name_mentions(text)]  # (scanned near the names it holds)
        assert found == [(m.span(), m.group(1)) for m in _name_pattern().finditer(text)], text[:80]


def test_a_hint_s_lookahead_is_read_past_the_match():
    """`count` scans windows around a hint's literals; a negative lookahead reads past the match it allows, so a
    window as wide as the match alone counted `Qwen3-Coder-Next` as Qwen3 (`(?![- ]?(Coder[- ])?Next)` unseen). Each
    hint with a lookahead, sampled and followed by a sample of what its lookahead refuses, counts as `re` does."""
    import random

    from hfprobe.tree.registry import families

    rng, checked = random.Random(3), 0
    for kp, _, any_case in families()["_text_hints"]:
        pattern = kp.pattern.removeprefix("(?i)")
        for _ in range(8):
            text = "x " * 40 + _sample(pattern, rng) + _sample_lookahead(pattern, rng) + " y" * 40
            text = text.lower() if any_case else text
            assert kp.count(text) == len(kp.compiled.findall(text)), (kp.pattern, text[78:140])
            checked += "(?!" in pattern
    assert checked >= 40  # (the hints with a lookahead: Qwen3's, Gemma's, DeepSeek's, ...)


def _sample_lookahead(pattern: str, rng) -> str:
    """A sample of one of the pattern's negative lookaheads' bodies (what it refuses after a match), or ""."""
    bodies = [pattern[m.end() : _close(pattern, m.end())] for m in re.finditer(r"(?<!\\)\(\?!", pattern)]
    return _sample(rng.choice(bodies), rng) if bodies else ""


def _close(p: str, i: int) -> int:
    """The index of the `)` that closes the group whose body starts at `i`."""
    depth = 0
    while i < len(p):
        if p[i] == "\\":
            i += 2
            continue
        if p[i] == "[":
            i = p.index("]", i + 2) + 1
            continue
        depth += {"(": 1, ")": -1}.get(p[i], 0)
        if depth < 0:
            return i
        i += 1
    return i


def test_gate_indexes_pass_over_only_patterns_that_match_nothing():
    """`GateIndex.possible` (the name rules' index, each layout's roles') leaves out only patterns that match no name
    of a set: `re` is the oracle, on small sets of names sampled from a few patterns each, with near misses, and on
    each realzoo file's names."""
    import random

    from hfprobe.tree.keymatch import KeySet
    from hfprobe.tree.registry import families, layout, role_index

    reg = families()
    bases = {spec["_base"]: f for f, spec in reg["families"].items()}
    indexes = [(reg["_rule_index"], [kp for kp, *_ in reg["_rules"]])]
    indexes += [(role_index(f), [kp for kp, _, _ in layout(f)[0]]) for f in bases.values()]
    patterns = list({kp.pattern: kp for _, kps in indexes for kp in kps}.values())
    rng = random.Random(0)
    pieces = ["", "a", "unet", "model", "base_model_model", "encoder", "layers", "1"]
    sets = [
        sorted(_noisy([_sample(kp.pattern, rng) for kp in rng.sample(patterns, 6)], rng, pieces)) for _ in range(60)
    ]
    sets += [[normalize_key(k) for k in names] for names in _realzoo_files_names()]
    kept = passed_over = 0
    for names in sets:
        keys = KeySet(names)
        for index, kps in indexes:
            possible = set(index.possible(keys))
            for n, kp in enumerate(kps):
                if n in possible:
                    kept += any(map(kp.compiled.search, names))
                else:
                    passed_over += 1
                    assert not any(map(kp.compiled.search, names)), (kp.pattern, names)
    assert kept > 100 and passed_over > 10 * kept  # (patterns that match were asked about; most were passed over)


def _realzoo_files_names() -> list[list[str]]:
    from hfprobe.source.resolve import resolve
    from hfprobe.source.safetensors import read_header
    from tests.conftest import REALZOO

    out = []
    for path in sorted((REALZOO / "files").rglob("*.safetensors")) if REALZOO.is_dir() else []:
        with resolve(str(path)) as src:
            out.append(list(read_header(src.open(src.default_file), allow_truncated=True).tensors))
    return out


def test_a_root_whose_family_has_no_layer_in_the_file_fits_as_the_full_check_finds():
    """`fit._unobserved`, fit_roots' shortcut where none of a family's layers are in the file (most roots, for names no
    rule knows), gives what `_fit` gives with no observations: every registry root, against no sizes, its own
    sizes, and its own sizes but one."""
    from dataclasses import asdict

    from hfprobe.tree.fit import _fit, _unobserved
    from hfprobe.tree.registry import roots

    shape_only = 0
    for root in roots()["roots"]:
        own = {v for v in root["dims"].values() if isinstance(v, int)}
        for dims in (set(), own, own - {max(own, default=0)}):
            fast, full = _unobserved(root, root["family"], dims), _fit(root, root["family"], [], {}, dims)
            assert asdict(fast) == asdict(full), root["id"]
            shape_only += fast.shape_only
    assert shape_only > 100  # (sizes alone fit many of them)
