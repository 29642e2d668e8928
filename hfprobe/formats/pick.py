"""Which file a folder or repo is read through (`pick_weights`), and the separate models a folder holds
(`models_in`, for `hfprobe trees` on a pile).

One model's layouts read as one: a diffusers pipeline's component folders, a sharded checkpoint's index, the
checkpoint-N/ snapshots of one run (its highest N), one run's saves side by side (`style-000010`, `-step500`,
`step500`: its final file, `final_lora`), precision variants (`style.fp16`). Weights of several separate models,
in folders or side by side, are a UsageError that names them and says how to name one, rather than a silent
choice.
"""

from __future__ import annotations

import posixpath
import re

from ..errors import NoWeightsError, UsageError
from .pickle_safe import is_pickle_name

# the files a folder or repo is searched for, best first; an index file stands for its shards
PREFERRED = (
    "adapter_model.safetensors",
    "adapter_model.bin",
    "pytorch_lora_weights.safetensors",
    "pytorch_lora_weights.bin",
    "adapters.safetensors",  # mlx-lm's (its NNNNNNN_adapters.safetensors are earlier snapshots of the run)
    "lit_model.pth.lora",  # litgpt's finetune_lora output (its lit_model.pth beside it is the merged model)
    "lit_model.pth.adapter_v2",  # litgpt's finetune_adapter_v2 and finetune_adapter outputs, likewise
    "lit_model.pth.adapter",
    "model.safetensors.index.json",
    "model.safetensors",
    "pytorch_model.bin.index.json",
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
    "adapter.safetensors",  # AdapterHub's, saved with `use_safetensors` (its head: `model_head.safetensors`)
    "pytorch_adapter.bin",  # AdapterHub's adapter; its head (`pytorch_model_head.bin`) beside it is part of it
)


def is_weights_name(name: str) -> bool:
    """A .safetensors file or a torch pickle (`pickle_safe.is_pickle_name`)."""
    return name.endswith(".safetensors") or is_pickle_name(name)


# what a training run saves beside its weights (accelerate's and transformers' Trainer's checkpoint folders):
# optimizer and scheduler states, random states, the run's arguments; never the model
TRAINING_STATE = re.compile(
    r"(optimizer|optim|scheduler|lr_scheduler|scaler|rng_state|random_states|training_args)(_\d+)?\.(bin|pt|pth|pkl)$"
)


# a diffusers pipeline's component folders: their weights are parts of the pipeline in the folder above
COMPONENTS = {
    "unet", "transformer", "text_encoder", "text_encoder_2", "text_encoder_3", "vae", "prior", "decoder",
    "controlnet", "image_encoder", "safety_checker", "movq",
}  # fmt: skip
# a training run's snapshot folder: checkpoint-500/ (transformers, diffusers), epoch_3/ (torchtune), step_500/,
# global_step1000/ (DeepSpeed), ckpt-2/
_CHECKPOINT = re.compile(r"(?:checkpoint|ckpt|epoch|step|global[-_]?step|iter)[-_]?(\d+)", re.I)
MAX_NAMED = 4  # separate models named in the message that asks for one


