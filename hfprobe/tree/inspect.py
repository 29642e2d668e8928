"""`inspect`: what a weights file, folder or Hub repo is, and which tree it belongs to.

Reads the headers (and small companion files: README.md, adapter_config.json, config.json,
config.yaml, other markdown notes, and training scripts when nothing else names the base model), never the
tensor data, and reports the format, the family, the root candidates with
scores and the evidence, what the metadata declares and where it contradicts the weights.

    >>> report = inspect_source("path/to/pytorch_lora_weights.safetensors")   # doctest: +SKIP
    >>> report["family"], report["root"]["id"], report["root"]["confidence"]   # doctest: +SKIP
    ('sd1', 'stable-diffusion-v1-5/stable-diffusion-v1-5', 0.635)
"""

from __future__ import annotations

import logging
import math
import posixpath

from ..errors import HfprobeError
from ..formats import open_weights, pick_weights
from ..formats.head import MAX_LABELS, head_words, label_sets
from ..formats.pick import TRAINING_STATE, is_weights_name, openvino_bins, openvino_graphs
from ..source import Source, resolve
from .classify import classify
from .declared import declared_words
from .described import LABEL_FILES, declared_labels, described, described_words
from .merge import MERGE_FILES, merge_recipe, untraced
from .names import shapes_from_raw, stacked_expert
from .naming import named_hub_id
from .registry import families, family_label, tree_root
from .trained_on import datasets_words, declared_datasets, declared_prompts, prompts_words

log = logging.getLogger(__name__)

# companion files read as metadata, beside the weights file first, then at the top of the source
TEXT_FILES = ("README.md", "config.yaml", *MERGE_FILES)
# other markdown files there (notes, reports: `raport.md`, `NOTES.md`) are read as prose, a few and bounded
MAX_NOTES = 3
MAX_NOTE_CHARS = 256 * 1024


MAX_EVIDENCE = 8

# training code and configs anywhere in the source (scripts, notebooks, YAML): read only when the base model is
# still open after the README, the configs and the headers, a few and bounded. A registry Hub id they name is a
# mention, as in prose (`export MODEL_NAME="…"`, `from_pretrained("…")`); a YAML checkpoint key is a claim.
TRAINING_SUFFIXES = (".py", ".sh", ".ipynb", ".yaml", ".yml")
TRAINING_WORDS = ("train", "config", "infer", "script", "run", "main", "lora", "finetune")  # read first
MAX_TRAINING_FILES = 4
MAX_TRAINING_BYTES = 256 * 1024


def _notes(src: Source, folder: str) -> list[str]:
    """Up to MAX_NOTES markdown files other than TEXT_FILES beside the weights file or at the source's top."""
    places = {folder, ""}
    return sorted(
        f
        for f in src.files()
        if f.lower().endswith(".md") and posixpath.dirname(f) in places and posixpath.basename(f) not in TEXT_FILES
    )[:MAX_NOTES]


def _places(folder: str, name: str) -> list[str]:
    """Where a companion file is looked for: beside the weights file, then at the source's top."""
    return list(dict.fromkeys([posixpath.join(folder, name), name]))


def _text_names(src: Source, weights_file: str) -> list[str]:
    """Every companion `_texts` and `_label_texts` may read, to download side by side (`Source.prefetch`)."""
    folder = posixpath.dirname(weights_file)
    return [p for name in TEXT_FILES + LABEL_FILES for p in _places(folder, name)] + _notes(src, folder)


def _texts(src: Source, weights_file: str) -> dict[str, str]:
    """Companion texts by name: README.md and config.yaml, then up to MAX_NOTES other markdown files the source
    lists beside the weights file or at its top (by name; each cut at MAX_NOTE_CHARS; one that cannot be read is
    left out: notes are hints, never a reason to fail)."""
    folder = posixpath.dirname(weights_file)
    out: dict[str, str] = {}
    for name in TEXT_FILES:
        for path in _places(folder, name):
            if src.exists(path):
                text = src.read_text(path)
                if text:
                    out[name] = text
                    break
    for path in _notes(src, folder):
        try:
            text = src.read_text(path)
        except HfprobeError:
            continue
        if text and path not in out:
            out[path] = text[:MAX_NOTE_CHARS]
    return out


def _label_texts(src: Source, weights_file: str) -> dict[str, str]:
    """The label files (`described.LABEL_FILES`) beside the weights file, else at the source's top, by path."""
    folder = posixpath.dirname(weights_file)
    out: dict[str, str] = {}
    for name in LABEL_FILES:
        path = next((p for p in _places(folder, name) if src.exists(p)), None)
        try:
            text = src.read_text(path) if path else None
        except HfprobeError:
            continue
        if text:
            out[path] = text
    return out


