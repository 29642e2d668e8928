"""Readout (issue 7): rank what a LoRA was trained on from its cross-attention deltas, no expert.

A tiny text-conditioned UNet reads MiniLM token states; each LoRA is trained ~30 steps on one caption.
The abstain threshold is calibrated on "validation" LoRAs only (shuffled-column null) and then applied
to the others, the trigger-word LoRA and random deltas.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import string
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from hfprobe.errors import TextEncoderError
from hfprobe.experts import readout as ro
from hfprobe.experts import readout_features as rf
from hfprobe.formats import open_weights
from hfprobe.text import states as st
from hfprobe.text import vocab

from .readout_tree import tiny_unet, train_lora

CATS = ["dog", "violin", "castle", "banana", "tractor", "jellyfish", "umbrella", "pizza"]
VAL, TEST = CATS[:4], CATS[4:]
STEPS = 20  # per LoRA; the fixture (9 LoRAs) is most of this file's runtime


@pytest.fixture(scope="session")
def tree(tmp_path_factory):
    torch.set_num_threads(1)
    prov = st.MiniLMStates()
    ts = prov.states(CATS)
    trigger_states = torch.from_numpy(prov.states(["sks"], "a photo of {}").states[0])
    root = tiny_unet().state_dict()
    saved = tmp_path_factory.mktemp("lora-dog")
    loras = {
        c: train_lora(root, torch.from_numpy(h), i, steps=STEPS, seed=i, save_to=saved if c == "dog" else None)
        for i, (c, h) in enumerate(zip(CATS, ts.states))
    }
    trigger = train_lora(root, trigger_states, 99, steps=STEPS, seed=99)
    null = sum((ro.null_margins(loras[c], ts, ro.ReadoutConfig(), n=6, seed=i) for i, c in enumerate(VAL)), [])
    cfg = ro.ReadoutConfig(threshold=ro.calibrate_threshold(null, 0.95), threshold_source="test validation LoRAs")
    return {"ts": ts, "loras": loras, "trigger": trigger, "cfg": cfg, "saved": saved, "provider": prov}


def test_own_category_ranks_first(tree):
    hits = 0
    for c in CATS:
        out = ro.readout_predict(tree["loras"][c], CATS, text_states=tree["ts"], top_k=3, config=tree["cfg"])
        assert out["method"] == "readout" and all(p["method"] == "readout" for p in out["predictions"])
        hits += out["predictions"][0]["label"] == c
    assert hits / len(CATS) >= 0.75, f"top-1 {hits}/{len(CATS)} (chance 1/{len(CATS)})"


def test_calibrated_threshold_answers_test_loras(tree):
    answered = [ro.readout_predict(tree["loras"][c], CATS, text_states=tree["ts"], config=tree["cfg"]) for c in TEST]
    assert sum(not o["abstained"] for o in answered) >= 3, [o["margin"] for o in answered]
    assert all(o["predictions"][0]["label"] == c for o, c in zip(answered, TEST) if not o["abstained"])


def test_random_rank_matched_deltas_score_at_chance(tree):
    # 40 random rank-4 deltas with the real LoRAs' per-module norms, each "claimed" to be one category
    hits, abstained, ranks = 0, 0, []
    for s in range(40):
        target = CATS[s % len(CATS)]
        out = ro.readout_predict(
            ro.random_deltas(tree["loras"][target], 4, s),
            CATS,
            text_states=tree["ts"],
            top_k=len(CATS),
            config=tree["cfg"],
        )
        order = [p["label"] for p in out["predictions"]]
        hits += order[0] == target
        ranks.append(order.index(target) + 1)
        abstained += out["abstained"]
    assert hits <= 12, f"random deltas hit {hits}/40, chance is 5"
    assert 3.0 <= sum(ranks) / len(ranks) <= 6.0  # chance mean rank 4.5
    assert abstained >= 30, f"only {abstained}/40 random deltas abstained"


def test_trigger_token_lora_abstains(tree):
    out = ro.readout_predict(tree["trigger"], CATS, text_states=tree["ts"], config=tree["cfg"])
    assert out["abstained"], out
    assert "does not stand out" in out["reason"]


def test_formats_view_matches_dict(tree):
    view = open_weights(str(tree["saved"]))
    deltas, ranks = ro.deltas_of(view)  # a LoRA's factors (B, A), never its composed ΔW
    assert len(deltas) == 8 and ranks == {} and all(b.shape[1] == a.shape[0] == 4 for b, a in deltas.values())
    a = ro.readout_predict(view, CATS, text_states=tree["ts"], top_k=8, config=tree["cfg"])
    b = ro.readout_predict(tree["loras"]["dog"], CATS, text_states=tree["ts"], top_k=8, config=tree["cfg"])
    assert [p["label"] for p in a["predictions"]] == [p["label"] for p in b["predictions"]]
    assert a["margin"] == pytest.approx(b["margin"], abs=1e-3)
    c = ro.readout_predict(deltas, CATS, text_states=tree["ts"], top_k=8, config=tree["cfg"])  # the factors as a dict
    assert c["predictions"] == a["predictions"] and c["margin"] == a["margin"]


def test_no_cross_attention_abstains():
    d = {"unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_k": torch.randn(8, 8)}
    out = ro.readout_predict(d, ["dog", "cat"])
    assert out["abstained"] and "no UNet cross-attention" in out["reason"] and out["predictions"] == []


@pytest.mark.parametrize(
    "name",
    [
        "transformer.blocks.0.attn2.to_k",  # Wan: cross-attention on text states its condition embedder projected
        "transformer.transformer_blocks.0.attn2.to_k",  # SD 3.5 Medium: a second self-attention; PixArt: projected T5
    ],
)
def test_a_dit_s_attn2_is_no_unet_cross_attention(name):
    """A DiT's `attn2` does not read the text encoder's states as they are: the readout said "no known text encoder
    for cross-attention width 1536; pass text_states= from the root's own text encoder", which would not help."""
    d = {name: torch.randn(1536, 1536), name.replace("to_k", "to_v"): torch.randn(1536, 1536)}
    assert ro.cross_attention_widths(d) == set()
    out = ro.readout_predict(d, ["dog", "cat", "violin", "tree", "car"])
    assert out["abstained"] and "no UNet cross-attention" in out["reason"] and "DiT" in out["reason"]


