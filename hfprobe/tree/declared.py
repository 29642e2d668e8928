"""What a model's metadata claims about its base: adapter_config.json, config.json, safetensors header
fields (kohya, modelspec, diffusers' lora_adapter_metadata, OneTrainer's ot_config), a GGUF's
`general.base_model.N.repo_url` and the model card (YAML `base_model`, then prose mentions). Each claim is
resolved through the roots registry (`tree.naming`); `hfprobe.tree.classify` weighs the claims against what the
weights allow.

>>> declared, claims = declared_claims(config={"base_model_name_or_path": "runwayml/stable-diffusion-v1-5"})
>>> claims[0].root, claims[0].family
('stable-diffusion-v1-5/stable-diffusion-v1-5', 'sd1')
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..formats.adapterhub import is_adapterhub_config
from ..formats.mlx import is_mlx_config
from ..formats.tables import tables
from ..source.hub import REPO_ID
from .card_yaml import NOT_YAML, card_metadata, load_yaml
from .header import comfy_graph, header_json
from .mentions import hub_id_mentions, hub_link_mentions, name_mentions
from .naming import (
    MAX_NAME,
    MODELSCOPE_MIRRORS,
    by_repo_name,
    is_local_path,
    loaded_name,
    local_copy,
    named_hub_id,
    names_itself,
    resolve_name,
    timm_source,
)
from .registry import families, roots, tail_key


@dataclass
class Claim:
    """One thing the metadata says about the base: where it came from and what it resolves to."""

    source: str  # e.g. "adapter_config.json base_model_name_or_path"
    value: str
    family: str | None
    root: str | None
    strength: str = "declared"  # "declared" (a field meant for it) or "text" (prose mentions)
    count: int = 1  # prose: how many times the family is mentioned
    level: str = "model"  # "model" (names one model: a Hub id, a checkpoint file) or "family" (an architecture)
    by_name: bool = False  # resolved by its repo name alone, under another org: a re-upload, or another model
    via: str | None = None  # how a model the registry lacks was checked (`tree.base_config`): configs, card
    composite: bool = False  # a composite model's architecture, by its `text_config`'s model_type (a tower over one)


TIMM_SOURCE = "config.json pretrained_cfg"  # timm's: the pretrained weights a model was built from (`timm_source`)

# header fields that name an architecture, not the checkpoint trained on: kohya writes
# `stable-diffusion-xl-v1-base/lora` and `sdxl_base_v1-0` for a LoRA trained on any SDXL fine-tune
FAMILY_FIELDS = ("header ss_base_model_version", "header modelspec.architecture", "header ss_v2")


# llama.cpp's converter copies the converted model's own card `base_model` into `general.base_model.N.*`: a GGUF of a
# fine-tune names the fine-tune's base there (its parent, not itself); `general.source.*` names the model converted
_GGUF_BASE = re.compile(r"general\.base_model\.\d{1,3}\.repo_url")
_GGUF_SOURCE = ("general.source.repo_url", "general.source.huggingface.repository")
GGUF_PARENT = "header general.base_model."  # the source of those claims: the model converted descends from it
_HUB_URL = re.compile(r"https?://huggingface\.co/([\w.-]+/[\w.-]+)/?\Z")


def foreign_model_type(config: Mapping | None) -> str | None:
    """What config.json says the model is (`model_type X`, or a diffusers config's `_class_name X`) when that is an
    architecture the registry has no family for (`exaone_moe`, `ernie`, `ijepa`, `MotifVideoTransformer3DModel`),
    else None: such a model's weights may match a known family's names and sizes, but no root of it is its base.

    >>> foreign_model_type({"model_type": "exaone_moe"}), foreign_model_type({"model_type": "mistral"})
    ('config.json says model_type exaone_moe', None)
    >>> [foreign_model_type({"_class_name": c}) for c in ("MotifVideoTransformer3DModel", "UNet2DConditionModel")]
    ['config.json says _class_name MotifVideoTransformer3DModel', None]
    """
    field, value, fams = architecture(config)
    where = "adapter_config.json" if field and field.startswith("auto_mapping") else "config.json"
    return f"{where} says {field} {value}" if field and not fams else None


def foreign_prefix(keys: Iterable[str]) -> str | None:
    """What the first word of most keys says the model is, where that word is the `base_model_prefix` transformers
    gives one architecture the registry has no family for, and names it (`ijepa.encoder.layer.0…`, an I-JEPA under a
    task head, or a PEFT adapter's `base_model.model.ijepa.…`), else None. Words a known architecture uses too
    (`vit`, which YOLOS shares; `roberta`, X-MOD's) and words that name no architecture (`encoder`,
    `backbone`, `model`) say nothing.

    >>> foreign_prefix(["base_model.model.ijepa.encoder.layer.0.attention.attention.query.lora_A.weight"])
    "its keys' prefix `ijepa.` is transformers' model type ijepa"
    >>> foreign_prefix(["vit.encoder.layer.0.attention.attention.query.weight", "classifier.weight"])
    """
    words: Counter = Counter()
    for key in keys:
        words[key.removeprefix("base_model.model.").partition(".")[0]] += 1
    if not words:
        return None
    word, count = words.most_common(1)[0]
    model_type = _foreign_prefixes().get(word)
    if model_type is None or 2 * count < words.total():
        return None
    return f"its keys' prefix `{word}.` is transformers' model type {model_type}"


@functools.lru_cache(maxsize=1)
def _foreign_prefixes() -> dict[str, str]:
    """{prefix: model type} for `foreign_prefix`: each `base_model_prefix` in transformers' stored table that is one
    of its types' own name (`audio_spectrogram_transformer`, `ijepa`) and that no type of a registry family
    uses."""
    spell = lambda name: re.sub(r"[^a-z0-9]", "", name.lower())  # noqa: E731 - `mobilenet_v2`, `mobilenet-v2`
    by_prefix: dict[str, list[str]] = {}
    for model_type, prefix in tables()["transformers"].get("prefixes", {}).items():
        by_prefix.setdefault(prefix, []).append(model_type)
    out = {}
    for prefix, types in by_prefix.items():
        named = [t for t in types if spell(t) == spell(prefix)]
        if named and not any(model_type_family(t) for t in types):
            out[prefix] = named[0]
    return out


def architecture(config: Mapping | None) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(the config.json field that names the architecture, `model_type` or diffusers' `_class_name`, or
    `architectures` where it names remote code families.json's `remote_code` lists (jina-embeddings-v3's
    `XLMRobertaLoRA` says `model_type: xlm-roberta`); its value cut to 200 characters; the registry families it names,
    none for an architecture the registry lacks), or Nones.

    >>> architecture({"model_type": "xlm-roberta", "architectures": ["XLMRobertaLoRA"]})
    ('architectures', 'XLMRobertaLoRA', ('jina_embeddings_v3',))
    >>> architecture({"model_type": "xlm-roberta", "architectures": ["XLMRobertaForMaskedLM"]})
    ('model_type', 'xlm-roberta', ('roberta',))
    """
    config = config or {}
    named = config.get("architectures")
    named = named[0] if isinstance(named, list) and named and isinstance(named[0], str) else None
    if named in families()["_remote_code"]:  # a remote-code class whose model_type is another architecture's
        return "architectures", named[:200], (families()["_remote_code"][named],)
    # `_class_name` first: a diffusers config's `model_type`, where it has one, is its class's own argument (Wan's
    # `WanModel` saves `model_type: t2v`), not transformers' architecture
    for field in ("_class_name", "model_type"):
        value = config.get(field)
        if isinstance(value, str) and value.strip():
            break
    else:
        return _auto_mapping(config.get("auto_mapping"))
    if field == "model_type":
        text = config.get("text_config")
        inner = text.get("model_type") if isinstance(text, Mapping) else None
        # a vision or audio tower over a language model the registry knows is that model's; where the wrapper's own
        # type names a language model too, the text_config's says which (`mistral3` wraps Mistral Small 3's decoder
        # and Small 4's mixture), but a model of its own (SAM 3's, with a CLIP text tower) stays its own
        outer, text_family = model_type_family(value), model_type_family(inner) if isinstance(inner, str) else None
        kinds = families()["families"]
        wraps = outer and text_family and kinds[outer]["kind"] == kinds[text_family]["kind"] == "text"
        family = (text_family if wraps else outer) or text_family
        family = family or _composite_family(config)
        fams = (family,) if family else ()
    else:
        fams = families()["_diffusers_classes"].get(value, ())
    return field, value[:200], fams


def _composite_family(config: Mapping) -> str | None:
    """The family a vision-encoder-decoder's encoder or decoder names for the whole model (families.json
    `composite_parts`: TrOCR's decoder `trocr`, Donut's encoder `donut-swin`), else None.

    >>> _composite_family({"model_type": "vision-encoder-decoder", "encoder": {"model_type": "vit"},
    ...                    "decoder": {"model_type": "trocr"}})
    'trocr'
    >>> _composite_family({"encoder": {"model_type": "vit"}, "decoder": {"model_type": "gpt2"}})
    """
    parts = families()["composite_parts"]
    for side in ("decoder", "encoder"):
        sub = config.get(side)
        part = sub.get("model_type") if isinstance(sub, Mapping) else None
        if isinstance(part, str) and part in parts:
            return parts[part]
    return None


_PARENT_LIBRARY = re.compile(r"transformers\.models\.(\w{1,100})\.modeling_\w+\Z")


def _auto_mapping(auto) -> tuple[str | None, str | None, tuple[str, ...]]:
    """The architecture PEFT records in adapter_config.json's `auto_mapping` for a model it has no task type for
    (`{"base_model_class": "ViTForImageClassification", "parent_library": "transformers.models.vit.modeling_vit"}`;
    a diffusers UNet's class), as `architecture` gives it: transformers' module folder is its model_type
    (`xlm_roberta` for `xlm-roberta`).

    >>> _auto_mapping({"base_model_class": "ViTForImageClassification",
    ...                "parent_library": "transformers.models.vit.modeling_vit"})
    ('auto_mapping model_type', 'vit', ('vit',))
    >>> lib = "transformers.models.{0}.modeling_{0}"
    >>> [_auto_mapping({"parent_library": lib.format(m)})[1:] for m in ("xlm_roberta", "exaone_moe")]
    [('xlm-roberta', ('roberta',)), ('exaone_moe', ())]
    """
    if not isinstance(auto, Mapping) or not isinstance(lib := auto.get("parent_library"), str):
        return None, None, ()
    cls = auto.get("base_model_class")
    if m := _PARENT_LIBRARY.match(lib):
        model_type = next((t for t in (m[1], m[1].replace("_", "-")) if model_type_family(t)), m[1])
        family = model_type_family(model_type)
        return "auto_mapping model_type", model_type[:200], (family,) if family else ()
    if lib.startswith("diffusers.") and isinstance(cls, str) and cls.strip():
        return "auto_mapping _class_name", cls[:200], families()["_diffusers_classes"].get(cls, ())
    return None, None, ()


def model_type_family(model_type: str) -> str | None:
    """The registry family a transformers model_type is (families.json's `model_types`, or the type's own name where
    it is a family), else None.

    >>> model_type_family("xlm-roberta"), model_type_family("exaone_moe")
    ('roberta', None)
    """
    spec = families()
    family = spec["_model_types"].get(model_type, model_type)
    return family if family in spec["families"] else None


def declared_claims(
    metadata: Mapping[str, str] | None = None,
    config: Mapping | None = None,
    texts: Mapping[str, str] | None = None,
    model_config: Mapping | None = None,
    own: str | None = None,
) -> tuple[dict, list[Claim]]:
    """What the metadata claims about the base model: a `declared` dict for the report and claims.

    `metadata` is the safetensors header metadata, `config` adapter_config.json or config.json, `model_config`
    config.json where it lies beside an adapter_config.json (the model the adapter was trained on, as loaded),
    `texts` companion files by name (README.md is read as a model card: YAML `base_model`, then prose).
    Local paths and nulls in `base_model_name_or_path` are common and are not claims (nor, in a `_name_or_path`, a
    bare name that neither the registry nor a name hint knows: `output_dir`); nor is the repo being read
    (`own`, a Hub id), which a config saved from it, or its card's usage code, names: a model is not its own base.

    >>> d, c = declared_claims(config={"base_model_name_or_path": "/content/sd15"})
    >>> d["ignored"], c
    ({'adapter_config.json base_model_name_or_path': '/content/sd15 (a local path, not a claim)'}, [])
    """
    declared: dict = {}
    ignored: dict = {}
    claims: list[Claim] = []

    def claim(src: str, value, strength: str = "declared") -> None:
        if value is None or (isinstance(value, str) and not value.strip()):
            ignored[src] = "null (no claim)"
            return
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and len(v) > MAX_NAME for v in values):
            ignored[src] = f"a value of over {MAX_NAME} characters, no model's name (not a claim)"
            return
        declared[src] = value
        for v in values:
            if not isinstance(v, str):
                continue
            v = named_hub_id(v) or v
            if is_local_path(v) or v.split("/", 1)[0].lower() in MODELSCOPE_MIRRORS:
                copy = local_copy(v)
                if copy is not None:  # named after the root it is a copy of: that name is the claim
                    rid, fam = resolve_name(copy)
                    claims.append(Claim(src, copy, fam, rid, strength))
                    continue
                what = "a local path" if is_local_path(v) else "a ModelScope mirror's id"
                ignored[src] = f"{v} ({what}, not a claim)"
                declared.pop(src, None)
                continue
            if src in FAMILY_FIELDS:
                claims.append(Claim(src, v, resolve_name(v)[1], None, strength, level="family"))
                continue
            rid, fam = resolve_name(v)
            if src.endswith("_name_or_path") and "/" not in v and rid is fam is None:
                # what from_pretrained was given: a Hub id has its org since the canonical ones (gpt2, t5-small,
                # which the registry knows); a bare name nothing knows is the folder it was loaded from (`output_dir`)
                ignored[src] = f"{v} (a local folder's name, not a claim)"
                declared.pop(src, None)
                continue
            claims.append(Claim(src, v, fam, rid, strength, by_name=by_repo_name(v, rid)))

    config = dict(config or {})
    metadata = dict(metadata or {})
    if "base_model_name_or_path" in config:
        claim("adapter_config.json base_model_name_or_path", config.get("base_model_name_or_path"))
    elif is_mlx_config(config):  # mlx-lm's training arguments: `model` is the base it loaded
        claim("adapter_config.json model", config.get("model"))
    elif is_adapterhub_config(config):  # AdapterHub's: `model_name` is the model it was trained on
        claim("adapter_config.json model_name", config.get("model_name"))
    elif config.get("_name_or_path"):
        claim("config.json _name_or_path", config["_name_or_path"])
    elif timm := timm_source(config):  # timm's: the pretrained model it was built from, by its architecture and tag
        claim(TIMM_SOURCE, timm)
    model_config = dict(model_config or {})
    if model_config.get("_name_or_path"):
        claim("config.json _name_or_path", model_config["_name_or_path"])
    field, value, fams = architecture(config)
    if not field:  # an adapter_config.json names no architecture: config.json beside it may
        field, value, fams = architecture(model_config)
    if field:
        where = "adapter_config.json" if field.startswith("auto_mapping") else "config.json"
        declared[f"{where} {field}"] = value
        if len(fams) == 1:
            composite = field == "model_type" and model_type_family(value) is None  # (its text_config's family)
            claims.append(Claim(f"{where} {field}", value, fams[0], None, level="family", composite=composite))
    if metadata.get("lora_adapter_metadata"):
        meta = header_json(metadata["lora_adapter_metadata"])  # (not JSON, or nested past the parser: no claim)
        if isinstance(meta, dict) and "base_model_name_or_path" in meta:
            claim("header lora_adapter_metadata base_model_name_or_path", meta.get("base_model_name_or_path"))
    merges, loaded = comfy_graph(metadata) if "prompt" in metadata else ([], [])
    if not merges and len(loaded) == 1:  # ComfyUI saved it from the one checkpoint it loaded (a LoRA baked in, perhaps)
        claim("header prompt (ComfyUI) checkpoint loaded", loaded_name(loaded[0]))
    if metadata.get("ot_config"):  # OneTrainer's training settings, where it was told to save them
        settings = header_json(metadata["ot_config"])
        name = settings.get("base_model_name") if isinstance(settings, dict) else None
        if isinstance(name, str) and name.strip():
            claim("header ot_config base_model_name", loaded_name(name))
    for key in ("ss_base_model_version", "ss_sd_model_name", "modelspec.architecture", "ss_v2"):
        if metadata.get(key):
            if key == "ss_v2":
                declared["header ss_v2"] = metadata[key]
                if metadata[key].lower() == "true":
                    claims.append(Claim("header ss_v2", "True", "sd2", None, level="family"))
                continue
            value = metadata[key]
            if key == "modelspec.architecture":  # `<architecture>/<adapter kind>`, e.g. flux-1-dev/lora: not a Hub id
                value = value.split("/", 1)[0]
            if key == "ss_sd_model_name":  # (a Hub id, as kohya stores one for diffusers models, stays)
                value = loaded_name(value)
            claim(f"header {key}", value)

    new_hash = str(metadata.get("ss_new_sd_model_hash") or "").strip().lower()
    if re.fullmatch(r"[0-9a-f]{64}", new_hash):  # kohya's SHA-256 of the checkpoint file it trained on
        rid = roots()["_hash"].get(new_hash)
        if rid:  # a root's published file, under whatever name it was kept: the claim is the root
            declared["header ss_new_sd_model_hash"] = metadata["ss_new_sd_model_hash"]
            claims.append(Claim("header ss_new_sd_model_hash", rid, roots()["_by_id"][rid]["family"], rid))
        else:  # another file (a fine-tune, a conversion): the hash names nothing hfprobe can check
            ignored["header ss_new_sd_model_hash"] = f"{new_hash[:10]}… (not the hash of a checkpoint hfprobe knows)"

    for key in sorted(k for k in metadata if _GGUF_BASE.fullmatch(k)):  # what the model converted was tuned from
        url = _HUB_URL.match(metadata[key].strip())
        if url:
            claim(f"header {key}", url[1].strip("/"))
    sourced = False
    for key in _GGUF_SOURCE:  # the model a GGUF was converted from, where the converter recorded it
        value = str(metadata.get(key) or "").strip()
        url = _HUB_URL.match(value)
        if url or REPO_ID.fullmatch(value):
            claim(f"header {key}", url[1].strip("/") if url else value)
            sourced = True
    named = str(metadata.get("general.name") or "").strip()
    known = roots()["_tail"].get(tail_key(named)) if named and not sourced else None
    if known and metadata.get("general.type") != "adapter":
        # else the converter's name for the model it converted (`Meta Llama 3.1 8B Instruct`, from its config or
        # folder): the model of that repo name where the registry knows one, a root or a fine-tune, by its Hub id
        # (not the lineage its words suggest: `Hermes 3 Llama 3.1 8B` is no Llama 3.1); an adapter's name is its own
        claim("header general.name", known[1])
        declared["header general.name"] = named  # (as the header says it)

    for name, text in (texts or {}).items():
        if not text:
            continue
        body = text
        if name.lower() == "readme.md":
            card, body, problem = card_metadata(text)
            if problem:
                ignored["README.md metadata"] = problem
            if card.get("base_model") is not None:
                claim("README.md base_model", card["base_model"])
        elif name.lower().endswith((".yaml", ".yml")):
            found, problem = _config_checkpoints(text)
            if problem:
                ignored[f"{name}"] = problem
            for key, value in found:
                claim(f"{name} {key}", value)
        _text_mentions(name, body, declared, claims)
    if own:  # the repo itself, as a config saved from it or its card names it: no claim about its base
        itself = [c for c in claims if names_itself(c.value, own)]
        claims = [c for c in claims if all(c is not i for i in itself)]
        for c in itself:
            ignored[c.source] = f"{c.value} (this repo itself, not a claim)"
            if all(o.source != c.source for o in claims):
                declared.pop(c.source, None)
    if ignored:
        declared["ignored"] = ignored
    return declared, claims


# keys of a training config (config.yaml) whose value names the base checkpoint
_CHECKPOINT_KEY = re.compile(r"checkpoint|ckpt|pretrained|base_model|model_name|model_path|model_id", re.I)


def _config_checkpoints(text: str, limit: int = 3) -> tuple[list[tuple[str, str]], str | None]:
    """(key path, checkpoint name) for the training config's fields that name a known base checkpoint, and why
    the config was not read (over the YAML bounds; None otherwise, also when it is simply not YAML).

    Training configs usually hold a local path (`./sam_vit_b_01ec64.pth`); its file name is the claim, as
    for kohya's `ss_sd_model_name`. Only values that resolve through the registry count, so a dataset path
    or an output folder is never taken for a base model.

    >>> _config_checkpoints('SAM:\\n  CHECKPOINT: "./sam_vit_b_01ec64.pth"\\n  RANK: 512\\n')
    ([('SAM.CHECKPOINT', 'sam_vit_b_01ec64.pth')], None)
    >>> _config_checkpoints("checkpointer:\\n  checkpoint_dir: /tmp/Llama-3.2-1B-Instruct/\\n")   # torchtune's
    ([('checkpointer.checkpoint_dir', 'Llama-3.2-1B-Instruct')], None)
    >>> _config_checkpoints("hf_config:\\n  name: pythia-160m\\n  org: EleutherAI\\nn_embd: 768\\n")   # litgpt's
    ([('hf_config', 'EleutherAI/pythia-160m')], None)
    """
    data, problem = load_yaml(text)
    if problem:
        return [], None if problem.startswith(NOT_YAML) else f"not read: {problem}"
    out: list[tuple[str, str]] = []
    budget = [10_000]  # nodes visited at most: YAML aliases can make a small file a very wide tree

    def walk(node, path: str, depth: int) -> None:
        budget[0] -= 1
        if len(out) >= limit or depth > 6 or budget[0] < 0:
            return
        if isinstance(node, dict):
            org, name = node.get("org"), node.get("name")
            if path.rsplit(".", 1)[-1] == "hf_config" and isinstance(org, str) and isinstance(name, str):
                value = f"{org.strip()}/{name.strip()}"  # litgpt's model_config.yaml: the Hub model it converted
                if resolve_name(value) != (None, None):
                    out.append((path, value))
                return
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key), depth + 1)
        elif isinstance(node, str) and _CHECKPOINT_KEY.search(path.rsplit(".", 1)[-1]):
            value = loaded_name(node)
            if value and resolve_name(value) != (None, None):
                out.append((path, value))

    walk(data, "", 0)
    return out, None


