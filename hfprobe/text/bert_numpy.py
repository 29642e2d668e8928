"""A BERT sentence encoder's mean-pooled embeddings in numpy: MiniLM, the default text space, without torch or
transformers.

`hfprobe query` embeds one line of text; importing torch and transformers' BERT for it took 3.5 of the command's 5
seconds. This reads the same files transformers reads (`config.json`, `model.safetensors`, `tokenizer.json`, through
safetensors' numpy loader and the `tokenizers` library) and runs the same forward pass: embeddings, then per layer
self-attention and a GELU feed-forward, each followed by a residual LayerNorm, then the mean over the real tokens.
transformers stays the oracle: `tests/test_text.py` checks the two agree on every text it tries.

    >>> bert = NumpyBert(package_path())                           # doctest: +SKIP
    >>> bert.encode(["a photo of a dog"]).shape                    # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import TextEncoderError

CHUNK = 64  # texts run together (sorted by length)


class NumpyBert:
    """A BertModel folder (absolute positions, GELU), read for mean-pooled last hidden states."""

    def __init__(self, folder: str | Path, max_length: int = 128):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        try:
            cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            weights = load_file(str(folder / "model.safetensors"))
            tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as err:  # a missing or damaged file: one line, as the transformers loader says it
            raise TextEncoderError(f"{folder}: cannot read the BERT encoder ({type(err).__name__}: {err})") from err
        kind = (cfg.get("model_type"), cfg.get("position_embedding_type", "absolute"), cfg.get("hidden_act"))
        if kind != ("bert", "absolute", "gelu"):
            raise TextEncoderError(f"{folder}: {kind} is not the BERT this encoder reads (bert, absolute, gelu)")
        self.w = {k.removeprefix("bert."): v for k, v in weights.items()}
        self.layers, self.heads = int(cfg["num_hidden_layers"]), int(cfg["num_attention_heads"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        tok.no_padding()  # each text alone: the mask below does what padding and an attention mask would
        tok.enable_truncation(max_length)
        self.tok = tok

    def encode(self, texts: list[str]) -> np.ndarray:
        """[n, hidden] float32: the mean of each text's last hidden states over its tokens ([CLS] and [SEP] too).
        Texts of like length are run together, CHUNK at a time, so little of the work is padding."""
        encodings = self.tok.encode_batch(list(texts))
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        out = np.empty((len(encodings), self.w["embeddings.word_embeddings.weight"].shape[1]), np.float32)
        for start in range(0, len(order), CHUNK):
            rows = order[start : start + CHUNK]
            out[rows] = self._pooled([encodings[i] for i in rows])
        return out

    def _pooled(self, encodings) -> np.ndarray:
        n, t = len(encodings), max(len(e.ids) for e in encodings)
        ids, types = np.zeros((n, t), np.int64), np.zeros((n, t), np.int64)
        mask = np.zeros((n, t), bool)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)], types[i, : len(e.ids)], mask[i, : len(e.ids)] = e.ids, e.type_ids, True
        w = self.w
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.token_type_embeddings.weight"][types]
        x = self._norm(x + w["embeddings.position_embeddings.weight"][:t], "embeddings.LayerNorm")
        blocked = np.where(mask, 0.0, np.finfo(np.float32).min).astype(np.float32)[:, None, None, :]
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            attended = self._dense(self._attention(x, p + "attention.self.", blocked), p + "attention.output.dense")
            x = self._norm(x + attended, p + "attention.output.LayerNorm")
            h = _gelu(self._dense(x, p + "intermediate.dense"))
            x = self._norm(x + self._dense(h, p + "output.dense"), p + "output.LayerNorm")
        m = mask[..., None].astype(np.float32)
        return ((x * m).sum(1) / np.maximum(m.sum(1), 1e-9)).astype(np.float32)

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        flat = x.reshape(-1, x.shape[-1]) @ self.w[name + ".weight"].T  # one GEMM for the batch, not one per text
        return (flat + self.w[name + ".bias"]).reshape(*x.shape[:-1], -1)

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def _attention(self, x: np.ndarray, prefix: str, blocked: np.ndarray) -> np.ndarray:
        n, t, d = x.shape
        q, k, v = (
            self._dense(x, prefix + part).reshape(n, t, self.heads, d // self.heads).transpose(0, 2, 1, 3)
            for part in ("query", "key", "value")
        )  # [n, heads, t, d / heads] each
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(d // self.heads)) + blocked
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        return ((scores / scores.sum(-1, keepdims=True)) @ v).transpose(0, 2, 1, 3).reshape(n, t, d)


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's GELU with the error function (transformers' "gelu", not its tanh approximation)."""
    return (0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))).astype(np.float32)


# Abramowitz and Stegun 7.1.26: |error| under 1.5e-7, under 6.1e-7 in float32 arithmetic (scipy.special.erf is the
# oracle in tests/test_text.py). scipy.special would cost a cold `hfprobe query` 0.4 s of import for this one function.
_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(np.float32(a) for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429))


def _erf(x: np.ndarray) -> np.ndarray:
    a = np.minimum(np.abs(x), np.float32(10))  # erf is +-1 in float32 long before 10; a*a stays finite
    t = 1 / (1 + _ERF_P * a)
    a1, a2, a3, a4, a5 = _ERF_A
    poly = t * (a1 + t * (a2 + t * (a3 + t * (a4 + t * a5))))
    return np.sign(x) * (1 - poly * np.exp(-a * a))
