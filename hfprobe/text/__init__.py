"""Stage 4, text: text spaces, the sentence encoders whose embeddings a text-aligned expert is trained in, the token
states a text-to-image UNet's cross-attention reads (for the readout), and the label vocabularies.

Owns: one registry of encoders (hfprobe/data/text_encoders.json), pooled embeddings (encoders.py),
token states (states.py), candidate vocabularies (vocab.py).
May import: hfprobe.errors, hfprobe.config and third-party libraries only.

    >>> from hfprobe.text import get_text_encoder
    >>> get_text_encoder("minilm").dim
    384
"""

from .encoders import DEFAULT_TEXT_ENCODER, TextEncoder, check_labels, get_text_encoder, list_text_encoders

__all__ = ["DEFAULT_TEXT_ENCODER", "TextEncoder", "check_labels", "get_text_encoder", "list_text_encoders"]
