"""What a model's metadata claims about its base: adapter_config.json, config.json, safetensors header
fields (kohya, modelspec, diffusers' lora_adapter_metadata) and the model card (YAML `base_model`, then
prose mentions). Each claim is resolved through the roots registry; `hfprobe.tree.classify` weighs the claims
against what the weights allow.

>>> declared, claims = declared_claims(config={"base_model_name_or_path": "runwayml/stable-diffusion-v1-5"})
>>> claims[0].root, claims[0].family
('stable-diffusion-v1-5/stable-diffusion-v1-5', 'sd1')
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .registry import families, roots


@dataclass
class Claim:
    """One thing the metadata says about the base: where it came from and what it resolves to."""

    source: str  # e.g. "adapter_config.json base_model_name_or_path"
    value: str
    family: str | None
    root: str | None
    strength: str = "declared"  # "declared" (a field meant for it) or "text" (prose mentions)
    count: int = 1  # prose: how many times the family is mentioned


def _is_local_path(value: str) -> bool:
    v = value.strip()
    return (
        not v
        or v.startswith(("/", ".", "~", "\\"))
        or re.match(r"^[A-Za-z]:[\\/]", v) is not None
        or v.count("/") > 1
        or "\\" in v
    )


def resolve_name(value: str) -> tuple[str | None, str | None]:
    """A declared base name -> (root id, family) through the registry, else family from name hints.

    >>> resolve_name("runwayml/stable-diffusion-v1-5")
    ('stable-diffusion-v1-5/stable-diffusion-v1-5', 'sd1')
    >>> resolve_name("sdxl_base_v1-0")
    (None, 'sdxl')
    """
    reg = roots()
    v = re.sub(r"^(hf://|https?://huggingface\.co/)", "", value.strip()).strip("/")
    for cand in (v, re.sub(r"\.(safetensors|ckpt|pt|pth|bin)$", "", v.rsplit("/", 1)[-1])):
        rid = reg["_alias"].get(cand.lower())
        if rid:
            return rid, reg["_by_id"][rid]["family"]
    for pattern, fam in families()["_name_hints"]:
        if pattern.search(v):
            return None, fam
    return None, None


def declared_claims(
    metadata: Mapping[str, str] | None = None, config: Mapping | None = None, texts: Mapping[str, str] | None = None
) -> tuple[dict, list[Claim]]:
    """What the metadata claims about the base model: a `declared` dict for the report and claims.

    `metadata` is the safetensors header metadata, `config` adapter_config.json or config.json,
    `texts` companion files by name (README.md is read as a model card: YAML `base_model`, then prose).
    Local paths and nulls in `base_model_name_or_path` are common and are not claims.

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
        declared[src] = value
        for v in values:
            if not isinstance(v, str):
                continue
            if _is_local_path(v):
                ignored[src] = f"{v} (a local path, not a claim)"
                declared.pop(src, None)
                continue
            rid, fam = resolve_name(v)
            claims.append(Claim(src, v, fam, rid, strength))

    config = dict(config or {})
    metadata = dict(metadata or {})
    if "base_model_name_or_path" in config:
        claim("adapter_config.json base_model_name_or_path", config.get("base_model_name_or_path"))
    elif config.get("_name_or_path"):
        claim("config.json _name_or_path", config["_name_or_path"])
    if isinstance(config.get("model_type"), str) and config["model_type"] in families()["families"]:
        declared["config.json model_type"] = config["model_type"]
        claims.append(Claim("config.json model_type", config["model_type"], config["model_type"], None))
    if metadata.get("lora_adapter_metadata"):
        try:
            meta = json.loads(metadata["lora_adapter_metadata"])
        except ValueError:
            meta = {}
        if isinstance(meta, dict) and "base_model_name_or_path" in meta:
            claim("header lora_adapter_metadata base_model_name_or_path", meta.get("base_model_name_or_path"))
    for key in ("ss_base_model_version", "ss_sd_model_name", "modelspec.architecture", "ss_v2"):
        if metadata.get(key):
            if key == "ss_v2":
                declared["header ss_v2"] = metadata[key]
                if metadata[key].lower() == "true":
                    claims.append(Claim("header ss_v2", "True", "sd2", None))
                continue
            value = metadata[key]
            if key == "ss_sd_model_name":  # kohya writes the trainer's local file path: its file name is the claim
                value = re.split(r"[\\/]", value)[-1]
            claim(f"header {key}", value)

    for name, text in (texts or {}).items():
        if not text:
            continue
        body = text
        if name.lower() == "readme.md":
            card, body = _card_metadata(text)
            if card.get("base_model") is not None:
                claim("README.md base_model", card["base_model"])
        _text_mentions(name, body, declared, claims)
    if ignored:
        declared["ignored"] = ignored
    return declared, claims


def _card_metadata(text: str) -> tuple[dict, str]:
    """The card's YAML metadata (through huggingface_hub's card parser) and its prose."""
    from huggingface_hub import ModelCard

    if not text.lstrip().startswith("---"):
        return {}, text  # no YAML block: all prose
    try:
        card = ModelCard(text, ignore_metadata_errors=True)
        return card.data.to_dict(), card.text
    except Exception:  # a malformed card is prose, not an error: the weights still answer
        return {}, text


def _text_mentions(name: str, body: str, declared: dict, claims: list[Claim]) -> None:
    counts: dict[str, int] = {}
    for pattern, fam in families()["_text_hints"]:
        n = len(pattern.findall(body))
        if n:
            counts[fam] = counts.get(fam, 0) + n
    lower = body.lower()
    ids = sorted({rid for alias, rid in roots()["_alias"].items() if "/" in alias and alias in lower})
    for rid in ids:
        fam = roots()["_by_id"][rid]["family"]
        counts[fam] = counts.get(fam, 0) + 1
        claims.append(Claim(f"{name} mentions", rid, fam, rid, "text"))
    for fam, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        claims.append(Claim(f"{name} mentions", f"{fam} x{n}", fam, None, "text", n))
    if counts:
        declared[f"{name} mentions"] = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