# a license's name: up to three capitalised words before "License" (the Llama 3.1 Community License, a LLaMA-style
# one, the SDXL 0.9 Research License), which says what a model may be used for, not what it was tuned from; never
# part of a Hub id (`meta-llama/Llama-3.1-8B License` keeps its id)
_LICENSE_NAME = re.compile(r"(?<![\w/.-])(?:[A-Z0-9][\w.]{0,40}\w(?:-style)?[ -]){1,3}(?:License|LICENSE|Licence)\b")


def without_license_names(body: str) -> str:
    """Prose with the names of licenses blanked, so a family word in one is no mention of the family.

    >>> without_license_names("A Qwen2.5 LoRA. Licensed under the Llama 3.1 Community License.")
    'A Qwen2.5 LoRA. Licensed under the .'
    >>> without_license_names("Tuned from meta-llama/Llama-3.1-8B under its license (a LLaMA-style Community License).")
    'Tuned from meta-llama/Llama-3.1-8B under its license (a ).'
    """
    return _LICENSE_NAME.sub("", body) if "Licen" in body or "LICEN" in body else body


def _text_mentions(name: str, body: str, declared: dict, claims: list[Claim]) -> None:
    """Family words (text hints) and registry Hub ids in prose; an id's claim keeps the spelling the text used."""
    counts: dict[str, int] = {}
    body = without_license_names(body)
    low, hints = body.lower(), families()["_text_hints"]
    for j in families()["_text_hint_index"].possible(low):  # (the few hints whose literals the text may hold)
        hint, fam, any_case = hints[j]
        n = hint.count(low if any_case else body)  # (only around the hint's literals)
        if n:
            counts[fam] = counts.get(fam, 0) + n
    first: dict[str, str] = {}  # root id -> the first spelling that named it
    for m in [*hub_id_mentions(body), *hub_link_mentions(body)]:
        rid = roots()["_alias"].get(m.group(1).lower())
        if rid:
            first.setdefault(rid, roots()["_hub"].get(m.group(1).lower(), m.group(1)))
    for m in name_mentions(body):
        rid = roots()["_alias"].get(m.group(1).lower())
        if rid:
            first.setdefault(rid, m.group(1))
    for rid, value in sorted(first.items()):
        fam = roots()["_by_id"][rid]["family"]
        counts[fam] = counts.get(fam, 0) + 1
        claims.append(Claim(f"{name} mentions", value, fam, rid, "text"))
    for fam, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        claims.append(Claim(f"{name} mentions", f"{fam} x{n}", fam, None, "text", n))
    if counts:
        declared[f"{name} mentions"] = dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def declared_words(value) -> str:
    """One `declared` entry as words for a reader: a family count as "bert x2", a map as "key: value; …".

    >>> declared_words({"sd1": 7, "clip": 4}), declared_words({"adapter_config.json r": "not a number"})
    ('sd1 x7, clip x4', 'adapter_config.json r: not a number')
    >>> declared_words("runwayml/stable-diffusion-v1-5"), declared_words(True)
    ('runwayml/stable-diffusion-v1-5', 'True')
    """
    if isinstance(value, Mapping) and value and all(isinstance(v, int) for v in value.values()):
        return ", ".join(f"{k} x{v}" for k, v in value.items())
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {declared_words(v)}" for k, v in value.items())
    return str(value)
