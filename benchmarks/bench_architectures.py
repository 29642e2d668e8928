"""Benchmark: what inspect says of every architecture transformers (diffusers, timm, open_clip) has (not a test)

    .venv/bin/python benchmarks/bench_architectures.py [--diffusers | --timm | --open-clip] [--out FILE] [--only …] [-v]

Each model type in transformers' `MODEL_MAPPING_NAMES` is built by `AutoModel.from_config` from its default
configuration on the meta device (no weights, no download) and written twice as a header-only safetensors file,
under the names `save_pretrained` writes (which for a mixture's experts are not those transformers 5 holds):
the whole checkpoint, and a PEFT LoRA (rank 8) on each of its 2-D `.weight`s but the embeddings. Each is read by
`inspect_source` with no config.json and no card, so only names and shapes speak; and the checkpoint once more
beside its own config.json (`full+config`, the default config as `save_pretrained` writes it), where any conflict
is wrong: the metadata is the model's own.

Truth is the family hfprobe's registry gives the model type (families.json's `model_types`, or the type's
own name where it is a family), else, for a vision or audio tower over a language model (LLaVA, PaliGemma), the
family of its default `text_config`'s model type (the row says `truth_via`), else none: an
architecture the registry has no roots for. Counted per file:

* right: the family is the truth (none for an unknown architecture counts as right); right and sure: a family
  that is the truth at confidence 0.9 or more;
* sure and wrong: another family at confidence 0.9 or more, which a card and an index row repeat;
* base_model on a wrong family: a root written as `base_model` from the weights alone, its family not the truth
  (a few are defensible: SAM-HQ is a fine-tune of SAM; most are not). Listed with -v;
* base_model written: a root written from the weights alone, whatever its family.

With --diffusers, every model class diffusers exports (a UNet, a DiT, a ControlNet) is built from its default
configuration instead (for most DiTs that is the published model's) and written as a checkpoint, as the same
checkpoint with its config.json (`_class_name` only), and as a LoRA on its attention layers under the
`transformer.` / `unet.` prefix diffusers' `save_lora_weights` writes, the layout most diffusion LoRAs have.
Truth is families.json's `diffusers_classes` (any of the families a class builds), else none.

With --timm, every architecture timm lists (1,371 in timm 1.0) is built by `timm.create_model` from its default
configuration and written as a checkpoint (also beside the config.json timm's `push_to_hf_hub` writes: its
architecture and pretrained config) and as a PEFT LoRA under timm's names (`blocks.N.attn.qkv`, `pos_embed`),
which DINOv2's torch.hub checkpoints share. Truth is `TIMM_TRUTH`: the architectures of the registry's ViT, DeiT
(distilled or not), ResNet, ConvNeXt (V1 and V2), BEiT, DINOv2 and DINOv3 roots, the rest none; "base_model
written" counts every root written, a look-alike's too (timm's ViT-Ti is AugReg's, not DeiT-tiny, in the same
shapes). With --open-clip, every model config open_clip lists likewise, under OpenCLIP's names
(`transformer.resblocks.N.attn.in_proj_weight`, `visual.conv1`); truth `OPEN_CLIP_TRUTH`.

With --heads, each transformers model type is built with the task head its fine-tunes most often have instead
(`HEADS`: the first auto class that maps the type: image, audio or sequence classification, then a seq2seq or
causal language model), so its keys hold the base model's prefix (`beit.encoder.layer.0…`) as a fine-tune's do; the
row names the class (`head`).

Caveats: a default configuration is not a published checkpoint (many share no root's sizes, some share one's by
chance), AutoModel has no task head and no model prefix (`bert.`, `roberta.`; --heads has both), and a real LoRA
targets a few modules. The figures compare code with code on the same set, not with the Hub.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import signal
import struct
import sys
import tempfile
import warnings
from collections import Counter
from pathlib import Path

SURE = 0.9


def _write_header(path: Path, tensors: dict[str, tuple[int, ...]]) -> None:
    """A safetensors header for F16 tensors of these shapes, with no data (inspect reads headers only)."""
    header, offset = {}, 0
    for key, shape in tensors.items():
        n = 2 * math.prod(shape)
        header[key] = {"dtype": "F16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + b" " * (-len(blob) % 8))


def _lora(shapes: dict[str, tuple[int, ...]], prefix: str = "base_model.model.", only=None, conv1d=()) -> dict:
    """A rank-8 LoRA's factor shapes on each 2-D `.weight` but the embeddings (and, given `only`, a regex, only on
    the weights it finds), under `prefix`: PEFT's, or a diffusers pipeline component's. `conv1d` names the weights
    of GPT-2's Conv1D layers, stored [in, out]: PEFT's factors on them are [r, in] and [out, r], as on a Linear's."""
    out = {}
    for key, shape in shapes.items():
        if key.endswith(".weight") and len(shape) == 2 and "embed" not in key and min(shape) >= 16:
            if only is None or only.search(key):
                module = prefix + key[: -len(".weight")]
                d_out, d_in = shape[::-1] if key in conv1d else shape
                out[f"{module}.lora_A.weight"], out[f"{module}.lora_B.weight"] = (8, d_in), (d_out, 8)
    return out