def test_no_encoder_abstains_with_reason(tmp_path, monkeypatch):
    # a 768-wide SD 1.x cross-attention: the CLIP text model is neither cached nor reachable here
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    d = {"unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k": torch.randn(64, 4) @ torch.randn(4, 768)}
    out = ro.readout_predict(d, ["dog", "cat", "violin"])
    assert out["abstained"] and out["predictions"] == []
    assert "no base text encoder" in out["reason"] and "stable-diffusion-v1-5" in out["reason"]
    with pytest.raises(TextEncoderError):
        st.CLIPStates(str(tmp_path / "missing-root"))


def test_width_mismatch_abstains(tree):
    d = {"unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_v": torch.randn(64, 4) @ torch.randn(4, 768)}
    out = ro.readout_predict(d, CATS, text_states=tree["ts"])
    assert out["abstained"] and "384-d" in out["reason"]


def _clip_config(vocab_size: int, **sizes):
    """A tiny CLIP text config with SD's 77 positions and the test vocabulary's special tokens."""
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=vocab_size,
        intermediate_size=64,
        num_attention_heads=2,
        max_position_embeddings=77,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        **sizes,
    )


def _tiny_sd_root(folder):
    """A pipeline folder with a tiny CLIP text model and tokenizer where SD keeps them (text_encoder/, tokenizer/)."""
    from transformers import CLIPTextModel, CLIPTokenizer

    chars = list(string.ascii_lowercase)
    vocab = ["<|startoftext|>", "<|endoftext|>"] + chars + [c + "</w>" for c in chars]
    folder.mkdir(parents=True)
    (folder / "v.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "m.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(str(folder / "v.json"), str(folder / "m.txt"), model_max_length=77).save_pretrained(
        folder / "tokenizer"
    )
    torch.manual_seed(0)
    CLIPTextModel(_clip_config(len(vocab), hidden_size=32, num_hidden_layers=2)).save_pretrained(
        folder / "text_encoder"
    )
    return folder


def test_clip_states_from_local_root(tmp_path):
    """The SD path: CLIPTextModel + tokenizer from a pipeline folder, prompts padded to 77 tokens."""
    ts = st.CLIPStates(str(_tiny_sd_root(tmp_path / "sd"))).states(["dog", "cat", "cow"])
    assert ts.states[0].shape == (77, 32) and np.flatnonzero(ts.label_mask[0]).tolist() == [10, 11, 12]
    d = {"unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k": torch.randn(16, 2) @ torch.randn(2, 32)}
    out = ro.readout_predict(d, ["dog", "cat", "cow"], text_states=ts)
    assert out["encoder"].startswith("clip:") and len(out["predictions"]) == 3


def test_a_root_whose_config_says_float16_runs_in_float32(tmp_path):
    """SD 2.x's and SDXL's text_encoder/config.json say `"torch_dtype": "float16"`, and transformers 5 loads a model in
    the dtype its config names: their states were computed in half precision on the CPU. The readout loads every copy
    in float32, so the states are those of the exact weights, whatever the config says."""
    from hfprobe.text.roots import PipelineTextEncoder

    root = _tiny_sd_root(tmp_path / "sd")
    prompts = ["a photo of a dog", "a photo of a red fox"]
    reference = PipelineTextEncoder(str(root)).token_states(prompts, 77)[0]
    config = json.loads((root / "text_encoder" / "config.json").read_text())
    config.pop("dtype", None)
    config["torch_dtype"] = "float16"  # as SDXL's two text encoders' configs and SD 2.x's say
    (root / "text_encoder" / "config.json").write_text(json.dumps(config))
    encoder = PipelineTextEncoder(str(root))
    states = encoder.token_states(prompts, 77)[0]
    assert [m.dtype for m in encoder._model] == [torch.float32] and torch.equal(states, reference)


def test_clip_states_are_what_the_sd_pipeline_feeds_its_unet(tmp_path, monkeypatch):
    """The oracle: diffusers' StableDiffusionPipeline.encode_prompt, which calls SD's CLIP text model without an
    attention mask, so the padding positions (63 of 77 here) attend to one another. Read with the tokenizer's mask
    they differed by up to 3.6 (norm 5.7) from what the UNet was trained on."""
    from diffusers import DDPMScheduler, StableDiffusionPipeline
    from transformers import AutoTokenizer, CLIPTextModel

    from tests import builders as B

    monkeypatch.setenv("HFPROBE_CACHE", str(tmp_path / "cache"))
    root = _tiny_sd_root(tmp_path / "sd")
    pipe = StableDiffusionPipeline(
        vae=_tiny_vae(),
        text_encoder=CLIPTextModel.from_pretrained(root / "text_encoder").eval(),
        tokenizer=AutoTokenizer.from_pretrained(root / "tokenizer"),
        unet=B.tiny_unet(),
        scheduler=DDPMScheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    labels = ["dog", "cat", "red fox"]
    with torch.no_grad():
        want, _ = pipe.encode_prompt([st.TEMPLATE.format(c) for c in labels], "cpu", 1, False)
    got = st.CLIPStates(str(root)).states(labels).states
    gaps = [float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want)]
    assert max(gaps) < 2e-3, gaps  # (the cache keeps float16)


def _tiny_vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(8,),
        norm_num_groups=4,
        latent_channels=4,
        down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",),
    )


