"""Stage 2, formats: which weights format a source holds, and one canonical view of it: `open_weights`.

    >>> from hfprobe.formats import open_weights
    >>> view = open_weights("some-org/some-lora")                    # doctest: +SKIP
    >>> view.format, len(view.modules), view.rank, view.bytes_read   # doctest: +SKIP
    ('kohya', 192, 8, 61712)

Only headers are read to build `view.modules`; `view.layer(name)` reads that module's tensors.
Formats: diffusers-lora, diffusers-lora-processor, kohya, lycoris, xlabs, cloneofsimo, peft, custom-lora,
transformers-checkpoint, diffusers-checkpoint, ldm-checkpoint, textual-inversion (see each module's docstring).

Owns: the canonical view (base.py), one reader per format (diffusers.py, kohya.py, cloneofsimo.py, peft.py,
checkpoint.py; LoRA key grouping in lora.py), pickles read only through `torch.load(weights_only=True)` or their
index alone (pickle_safe.py), the libraries' renaming tables kept as data (tables.py, kohya_names.py,
transformers_names.py) and a quick literal-presence test over names (presence.py).
May import: hfprobe.source and hfprobe.errors (the tables are built from the libraries, by hand, into data).
"""

from __future__ import annotations

import json
import logging
import posixpath
import re

from ..errors import InvalidWeightsError, NoWeightsError, UnsupportedFormatError, UsageError
from ..source.safetensors import quote, read_header
from .base import Module, TensorStore, WeightsView, sample_keys
from .checkpoint import (
    diffusers_component,
    is_custom_lora,
    is_textual_inversion,
    read_checkpoint,
    read_custom_lora,
    read_textual_inversion,
)
from .cloneofsimo import is_cloneofsimo, read_cloneofsimo
from .diffusers import adapter_metadata, is_diffusers_lora, read_diffusers_lora
from .kohya import is_kohya, read_kohya
from .lycoris import is_lycoris
from .peft import is_peft, read_peft
from .pickle_safe import PICKLE_SUFFIXES, load_tensors, read_index
from .xlabs import is_xlabs, read_xlabs

log = logging.getLogger(__name__)

__all__ = ["open_weights", "pick_weights", "models_in", "WeightsView", "Module"]

# the files a folder or repo is searched for, best first; an index file stands for its shards
PREFERRED = (
    "adapter_model.safetensors",
    "adapter_model.bin",
    "pytorch_lora_weights.safetensors",
    "pytorch_lora_weights.bin",
    "model.safetensors.index.json",
    "model.safetensors",
    "pytorch_model.bin",
    "unet/diffusion_pytorch_model.safetensors.index.json",
    "unet/diffusion_pytorch_model.safetensors",
    "unet/diffusion_pytorch_model.fp16.safetensors",
    "transformer/diffusion_pytorch_model.safetensors.index.json",
    "transformer/diffusion_pytorch_model.safetensors",
    "diffusion_pytorch_model.safetensors.index.json",
    "diffusion_pytorch_model.safetensors",
    "learned_embeds.safetensors",
    "learned_embeds.bin",
)
WEIGHT_SUFFIXES = (".safetensors",) + PICKLE_SUFFIXES


# a diffusers pipeline's component folders: their weights are parts of the pipeline in the folder above
COMPONENTS = {
    "unet", "transformer", "text_encoder", "text_encoder_2", "text_encoder_3", "vae", "prior", "decoder",
    "controlnet", "image_encoder", "safety_checker", "movq",
}  # fmt: skip
_CHECKPOINT = re.compile(r"checkpoint[-_]?(\d+)")  # a training run's snapshot folder (checkpoint-500/)
MAX_NAMED = 4  # separate models named in the message that asks for one


def pick_weights(src) -> str:
    """The weights file a folder or repo is read through (an `.index.json` for sharded checkpoints).

    A file of `PREFERRED` at the top wins; else the model the weights files below belong to, read like a top
    (`PREFERRED` inside its folder, else its shallowest .safetensors, else pickle). The checkpoint-N/ folders of
    one run count as one model, read at its highest N. Weights in several separate models' folders (not one
    pipeline's components), or several models' files side by side, are a UsageError that names them, rather than
    a silent choice.
    """
    files = src.files()
    for name in PREFERRED:
        if name in files:
            return name
    for suffixes in ((".safetensors",), PICKLE_SUFFIXES):
        found = [f for f in files if f.endswith(suffixes)]
        if found:
            return _one_model(src, files, found)
    raise NoWeightsError(
        f"{src.display}: no weights file (.safetensors, .bin, .pt) among its {len(files)} files; "
        "point hfprobe at a folder or repo that has one, or at the file itself"
    )