def _conv1d_weights(model) -> set[str]:
    """The `.weight` names of a transformers model's Conv1D layers (GPT-2's, stored [in, out])."""
    from transformers.pytorch_utils import Conv1D

    return {f"{name}.weight" for name, m in model.named_modules() if isinstance(m, Conv1D)}


class _Timeout(Exception):
    pass


def _alarm(*_):
    raise _Timeout


def _as_saved(model, state: dict) -> dict:
    """The state dict as `save_pretrained` writes it: transformers 5 holds some models' weights under other names
    than their files have (Mixtral's experts fused as `mlp.experts.gate_up_proj`, saved per expert as
    `block_sparse_moe.experts.N.w1`) and reverts them on saving; the Hub's files have the saved names."""
    try:
        from transformers.core_model_loading import revert_weight_conversion
    except ImportError:  # transformers 4 holds what it saves
        return state
    return revert_weight_conversion(model, state)


# the auto classes --heads tries, in order: the heads fine-tunes of each kind of model most often have
HEADS = (
    "AutoModelForImageClassification",
    "AutoModelForAudioClassification",
    "AutoModelForSequenceClassification",
    "AutoModelForSeq2SeqLM",
    "AutoModelForCausalLM",
)


def _head_class(config):
    """The first auto class in HEADS that maps the config's type, else AutoModel (no head)."""
    import transformers

    for name in HEADS:
        auto = getattr(transformers, name)
        if type(config) in auto._model_mapping:
            return auto
    return transformers.AutoModel


def measure(model_type: str, truth: str | None, heads: bool = False) -> dict:
    import torch
    from transformers import CONFIG_MAPPING, AutoModel

    row: dict = {"model_type": model_type, "truth": truth}
    signal.alarm(60)
    try:
        config = CONFIG_MAPPING[model_type]()
        if truth is None and (inner := _language_family(config)):  # a tower over a registry language model
            row |= {"truth": inner, "truth_via": "text_config"}
        with torch.device("meta"):
            model = (_head_class(config) if heads else AutoModel).from_config(config)
        if heads:
            row["head"] = type(model).__name__
        state = model.state_dict()
        saved = _as_saved(model, state)
        if list(saved) != list(state):
            row["saved_names"] = True  # transformers writes other names than it holds (a mixture's experts)
        shapes = {k: tuple(v.shape) for k, v in saved.items()}
        saved_config = json.loads(config.to_json_string(use_diff=False))
        conv1d = _conv1d_weights(model)
    except (Exception, _Timeout) as e:  # no default config, no meta construction: reported, not measured
        return dict(row, error=f"{type(e).__name__}: {str(e)[:120]}")
    finally:
        signal.alarm(0)
    return _read_both(row, shapes, saved_config, conv1d)


def _read_both(row: dict, shapes: dict, config: dict | None = None, conv1d=()) -> dict:
    """The row with inspect's answers on the whole checkpoint (beside its config.json too) and a PEFT LoRA of it."""
    row["full"] = _answer(shapes, "model")
    if config is not None:
        row["full+config"] = _answer(shapes, "model", config)
    lora = _lora(shapes, conv1d=conv1d)
    if lora:
        row["lora"] = _answer(lora, "adapter_model")
    return row


def _language_family(config) -> str | None:
    """The registry family of a composite model's language model (`text_config.model_type`), else None."""
    from hfprobe.tree.declared import model_type_family

    inner = getattr(getattr(config, "text_config", None), "model_type", None)
    return model_type_family(inner) if isinstance(inner, str) else None


_ATTENTION = re.compile(r"\.(to_[qkv]|to_out\.0|add_[qkv]_proj|to_add_out)\.weight$")


