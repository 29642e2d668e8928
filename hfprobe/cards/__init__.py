"""Stage 7, cards: the findings written into model cards, locally or as Hub pull requests.

Owns: the card edit that keeps every byte the author wrote (card.py), the hfprobe section of the card body
(section.py), the local/Hub/batch annotation around it (annotate.py), opening or updating the Hub pull request
(pull_request.py) and the webhook server that keeps Hub cards current (webhook.py).
May import: hfprobe.source, hfprobe.formats, hfprobe.tree, hfprobe.experts, hfprobe.errors, hfprobe.config.

    >>> from hfprobe.cards import annotate_folder
    >>> annotate_folder("./my-lora", dry_run=True).status     # doctest: +SKIP
    'would-change'
"""

from .annotate import annotate_folder, annotate_repo
from .batch import annotate_batch
from .card import update_card

__all__ = ["annotate_batch", "annotate_folder", "annotate_repo", "update_card"]
