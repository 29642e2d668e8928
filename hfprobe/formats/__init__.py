"""Stage 2, formats: which weights format a source holds, and one canonical view of it: `open_weights`.

    >>> from hfprobe.formats import open_weights
    >>> view = open_weights("some-org/some-lora")                    # doctest: +SKIP
    >>> view.format, len(view.modules), view.rank, view.bytes_read   # doctest: +SKIP
    ('kohya', 192, 8, 61712)

Only headers are read to build `view.modules`; `view.layer(name)` reads that module's tensors.
Formats: diffusers-lora, diffusers-lora-processor, kohya, lycoris, xlabs, cloneofsimo, peft, mlx, loralib, torchtune,
custom-lora, transformers-checkpoint (quantized ones too), diffusers-checkpoint, ldm-checkpoint, textual-inversion,
gguf, onnx, openvino, ip-adapter, prompt-learner, adapterhub, lit-adapter (see each module's docstring).

Owns: the canonical view (base.py), which file of a folder or repo is read (pick.py), one reader per format
(diffusers.py, kohya.py, lycoris.py with its ΔW in factors.py, xlabs.py, cloneofsimo.py, peft.py, mlx.py, loralib.py,
torchtune.py, checkpoint.py with quantized Linears in quantized.py, gguf.py, ONNX and OpenVINO exports in
exports.py with ONNX's names in onnx.py, ip_adapter.py, prompt_learner.py, adapterhub.py; LoRA key grouping in
lora.py; a classifier head in head.py), pickles read only through `torch.load(weights_only=True)` or their index
alone (pickle_safe.py), the libraries' renaming tables kept as data
(tables.py, kohya_names.py, transformers_names.py) and a quick literal-presence test over names (presence.py).
May import: hfprobe.source and hfprobe.errors (the tables are built from the libraries, by hand, into data).
"""

from __future__ import annotations

import json
import logging
import posixpath

from ..errors import InvalidWeightsError, NoWeightsError, SourceNotFoundError, UnsupportedFormatError
from ..source.gguf import read_gguf_header
from ..source.onnx import read_onnx
from ..source.openvino import MAX_XML_BYTES, read_openvino
from ..source.safetensors import quote, read_header
from .adapterhub import head_of, is_adapterhub, read_adapterhub
from .base import Module, TensorStore, WeightsView, sample_keys
from .checkpoint import (
    STATE_KEY,
    diffusers_component,
    is_custom_lora,
    is_original_layout,
    is_task_adapted,
    is_textual_inversion,
    is_wrapped_lora,
    original_component,
    read_checkpoint,
    read_custom_lora,
    read_textual_inversion,
    read_wrapped_lora,
)
from .cloneofsimo import is_cloneofsimo, is_cloneofsimo_list, read_cloneofsimo
from .diffusers import adapter_metadata, is_diffusers_lora, is_plain_lora, read_diffusers_lora
from .exports import merge_parts, openvino_names, quantized_of
from .gguf import read_gguf, transformers_names
from .head import task_head
from .ip_adapter import is_ip_adapter, read_ip_adapter
from .kohya import is_kohya, read_kohya
from .loralib import is_lit_adapter, is_loralib, read_lit_adapter, read_loralib
from .lycoris import is_lycoris
from .mlx import is_mlx, read_mlx
from .onnx import onnx_names
from .peft import canonical_modules, is_peft, read_peft
from .pick import models_in, onnx_parts, openvino_parts, pick_weights
from .pickle_safe import PICKLE_SUFFIXES, archived_weights, is_pickle_name, load_tensors, read_index
from .prompt_learner import is_prompt_learner, read_prompt_learner
from .quantized import quantized_bases
from .torchtune import is_torchtune, read_torchtune
from .xlabs import is_xlabs, read_xlabs

log = logging.getLogger(__name__)

__all__ = ["open_weights", "pick_weights", "models_in", "WeightsView", "Module"]