def _answer(tensors: dict, name: str, config: dict | None = None) -> dict:
    from hfprobe.errors import HfprobeError
    from hfprobe.tree.inspect import inspect_source

    with tempfile.TemporaryDirectory() as d:
        _write_header(Path(d) / f"{name}.safetensors", tensors)
        if config is not None:
            (Path(d) / "config.json").write_text(json.dumps(config))
        try:
            report = inspect_source(d)
        except HfprobeError as e:  # a typed refusal (a name too long, say) is an answer: no family
            return {"family": None, "confidence": 0.0, "root": None, "base_model": None, "error": str(e)}
    return {
        "family": report["family"],
        "confidence": report["family_confidence"],
        "root": report["root"]["id"],
        "base_model": report["base_model"]["id"],
        "conflicts": report["conflicts"],
    }


def measure_diffusers(cls: str, truth: list[str]) -> dict:
    import diffusers
    import torch

    row: dict = {"class": cls, "truth": truth}
    signal.alarm(60)
    try:
        with torch.device("meta"):
            model = getattr(diffusers, cls)()
        shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    except (Exception, _Timeout) as e:  # no default config (a required argument), no meta construction
        return dict(row, error=f"{type(e).__name__}: {str(e)[:120]}")
    finally:
        signal.alarm(0)
    row["full"] = _answer(shapes, "diffusion_pytorch_model")
    row["full+config"] = _answer(shapes, "diffusion_pytorch_model", {"_class_name": cls})
    prefix = "unet." if "UNet" in cls or cls.startswith("ControlNet") else "transformer."
    lora = _lora(shapes, prefix, only=_ATTENTION)
    if lora:
        row["lora"] = _answer(lora, "pytorch_lora_weights")
    return row


# timm architectures of the registry's roots (what their weights may be; the pretrained tag says which), else none
TIMM_TRUTH = [
    (r"^vit_(small|base|large)_patch14_reg4_dinov2$", "dinov2_with_registers"),
    (r"^vit_(small|base|large)_patch14_dinov2$", "dinov2"),
    (r"^vit_(small|base|large)_patch16_(dinov3(_qkvb)?|lingbot)$", "dinov3"),
    (r"^(vit|deit)_(tiny|small|base|large)_patch16_(224|384)$", "vit"),
    (r"^vit_huge_patch14_224$", "vit"),  # google/vit-huge-patch14-224-in21k's architecture
    (r"^resnet(18|26|34|50|101|152)$", "resnet"),
    (r"^deit_(tiny|small|base)_distilled_patch16_(224|384)$", "deit"),
    (r"^convnext_(tiny|small|base|large|xlarge)$", "convnext"),
    (r"^convnextv2_(atto|femto|pico|nano|tiny|base|large|huge)$", "convnextv2"),
    (r"^beit(v2)?_(base|large)_patch16_(224|384|512)$", "beit"),
]


# open_clip architectures of the registry's CLIP roots (OpenAI's, LAION's, DFN's, MetaCLIP's), the rest none
OPEN_CLIP_TRUTH = [(r"^ViT-(B-32|B-16|L-14|L-14-336|H-14|bigG-14)(-quickgelu)?$", "clip")]


def measure_timm(name: str) -> dict:
    import timm

    return _measure_library("timm", name, TIMM_TRUTH, lambda: timm.create_model(name, pretrained=False), _timm_config)


def _timm_config(model) -> dict:
    """config.json as timm's `push_to_hf_hub` writes it: the architecture, the head and the pretrained config."""
    pretrained = json.loads(json.dumps(dict(getattr(model, "pretrained_cfg", {}) or {}), default=str))
    return {"architecture": pretrained.get("architecture"), "num_classes": getattr(model, "num_classes", None),
            "num_features": getattr(model, "num_features", None), "pretrained_cfg": pretrained}  # fmt: skip


def measure_open_clip(name: str) -> dict:
    import open_clip

    return _measure_library(
        "open_clip", name, OPEN_CLIP_TRUTH, lambda: open_clip.create_model(name, pretrained=None, device="meta")
    )