def pick_weights(src) -> str:
    """The weights file a folder or repo is read through (an `.index.json` for sharded checkpoints).

    A file of `PREFERRED` at the top wins; else the model the weights files below belong to, read like a top
    (`PREFERRED` inside its folder, else its shallowest .safetensors, else pickle). The checkpoint-N/ folders of
    one run count as one model, read at its highest N. Weights in several separate models' folders (not one
    pipeline's components), or several models' files side by side, are a UsageError that names them, rather than
    a silent choice. A Hub source that names a folder of its repo (`hf://org/name/final`, a `…/tree/main/final`
    URL) is read like a repo of that folder's files; one that names a file is read through it.
    """
    files = src.files()
    hint = (src.default_file or "").rstrip("/")
    if hint:
        below = [f for f in files if f.startswith(hint + "/")]
        if hint in files or not below:  # a file (one the repo lacks is said so when it is opened)
            return src.default_file
        files = below
    for name in PREFERRED:
        if name in files:
            return name
    for kind in (_is_safetensors, is_pickle_name):
        found = _weights(files, kind)
        if found:
            return _one_model(src, files, found)
    models = _gguf_conversions(files)
    if models:  # llama.cpp conversions: the same model at several ggml types
        first = min((group[0] for group in models.values()), key=_whole_first)
        return first if len(models) == 1 else _one_file(src, first, [f for g in models.values() for f in g])
    exports = _exports(files)  # ONNX exports (Transformers.js' onnx/ folder, optimum's) and OpenVINO IRs
    if len(exports) > 1:
        raise _several(src, list(exports), next(iter(exports)))
    for folder, entry in exports.items():
        if entry:  # read through its first part
            return entry
        below = _below(folder, files)  # separate models side by side: asks which
        models = [posixpath.join(folder, m) for m in [*onnx_models(below).values()] or openvino_graphs(below)]
        return _one_file(src, min(models), models)
    state = sorted(f for f in files if TRAINING_STATE.match(posixpath.basename(f)))
    if state:
        raise NoWeightsError(
            f"{src.display}: holds a training run's state only ({', '.join(state[:MAX_NAMED])}), not the model's "
            "weights; point hfprobe at the folder the run saved its model or adapter to"
        )
    foreign = sorted({kind for f in files for suffix, kind in FOREIGN_WEIGHTS.items() if f.lower().endswith(suffix)})
    if foreign:
        flag = "from_tf=True" if any(k.startswith("TensorFlow") for k in foreign) else "from_flax=True"
        fix = (
            f"convert them with transformers (`from_pretrained(…, {flag})`, then `save_pretrained`)"
            if any(k.startswith(("TensorFlow", "Flax")) for k in foreign)
            else "point hfprobe at the PyTorch weights they were exported from"
        )
        raise NoWeightsError(
            f"{src.display}: holds {' and '.join(foreign)} weights only; hfprobe reads PyTorch weights (.safetensors, "
            f".bin, .pt), GGUF and ONNX: {fix}"
        )
    archives = sorted(f for f in files if f.lower().endswith(".zip"))
    if archives:  # weights shipped as a release asset
        raise NoWeightsError(
            f"{src.display}: no weights file among its {len(files)} file{'s' if len(files) != 1 else ''}, but a zip "
            f"archive ({', '.join(archives[:MAX_NAMED])}); unzip it, or point hfprobe at the archive to see what it "
            "holds"
        )
    raise NoWeightsError(
        f"{src.display}: no weights file (.safetensors, .gguf, .bin, .pt) among its {len(files)} "
        f"file{'s' if len(files) != 1 else ''}; point hfprobe at a folder or repo that has one, or at the file itself"
    )


# weights hfprobe does not read, by suffix: named in the error, so a TensorFlow-only repo is not "no weights"
FOREIGN_WEIGHTS = {
    ".h5": "TensorFlow / Keras",
    ".keras": "TensorFlow / Keras",
    ".tflite": "TensorFlow Lite",
    ".msgpack": "Flax",
    ".mlmodel": "Core ML",
    ".mlpackage": "Core ML",
    ".nemo": "NeMo",
}


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
        everything = _models(files, [f for f in files if is_weights_name(f) and "/" in f])
        models = everything if "" not in everything else models
        raise _several(src, models, models[0] or _in_folder(models[0], files, _weights_in(models[0], files)))
    return _one_file(src, _in_folder(models[0], files, found), found)


def _several(src, models: list[str], example: str) -> UsageError:
    """The error that names the separate models' folders of a folder or repo and how to name one."""
    named = ", ".join(f"{d}/" for d in models[:MAX_NAMED])
    more = f" and {len(models) - MAX_NAMED} more" if len(models) > MAX_NAMED else ""
    return UsageError(
        f"{src.display}: holds {len(models)} separate models ({named}{more}); name one, e.g. {_spec_of(src, example)}"
    )


def _below(folder: str, files: list[str]) -> list[str]:
    """The paths of `files` under `folder`, relative to it."""
    return [f[len(folder) + 1 :] for f in files if f.startswith(folder + "/")] if folder else list(files)


def _exports(files: list[str]) -> dict[str, str | None]:
    """{the folder of each exported model (ONNX, OpenVINO IR): the file it is read through, or None for a folder
    of separate ONNX models}; a model's own `onnx/` folder and a pipeline's component folders are part of it.

    >>> _exports(["a/onnx/model.onnx", "a/config.json", "b/openvino_model.xml", "b/openvino_model.bin"])
    {'a': 'a/onnx/model.onnx', 'b': 'b/openvino_model.xml'}
    """
    folders = set()
    for f in [f for f in files if f.lower().endswith(".onnx")] + openvino_graphs(files):
        folder = posixpath.dirname(f)
        if (
            posixpath.basename(folder).lower().startswith(("onnx", "openvino"))
            or posixpath.basename(folder) in COMPONENTS
        ):
            folder = posixpath.dirname(folder)
        folders.add(folder)
    tops = sorted(d for d in folders if not any(o != d and (o == "" or d.startswith(o + "/")) for o in folders))
    out: dict[str, str | None] = {}
    for d in tops:
        under = _below(d, files)
        entry = (onnx_parts(under) or openvino_parts(under) or [None])[0]
        out[d] = posixpath.join(d, entry) if entry else None
    return out