def test_sdxl_states_are_what_the_sdxl_pipeline_feeds_its_unet(tmp_path, monkeypatch):
    """SDXL's UNet reads two text models' penultimate hidden states, concatenated (768 + 1280 = 2048). The registry
    says so for SDXL's root (`encoders`, `hidden_state`), and the states match diffusers' own
    StableDiffusionXLPipeline.encode_prompt on a tiny pipeline (32 + 48 = 80 wide), through `provider_for` as the
    readout asks for them. The readout then reads a LoRA of that width."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline
    from transformers import AutoTokenizer, CLIPTextModel, CLIPTextModelWithProjection

    from hfprobe.text import encoders, roots
    from tests import builders as B

    monkeypatch.setenv("HFPROBE_CACHE", str(tmp_path / "cache"))
    root = _tiny_sd_root(tmp_path / "sdxl")
    shutil.copytree(root / "tokenizer", root / "tokenizer_2")
    torch.manual_seed(1)
    CLIPTextModelWithProjection(
        _clip_config(54, hidden_size=48, num_hidden_layers=3, projection_dim=16)
    ).save_pretrained(root / "text_encoder_2")
    entry = {"root": str(root), "encoders": ["text_encoder", "text_encoder_2"], "hidden_state": -2}
    reg = {**encoders.registry(), "cross_attention": {"80": entry}}
    monkeypatch.setattr(roots, "registry", lambda: reg)
    monkeypatch.setattr(st, "registry", lambda: reg)
    pipe = StableDiffusionXLPipeline(
        vae=_tiny_vae(),
        text_encoder=CLIPTextModel.from_pretrained(root / "text_encoder").eval(),
        text_encoder_2=CLIPTextModelWithProjection.from_pretrained(root / "text_encoder_2").eval(),
        tokenizer=AutoTokenizer.from_pretrained(root / "tokenizer"),
        tokenizer_2=AutoTokenizer.from_pretrained(root / "tokenizer_2"),
        unet=B.tiny_unet(),
        scheduler=EulerDiscreteScheduler(),
    )
    labels = ["dog", "cat", "red fox"]
    with torch.no_grad():
        want = pipe.encode_prompt(
            [st.TEMPLATE.format(c) for c in labels], device="cpu", do_classifier_free_guidance=False
        )[0]
    ts = st.provider_for(80).states(labels)
    gaps = [float(np.abs(g - w.numpy()).max()) for g, w in zip(ts.states, want)]
    assert ts.dim == 80 and max(gaps) < 2e-3, gaps  # (the cache keeps float16)
    assert np.flatnonzero(ts.label_mask[2]).tolist() == [10, 11, 12, 13, 14, 15]  # "red fox", letter by letter
    d = {"unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k": torch.randn(16, 2) @ torch.randn(2, 80)}
    out = ro.readout_predict(d, labels, top_k=3)
    assert out["encoder"] == f"clip:{root}" and len(out["predictions"]) == 3
    # the same folder read as SD 1.x reads its text: other states, under another cache key (never the 80-wide ones)
    sd = st.StateReader(roots.root_text_encoder(str(root), parts=("text_encoder",))).states(labels)
    assert sd.dim == 32 and len(list((tmp_path / "cache" / "readout").glob("states-????????????????.safetensors"))) == 2


def test_cached_clip_states_need_no_text_model(tmp_path):
    """Token states computed once are read back from the disk cache in a fresh process without loading the text
    model or importing transformers: its width and padding come from the pipeline's two JSON configs, which the
    library's own loading of the tokenizer and model (the oracle) must agree with."""
    root = _tiny_sd_root(tmp_path / "sd")
    code = (
        "import json, sys; from hfprobe.text import states as st; r = st.CLIPStates(sys.argv[1]); "
        "ts = r.states(['dog', 'cat', 'cow']); enc = r.encoder; "
        "print(json.dumps([enc.dim, r.pad_to, [h.tolist() for h in ts.states], 'transformers' in sys.modules]))"
    )
    env = {**os.environ, "HFPROBE_CACHE": str(tmp_path / "cache")}
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True, env=env
            ).stdout
        )
        for _ in range(2)
    ]
    (dim, pad, first, computed), (dim2, pad2, again, from_cache) = runs
    assert computed and not from_cache  # the second run read the cache alone
    assert (dim, pad) == (dim2, pad2) == (32, 77) and again == first
    enc = st.CLIPStates(str(root)).encoder  # the oracle: what transformers loads
    assert (enc._model[0].config.hidden_size, enc._tok[0].model_max_length) == (dim, pad)