def _measure_library(library: str, name: str, truth_table: list, build, config_of=None) -> dict:
    """A model another library builds (on the meta device), as a checkpoint (beside the config.json `config_of` the
    model gives, where it has one) and a PEFT LoRA under its names."""
    import torch

    truth = next((fam for pattern, fam in truth_table if re.match(pattern, name)), None)
    row: dict = {library: name, "truth": truth}
    signal.alarm(60)
    try:
        with torch.device("meta"):
            model = build()
        shapes = {k: tuple(v.shape) or (1,) for k, v in model.state_dict().items()}
        config = config_of(model) if config_of else None
    except (Exception, _Timeout) as e:  # (open_clip's multilingual towers download a tokenizer config: no Hub here)
        return dict(row, error=f"{type(e).__name__}: {str(e)[:120]}")
    finally:
        signal.alarm(0)
    return _read_both(row, shapes, config)


def _right(family: str | None, truth) -> bool:
    """A transformers row's truth is one family or None, a diffusers row's the families its class builds."""
    return family in truth if isinstance(truth, list) and truth else family == (truth or None)


def summarize(rows: list[dict]) -> dict:
    out = {"built": sum("error" not in r for r in rows), "not built": sum("error" in r for r in rows)}
    for kind in ("full", "full+config", "lora"):
        c = Counter()
        for r in rows:
            x = r.get(kind)
            if not x:
                continue
            c["files"] += 1
            c["base_model written"] += x["base_model"] is not None
            if kind == "full+config":  # the model's own metadata: any conflict with it is wrong
                c["with a conflict"] += bool(x.get("conflicts"))
            if _right(x["family"], r["truth"]):
                c["right"] += 1
                c["right and sure"] += x["family"] is not None and x["confidence"] >= SURE
                continue
            c["sure and wrong"] += x["confidence"] >= SURE
            c["base_model on a wrong family"] += x["base_model"] is not None
        if c:
            out[kind] = dict(c)
    return out


def _diffusers_classes() -> list[str]:
    """Every model class diffusers exports but the wrappers (AutoModel, the Multi*ControlNet lists)."""
    import diffusers.models

    return sorted(
        n
        for n in dir(diffusers.models)
        if (n.endswith("Model") or "Transformer" in n or "UNet" in n) and n != "AutoModel" and "Multi" not in n
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write one JSON row per model type here")
    ap.add_argument("--only", nargs="*", help="these model types (diffusers classes) only")
    kinds = ap.add_mutually_exclusive_group()
    kinds.add_argument("--diffusers", action="store_true", help="diffusers' model classes instead of transformers'")
    kinds.add_argument("--timm", action="store_true", help="timm's architectures instead of transformers'")
    kinds.add_argument("--open-clip", action="store_true", help="open_clip's model configs instead of transformers'")
    ap.add_argument("--heads", action="store_true", help="transformers' models with a task head (HEADS), not bare")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the wrong answers")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    signal.signal(signal.SIGALRM, _alarm)
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

    from hfprobe.tree.declared import model_type_family
    from hfprobe.tree.registry import families

    transformers.logging.set_verbosity_error()
    spec = families()
    rows = []
    if args.open_clip:
        import open_clip

        version = {"open_clip": open_clip.__version__}
        rows = [measure_open_clip(name) for name in args.only or open_clip.list_models()]
    elif args.timm:
        import timm

        version = {"timm": timm.__version__}
        rows = [measure_timm(name) for name in args.only or timm.list_models()]
    elif args.diffusers:
        import diffusers

        version = {"diffusers": diffusers.__version__}
        for cls in args.only or _diffusers_classes():
            rows.append(measure_diffusers(cls, list(spec["_diffusers_classes"].get(cls, ()))))
    else:
        version = {"transformers": transformers.__version__, "heads": args.heads}
        for model_type in args.only or sorted(MODEL_MAPPING_NAMES):
            rows.append(measure(model_type, model_type_family(model_type), heads=args.heads))
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(json.dumps({**version, **summarize(rows)}, indent=1))
    if args.verbose:
        every_write = args.timm or args.open_clip  # (a look-alike's root, written, on the right family)
        for r in rows:
            for kind in ("full", "full+config", "lora"):
                x = r.get(kind)
                wrong = not _right(x["family"], r["truth"]) if x else False
                written = x and x["base_model"] and (wrong or every_write)
                conflict = kind == "full+config" and x and x.get("conflicts")
                if x and ((wrong and x["confidence"] >= SURE) or written or conflict):
                    name = r.get("model_type") or r.get("timm") or r.get("open_clip") or r["class"]
                    print(f"{kind:11} {name:40} truth {r['truth']}: {x}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