def _head(src: Source, view, texts: dict[str, str], family: str | None) -> tuple[dict | None, list[str]]:
    """The view's task head, its labels named from the source's texts where its configs did not name them (a list
    as long as the head has outputs: `described.declared_labels`), else the well-known label sets of its size for
    the family's kind (`head.label_sets`), and notes on label maps of another size."""
    head = view.extra.get("head")
    if not head or head.get("labels"):
        return head, []
    more = {**_label_texts(src, view.files[0]), **texts}
    found, notes = declared_labels(more, head.get("outputs"))
    if not found:
        found, later = declared_labels(_training_texts(src, more), head.get("outputs"))
        notes += later
    if found:
        head = {**head, "labels": found["labels"][:MAX_LABELS], "labels_source": found["source"]}
    elif head.get("module") != "qa_outputs" and (
        sets := label_sets(head["outputs"], families()["families"].get(family or "", {}).get("kind"), head.get("task"))
    ):
        head = {**head, "label_sets": sets}
    return head, notes


def _training_texts(src: Source, have: dict[str, str]) -> dict[str, str]:
    """Up to MAX_TRAINING_FILES training scripts, notebooks and configs of the source, by path: names with a
    training word first, then the shallowest, each at most MAX_TRAINING_BYTES (larger or unsized ones are left
    out, and so is one that cannot be read)."""
    picks = []
    for path in src.files():
        base = posixpath.basename(path).lower()
        if path in have or base in have or not base.endswith(TRAINING_SUFFIXES):  # (config.yaml: read already)
            continue
        size = src.size(path)
        if size is None or size > MAX_TRAINING_BYTES:
            continue
        picks.append(((not any(w in base for w in TRAINING_WORDS), path.count("/"), path), path))
    out: dict[str, str] = {}
    for _, path in sorted(picks)[:MAX_TRAINING_FILES]:
        try:
            text = src.read_text(path)
        except HfprobeError:
            continue
        if text:
            out[path] = text
    return out


def weight_shapes(view) -> dict[str, tuple]:
    """(d_out, in-channels) per module, under canonical names and raw key names, for `tree.classify`.

    A convolution's `Module.d_in` counts kh*kw; the tree registry speaks in channels, so it is undone here. The
    kernel of a square convolution on the input (an image's 3 channels, or 1 to 4: a ViT's patch embedding) is
    given too, as `<module>.kernel`: (kh, kw), which the registry's `patch` size checks (ViT-B/16 is no DINOv2).
    """
    packed = _packed(view)  # their shapes are not (out, in): the quantized modules say those
    shapes = shapes_from_raw({k: info.shape for k, info in view.raw.items() if k not in packed})
    for name, m in view.modules.items():
        if m.kind == "full" and (w := m.keys.get("W")) and (one := stacked_expert(w, view.raw[w].shape)):
            shapes[name] = one  # a mixture's experts stacked [experts, out, in]: one expert's shape
            continue
        d_in = m.d_in
        if m.kernel and d_in:
            d_in = d_in // max(1, math.prod(m.kernel))
        d_out, d_in = m.d_out or None, d_in or None  # 0: a side the file does not give (a LoRA's lone A, IA3)
        shapes[name] = (d_out, d_in) if not m.transposed else (d_in, d_out)
        square = bool(m.kernel) and len(m.kernel) == 2 and m.kernel[0] == m.kernel[1] > 1
        if m.kind == "full" and square and d_in and d_in <= 4:  # a convolution on the input image
            shapes[f"{name}.kernel"] = tuple(m.kernel)
    return shapes


def _params(view) -> dict[str, int]:
    """Element counts by name: each tensor of 2+ dims (a module's under its module name, which the format may have
    renamed), and a quantized module (its packed tensors, a GGUF tensor) under its module name at its logical size."""
    out = {name: (m.d_out or 1) * (m.d_in or 1) for name, m in view.modules.items() if m.kind == "quantized"}
    packed = _packed(view)
    named = {m.keys["W"]: name for name, m in view.modules.items() if m.kind == "full" and "W" in m.keys}
    out.update((named.get(k, k), i.numel) for k, i in view.raw.items() if len(i.shape) >= 2 and k not in packed)
    return out


def _packed(view) -> set[str]:
    """The raw keys of quantized modules (packed tensors, scales, a GGUF tensor); none unless the view is quantized."""
    if not view.extra.get("quantized"):
        return set()
    return {k for m in view.modules.values() if m.kind == "quantized" for k in m.keys.values()}


