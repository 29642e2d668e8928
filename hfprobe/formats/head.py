"""The task head a model was trained with, read from its weights: a classifier's output count, and its labels where
a config names them.

A fine-tune for classification saves its head whole (PEFT's `modules_to_save`, a full checkpoint): transformers'
`classifier` (`classifier.out_proj` for RoBERTa and ELECTRA, `classification_head.out_proj` for BART and T5),
`score` (decoder models), `qa_outputs` (extractive question answering: start and end), LoRA-ViT's
`fc_<in>in_<out>out`, a vision model's top-level `head` / `fc`, a detection transformer's `class_labels_classifier`
(YOLOS's the last layer of an MLP, `class_labels_classifier.layers.2`; each has a last "no object" class beyond its
labels), a distilled DeiT's `cls_classifier`, and LLMs-from-scratch's GPTModel's `out_head` (its
classification chapter replaces the vocabulary head with one of two outputs), stored whole or with a LoRA of its own.
Its output side is the number of labels the model was trained to tell apart: a fact about what it was trained on that
needs no expert. config.json's `id2label` names them (unless transformers' defaults, `LABEL_0`…); an
adapter_config.json's `task_type` says which task. Where nothing names them, `label_sets` gives the well-known label
sets with as many classes (`hfprobe/data/label_sets.json`): a hint, worded as one ("as many as the classes of …").

    >>> from hfprobe.formats.base import Module
    >>> classifier = Module("classifier", "full", 6, 768, None, None, None, None, {})
    >>> head = task_head({"classifier": classifier}, {"task_type": "SEQ_CLS"})
    >>> head["module"], head["outputs"], head["task"]
    ('classifier', 6, 'SEQ_CLS')
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

from .base import Module

# a head's module name, in order of preference (RoBERTa's `classifier.dense` is the layer before its head;
# transformers' ResNet and RegNet flatten first: `classifier.1`, the last of their `classifier`, unlike AlexNet's;
# a distilled DeiT's `cls_classifier` has a twin, `distillation_classifier`, of as many outputs; YOLOS's class head is
# an MLP of three, its last `class_labels_classifier.layers.2`)
_DETECTOR_HEAD = r"class_labels_classifier(?:\.layers\.2)?"  # DETR's and YOLOS's: a last row for "no object"
_HEAD = (
    r"(?:classifier\.out_proj|classification_head\.out_proj|classifier(?:\.1)?|score|qa_outputs|fc_\d{1,9}in_\d{1,9}out"
    rf"|head(?:\.fc)?|fc|out_head|{_DETECTOR_HEAD}|cls_classifier)"
)
_TOP = re.compile(rf"^{_HEAD}\Z")
_DETECTOR = re.compile(rf"{_DETECTOR_HEAD}\Z")
_WRAPPED = re.compile(rf"^[A-Za-z_]\w{{0,40}}\.{_HEAD}\Z")  # under one wrapper: a Lightning module's `model.`, …
_KINDS = ("full", "lora")  # stored whole, or with a LoRA of its own (LinearWithLoRA wraps every Linear)
MAX_OUTPUTS = 10_000  # more outputs than that is a vocabulary (a language model's head), not a label set
MAX_LABELS = 50  # label names reported; a head of more says how many
MAX_LABEL_CHARS = 60
MAX_LABEL_SETS = 4  # well-known sets named for one output count
_DEFAULT_LABEL = re.compile(r"LABEL_\d+\Z")
NO_OBJECT = "(no object)"  # the class DETR's head has beyond its labels, which its config does not name


def task_head(
    modules: Mapping[str, Module], config: Mapping | None, model_config: Mapping | None = None
) -> dict | None:
    """{module, outputs, task, labels} of the head stored whole among `modules`, else None.

    `config` is the view's (adapter_config.json where there is one, else config.json), `model_config` config.json
    where both are present. `labels` are `id2label`'s names in index order where it names every output (None
    otherwise), config.json's first; `task` is adapter_config.json's `task_type` (SEQ_CLS, TOKEN_CLS, …) or None."""
    found = sorted(
        (
            n
            for n, m in modules.items()
            if (_TOP.match(n) or _WRAPPED.match(n))
            and m.kind in _KINDS
            and 0 < (m.d_out or 0) <= MAX_OUTPUTS
            and not (n.endswith(".1") and _later_layer(n, modules))
        ),
        key=lambda n: (not _TOP.match(n), not n.endswith(".out_proj"), n.rsplit(".", 1)[-1] != "classifier", n),
    )
    if not found:
        return None
    name = found[0]
    outputs = modules[name].d_out
    cfg = config if isinstance(config, Mapping) else {}
    task = cfg.get("task_type") if isinstance(cfg.get("task_type"), str) else None
    named = model_config.get("id2label") if isinstance(model_config, Mapping) else None
    labels = labels_of(named, outputs) or labels_of(cfg.get("id2label"), outputs)
    if labels is None and _DETECTOR.search(name) and outputs > 1:  # DETR's and YOLOS's: its labels, then ∅
        found_labels = labels_of(named, outputs - 1) or labels_of(cfg.get("id2label"), outputs - 1)
        labels = found_labels and [*found_labels, NO_OBJECT][:MAX_LABELS]
    return {"module": name, "outputs": outputs, "task": task, "labels": labels}


def _later_layer(name: str, modules: Mapping[str, Module]) -> bool:
    """Whether `classifier.1` has a later layer beside it (AlexNet's `classifier.4`, `classifier.6`): not the head."""
    stem = name[:-1]
    return any(k.startswith(stem) and k[len(stem) :].isdigit() and int(k[len(stem) :]) > 1 for k in modules)


def labels_of(id2label, outputs: int) -> list[str] | None:
    """The label names in index order, when `id2label` names each of the head's outputs with something of its own."""
    if not isinstance(id2label, Mapping) or len(id2label) != outputs:
        return None
    try:
        names = [id2label.get(str(i), id2label.get(i)) for i in range(outputs)]
    except TypeError:
        return None
    if not all(isinstance(n, str) and n.strip() for n in names) or all(_DEFAULT_LABEL.match(n) for n in names):
        return None
    return [n.strip()[:MAX_LABEL_CHARS] for n in names[:MAX_LABELS]]


@lru_cache(maxsize=1)
def _label_set_table() -> tuple[dict, ...]:
    data = json.loads(resources.files("hfprobe.data").joinpath("label_sets.json").read_text(encoding="utf-8"))
    return tuple(data["sets"])


def label_sets(outputs: int, kind: str | None, task: str | None = None) -> list[dict]:
    """[{name, id}] of the well-known label sets with `outputs` classes, for a head of a family of `kind`
    (families.json: vision, text, speech; a vision-text family's heads fit either) and, where an adapter says it, of
    that `task`. None for two-way heads (too many sets have two classes) or a family of no listed kind.

    >>> [s["name"] for s in label_sets(101, "vision")], label_sets(2, "text")
    (['Food-101', 'Caltech-101'], [])
    """
    if outputs < 3 or not kind:
        return []
    kinds = ("vision", "text") if kind == "vision-text" else (kind,)
    found = [
        {"name": s["name"], "id": s.get("id")}
        for s in _label_set_table()
        if s["classes"] == outputs and s["kind"] in kinds and (task is None or s.get("task") in (None, task))
    ]
    return found[:MAX_LABEL_SETS]


def head_words(head: Mapping) -> str:
    """One line for people: `classifier, 6 outputs (SEQ_CLS): sadness, joy, love, anger, fear, surprise`.

    >>> head_words({"module": "qa_outputs", "outputs": 2, "task": None, "labels": None})
    'qa_outputs, 2 outputs'
    >>> head_words({"module": "classifier", "outputs": 101, "task": None, "labels": None,
    ...             "label_sets": [{"name": "Food-101", "id": "ethz/food101"}, {"name": "Caltech-101", "id": None}]})
    'classifier, 101 outputs, as many as the classes of Food-101, Caltech-101'
    """
    text = f"{head['module']}, {head['outputs']} outputs" + (f" ({head['task']})" if head.get("task") else "")
    labels = head.get("labels") or []
    if not labels and head.get("label_sets"):
        return text + f", as many as the classes of {', '.join(s['name'] for s in head['label_sets'])}"
    more = head["outputs"] - len(labels) if labels else 0
    named = f" (as {head['labels_source']} names them)" if labels and head.get("labels_source") else ""
    return text + (": " + ", ".join(labels) + (f", … ({more} more)" if more > 0 else "") + named if labels else "")