# a training run's intermediate saves beside its final file: `style-000010`, `style-step500`, `style_e3`,
# `style-epoch-2`, a save named by its step alone (`step500`, `epoch_5`); and precision variants of one file:
# `style.fp16`
_RUN_STEP = re.compile(
    r"(?:-\d+-of-\d+|(?:^|[-_])(?:step|steps|epoch|ep|e|iter|it|ckpt|checkpoint)?[-_]?\d+(?:steps?|k)?"
    r"|\.(?:fp16|fp32|bf16))$",
    re.I,
)
# the run's last save named so: `final_lora`, `lora-final`, `last`, `latest`, `best`
_RUN_FINAL = re.compile(r"(?:^|[-_.])(?:final|last|latest|best)(?=[-_.]|$)", re.I)


def _one_file(src, chosen: str, found: list[str]) -> str:
    """The file a model's folder is read through, checked: a folder of several unrelated weights files at the same
    depth (a collection of LoRAs) asks the user to name one, rather than reading the first name silently; the saves
    of one training run (and precision variants) are one model, read at its final file or its highest step."""
    folder = posixpath.dirname(chosen)
    if posixpath.basename(chosen) in PREFERRED or chosen in PREFERRED:
        return chosen
    same = sorted(
        f
        for f in found
        if posixpath.dirname(f) == folder and (is_weights_name(f) or f.endswith((".gguf", ".onnx", ".xml")))
    )
    if len(same) <= 1:
        return chosen
    stems = {f: posixpath.splitext(posixpath.basename(f))[0] for f in same}
    runs = {_RUN_STEP.sub("", _RUN_FINAL.sub("", stem)).strip("-_.") for stem in stems.values()}
    if len(runs) == 1:  # one run: its file named final, else its one file with no step suffix, else its highest step
        final = [f for f, stem in stems.items() if _RUN_FINAL.search(stem)]
        final = final or [f for f, stem in stems.items() if not _RUN_STEP.search(stem)]
        return final[0] if len(final) == 1 else max(same, key=lambda f: [int(n) for n in re.findall(r"\d+", f)] or [0])
    shown = ", ".join(posixpath.basename(f) for f in same[:MAX_NAMED])
    more = f" and {len(same) - MAX_NAMED} more" if len(same) > MAX_NAMED else ""
    where = f"{src.display.rstrip('/')}{'/' + folder if folder else ''}"
    raise UsageError(
        f"{where}: holds {len(same)} weights files of different models ({shown}{more}); name one, e.g. "
        f"{_spec_of(src, same[0])}"
    )


# one model's GGUF conversions: `llama-2-7b.Q4_K_M.gguf`, `-IQ2_XS`, `-f16`, split parts `-00001-of-00003`
_GGUF_VARIANT = re.compile(
    r"(?:[-_.](?:i?q\d(?:_[a-z0-9]+)*|f16|f32|bf16|fp16|mxfp4|tq\d_\d))?(?:-\d{5}-of-\d{5})?$", re.I
)


# an ONNX export's precision variants (Transformers.js names them so), best first: one model's weights in each
ONNX_VARIANTS = ("", "fp32", "opt", "optimized", "fp16", "quantized", "int8", "uint8", "q8", "q4", "q4f16", "bnb4")
_ONNX_VARIANT = re.compile(rf"^(.+?)[-_]({'|'.join(v for v in ONNX_VARIANTS if v)})$", re.I)
# a seq2seq export's decoder, saved up to three ways: the one read, best first
_DECODERS = ("decoder_model_merged", "decoder_model", "decoder_with_past_model")
# the parts optimum, optimum-intel and Transformers.js split one model into: read together as that model
EXPORT_PARTS = {
    *_DECODERS, "encoder_model", "vision_encoder", "embed_tokens", "audio_encoder", "text_encoder", "image_encoder",
    "prompt_encoder_mask_decoder", "text_model", "vision_model", "language_model", "text_embeddings_model",
    "vision_embeddings_model", "vision_embeddings_merger_model",
}  # fmt: skip