ADAPTER_COMPONENTS = ("controlnet", "t2iadapter")  # diffusers models that run beside a base model, not instead


def _kind(view) -> str:
    kinds = {m.kind for m in view.modules.values()}
    if view.format == "textual-inversion":
        return "embedding"
    if view.extra.get("component") in ADAPTER_COMPONENTS or view.extra.get("onto_base"):
        return "adapter"  # a ControlNet beside its base; Custom Diffusion's projections, a P-tuning prefix, onto one
    return (
        "adapter"
        if kinds & {"lora", "loha", "lokr", "locon", "delta", "ia3", "tuner"}
        or view.format in ("peft", "ip-adapter", "prompt-learner", "adapterhub", "lit-adapter")
        else "checkpoint"
    )


def inspect_source(spec_or_source, *, token=None) -> dict:
    """The inspect report for one source (a path, `org/name[@rev]`, `hf://org/name/file`, or a Source).

    Keys: source, revision_sha (Hub: the commit read), files, format, kind, family, family_confidence,
    root {id, confidence, candidates [{id, score}], evidence [str], tree {id, confidence} or None (`tree_of`)},
    declared {field: value}, conflicts [str], base_model, modules, rank, ranks [[rank, modules]],
    quantized {method, bits, modules} or None, bytes_read, range_ignored, truncated,
    head {module, outputs, task, labels} or None (`formats.head`), datasets [{id, source}] and prompts [{text,
    source}] (what its files say it was trained on: `tree.trained_on`), notes. Raises the typed errors of
    hfprobe.errors on bad input.

    >>> inspect_source("org/lora@main")["format"]   # doctest: +SKIP
    'kohya'
    """
    if isinstance(spec_or_source, Source):
        return _report(spec_or_source)
    with resolve(spec_or_source, token=token) as src:  # ours: close its files once the report is built
        return _report(src)


MAX_PASSED_OVER = 10  # other weights files named in a report (their count is always given)


def tree_of(root: dict) -> dict | None:
    """{id, confidence} of the tree a report's root is in: the root up roots.json's `parent` links
    (`registry.tree_root`), as sure as its candidates in that tree together; None without a root. SD 2.1 and
    2.1-base share every shape and tie at 0.33; both were tuned from SD 2-base, whose tree is 0.90 sure.

    >>> tree_of({"id": "stabilityai/stable-diffusion-2-1", "confidence": 0.33, "candidates": [
    ...     {"id": "stabilityai/stable-diffusion-2-1", "score": 0.33},
    ...     {"id": "stabilityai/stable-diffusion-2-1-base", "score": 0.33}]})
    {'id': 'stabilityai/stable-diffusion-2-base', 'confidence': 0.66}
    """
    top = tree_root(root.get("id"))
    if not top:
        return None
    inside = sum(c["score"] for c in root.get("candidates") or [] if tree_root(c["id"]) == top)
    return {"id": top, "confidence": round(max(inside, root.get("confidence") or 0.0), 3)}


def passed_over(src: Source, read: list[str]) -> dict | None:
    """{count, files} of the weights files the source holds beside those read (a run's earlier saves, another
    precision, a pipeline's other components), so a report says which of several it answers for; None where the
    source named its file, or holds no other.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for n in ("lora.safetensors", "lora-000005.safetensors", "optimizer.bin"): _ = (d / n).write_bytes(b"")
    >>> from hfprobe.source import resolve
    >>> passed_over(resolve(str(d)), ["lora.safetensors"])
    {'count': 1, 'files': ['lora-000005.safetensors']}
    """
    hint = (src.default_file or "").rstrip("/")
    files = src.files()
    if src.kind == "file" or (hint and hint in files):
        return None
    if hint:
        files = [f for f in files if f.startswith(hint + "/")]
    done = set(read)
    ir, graphs = openvino_bins(files), set(openvino_graphs(files))  # an IR's graph is its weights file, not its .bin
    others = sorted(
        f
        for f in files
        if (is_weights_name(f) or f.endswith((".gguf", ".onnx")) or f in graphs)
        and f not in done
        and f not in ir
        and not TRAINING_STATE.match(posixpath.basename(f))
    )
    return {"count": len(others), "files": others[:MAX_PASSED_OVER]} if others else None


