"""What the readout reads, found from a view's module names and shapes alone (no tensor bytes, no torch): a UNet's
cross-attention key/value projections, their input width, whether the readout can answer at all, and the text
encoder it reads them with (`text_reader`: fetched, not loaded). `predict` asks these before it imports torch, so a
model the readout cannot read, or whose root's text encoder cannot be had (and no expert covers), gets its answer
at once; readout.py asks them first too, so the two say the same.

    >>> cross_attention_modules(["unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k", "blocks.0.attn2.to_k"])
    ['unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k']
"""

from __future__ import annotations

import re

METHOD = "readout"
# The fewest candidates the readout ranks. Its margin is in standard deviations over the candidates: over two, the
# z-scores are always +-1/sqrt(2) and the margin sqrt(2), whatever the adapter; over one there is no margin. Three is
# also the smallest list its "probability right" was fitted on (benchmarks/calibrate_readout.py: random lists of 3,
# 10 and 30, every category of a tree, its held-out ones; the shipped fit's `candidate_lists` in readout.json).
MIN_LABELS = 3

DELTA_KINDS = ("lora", "loha", "lokr", "locon", "delta")  # modules whose layer() is a weight change

# a UNet's cross-attention (SD 1.x, 2.x, XL; the zoo's UNets) reads the text encoder's token states as they are; a
# DiT's `attn2` reads them after the model's own projection (Wan, PixArt) or is a second self-attention (SD 3.5
# Medium), so the readout's text states do not apply there
_DIT_ATTN2 = re.compile(r"^(transformer\.)?(transformer_)?blocks\.\d+\.attn2\.to_[kv]$")


def cross_attention_modules(names) -> list[str]:
    """Names of a UNet's cross-attention key/value projections, in a stable order."""
    return sorted(n for n in names if n.endswith(("attn2.to_k", "attn2.to_v")) and not _DIT_ATTN2.match(n))


def delta_modules(view) -> list[str]:
    """The cross-attention k/v modules of a formats view whose layer is a weight change."""
    return cross_attention_modules(n for n, m in view.modules.items() if getattr(m, "kind", "lora") in DELTA_KINDS)


def cross_attention_widths(view) -> set[int]:
    """Input widths of the cross-attention k/v deltas of a view (or of a {name: dW or its LoRA factors (B, A)} dict),
    from shapes only."""
    if isinstance(view, dict):
        return {
            int((view[n][1] if isinstance(view[n], tuple) else view[n]).shape[1]) for n in cross_attention_modules(view)
        }
    return {int(view.modules[n].d_in) for n in delta_modules(view)}


def why_unreadable(view, n_labels: int) -> str | None:
    """Why the readout cannot rank `n_labels` candidates for this adapter, whatever the text encoder; None if it may."""
    widths = cross_attention_widths(view)
    if not widths:
        return (
            "no UNet cross-attention key/value deltas (`attn2.to_k` / `attn2.to_v` in a UNet's attention blocks) in "
            "this adapter; the readout applies to text-conditioned UNets (SD 1.x, 2.x, XL), whose cross-attention "
            "reads the text encoder's states as they are (a DiT's reads them through its own projection)"
        )
    if len(widths) != 1:
        return (
            f"cross-attention input widths differ across modules {sorted(widths)}; cannot pair them with one text "
            "encoder"
        )
    if n_labels < MIN_LABELS:  # no z-score, margin or probability means anything
        return (
            f"the readout needs at least {MIN_LABELS} candidate labels to rank; got {n_labels} (its margin is in "
            f"standard deviations over the candidates, and its probability was fitted on lists of {MIN_LABELS} or more)"
        )
    return None


def text_reader(view, *, token=None):
    """(the token-state reader of the text encoder this adapter's cross-attention reads, None), or (None, why it
    cannot be had) (`why_unreadable` first). A root's encoder is fetched into the Hugging Face cache (or found there)
    and its configs read; nothing is loaded and torch is not imported."""
    from ..errors import TextEncoderError
    from ..text.states import provider_for

    [width] = cross_attention_widths(view)
    try:
        return provider_for(width, token=token), None
    except TextEncoderError as err:
        return None, no_encoder(err)


def no_encoder(err: Exception) -> str:
    """The readout's abstention reason where its text encoder cannot be had or loaded."""
    return f"no base text encoder: {str(err).removeprefix('readout: ')}"


def abstention(reason: str, labels) -> dict:
    """The readout's answer when it abstains (readout.readout_predict documents the keys)."""
    return {
        "method": METHOD,
        "predictions": [],
        "margin": None,
        "probability_right": None,
        "abstained": True,
        "reason": reason,
        "labels": len(labels) if labels is not None else 0,
    }