def _one_decoder(parts: dict[str, str]) -> list[str]:
    """The files of an export's parts {part: file}, the encoder first, one decoder of the several a seq2seq export
    saves."""
    decoders = [d for d in _DECODERS if d in parts]
    kept = [p for p in parts if p not in decoders[1:]]
    return [parts[p] for p in sorted(kept, key=lambda p: (p != "encoder_model", p))]


def onnx_models(files: list[str]) -> dict[str, str]:
    """{model or part: its file at the best precision there} of the .onnx files in the shallowest folder that has
    any (`onnx/`, or the top; of a diffusion pipeline's components, `unet/` or `transformer/`).

    >>> onnx_models(["onnx/model.onnx", "onnx/model_quantized.onnx", "onnx_models/model-opt.onnx", "x/model_q4.onnx"])
    {'model': 'onnx/model.onnx'}
    >>> onnx_models(["text_encoder/model.onnx", "unet/model.onnx", "vae_decoder/model.onnx"])
    {'model': 'unet/model.onnx'}
    """
    found = [f for f in files if f.lower().endswith(".onnx")]
    if not found:
        return {}
    # the shallowest folder; of a diffusion pipeline's component folders, its denoiser's
    folder = min(
        {posixpath.dirname(f) for f in found},
        key=lambda d: (d.count("/") + bool(d), d not in ("unet", "transformer"), d),
    )
    best: dict[str, tuple[int, str]] = {}
    for f in found:
        if posixpath.dirname(f) != folder:
            continue
        stem = posixpath.basename(f)[: -len(".onnx")]
        m = _ONNX_VARIANT.match(stem)
        base, variant = (m.group(1), m.group(2).lower()) if m else (stem, "")
        rank = ONNX_VARIANTS.index(variant)
        if base not in best or rank < best[base][0]:
            best[base] = (rank, f)
    return {base: f for base, (_, f) in best.items()}


def onnx_parts(files: list[str]) -> list[str]:
    """The .onnx files of the one export a folder or repo holds (`onnx_models`): the whole model (`model.onnx`)
    where there is one, else the parts an exporter splits a model into, the encoder first and one decoder of the
    several a seq2seq export saves; [] where there is none, or where the files are separate models.

    >>> onnx_parts(["onnx/model.onnx", "onnx/model_quantized.onnx", "onnx/text_model_fp16.onnx", "config.json"])
    ['onnx/model.onnx']
    >>> onnx_parts(["onnx/encoder_model_q4.onnx", "onnx/decoder_model.onnx", "onnx/decoder_with_past_model.onnx"])
    ['onnx/encoder_model_q4.onnx', 'onnx/decoder_model.onnx']
    >>> onnx_parts(["onnx_models/model_int8.onnx", "onnx_models/model-opt.onnx", "README.md"])
    ['onnx_models/model-opt.onnx']
    >>> onnx_parts(["yolov8n.onnx", "resnet50.onnx"]), onnx_parts(["resnet50_int8.onnx", "resnet50.onnx"])
    ([], ['resnet50.onnx'])
    """
    best = onnx_models(files)
    if "model" in best:  # the whole model; `text_model.onnx`, `vision_model.onnx` beside it are parts of it again
        return [best["model"]]
    if len(best) == 1:
        return list(best.values())
    return _one_decoder(best) if set(best) <= EXPORT_PARTS else []  # else files of separate models: one is named


def _whole_first(f: str) -> tuple:
    return "-of-" in f, f  # a whole file before a split conversion's parts, then by name


def _gguf_conversions(files: list[str]) -> dict[str, list[str]]:
    """{model: its GGUF files, the one it is read from first}: one model's conversions at several ggml types give the
    same header shapes, so its first whole file by name is read (or a split conversion's first part, which holds
    the metadata); a vision projector (`mmproj-*.gguf`) is part of a model, not one."""
    groups: dict[str, list[str]] = {}
    for f in files:
        if f.endswith(".gguf") and not posixpath.basename(f).lower().startswith("mmproj"):
            groups.setdefault(_GGUF_VARIANT.sub("", posixpath.splitext(f)[0]).lower(), []).append(f)
    return {model: sorted(group, key=_whole_first) for model, group in groups.items()}