def _report(src: Source) -> dict:
    weights_file = pick_weights(src)
    src.prefetch(_text_names(src, weights_file))  # a Hub repo's card and notes download while its weights are read
    view = open_weights(src, weights_file)
    texts = _texts(src, view.files[0])
    shapes = weight_shapes(view)
    kind = _kind(view)
    # what the tree stage weighs besides names and shapes: a quantized checkpoint, a full checkpoint's sizes
    weighed = {"quantized": view.extra.get("quantized"), "params": _params(view) if kind == "checkpoint" else None}
    if kind == "checkpoint" and not weighed["quantized"]:  # a merge's models' cards, traced next: side by side
        src.prefetch_cards(untraced(merge_recipe(texts, view.metadata)))
    weighed["model_config"] = view.model_config  # config.json beside adapter_config.json: what the base was loaded as
    weighed["base_config"] = src.base_config  # a declared model the registry lacks: its own config.json, if to be had
    weighed["base_card"] = src.base_card  # and its card, whose base_model says what it was fine-tuned from
    # a Hub repo is never its own base, nor a snapshot of one in huggingface_hub's cache (`models--org--name`)
    weighed["own"] = src.repo_id or (named_hub_id(str(src.root)) if src.root is not None else None)
    tree = classify(shapes, names=view.raw.keys(), metadata=view.metadata, config=view.config, texts=texts, **weighed)
    if tree.base_model["status"] in ("ambiguous", "unknown"):  # the training code may name it (or the family)
        more = _training_texts(src, texts)
        if more:
            texts = {**texts, **more}
            tree = classify(
                shapes, names=view.raw.keys(), metadata=view.metadata, config=view.config, texts=texts, **weighed
            )
    if tree.merge and kind == "checkpoint" and not weighed["quantized"]:
        kind = "merge"  # a checkpoint its recipe says was merged from several models (a quantization's stays one)
    root = tree.root_dict()
    log.info(
        "%s: family %s, root %s (%.2f), base_model %s (%s)",
        src.display,
        tree.family,
        root["id"],
        root["confidence"],
        tree.base_model["id"],
        tree.base_model["status"],
    )
    root["evidence"] = root["evidence"][:MAX_EVIDENCE]  # (what places the model comes first: the tree's order)
    root["tree"] = tree_of(root)  # the root's tree (it and the roots tuned from it), as sure as its candidates in it
    head, label_notes = _head(src, view, texts, tree.family)
    return {
        "source": src.display,
        "revision_sha": src.revision_sha,  # the commit every Hub read was pinned to; None for local sources
        "files": list(view.files),
        "passed_over": passed_over(src, list(view.files)),  # the source's other weights files, not read
        "format": view.format,
        "kind": kind,
        "family": tree.family,
        "family_confidence": tree.family_confidence,
        "root": root,
        "declared": tree.declared,
        "conflicts": tree.conflicts,
        "conflict_codes": tree.conflict_codes,
        "base_model": tree.base_model,
        "merge": tree.merge,  # {tool, method, base_model, models, unnamed, source} of a merge's recipe, else None
        "modules": len(view.modules),
        "rank": view.rank,
        "ranks": [[r, n] for r, n in view.ranks.items()],  # [rank, modules], the most common first
        "bytes_read": src.bytes_read,
        "range_ignored": bool(src.range_ignored),
        "quantized": weighed["quantized"],  # {method, bits, modules} of a quantized checkpoint, else None
        "truncated": view.truncated,  # header intact, tensor data cut short: answered from the header (see notes)
        "head": head,  # a classifier's {module, outputs, task, labels[, labels_source] or label_sets}
        "described": described(texts, view.metadata),  # the card's own one line: {text, source}, or None
        "datasets": declared_datasets(texts),  # what its card and training code say it was trained on: [{id, source}]
        "prompts": declared_prompts(texts, view.metadata),  # the prompts and caption tags they name: [{text, source}]
        "notes": [*view.notes, *label_notes],
        "unreadable": view.extra.get("unreadable", []),  # companion files read without (a config that is no JSON)
    }


def quant_words(q: dict) -> str:
    """'gptq 4-bit', 'gguf Q4_K' from a report's `quantized`."""
    bits = f" {q['bits']}-bit" if q.get("bits") else ""
    return f"{q.get('method')}{bits}" + (f" {q['type']}" if q.get("type") else "")


def _quant_phrase(q: dict) -> str:
    """'quantized (gptq 4-bit)'; an export at full or half precision is no quantization: 'F32 weights'."""
    if q.get("method") in ("onnx", "openvino") and not q.get("bits"):
        return f"{q.get('type')} weights"
    return f"quantized ({quant_words(q)})"


