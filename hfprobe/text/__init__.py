"""Stage 4, text: text spaces, the sentence encoders whose embeddings a text-aligned expert is trained in, the token
states a text-to-image UNet's cross-attention reads (for the readout), and the label vocabularies.

Owns: one registry of encoders (hfprobe/data/text_encoders.json), pooled embeddings (encoders.py; MiniLM's in numpy,
bert_numpy.py), a diffusion root's own text models read as its pipeline reads them (roots.py), token states
(states.py), candidate vocabularies (vocab.py).
May import: hfprobe.errors, hfprobe.config and third-party libraries only.

    >>> from hfprobe.text import get_text_encoder
    >>> get_text_encoder("minilm").dim
    384
"""

from .. import lazy_exports

# loaded on first use: label lists (vocab.py) need no torch, encoders do
_PUBLIC = {
    "DEFAULT_TEXT_ENCODER": "hfprobe.text.encoders",
    "TextEncoder": "hfprobe.text.encoders",
    "get_text_encoder": "hfprobe.text.encoders",
    "list_text_encoders": "hfprobe.text.encoders",
    "check_labels": "hfprobe.text.vocab",
}
__all__ = list(_PUBLIC)
__getattr__ = lazy_exports(__name__, _PUBLIC)