def models_in(src) -> list[str]:
    """The separate models of a folder or repo, each as the path it is read from: a weights file at the top is a
    model of its own (a pile of LoRA files), a model's folder below is one (its shards, components, checkpoints)."""
    files = src.files()
    ir = openvino_bins(files)  # an IR's values: its model is its folder's export
    top = [f for f in files if "/" not in f and is_weights_name(f) and not f.endswith(".index.json") and f not in ir]
    top += [g[0] for g in _gguf_conversions([f for f in files if "/" not in f]).values()]  # each model once
    below = _models(files, [f for f in files if "/" in f and is_weights_name(f) and f not in ir])
    exports = _exports(files)
    if any(name in top for name in PREFERRED) or ("" in exports and not top and not below):
        return [""]  # the folder is one model (what is below is its parts or checkpoints)
    return sorted(top) + sorted(set(below) | {d for d in exports if d})


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
    return _weights(under, _is_safetensors) or _weights(under, is_pickle_name)


def _is_safetensors(name: str) -> bool:
    return name.endswith(".safetensors")


def _weights(files: list[str], kind) -> list[str]:
    """The files of a `kind` (a name test) that can hold a model: a training run's state files never do, nor do an
    OpenVINO IR's weights, which are no pickle."""
    ir = openvino_bins(files)
    return [f for f in files if kind(f) and not TRAINING_STATE.match(posixpath.basename(f)) and f not in ir]


def openvino_parts(files: list[str]) -> list[str]:
    """The `.xml` graphs of the OpenVINO IR a folder or repo holds (each with its `.bin` beside it), as optimum-intel
    names them: `openvino_model.xml` alone where it is there, else the parts of one model (`openvino_encoder_model`,
    one decoder; a VLM's language model and vision embeddings), else a diffusion pipeline's denoiser (`unet/`,
    `transformer/`); one IR of another name is read, several ask which.

    >>> openvino_parts(["openvino_model.xml", "openvino_model.bin", "openvino_tokenizer.xml", "openvino_tokenizer.bin"])
    ['openvino_model.xml']
    >>> ir = [f"openvino_{p}_model.{x}" for p in ("encoder", "decoder", "decoder_with_past") for x in ("xml", "bin")]
    >>> openvino_parts(ir)
    ['openvino_encoder_model.xml', 'openvino_decoder_model.xml']
    >>> vlm = [f"openvino_{p}.{x}" for p in ("language_model", "vision_embeddings_model") for x in ("xml", "bin")]
    >>> openvino_parts(vlm)
    ['openvino_language_model.xml', 'openvino_vision_embeddings_model.xml']
    """
    graphs = openvino_graphs(files)
    if not graphs:
        return []
    for main in ("openvino_model.xml", "unet/openvino_model.xml", "transformer/openvino_model.xml"):
        if main in graphs:
            return [main]
    parts = {posixpath.basename(g)[: -len(".xml")].removeprefix("openvino_"): g for g in graphs if "/" not in g}
    if parts and set(parts) <= EXPORT_PARTS:
        return _one_decoder(parts)
    return graphs[:1] if len(graphs) == 1 else []


def openvino_graphs(files: list[str]) -> list[str]:
    """The `.xml` graphs of the OpenVINO IR models among `files`; openvino_tokenizers' IRs are no model."""
    graphs = (f[: -len(".bin")] + ".xml" for f in openvino_bins(files))
    return sorted(g for g in graphs if not re.search(r"(?:^|/)openvino_(?:de)?tokenizer\.xml$", g))


def openvino_bins(files: list[str]) -> set[str]:
    """The `.bin` files that hold an OpenVINO IR's weights (its `.xml` graph beside them), not torch pickles.

    >>> sorted(openvino_bins(["openvino_model.xml", "openvino_model.bin", "pytorch_model.bin"]))
    ['openvino_model.bin']
    """
    graphs = {f[: -len(".xml")] for f in files if f.lower().endswith(".xml")}
    if not graphs:  # most folders and repos: one pass over the names
        return set()
    return {f for f in files if f.lower().endswith(".bin") and f[: -len(".bin")] in graphs}


def _step(folder: str) -> int | None:
    """N of a checkpoint-N (epoch_N, step_N, …) folder, else None.

    >>> _step("out/checkpoint-1500"), _step("out/epoch_3"), _step("lora")
    (1500, 3, None)
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


def _spec_of(src, path: str) -> str:
    """How a user names one model of a folder or repo by its folder or file `path` inside it: below a local folder,
    or as hf://… of the Hub repo (a folder of a repo is read as the model in it)."""
    if src.kind != "hub":
        return f"{src.display.rstrip('/')}/{path}"
    from huggingface_hub import HfUri

    return HfUri(type="model", id=src.repo_id, revision=src.revision, path_in_repo=path).to_uri()