def _read_json(src, name: str, broken: list[str] | None = None) -> dict | None:
    """A JSON object file of the source, or None. One that cannot be read as one is no claim (the weights still
    speak); given `broken`, a note that says so is added to it (a hand-edited config with a trailing comma was
    ignored without a word, its base model and alpha with it)."""
    text = src.read_text(name)
    if text is None:
        return None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as err:
        why = f"{err.msg} at line {err.lineno} column {err.colno}" if isinstance(err, json.JSONDecodeError) else None
        if broken is not None:
            broken.append(f"{name} is not valid JSON ({why or 'nested too deeply'}): read without it; fix it")
        return None
    if not isinstance(obj, dict) and broken is not None:
        broken.append(f"{name} is a JSON {type(obj).__name__}, not an object: read without it")
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
    kind = ".bin" if filename.endswith(".bin.index.json") else ".safetensors"  # shards of one kind, as indexed
    for shard in names:
        if not shard.endswith(kind):
            raise InvalidWeightsError(
                f"{where}: weight_map names {quote(shard, 80)}, not a {kind} file; re-export the checkpoint"
            )
        path = posixpath.normpath(posixpath.join(folder, shard))
        if shard.startswith("/") or "\\" in shard or path.startswith("../") or path == "..":
            raise InvalidWeightsError(
                f"{where}: weight_map names {quote(shard, 80)}, outside the checkpoint's folder; re-export it"
            )
        shards.append(path)
    missing = sorted(s for s in shards if not src.exists(s))
    if missing:  # (a download of some shards, an upload that stopped): which, and what to do, not the first one's path
        shown = ", ".join(posixpath.basename(s) for s in missing[:3]) + (" …" if len(missing) > 3 else "")
        raise SourceNotFoundError(
            f"{where}: {len(missing)} of its {len(shards)} shard files {'is' if len(missing) == 1 else 'are'} not "
            f"here ({shown}); fetch every shard the index names, or point hfprobe at one shard file"
        )
    return sorted(shards)


def _load_store(src, filename: str) -> tuple[TensorStore, list[str], dict[str, str]]:
    store, metadata = TensorStore(), {}
    if filename.endswith(".index.json"):
        shards = _shards(src, filename, _read_json(src, filename))
        pickles = shards[0].endswith(".bin")  # shards of one kind, as indexed
        # every shard's header or zip index, read side by side from the Hub: one round trip for eight shards
        read = (lambda f: (f, read_index(f))) if pickles else (lambda f: (f, read_header(f, allow_truncated=True)))
        for shard, (f, index_or_header) in zip(shards, src.read_each(shards, read)):
            if pickles:
                _add_pickle(store, src, shard, f, index_or_header)
            else:
                store.add_safetensors(f, index_or_header)
                metadata.update(index_or_header.metadata)
        return store, shards, metadata
    f = src.open(filename)
    if filename.endswith(".safetensors"):
        header = read_header(f, allow_truncated=True)
        store.add_safetensors(f, header)
        return store, [filename], dict(header.metadata)
    if filename.endswith(".gguf"):  # llama.cpp: the header's shapes and metadata; its values are not read
        header = read_gguf_header(f)
        store.add_unreadable(
            transformers_names(header),
            f"{f.name}: a GGUF file's tensor values are not read by hfprobe (only its header); point it at the "
            "model's safetensors",
        )
        store.gguf = header
        return store, [filename], {}
    if filename.lower().endswith((".onnx", ".xml")):  # an export: its weights' shapes under torch's names
        return _load_export(src, filename, f)
    if filename.lower().endswith(".bin") and src.exists(filename[: -len(".bin")] + ".xml"):
        raise UnsupportedFormatError(
            f"{f.name}: an OpenVINO IR's values, whose names and shapes are in its graph beside it; point hfprobe at "
            f"{posixpath.basename(filename)[: -len('.bin')]}.xml"
        )
    if is_pickle_name(filename):
        _add_pickle(store, src, filename)
        return store, [filename], {}
    if filename.endswith(".zip") and (inside := archived_weights(f)) is not None:  # a release asset, often
        held = f"holding {', '.join(quote(n, 80) for n in inside[:3])}{', …' if len(inside) > 3 else ''}"
        raise UnsupportedFormatError(
            f"{f.name}: a zip archive ({held if inside else 'holding no weights file hfprobe reads'}); unzip it and "
            "point hfprobe at the weights file or its folder"
        )
    raise UnsupportedFormatError(
        f"{f.name}: hfprobe reads .safetensors, .gguf, .onnx, OpenVINO .xml and torch pickles "
        f"({', '.join(PICKLE_SUFFIXES)}); convert the file"
    )