def test_a_root_whose_config_leaves_its_width_to_the_library_asks_the_library(tmp_path):
    """No hidden_size in text_encoder/config.json: the width is the loaded model's (transformers' default, 512, which
    these 32-wide weights do not fit: one typed error), asked while the encoder is being created, without a deadlock."""
    import threading

    root = _tiny_sd_root(tmp_path / "sd")
    config = json.loads((root / "text_encoder" / "config.json").read_text())
    del config["hidden_size"]
    (root / "text_encoder" / "config.json").write_text(json.dumps(config))
    errors = []
    worker = threading.Thread(target=lambda: _catch(errors, lambda: st.CLIPStates(str(root))), daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "deadlocked"
    assert (
        len(errors) == 1 and isinstance(errors[0], TextEncoderError) and "cannot load CLIPTextModel" in str(errors[0])
    )


def _catch(errors: list, fn) -> None:
    try:
        fn()
    except Exception as err:
        errors.append(err)


def test_one_set_of_states_is_computed_once_however_many_threads_ask(tmp_path, monkeypatch):
    """A Space's workers and its warm-up thread asking for the same states: one computes, the others wait and read."""
    import threading

    monkeypatch.setenv("HFPROBE_CACHE", str(tmp_path / "cache"))
    reader = st.CLIPStates(str(_tiny_sd_root(tmp_path / "sd")))
    calls, real = [], reader.encoder.token_states
    monkeypatch.setattr(reader.encoder, "token_states", lambda *a: calls.append(1) or time.sleep(0.2) or real(*a))
    got = []
    threads = [threading.Thread(target=lambda: got.append(reader.states(["dog", "cat", "cow"]))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(calls) == 1 and len(got) == 3 and all(np.array_equal(g.states[0], got[0].states[0]) for g in got)


def test_computing_states_shows_progress_and_leaves_one_file(tmp_path, monkeypatch, capsys):
    """The first readout of a root computes its token states (minutes for SD 1.5 and the default vocabulary): a bar
    (huggingface_hub's tqdm, so HF_HUB_DISABLE_PROGRESS_BARS applies) once it has taken PROGRESS_AFTER_S; the cache
    gets the one finished file, no temporary left beside it."""
    monkeypatch.setenv("HFPROBE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(st, "PROGRESS_AFTER_S", 0.0)
    st.CLIPStates(str(_tiny_sd_root(tmp_path / "sd"))).states(["dog", "cat", "cow"])
    assert "token states (clip:" in capsys.readouterr().err
    [cached] = (tmp_path / "cache" / "readout").iterdir()
    assert cached.suffix == ".safetensors" and cached.stat().st_mode & 0o777 == 0o644


def test_scoring_1000_labels_is_fast():
    """Cost with cached states: 1,000 labels x 8 modules of the tiny tree, and SD 1.x-sized deltas."""
    g = torch.Generator().manual_seed(0)
    labels = [f"label {i}" for i in range(1000)]
    ts = st.TextStates(
        "synthetic",
        st.TEMPLATE,
        labels,
        [torch.randn(12, 384, generator=g) for _ in labels],
        [torch.zeros(12, dtype=torch.bool) for _ in labels],
    )
    deltas = {
        f"unet.b{i}.attn2.to_{kv}": torch.randn(64, 4, generator=g) @ torch.randn(4, 384, generator=g)
        for i in range(4)
        for kv in "kv"
    }
    rf.prepare_labels(ts, ro.ReadoutConfig())  # part of "text states cached"
    t = time.perf_counter()
    out = ro.readout_predict(deltas, labels, text_states=ts, config=ro.ReadoutConfig())
    elapsed = time.perf_counter() - t
    assert len(out["predictions"]) == 5 and elapsed < 0.5, f"{elapsed:.3f}s"


def test_vocabulary_and_bad_vocab_file(tmp_path):
    v = vocab.default_vocabulary()
    assert len(v) > 1000 and "goldfish" in v and "watercolor painting" in v and len(set(v)) == len(v)
    with pytest.raises(TextEncoderError, match="cannot read vocabulary file"):
        vocab.read_vocab_file(str(tmp_path / "nope.txt"))
    (tmp_path / "v.txt").write_text("# mine\ndog\n\ncat\ndog\n")
    assert vocab.read_vocab_file(str(tmp_path / "v.txt")) == ["dog", "cat"]


def test_states_cache_roundtrip(tree):
    again = tree["provider"].states(CATS)
    assert all(np.array_equal(a, b) for a, b in zip(again.states, tree["ts"].states))


def test_real_sd_lora_without_encoder_abstains_before_reading_deltas(realzoo, monkeypatch):
    """A real SD 1.x LoRA (lions): no CLIP text model here, so it abstains and reads no delta bytes for it."""
    import huggingface_hub.constants as hc

    from hfprobe.formats import open_weights

    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    view = open_weights(str(realzoo / "files" / "sd-mvclab-b11115019"))
    before = view.bytes_read
    assert ro.cross_attention_widths(view) == {768}
    out = ro.readout_predict(view, ["lion", "dog", "anime drawing"])
    assert out["abstained"] and "no base text encoder" in out["reason"]
    assert view.bytes_read == before


def test_shipped_default_recalibrates_for_other_candidate_counts(tree):
    """The shipped threshold was set at 60 candidates; with 8 it falls back to each adapter's own shuffled null."""
    cfg = ro.default_config()
    assert cfg.calibrated_labels and cfg.calibrated_labels != len(CATS)
    outs = {c: ro.readout_predict(tree["loras"][c], CATS, text_states=tree["ts"]) for c in CATS}
    assert all("shuffled-column null margins of this adapter" in o["threshold_source"] for o in outs.values())
    answered = [c for c, o in outs.items() if not o["abstained"]]
    assert len(answered) >= 6 and all(outs[c]["predictions"][0]["label"] == c for c in answered)
    trig = ro.readout_predict(tree["trigger"], CATS, text_states=tree["ts"])
    assert trig["abstained"], trig


@pytest.mark.parametrize("center,tokens", [("none", "all"), ("mean", "all"), ("mean", "label")])
def test_compressed_scoring_equals_the_formula(center, tokens):
    """score = sum_m w_m ||dW_m Hc^T||_F / ||Hc||_F, computed directly, matches the factored fast path."""
    g = torch.Generator().manual_seed(1)
    labels = ["a", "b", "c", "d"]
    states = [torch.randn(12, 48, generator=g) for _ in labels]
    masks = [torch.arange(12) == 5 + (i % 2) for i in range(4)]
    ts = st.TextStates("synthetic", st.TEMPLATE, labels, states, masks)
    cfg = ro.ReadoutConfig(center=center, tokens=tokens, key_weight=1.0, value_weight=0.5, per_module="raw")
    deltas = {
        f"unet.b{i}.attn2.to_{kv}": torch.randn(16, 3, generator=g) @ torch.randn(3, 48, generator=g)
        for i in range(2)
        for kv in "kv"
    }
    sel = [h[m] if tokens == "label" else h for h, m in zip(states, masks)]
    mu = torch.cat(sel).mean(0) if center == "mean" else torch.zeros(48)
    want = torch.stack(
        [
            sum((1.0 if n.endswith("to_k") else 0.5) * (d @ (h - mu).T).norm() for n, d in deltas.items())
            / (h - mu).norm()
            for h in sel
        ]
    )
    got = ro.score_labels(deltas, ts, cfg, ranks={n: 3 for n in deltas})
    assert np.allclose(got, want.numpy(), rtol=1e-4)


def test_probability_right_is_a_calibrated_fit_of_the_margin(tree):
    """The top label's "probability right" rises with the margin over the threshold, is absent without a fit, and
    comes with every answer once one is shipped (hfprobe/data/readout.json, fitted on validation LoRAs only)."""
    fit = {"feature": "excess+log_n", "weights": [1.5, -0.2, 0.5]}
    ps = [ro.probability_right(m, 1.0, 8, fit) for m in (-1.0, 0.5, 1.0, 2.0, 4.0)]
    assert ps == sorted(ps) and 0 < ps[0] < ps[-1] < 1
    assert ro.probability_right(None, 1.0, 8, fit) is None and ro.probability_right(2.0, 1.0, 1, fit) is None
    assert ro.probability_right(2.0, 1.0, 8, {}) is None  # no fit: no probability
    out = ro.readout_predict(tree["loras"]["dog"], CATS, text_states=tree["ts"], top_k=3, config=tree["cfg"])
    shipped = ro.probability_calibration()
    if shipped is None:
        assert out["probability_right"] is None and "probability" not in out["predictions"][0]
    else:
        assert out["probability_right"] == ro.probability_right(out["margin"], out["threshold"], len(CATS))
        assert out["predictions"][0]["probability"] == out["probability_right"]
        assert out["predictions"][0]["calibration"] == "readout-margin"
        assert all("probability" not in p for p in out["predictions"][1:])  # the rest stay z-scores
        assert set(shipped["splits"]) <= {"val", "val_holdout"}  # never fitted on test LoRAs


def _null_draws(n_labels: int, draws: int) -> tuple[dict, st.TextStates, np.ndarray]:
    """A synthetic rank-4 LoRA on 4 cross-attention modules, random token states for `n_labels` labels, and
    `draws` of its shuffled-column null margins."""
    rng = np.random.default_rng(3)
    deltas = {
        f"unet.b{i}.attn2.to_{kv}": rng.standard_normal((16, 4)) @ rng.standard_normal((4, 32))
        for i in range(2)
        for kv in "kv"
    }
    labels = [f"label {i}" for i in range(n_labels)]
    ts = st.TextStates(
        "synthetic",
        st.TEMPLATE,
        labels,
        [rng.standard_normal((6, 32)).astype(np.float32) for _ in labels],
        [np.zeros(6, bool) for _ in labels],
    )
    return deltas, ts, np.array(ro.null_margins(deltas, ts, ro.ReadoutConfig(), n=draws, seed=11))


def test_an_adapter_s_own_threshold_passes_its_null_about_one_time_in_twenty(monkeypatch):
    """Above SMALL_LIST candidates the threshold is c x the mean of 8 null margins: over groups of 8 of 480 null
    draws of one adapter, the other draws pass it about 5% of the time (the exponential-tail rule); the empirical
    q95 of the same 8, the rule before, let through more than twice that."""
    deltas, ts, null = _null_draws(ro.SMALL_LIST + 50, 480)
    c = 8 * (ro.FALSE_ANSWER_RATE ** (-1 / 8) - 1)

    def passed(rule) -> float:
        rates = [np.mean(np.delete(null, range(i, i + 8)) > rule(null[i : i + 8])) for i in range(0, len(null), 8)]
        return float(np.mean(rates))

    assert 0.025 <= passed(lambda g: c * g.mean()) <= 0.065
    assert passed(lambda g: np.quantile(g, 0.95)) > 0.09
    # what readout_predict uses: the same rule on the adapter's first 8 draws, and its source says so
    monkeypatch.setattr(ro, "null_draws", lambda d, t, cfg, **kw: iter(null))
    threshold, source = ro.adapter_threshold(deltas, ts, ro.ReadoutConfig())
    assert threshold == pytest.approx(c * null[:8].mean()) and "3.63 x the mean of 8" in source


def test_a_short_list_s_threshold_is_the_largest_of_19_null_margins(monkeypatch):
    deltas, ts, null = _null_draws(12, 19)
    monkeypatch.setattr(ro, "null_draws", lambda d, t, cfg, **kw: iter(null))
    threshold, source = ro.adapter_threshold(deltas, ts, ro.ReadoutConfig())
    assert threshold == null.max() and "largest of 19" in source and "1 time in 20" in source


def _readable(deltas: dict, ts: st.TextStates, label: int, strength: float) -> dict:
    """`deltas` plus a rank-1 value delta that reads label `label`'s top token direction (strength 0: unchanged)."""
    h = ts.states[label]
    u = np.linalg.svd(h - h.mean(0), full_matrices=False)[2][0]
    out = dict(deltas)
    name = next(n for n in deltas if n.endswith("to_v"))
    out[name] = deltas[name] + strength * np.outer(np.ones(deltas[name].shape[0]), u)
    return out


@pytest.mark.parametrize("n_labels", [12, ro.SMALL_LIST + 50])
def test_drawing_stops_once_the_answer_is_an_abstention(monkeypatch, n_labels):
    """An adapter whose margin is below what its first null draws set is told so without the rest (each draw is a
    scoring of every candidate: 0.2 s to 0.7 s on an SDXL LoRA): the same answer as with every draw, for adapters
    that abstain and adapters that answer, a threshold that still exceeds the margin, and fewer draws taken."""
    deltas, ts, _ = _null_draws(n_labels, 0)
    calls = {"n": 0}
    scores = rf.module_scores

    def counted(*a, **kw):
        calls["n"] += 1
        return scores(*a, **kw)

    monkeypatch.setattr(ro, "module_scores", counted)
    labels, full_draws = ts.labels, (19 if n_labels <= ro.SMALL_LIST else 8)
    stopped = answered = 0
    for i, strength in enumerate([0.0] * 6 + [3.0, 30.0]):
        adapter = _readable(ro.random_deltas(deltas, rank=4, seed=i), ts, label=i, strength=strength)
        calls["n"] = 0
        early = ro.readout_predict(adapter, labels, text_states=ts)
        took = calls["n"] - 1  # the answer's own scoring
        calls["n"] = 0
        cfg = dataclasses.replace(ro.default_config(), stop_early=False)
        full = ro.readout_predict(adapter, labels, text_states=ts, config=cfg)
        assert calls["n"] - 1 == full_draws
        assert (early["abstained"], early["predictions"], early["margin"]) == (
            full["abstained"], full["predictions"], full["margin"])  # fmt: skip
        if early["abstained"]:
            assert early["margin"] < early["threshold"] <= full["threshold"]
        else:
            assert early["threshold"] == full["threshold"] and early["threshold_source"] == full["threshold_source"]
            answered += 1
        if took < full_draws:
            stopped += 1
            assert early["abstained"] and f"{took} of the {full_draws} draws already set it" in early[
                "threshold_source"]  # fmt: skip
        else:
            assert "already set it" not in early["threshold_source"]
    assert stopped >= 3 and answered >= 1  # the cases above exercise both


def test_each_adapter_draws_its_own_null(tree):
    """The null's shuffles are seeded from the adapter's own weights: the same deltas draw the same ones (the same
    threshold on every run), two adapters different ones (one seed for all made their thresholds' errors one)."""
    dog, violin = tree["loras"]["dog"], tree["loras"]["violin"]
    assert ro.seed_of(dog) == ro.seed_of(dict(dog)) != ro.seed_of(violin)
    out = ro.readout_predict(dog, CATS, text_states=tree["ts"])
    deltas, _ = ro.deltas_of(dog)  # what readout_predict reads
    null = ro.null_margins(rf.delta_factors(deltas), tree["ts"], ro.default_config(), n=19, seed=ro.seed_of(deltas))
    assert out["threshold"] == round(max(null), 4) and "largest of 19" in out["threshold_source"]
    assert out == ro.readout_predict(dog, CATS, text_states=tree["ts"])