def format_report(report: dict) -> str:
    """A short human-readable report.

    >>> print(format_report({"source": "x", "format": "peft", "kind": "adapter", "family": "gpt2",
    ...     "family_confidence": 1.0, "root": {"id": "openai-community/gpt2", "confidence": 0.9,
    ...     "candidates": [{"id": "openai-community/gpt2", "score": 0.9}], "evidence": ["e"]},
    ...     "declared": {}, "conflicts": [], "modules": 12, "rank": 8, "bytes_read": 100}))
    x
      format   peft adapter, 12 modules, rank 8
      family   gpt2 (GPT-2), confidence 1.00
      root     openai-community/gpt2, confidence 0.90
               candidates: openai-community/gpt2 0.90
      evidence e
      read     100 bytes
    """
    r = report
    root = r["root"]
    kind = r.get("kind") or ""
    fmt = r["format"] if r["format"].endswith(kind) else f"{r['format']} {kind}"  # not "ldm-checkpoint checkpoint"
    lines = [r["source"] + (f" (commit {r['revision_sha'][:12]})" if r.get("revision_sha") else "")]
    if r.get("passed_over"):  # several weights files here: which one answers
        skipped = r["passed_over"]
        names = ", ".join(skipped["files"]) + (", …" if skipped["count"] > len(skipped["files"]) else "")
        lines.append(f"  file     {r['files'][0]}; {skipped['count']} other weights files here not read: {names}")
    lines += [
        f"  format   {fmt}, {r['modules']} modules"
        + (f", rank {r['rank']}" if r.get("rank") and len(r.get("ranks") or ()) < 2 else "")
        + (f", ranks {', '.join(f'{k} on {n}' for k, n in r['ranks'])}" if len(r.get("ranks") or ()) > 1 else "")
        + (f", {_quant_phrase(r['quantized'])}" if r.get("quantized") else ""),
        f"  family   {r['family'] or 'unknown'} ({family_label(r['family'])}), "
        f"confidence {r.get('family_confidence', 0):.2f}",
        f"  root     {root['id'] or 'unknown'}, confidence {root['confidence']:.2f}",
    ]
    if root["candidates"]:
        lines.append("           candidates: " + ", ".join(f"{c['id']} {c['score']:.2f}" for c in root["candidates"]))
    lineage = root.get("tree")
    if lineage and lineage["id"] != root["id"]:  # the root was tuned from another: the tree it grows in
        lines.append(f"  tree     {lineage['id']}, confidence {lineage['confidence']:.2f} (the root was tuned from it)")
    for i, e in enumerate(root["evidence"]):
        lines.append(("  evidence " if i == 0 else "           ") + e)
    for key, value in r["declared"].items():
        lines.append(f"  declared {key}: {declared_words(value)}")
    if r.get("described"):  # the card's own words, beside what the weights say
        lines.append(f"  about    declared: {described_words(r['described'])}")
    if r.get("head"):  # the classifier it was trained with: how many labels, and their names where given
        lines.append(f"  head     {head_words(r['head'])}")
    if r.get("datasets"):  # declared, as a base model can be: the weights' readout is the check
        lines.append(f"  data     declared: {datasets_words(r['datasets'])}")
    if r.get("prompts"):
        lines.append(f"  prompts  declared: {prompts_words(r['prompts'])}")
    if r.get("merge"):  # what its recipe says it merged
        m = r["merge"]
        more = f", and {m['unnamed']} with no Hub id" if m.get("unnamed") else ""
        lines.append(f"  merge    {m['method']} of {', '.join(m['models']) or 'no Hub model'}{more} ({m['source']})")
    decision = r.get("base_model") if isinstance(r.get("base_model"), dict) else None
    if decision:  # what `hfprobe annotate` would write as the card's base_model
        written = ", ".join(decision["merged"]) if decision.get("merged") else decision.get("id") or "none"
        lines.append(f"  card     base_model {written} ({decision.get('reason')})")
    for c in r["conflicts"]:
        lines.append(f"  CONFLICT {c}")
    for problem in r.get("unreadable") or ():
        lines.append(f"  UNREAD   {problem}")
    if r.get("truncated"):
        note = next((n for n in r.get("notes", []) if n.startswith("truncated")), "data missing")
        lines.append("  TRUNCATED " + note)
    lines.append(
        f"  read     {r['bytes_read']} bytes"
        + (" (server ignored Range: whole file)" if r.get("range_ignored") else "")
    )
    return "\n".join(lines)


def family_of(spec) -> str | None:
    """The family `inspect` assigns to a model, or None when its weights cannot be read."""
    try:
        return inspect_source(spec).get("family")
    except HfprobeError:
        return None