def _load_export(src, filename: str, f) -> tuple[TensorStore, list[str], dict[str, str]]:
    """An ONNX export or OpenVINO IR, all its parts (an encoder, a decoder) as one model; values never read."""
    onnx = filename.lower().endswith(".onnx")
    parts = (onnx_parts if onnx else openvino_parts)(src.files())
    parts = [filename, *(p for p in parts if p != filename)] if filename in parts else [filename]
    if onnx:  # ranged reads of its tensors' fields, the parts of a Hub export side by side
        models = dict(zip(parts, src.read_each(parts, read_onnx)))
        producers = sorted({m.producer for m in models.values() if m.producer}) or ["producer not named"]
        named = {p: onnx_names(m) for p, m in models.items()}
        what, external = f"ONNX export ({', '.join(producers)})", any(m.external for m in models.values())
    else:  # a text graph read whole, through the Hub cache (for an offline rerun)
        read = {p: read_openvino(src.fetch(p, max_bytes=MAX_XML_BYTES, progress=False)) for p in parts}
        named = {p: openvino_names(tensors) for p, (tensors, _) in read.items()}
        what, external = f"OpenVINO IR ({sorted({r for _, r in read.values()})[0]})", False
    tensors, notes = merge_parts(named, what, external=external)
    kind = "ONNX model" if onnx else "OpenVINO IR"
    store = TensorStore()
    store.add_unreadable(
        tensors, f"{f.name}: an {kind}'s tensor values are not read by hfprobe; point it at the safetensors"
    )
    store.export = ("onnx" if onnx else "openvino", notes)
    return store, parts, {}


