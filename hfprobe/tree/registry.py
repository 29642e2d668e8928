"""The registries behind `hfprobe.tree.classify` and `hfprobe.tree.declared`, read from data files:
`hfprobe/data/families.json` (which tensor names and shapes mean which architecture family) and
`hfprobe/data/roots.json` (known foundation models, their aliases and published sizes).

>>> roots()["_alias"]["runwayml/stable-diffusion-v1-5"]
'stable-diffusion-v1-5/stable-diffusion-v1-5'
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from importlib import resources

from ..source.hub import REPO_ID
from .keymatch import GateIndex, KeyPattern, LiteralIndex


@lru_cache(maxsize=1)
def families() -> dict:
    """families.json with `same_as` resolved (`_base`) and patterns compiled: name rules as `KeyPattern`s (fast and
    exact on long names, see `hfprobe.tree.keymatch`), text hints as `KeyPattern`s too (their literals prefilter
    prose), name hints as plain regexes; a family's roles and indexes are `layout(family)`; `_model_types`
    (config.json model_type -> family), `_remote_code` (a remote-code class in `architectures` -> family) and
    `_diffusers_classes` (`_class_name` -> families) as lookups."""
    data = json.loads(resources.files("hfprobe.data").joinpath("families.json").read_text())
    fams = data["families"]
    for name, spec in fams.items():
        base_name = spec.get("same_as", name)
        base = fams[base_name]
        spec["_base"] = base_name  # its roles and indexes: `layout(name)`, compiled when first tested
        spec["_shape_only"] = base.get("shape_only", [])
        spec["_either"] = base.get("either_orientation", False)
        own = spec.get("unsized", []) if base is not spec else []  # its own, beside those of the layout it shares
        spec["_unsized"] = [KeyPattern(p) for p in [*base.get("unsized", []), *own]]
        # [pattern, what] or [pattern, what, kind]: "convention" (a way of saving, which the family's metadata
        # overrides) or "full" (a key of every full checkpoint, which an adapter need not have)
        expects = [*base.get("expects", []), *(spec.get("expects", []) if base is not spec else [])]
        spec["_expects"] = [(KeyPattern(e[0]), e[1], e[2] if len(e) > 2 else "") for e in expects]
        excludes = [*base.get("excludes", []), *(spec.get("excludes", []) if base is not spec else [])]
        spec["_excludes"] = [(KeyPattern(p), what) for p, what in excludes]
    data["_rules"] = [
        (
            KeyPattern(r["pattern"]),
            r["families"],
            r["why"],
            re.compile(r["as_written"]) if "as_written" in r else None,
            r.get("precedence", 0),
        )
        for r in data["name_rules"]
    ]
    data["_rule_index"] = GateIndex(rule[0] for rule in data["_rules"])  # the rules a file's names may fire
    data["_name_hints"] = [(re.compile(p, re.I), f) for p, f, *_why in data["name_hints"]]
    # (KeyPattern, family, any case?): a hint written "(?i)…" is matched, as written after the flag (lower case),
    # on the text's lower case, so the literal prefilter that keeps a README cheap still applies
    data["_text_hints"] = [
        (KeyPattern(p.removeprefix("(?i)")), f, p.startswith("(?i)")) for p, f, *_why in data["text_hints"]
    ]
    data["_text_hint_index"] = LiteralIndex(hint.literals for hint, _, _ in data["_text_hints"])  # (one scan a text)
    data["_embedding_tables"] = KeyPattern(data["embedding_tables"])
    data["_towers"] = KeyPattern(data["towers"])
    data["_model_types"] = {row[0]: row[1] for row in data["model_types"]}
    data["_remote_code"] = {row[0]: row[1] for row in data["remote_code"]}
    data["_diffusers_classes"] = {row[0]: tuple(row[1]) for row in data["diffusers_classes"]}
    return data


def layout(family: str) -> tuple[list, list]:
    """A family's roles [(KeyPattern, out, in)] and block indexes [(KeyPattern, dim)], compiled the first time one
    of its roots is tested (families of one layout, `same_as`, share them): most inspects test a few families."""
    return _layout(families()["families"][family]["_base"])


@cache
def _layout(base_name: str) -> tuple[list, list]:
    fams = families()["families"]
    base = fams[base_name]
    shared = families()["text_roles"] if base["kind"] == "text" else []  # PEFT's prompt tables, any text model's
    # a family whose model holds another's as its backbone (DETR's ResNet) checks it by that family's layout too
    held = [fams[b] for b in base.get("backbone", [])]
    roles = [*base["roles"], *(r for b in held for r in b["roles"]), *shared]
    indexes = [*base["indexes"], *(x for b in held for x in b["indexes"])]
    return (  # a side listing several sizes (any of) is a tuple: role sides are compared and put in sets
        [(KeyPattern(p), _side(o), _side(i)) for p, o, i in roles],
        [(KeyPattern(p, groups=True), d) for p, d in indexes],
    )


def role_index(family: str) -> GateIndex:
    """Which of a family's roles (`layout`) a file's names may match, found at once (`keymatch.GateIndex`)."""
    return _role_index(families()["families"][family]["_base"])


@cache
def _role_index(base_name: str) -> GateIndex:
    return GateIndex(kp for kp, _, _ in _layout(base_name)[0])


def _side(expr):
    return tuple(expr) if isinstance(expr, list) else expr


@lru_cache(maxsize=1)
def roots() -> dict:
    """roots.json plus lookup tables, all keyed by lower case:

    `_alias`: id, alias, name or derivative -> root id (what the weights are checked against);
    `_same`: id, alias or name -> root id (the same weights; derivatives are other models);
    `_hub`: id, alias or derivative -> its spelling as a Hub id (what a card may write as `base_model`);
    `_tail`: a repo name's `tail_key` (`stable-diffusion-v1-5`, `llama-3-8b`) -> (root, the registry name with
    it), where only one root has it: a name without its org, a local folder, another org's re-upload
    (`unsloth/llama-3-8b-bnb-4bit`), a derivative's published file (`sd_xl_turbo_1.0_fp16` -> stabilityai/sdxl-turbo);
    `_file_tail`: the `tail_key` of a root's id, alias or file name -> the root, where only one root has it: a
    checkpoint file re-packed under its root's name (`flux1-dev-fp8`, `wan2.1_t2v_14B_bf16`);
    `_hash`: the SHA-256 of a root's published checkpoint file -> root id.
    """
    data = json.loads(resources.files("hfprobe.data").joinpath("roots.json").read_text())
    data["_by_id"] = {r["id"]: r for r in data["roots"]}
    kinds = {name: spec["kind"] for name, spec in families()["families"].items()}
    for r in data["roots"]:
        if kinds.get(r["family"]) == "text":
            r["dims"]["prompt"] = prompt_widths(r["dims"])
    alias, same, hub = {}, {}, {}
    for r in data["roots"]:
        for name in [r["id"], *r.get("aliases", []), *r.get("names", [])]:
            alias[name.lower()] = same[name.lower()] = r["id"]
        for name in [r["id"], *r.get("aliases", [])]:
            hub[name.lower()] = name
    for name, target in data.get("derivatives", {}).items():
        alias.setdefault(name.lower(), target)
        hub.setdefault(name.lower(), name)
    data["_alias"], data["_same"], data["_hub"] = alias, same, hub
    data["_hash"] = {h.lower(): r["id"] for r in data["roots"] for h in r.get("hashes", [])}
    data["_legacy"] = {name.lower() for name in data.get("legacy_ids", [])}
    tails: dict[str, dict[str, str]] = {}  # a repo name's tail key -> {root it names: the name}
    named = [(n, r["id"]) for r in data["roots"] for n in [r["id"], *r.get("aliases", [])]]
    for name, rid in [*named, *data.get("derivatives", {}).items()]:
        tails.setdefault(tail_key(name), {}).setdefault(rid, name)
    for name, files in data.get("derivative_files", {}).items():  # (a file the derivative's name is not in)
        for file in files:
            tails.setdefault(tail_key(file_stem(file)), {}).setdefault(data["derivatives"][name], name)
    data["_tail"] = {t: next(iter(ids.items())) for t, ids in tails.items() if len(ids) == 1}
    files: dict[str, set[str]] = {}  # the same, over a root's own names and its files' (no derivatives)
    for r in data["roots"]:
        for name in [r["id"], *r.get("aliases", []), *r.get("names", [])]:
            files.setdefault(tail_key(file_stem(name)), set()).add(r["id"])
    data["_file_tail"] = {t: ids.pop() for t, ids in files.items() if len(ids) == 1}
    sized: dict[tuple[str, str], list[str]] = {}  # (family, size mark) -> roots whose names state that size
    for r in data["roots"]:
        for mark in dict.fromkeys(size_mark(n) for n in [r["id"], *r.get("aliases", [])]):
            if mark:
                sized.setdefault((r["family"], mark), []).append(r["id"])
    data["_sized"] = sized
    data["_dims_key"] = {r["id"]: repr(sorted(r["dims"].items())) for r in data["roots"]}  # equal dims, equal fits
    by_family: dict[str, list[tuple[int, dict]]] = {}  # family -> its roots with their places in `roots`
    for i, r in enumerate(data["roots"]):
        by_family.setdefault(r["family"], []).append((i, r))
    data["_by_family"] = by_family
    return data


def prompt_widths(dims: dict) -> list[int]:
    """The widths a PEFT prompt-learning table of a text model has (families.json's `text_roles`): its hidden size
    (prompt tuning, P-tuning), and for prefix tuning 2 x layers x the key-value width (the hidden size, or the
    grouped key-value heads' where the model has them, as peft sizes it for such models).

    >>> prompt_widths({"hidden": 768, "layers": 12}), prompt_widths({"hidden": 896, "kv_dim": 128, "layers": 24})
    ([768, 18432], [896, 6144, 43008])
    """
    widths = {dims["hidden"]}
    if "layers" in dims:
        widths |= {2 * dims["layers"] * dims.get("kv_dim", dims["hidden"]), 2 * dims["layers"] * dims["hidden"]}
    return sorted(widths)


# a parameter count as model names state it (`-7b`, `_1.5B`, `-135M`); not a mixture's `8x7B`, an active
# count (`A3B`) or BLOOM's `1b7`
_SIZE_MARK = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)([bm])(?![a-z0-9])")


def size_mark(name: str) -> str | None:
    """The parameter count a repo name states, lower case, if it states exactly one.

    >>> size_mark("Qwen/Qwen2.5-Coder-1.5B-Instruct"), size_mark("EleutherAI/pythia-70m"), size_mark("gpt2")
    ('1.5b', '70m', None)
    >>> size_mark("mistralai/Mixtral-8x7B-v0.1"), size_mark("Qwen/Qwen3-30B-A3B")
    (None, '30b')
    """
    marks = {m.group(0) for m in _SIZE_MARK.finditer(bare_id(name).rsplit("/", 1)[-1].lower())}
    return marks.pop() if len(marks) == 1 else None


def model_line(name: str) -> str:
    """What a repo name says before its size: the model line (`qwen25` of Qwen2.5-14B, `qwen15` of Qwen1.5-14B-Chat,
    `falcon3` of Falcon3-7B), letters and digits only; the whole name where it states no size.

    >>> model_line("Qwen/Qwen1.5-14B-Chat"), model_line("tiiuae/Falcon3-7B-Instruct"), model_line("org/mistral-7b-x")
    ('qwen15', 'falcon3', 'mistral')
    >>> model_line("meta-llama/Meta-Llama-3-8B"), model_line("someorg/llama-3-8b-bnb-4bit")
    ('llama3', 'llama3')
    """
    tail = tail_key(name)  # (without a re-upload's marks: `unsloth/llama-3-8b-bnb-4bit` and Meta-Llama-3-8B alike)
    found = _SIZE_MARK.search(tail)
    return re.sub(r"[^a-z0-9]", "", tail[: found.start()] if found else tail)


# What a re-upload adds to the name of the model it re-uploads: quantization, precision, sharding, the uploader.
_REUPLOAD_MARKS = re.compile(
    r"(meta|hf|unsloth|bnb|gptq|awq|gguf|exl2|mlx|fp8(?:mixed)?|fp16|bf16|nf4|dynamic|sharded|shards|\d+bits?|int\d+|w\d+a\d+"
    r"|quantized(\.w\d+a\d+)?|e4m3fn|e5m2|scaled)",  # RedHatAI's `-quantized.w4a16`, ComfyUI's `_fp8_e4m3fn`
    re.I,
)


# the quantisation type llama.cpp's files end in (`-Q4_K_M`, `.Q8_0`, `-IQ4_XS`, `-f16`), split by `_` as tokens are
_GGUF_TYPE = re.compile(r"[-_.](?:i?q\d(?:_[a-z0-9]{1,2}){0,2}|f16|f32)$")


def tail_key(name: str) -> str:
    """A repo's name without its org and without the marks of a re-upload, lower case: the names under which
    the same weights are re-published (quantized, converted or mirrored) share it with the original.

    >>> tail_key("unsloth/llama-3-8b-Instruct-bnb-4bit"), tail_key("meta-llama/Meta-Llama-3-8B-Instruct")
    ('llama-3-8b-instruct', 'llama-3-8b-instruct')
    >>> tail_key("TheBloke/Llama-2-7B-Chat-GPTQ"), tail_key("meta-llama/Llama-2-7b-chat-hf")
    ('llama-2-7b-chat', 'llama-2-7b-chat')
    >>> tail_key("mistral-7b-instruct-v0.2.Q4_K_M"), tail_key("Llama-3.2-1B-Instruct-IQ4_XS")   # llama.cpp's files
    ('mistral-7b-instruct-v0.2', 'llama-3.2-1b-instruct')
    """
    repo = _GGUF_TYPE.sub("", bare_id(name).rsplit("/", 1)[-1].lower())
    tokens = re.split(r"[-_\s]+", repo)
    return "-".join(t for t in tokens if t and not _REUPLOAD_MARKS.fullmatch(t))


# orgs that publish others' weights re-packed (quantized, converted), under the originals' repo names
REUPLOADERS = (
    "unsloth",
    "thebloke",
    "mlx-community",
    "bartowski",
    "lmstudio-community",
    "quantfactory",
    "mradermacher",
)


def reupload_marked(name: str) -> bool:
    """Whether a repo name carries the marks of a re-upload (quantization, precision, sharding, the uploader).

    >>> reupload_marked("TheBloke/Llama-2-7B-GPTQ"), reupload_marked("unsloth/Qwen3-8B")
    (True, True)
    >>> reupload_marked("klue/roberta-base")
    False
    """
    org, _, repo = bare_id(name).lower().rpartition("/")
    return org in REUPLOADERS or any(_REUPLOAD_MARKS.fullmatch(t) for t in re.split(r"[-_\s]+", repo))


def file_stem(name: str) -> str:
    """A name's last part without a checkpoint file's extension, or a precision variant's (`.fp16.safetensors`).

    >>> file_stem("D:/models/flux1-dev-fp8.safetensors"), file_stem("org/name")
    ('flux1-dev-fp8', 'name')
    >>> file_stem("playground-v2.5-1024px-aesthetic.fp16.safetensors")
    'playground-v2.5-1024px-aesthetic'
    """
    stem = re.sub(r"\.(safetensors|ckpt|pt|pth|bin|gguf)$", "", re.split(r"[\\/]", name)[-1], flags=re.I)
    return re.sub(r"\.(fp16|bf16|fp32)$", "", stem, flags=re.I)  # a precision variant, as diffusers names them


def bare_id(name: str) -> str:
    """A model name as the registry keys it: without an `hf://` or huggingface.co URL prefix, or slashes around.

    >>> bare_id("https://huggingface.co/org/name/"), bare_id(" hf://org/name")
    ('org/name', 'org/name')
    """
    return re.sub(r"^(hf://|https?://huggingface\.co/)", "", str(name).strip()).strip("/")


def canonical_id(name: str | None) -> str | None:
    """The root id for any id, alias or file name of the same weights; other names (derivatives, unknown
    ids) come back as given. Two names are one model when their canonical ids are equal.

    >>> canonical_id("runwayml/stable-diffusion-v1-5") == canonical_id("sd-legacy/stable-diffusion-v1-5")
    True
    >>> canonical_id("dreamlike-art/dreamlike-photoreal-2.0")   # a fine-tune of SD 1.5, not SD 1.5 itself
    'dreamlike-art/dreamlike-photoreal-2.0'
    """
    if not name:
        return name
    text = bare_id(name)
    return roots()["_same"].get(text.lower(), text)


def registry_root(name: str) -> str | None:
    """The registry root a name is (an alias, a derivative, a re-upload by its name), or None for one it does not know.

    >>> registry_root("HuggingFaceH4/zephyr-7b-beta"), registry_root("someone/unknown-model")
    ('mistralai/Mistral-7B-v0.1', None)
    """
    text = bare_id(name)
    return roots()["_alias"].get(text.lower()) or roots()["_tail"].get(tail_key(text), (None,))[0]


def tree_root(name: str | None) -> str | None:
    """The foundation model a name's tree grows from: its root (through an alias, name, derivative or a
    re-upload's name), then up the roots' `parent` links. Names the registry does not know come back as given.

    >>> tree_root("NousResearch/Llama-2-7b-chat-hf"), tree_root("Lykon/DreamShaper")
    ('meta-llama/Llama-2-7b-hf', 'stable-diffusion-v1-5/stable-diffusion-v1-5')
    >>> tree_root("unsloth/llama-3-8b-Instruct-bnb-4bit")
    'meta-llama/Meta-Llama-3-8B'
    """
    if not name:
        return name
    text = bare_id(name)
    rid = registry_root(text)
    if rid is None:
        return text
    by_id, seen = roots()["_by_id"], {rid}
    while by_id[rid].get("parent") in by_id and by_id[rid]["parent"] not in seen:
        rid = by_id[rid]["parent"]
        seen.add(rid)
    return rid


def hub_spelling(name: str | None) -> str | None:
    """The registry's spelling of a Hub id it knows (root id, alias or derivative), else None: names that are
    not Hub ids (checkpoint file names) have none, so a card writes the root id for them.

    >>> hub_spelling("GPT2"), hub_spelling("v1-5-pruned-emaonly")
    ('gpt2', None)
    """
    if not name:
        return None
    text = bare_id(name)
    return roots()["_hub"].get(text.lower())


def is_hub_id(name: str) -> bool:
    """Whether a declared name is spelled as a Hub model id: ORG/NAME, or one of the ids transformers' first models
    had before the Hub gave them an organisation (roots.json's `legacy_ids`), which the Hub still resolves.

    >>> is_hub_id("dbmdz/bert-base-turkish-cased"), is_hub_id("bert-base-chinese"), is_hub_id("my-bert")
    (True, True, False)
    """
    text = name.strip()
    return bool(REPO_ID.fullmatch(text)) or text.lower() in roots()["_legacy"]


def family_label(fam: str | None) -> str:
    if fam is None:
        return "an undetermined architecture"
    return families()["families"].get(fam, {}).get("label", fam)