def _model_folder(path: str, files: list[str]) -> str:
    """The folder of the model a weights file is part of: its own, or a diffusers pipeline's for a component."""
    folder = posixpath.dirname(path)
    parent = posixpath.dirname(folder)
    if folder and (posixpath.basename(folder) in COMPONENTS or posixpath.join(parent, "model_index.json") in files):
        return parent
    return folder


def _one_model(src, files: list[str], found: list[str]) -> str:
    models = _models(files, found)
    if len(models) > 1:  # named with the models whose weights are of the other kind too (pickles beside .safetensors)
        everything = _models(files, [f for f in files if f.endswith(WEIGHT_SUFFIXES) and "/" in f])
        models = everything if "" not in everything else models
        named = ", ".join(f"{d}/" for d in models[:MAX_NAMED])
        more = f" and {len(models) - MAX_NAMED} more" if len(models) > MAX_NAMED else ""
        raise UsageError(
            f"{src.display}: holds {len(models)} separate models ({named}{more}); name one, e.g. "
            f"{_spec_of(src, models[0], _in_folder(models[0], files, _weights_in(models[0], files)))}"
        )
    return _one_file(src, _in_folder(models[0], files, found), files, found)


# a training run's intermediate saves beside its final file: `style-000010`, `style-step500`, `style_e3`,
# `style-epoch-2`; and precision variants of one file: `style.fp16`
_RUN_STEP = re.compile(
    r"(?:-\d+-of-\d+|[-_](?:step|steps|epoch|ep|e|iter|it|ckpt|checkpoint)?[-_]?\d+(?:steps?|k)?"
    r"|\.(?:fp16|fp32|bf16))$",
    re.I,
)


def _one_file(src, chosen: str, files: list[str], found: list[str]) -> str:
    """The file a model's folder is read through, checked: a folder of several unrelated weights files at the same
    depth (a collection of LoRAs) asks the user to name one, rather than reading the first name silently; the saves
    of one training run (and precision variants) are one model, read at its final file or its highest step."""
    folder = posixpath.dirname(chosen)
    if posixpath.basename(chosen) in PREFERRED or chosen in PREFERRED:
        return chosen
    same = sorted(f for f in found if posixpath.dirname(f) == folder and f.endswith(WEIGHT_SUFFIXES))
    if len(same) <= 1:
        return chosen
    stems = {f: posixpath.splitext(posixpath.basename(f))[0] for f in same}
    runs = {_RUN_STEP.sub("", stem) for stem in stems.values()}
    if len(runs) == 1:  # one run: its final file (no step suffix), else its highest step
        final = [f for f, stem in stems.items() if not _RUN_STEP.search(stem)]
        return final[0] if len(final) == 1 else max(same, key=lambda f: [int(n) for n in re.findall(r"\d+", f)] or [0])
    shown = ", ".join(posixpath.basename(f) for f in same[:MAX_NAMED])
    more = f" and {len(same) - MAX_NAMED} more" if len(same) > MAX_NAMED else ""
    where = f"{src.display.rstrip('/')}{'/' + folder if folder else ''}"
    raise UsageError(
        f"{where}: holds {len(same)} weights files of different models ({shown}{more}); name one, e.g. "
        f"{_spec_of(src, folder, same[0]) if src.kind == 'hub' else posixpath.join(src.display.rstrip('/'), same[0])}"
    )


def models_in(src) -> list[str]:
    """The separate models of a folder or repo, each as the path it is read from: a weights file at the top is a
    model of its own (a pile of LoRA files), a model's folder below is one (its shards, components, checkpoints)."""
    files = src.files()
    top = [f for f in files if "/" not in f and f.endswith(WEIGHT_SUFFIXES) and not f.endswith(".index.json")]
    below = _models(files, [f for f in files if "/" in f and f.endswith(WEIGHT_SUFFIXES)])
    if any(name in top for name in PREFERRED):  # the folder is one model (what is below is its parts or checkpoints)
        return [""]
    return sorted(top) + below


def _models(files: list[str], weights: list[str]) -> list[str]:
    """The folders of the separate models `weights` belong to, each the folder it is read from.

    A model's own sub-folders (its checkpoints, its parts) belong to it, as a top-level file's folder holds all;
    the checkpoint-N folders of one parent are one run, read from its highest N.

    >>> _models([], ["a/x.safetensors", "a/checkpoint-5/x.safetensors", "b/unet/w.safetensors", "b/vae/w.safetensors"])
    ['a', 'b']
    >>> _models([], ["checkpoint-500/w.safetensors", "checkpoint-1000/w.safetensors"])
    ['checkpoint-1000']
    """
    folders = {_model_folder(f, files) for f in weights}
    tops = sorted(d for d in folders if not any(o != d and (o == "" or d.startswith(o + "/")) for o in folders))
    runs: dict[str, list[str]] = {}
    for d in tops:
        runs.setdefault(posixpath.dirname(d) if _step(d) is not None else d, []).append(d)
    return sorted(max(run, key=lambda d: _step(d) or 0) for run in runs.values())