def _add_pickle(store: TensorStore, src, name: str, f=None, index=None) -> None:
    """A zip-format pickle's names and shapes come from its directory and data.pkl alone (two ranged reads of a
    Hub file; `f` and `index` where they were read already); its tensors, and any other pickle, are read whole once
    needed, a Hub file downloaded into the Hub cache first (progress bar, --max-download cap), unless a server that
    ignored Range has sent it whole already."""
    if f is None:
        f = src.open(name)
        index = read_index(f)

    def whole():
        return load_tensors(f if getattr(f, "whole", False) else src.fetch(name))

    if index is not None:
        store.add_pickle_index(f.name, index, whole)
    else:
        store.add_tensors(whole())


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
    filename = filename or pick_weights(src)
    log.info("%s: reading %s (%s source)", src.display, filename, src.kind)
    folder = posixpath.dirname(filename)
    if filename.lower().endswith((".onnx", ".xml")) and posixpath.basename(folder).lower().startswith(
        ("onnx", "openvino")
    ):
        folder = posixpath.dirname(folder)  # Transformers.js keeps its config.json above its onnx/ folder
    configs = [posixpath.join(folder, "adapter_config.json"), posixpath.join(folder, "config.json")]
    src.prefetch(([filename] if filename.endswith(".index.json") else []) + configs)  # a Hub repo's, side by side
    store, files, metadata = _load_store(src, filename)
    broken: list[str] = []  # notes on companion configs that cannot be read
    adapter_config, model_config = (_read_json(src, name, broken) for name in configs)
    where = f"{src.display}/{filename}" if src.kind != "file" else src.display
    keys = list(store.raw)
    if not keys:
        raise NoWeightsError(f"{where}: the file holds no tensors; point hfprobe at a weights file")

    notes: list[str] = []
    extra: dict = {}
    config = adapter_config or model_config
    if store.gguf is not None:
        fmt = "gguf"
        modules, notes, extra, metadata = read_gguf(store.gguf, where, store.raw)
    elif store.export is not None:
        fmt, export_notes = store.export
        modules, notes, extra = read_checkpoint(store, model_config, None, where)
        notes, extra = [*export_notes, *notes], {**extra, "quantized": quantized_of(store.raw, len(modules), fmt)}
    elif is_cloneofsimo(keys) or is_cloneofsimo_list(keys):
        fmt = "cloneofsimo"
        modules, notes, extra = read_cloneofsimo(store, metadata, where)
    elif is_kohya(keys):
        fmt = "lycoris" if is_lycoris(keys) else "kohya"
        modules, notes = read_kohya(store, metadata, where)
    elif (is_peft(keys, adapter_config) and not metadata.get("lora_adapter_metadata")) or is_plain_lora(keys, metadata):
        fmt = "peft"
        model_type = (model_config or {}).get("model_type")
        modules, notes = read_peft(store, adapter_config, where, model_type=model_type)
        if not any(k.startswith("base_model.") for k in keys):
            notes = ["no `base_model.model.` prefix: PEFT's factor names under the model's own, as saved", *notes]
    elif is_mlx(keys):
        fmt = "mlx"
        modules, notes = read_mlx(store, adapter_config, where, model_type=(model_config or {}).get("model_type"))
    elif is_adapterhub(keys):
        fmt = "adapterhub"
        modules, notes = read_adapterhub(store, adapter_config, where)
        head = head_of(_read_json(src, posixpath.join(folder, "head_config.json")))
        extra = {"head": head} if head else {}
    elif is_lit_adapter(keys):
        fmt = "lit-adapter"
        modules, notes = read_lit_adapter(store)
    elif is_loralib(keys) and not is_task_adapted(keys):  # (a model's own task adapters: read as the model)
        fmt = "loralib"
        modules, notes = read_loralib(store, where, model_type=(model_config or {}).get("model_type"))
    elif is_torchtune(keys):
        fmt = "torchtune"
        modules, notes = read_torchtune(store, adapter_config, where, model_type=(model_config or {}).get("model_type"))
    elif is_xlabs(keys):
        fmt = "xlabs"
        modules, notes = read_xlabs(store, where)
    elif is_diffusers_lora(keys):
        modules, fmt, notes = read_diffusers_lora(store, metadata, where)
        # the LoraConfig diffusers stored in the header, where there is no adapter_config.json
        meta = adapter_metadata(metadata)
        config = adapter_config or next((meta[c] for c in ("", "unet", "transformer") if c in meta), None)
    elif is_ip_adapter(keys):
        fmt = "ip-adapter"
        modules, notes = read_ip_adapter(store)
    elif is_prompt_learner(keys):
        fmt = "prompt-learner"
        modules, notes, extra = read_prompt_learner(store)
    elif is_custom_lora(keys):
        fmt = "custom-lora"
        modules, notes = read_custom_lora(store, where)
    elif is_wrapped_lora(keys):
        fmt = "custom-lora"
        modules, notes = read_wrapped_lora(store, where)
        modules, notes = canonical_modules(modules, notes, (model_config or {}).get("model_type"))
    elif is_textual_inversion(store):
        fmt = "textual-inversion"
        modules, extra = read_textual_inversion(store)
    else:
        component = diffusers_component(model_config, keys)
        if component is None and model_config is None and not _looks_like_checkpoint(store.raw):
            sample = sample_keys(keys)
            raise UnsupportedFormatError(
                f"{where}: unknown weights layout ({len(keys)} tensors, e.g. {sample}); "
                "hfprobe reads diffusers/kohya/cloneofsimo/PEFT/mlx-lm/loralib LoRAs and transformers/diffusers "
                "checkpoints"
            )
        fmt = "diffusers-checkpoint" if component else "transformers-checkpoint"
        original = component is None and is_original_layout(keys)
        if original:
            fmt = "ldm-checkpoint"  # a single-file diffusion checkpoint in its authors' layout; names kept as saved
        modules, notes, extra = read_checkpoint(store, model_config, component, where)
        component = component or (original_component(keys) if original else None)
        extra = {**extra, "component": component} if component else extra
    if not modules:
        raise UnsupportedFormatError(
            f"{where}: recognised as {fmt} but no module could be read (keys e.g. {sample_keys(keys)}); "
            "the file may be incomplete"
        )
    if broken:  # said apart from the notes: what it costs is the metadata's word on the base model, the alpha
        extra = {**extra, "unreadable": broken}
    if store.truncated:
        notes = [*notes, _truncation_note(store, modules)]
    if "head" not in extra and (head := task_head(modules, config, model_config)):
        extra = {**extra, "head": head}  # config.json's labels, also where adapter_config.json is the view's config
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
        model_config=model_config if config is not model_config else None,
    )


def _truncation_note(store: TensorStore, modules: dict[str, Module]) -> str:
    view = WeightsView("", [], {}, None, modules, store)
    unread = sum(1 for m in modules.values() if "alpha" in m.keys and not store.present(m.keys["alpha"]))
    extra = f"; the .alpha of {unread} modules is in the missing part: alpha = rank assumed" if unread else ""
    return view.truncation_note() + extra


def _looks_like_checkpoint(raw: dict) -> bool:
    """Without a config.json: it holds `<module>.weight` names and most keys are a module's tensors (weights,
    biases, buffers such as BatchNorm's running means, parameters such as XLNet's `rel_attn.q`), or it is quantized."""
    if quantized_bases(raw):
        return True
    weights = sum(1 for k in raw if k.endswith(".weight") or ".parametrizations.weight." in k)  # (weight norm)
    return weights > 0 and sum(1 for k in raw if STATE_KEY.match(k)) >= max(1, len(raw) // 2)
