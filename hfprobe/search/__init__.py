"""Stage 7, search: models found by what their weights say. An embedded vector index on disk
(index.py, LanceDB; the row and its schema in rows.py, the search of one text space in query.py, a small index's
copy that a query scans without the database in flat.py) and the work that describes and adds models to it
(ingest.py).

May import: hfprobe.source, hfprobe.formats, hfprobe.tree, hfprobe.text, hfprobe.experts, hfprobe.errors,
hfprobe.config.

    >>> from hfprobe.search import ModelIndex
    >>> ModelIndex("/tmp/idx").query("a photo of a dog", top_k=3)    # doctest: +SKIP
"""

from .index import ModelIndex
from .ingest import add_sources, describe_model
from .rows import IndexRow

__all__ = ["IndexRow", "ModelIndex", "add_sources", "describe_model"]