def _weights_in(folder: str, files: list[str]) -> list[str]:
    """The weights files under `folder`, .safetensors if it has any, else pickles."""
    under = [f for f in files if f.startswith(f"{folder}/")]
    return [f for f in under if f.endswith(".safetensors")] or [f for f in under if f.endswith(PICKLE_SUFFIXES)]


def _step(folder: str) -> int | None:
    """N of a checkpoint-N folder, else None.

    >>> _step("out/checkpoint-1500"), _step("lora")
    (1500, None)
    """
    m = _CHECKPOINT.fullmatch(posixpath.basename(folder))
    return int(m[1]) if m else None


def _in_folder(folder: str, files: list[str], found: list[str]) -> str:
    """The file a model's folder is read through, as `pick_weights` reads a top: `PREFERRED` first, then the
    shallowest of `found` under it (a top-level file over checkpoints in sub-folders)."""
    prefix = f"{folder}/" if folder else ""
    for name in PREFERRED:
        if prefix + name in files:
            return prefix + name
    return min((f for f in found if f.startswith(prefix)), key=lambda f: (f.count("/"), f))


def _spec_of(src, folder: str, file: str) -> str:
    """How a user names one model of a folder or repo: its folder below a local one, its file in a Hub repo."""
    if src.kind != "hub":
        return f"{src.display.rstrip('/')}/{folder}"
    from huggingface_hub import HfUri

    return HfUri(type="model", id=src.repo_id, revision=src.revision, path_in_repo=file).to_uri()


def _read_json(src, name: str) -> dict | None:
    text = src.read_text(name)
    if text is None:
        return None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None  # a broken companion file is no claim; the weights still speak
    return obj if isinstance(obj, dict) else None


MAX_SHARDS = 10_000  # files one index may name


def _shards(src, filename: str, index: dict | None) -> list[str]:
    """The shard files an `.index.json` names, checked: relative names inside the source, a bounded count."""
    weight_map = (index or {}).get("weight_map")
    where = f"{src.display}/{filename}"
    if not isinstance(weight_map, dict) or not weight_map:
        raise InvalidWeightsError(f"{where}: index has no weight_map; re-export the checkpoint")
    bad = next((v for v in weight_map.values() if not isinstance(v, str)), None)
    if bad is not None:
        raise InvalidWeightsError(f"{where}: weight_map names {quote(bad, 80)}, not a file name; re-export it")
    names = set(weight_map.values())
    if len(names) > MAX_SHARDS:
        raise InvalidWeightsError(
            f"{where}: index names {len(names)} shard files, over hfprobe's limit of {MAX_SHARDS}"
        )
    folder = posixpath.dirname(filename)
    shards = []
    for shard in names:
        if not shard.endswith(".safetensors"):
            raise InvalidWeightsError(
                f"{where}: weight_map names {quote(shard, 80)}, not a .safetensors file; re-export the checkpoint"
            )
        path = posixpath.normpath(posixpath.join(folder, shard))
        if shard.startswith("/") or "\\" in shard or path.startswith("../") or path == "..":
            raise InvalidWeightsError(
                f"{where}: weight_map names {quote(shard, 80)}, outside the checkpoint's folder; re-export it"
            )
        shards.append(path)
    return sorted(shards)


def _load_store(src, filename: str) -> tuple[TensorStore, list[str], dict[str, str]]:
    store, metadata = TensorStore(), {}
    if filename.endswith(".index.json"):
        shards = _shards(src, filename, _read_json(src, filename))
        for shard in shards:
            f = src.open(shard)
            header = read_header(f, allow_truncated=True)
            store.add_safetensors(f, header)
            metadata.update(header.metadata)
        return store, shards, metadata
    f = src.open(filename)
    if filename.endswith(".safetensors"):
        header = read_header(f, allow_truncated=True)
        store.add_safetensors(f, header)
        return store, [filename], dict(header.metadata)
    if filename.endswith(PICKLE_SUFFIXES):
        # a Hub pickle is downloaded into the Hub cache first (progress bar, --max-download cap); its names and
        # shapes come from its data.pkl alone where it is a zip-format pickle, the tensors when a layer is read
        f = src.fetch(filename)
        index = read_index(f)
        if index is not None:
            store.add_pickle_index(f.name, index, lambda: load_tensors(f))
        else:
            store.add_tensors(load_tensors(f))
        return store, [filename], {}
    raise UnsupportedFormatError(
        f"{f.name}: hfprobe reads .safetensors and torch pickles ({', '.join(PICKLE_SUFFIXES)}); convert the file"
    )


