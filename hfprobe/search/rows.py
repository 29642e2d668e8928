"""What one indexed model is: the `IndexRow`, its Arrow schema and table names, its key and its point in text space.

Owns the row and everything that is computed from one model alone (`model_id_for`: the key, read from the spec
without opening it; `embed_categories`: the score-weighted mean of its categories' text embeddings), so ingest can
build rows without the database. May import hfprobe.errors (and torch / pyarrow where used); the tables that hold
rows are in index.py, the search over them in query.py.

    >>> IndexRow(id="org/a", source="org/a", embedding=[], text_encoder="", reason="no expert").scored
    False
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..errors import SearchIndexError

UNSCORED_TABLE = "models_unscored"


@dataclass
class IndexRow:
    """One model in the index. `id` is the key: re-indexing the same id replaces the row."""

    id: str
    source: str  # what the user passed (path or org/name@rev)
    embedding: list[float]
    text_encoder: str
    repo: str = ""  # Hub repo id, "" for local files
    revision: str = ""  # what the user asked for (a branch, tag or sha; "" for the default branch)
    revision_sha: str = ""  # the commit that was read (Hub sources)
    file: str = ""  # weights file used
    file_sha: str = ""  # sha256 of the weights file (Hub: the LFS sha256)
    family: str = ""
    root: str = ""
    kind: str = ""  # adapter | finetune | ...
    format: str = ""
    categories: list[dict] = field(default_factory=list)  # [{label, score}], best first
    expert: str = ""
    expert_version: str = ""
    url: str = ""
    reason: str = ""  # why the row has no categories (then it has no embedding either)
    indexed_at: float = 0.0

    @property
    def scored(self) -> bool:
        return bool(self.categories)

    def to_record(self) -> dict:
        rec = asdict(self)
        rec["categories"] = [{"label": str(c["label"]), "score": float(c["score"])} for c in self.categories]
        rec["embedding"] = [float(x) for x in self.embedding]
        rec["indexed_at"] = self.indexed_at or time.time()
        if not self.scored:
            rec.pop("embedding")
        return rec


def table_schema(dim: int | None):
    """The table schema; `dim` None: the table of models without categories (no vector column)."""
    import pyarrow as pa

    cols = []
    for f in fields(IndexRow):
        if f.name == "embedding":
            if dim is not None:
                cols.append(pa.field("embedding", pa.list_(pa.float32(), dim)))
        elif f.name == "categories":
            cols.append(pa.field("categories", pa.list_(pa.struct([("label", pa.string()), ("score", pa.float32())]))))
        elif f.name == "indexed_at":
            cols.append(pa.field("indexed_at", pa.float64()))
        else:
            cols.append(pa.field(f.name, pa.string()))
    return pa.schema(cols)


def table_name(encoder_id: str) -> str:
    return "models_" + re.sub(r"[^A-Za-z0-9_]", "_", encoder_id)


def sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def model_id_for(spec: str) -> str:
    """The index key for a source spec, computed without reading it (so a resumed batch can skip it).

    Local paths become absolute paths; a Hub spec, in whichever form `hfprobe.source.resolve` reads, becomes
    org/name[/path], without its revision (a new revision of a repo replaces the old row).

    >>> model_id_for("hf://org/name@v2/lora.safetensors"), model_id_for("https://huggingface.co/org/name/tree/v2")
    ('org/name/lora.safetensors', 'org/name')
    """
    from ..errors import HfprobeError
    from ..source import resolve

    text = str(spec).strip()
    if os.path.exists(text):
        return str(Path(text).resolve())
    try:
        src = resolve(text)
    except HfprobeError:  # neither a path here nor a Hub spec: adding it fails with its own line
        return text
    return src.repo_id + (f"/{src.default_file}" if src.default_file else "")


def embed_categories(categories: list[dict], encoder, template: str | None = None) -> list[float]:
    """A model's point in the text space: the score-weighted mean of its categories' text embeddings.

    Negative scores count as zero; all-zero scores weigh the categories equally. The result is
    L2-normalised, like the query embedding, so a dot product is the cosine.

    >>> embed_categories([{"label": "dog", "score": 0.9}], get_text_encoder("minilm"))[:2]  # doctest: +SKIP
    """
    import numpy as np

    if not categories:
        raise SearchIndexError(
            "no predicted categories to embed; the model needs an expert for its tree (hfprobe train)"
        )
    labels = [str(c["label"]) for c in categories]
    weights = np.array([max(float(c["score"]), 0.0) for c in categories], dtype=np.float32)
    if not np.isfinite(weights).all() or float(weights.sum()) <= 0:
        weights = np.ones(len(labels), np.float32)
    prompt = template if template is not None else getattr(encoder, "prompt", "{}")  # as embed_labels words them
    vecs = encoder.embed_array([prompt.format(label) for label in labels])
    vec = (weights[:, None] / weights.sum() * vecs).sum(0)
    return (vec / max(float(np.linalg.norm(vec)), 1e-12)).astype(np.float32).tolist()