def open_weights(source_or_spec, filename: str | None = None, *, token=None) -> WeightsView:
    """Open the weights in a file, folder or Hub repo as a canonical `WeightsView` (headers only).

    >>> view = open_weights("./my-lora/")                                     # doctest: +SKIP
    >>> view.layer("unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_q").shape  # doctest: +SKIP
    torch.Size([1280, 1280])
    """
    from ..source.resolve import resolve

    src = resolve(source_or_spec, token=token)
    try:
        return _open(src, filename)
    except BaseException:
        if src is not source_or_spec:  # ours: close the files it opened before the error leaves
            src.close()
        raise


def _open(src, filename: str | None) -> WeightsView:
    filename = filename or src.default_file or pick_weights(src)
    log.info("%s: reading %s (%s source)", src.display, filename, src.kind)
    store, files, metadata = _load_store(src, filename)
    folder = posixpath.dirname(filename)
    adapter_config = _read_json(src, posixpath.join(folder, "adapter_config.json"))
    model_config = _read_json(src, posixpath.join(folder, "config.json"))
    where = f"{src.display}/{filename}" if src.kind != "file" else src.display
    keys = list(store.raw)
    if not keys:
        raise NoWeightsError(f"{where}: the file holds no tensors; point hfprobe at a weights file")

    notes: list[str] = []
    extra: dict = {}
    config = adapter_config or model_config
    if is_cloneofsimo(keys):
        fmt = "cloneofsimo"
        modules, notes, extra = read_cloneofsimo(store, metadata, where)
    elif is_kohya(keys):
        fmt = "lycoris" if is_lycoris(keys) else "kohya"
        modules, notes = read_kohya(store, metadata, where)
    elif is_peft(keys, adapter_config) and not metadata.get("lora_adapter_metadata"):
        fmt = "peft"
        model_type = (model_config or {}).get("model_type")
        modules, notes = read_peft(store, adapter_config, where, model_type=model_type)
    elif is_xlabs(keys):
        fmt = "xlabs"
        modules, notes = read_xlabs(store, where)
    elif is_diffusers_lora(keys):
        modules, fmt, notes = read_diffusers_lora(store, metadata, where)
        # the LoraConfig diffusers stored in the header, where there is no adapter_config.json
        meta = adapter_metadata(metadata)
        config = adapter_config or next((meta[c] for c in ("", "unet", "transformer") if c in meta), None)
    elif is_custom_lora(keys):
        fmt = "custom-lora"
        modules, notes = read_custom_lora(store, where)
    elif is_textual_inversion(store):
        fmt = "textual-inversion"
        modules, extra = read_textual_inversion(store)
    else:
        component = diffusers_component(model_config, keys)
        if component is None and model_config is None and not _looks_like_checkpoint(keys):
            sample = sample_keys(keys)
            raise UnsupportedFormatError(
                f"{where}: unknown weights layout ({len(keys)} tensors, e.g. {sample}); "
                "hfprobe reads diffusers/kohya/cloneofsimo/PEFT LoRAs and transformers/diffusers checkpoints"
            )
        fmt = "diffusers-checkpoint" if component else "transformers-checkpoint"
        if component is None and any(k.startswith("model.diffusion_model.") for k in keys):
            fmt = "ldm-checkpoint"  # a single-file SD checkpoint (A1111 / original LDM layout); names kept as saved
        modules, notes = read_checkpoint(store, model_config, component)
    if not modules:
        raise UnsupportedFormatError(
            f"{where}: recognised as {fmt} but no module could be read (keys e.g. {sample_keys(keys)}); "
            "the file may be incomplete"
        )
    if store.truncated:
        notes = [*notes, _truncation_note(store, modules)]
    n_read = src.bytes_read
    log.info("%s: format %s, %d tensors in %d modules, %d bytes read", where, fmt, len(keys), len(modules), n_read)
    return WeightsView(
        format=fmt,
        files=files,
        metadata=metadata,
        config=config,
        modules=modules,
        store=store,
        source=src,
        notes=notes,
        extra=extra,
    )


def _truncation_note(store: TensorStore, modules: dict[str, Module]) -> str:
    view = WeightsView("", [], {}, None, modules, store)
    unread = sum(1 for m in modules.values() if "alpha" in m.keys and not store.present(m.keys["alpha"]))
    extra = f"; the .alpha of {unread} modules is in the missing part: alpha = rank assumed" if unread else ""
    return view.truncation_note() + extra


def _looks_like_checkpoint(keys: list[str]) -> bool:
    """Without a config.json: most keys are dotted `<module>.weight` / `.bias` names."""
    dotted = sum(1 for k in keys if k.endswith((".weight", ".bias")))
    return dotted >= max(1, len(keys) // 2)
