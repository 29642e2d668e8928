"""OWL-ViT and OWLv2 (`owlvit`, `owlv2`): Google's open-vocabulary detectors, CLIP's towers under detection heads.
Before, their checkpoints and adapters named no family ("an architecture the registry lacks": `owlvit.`), and a bare
OwlViTModel read as CLIP ViT-B/32, sure."""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import inspect_built

torch.set_num_threads(1)

_TEXT_B = dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8)
_TEXT_L = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12)
_VISION_B = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12)
_VISION_L = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16)
# (detector class, config class, text config, vision config, projection) -> the roots of those sizes
PUBLISHED = {
    "owlvit-b32": ("OwlViT", _TEXT_B, dict(_VISION_B, patch_size=32, image_size=768), 512,
                   {"google/owlvit-base-patch32"}),
    "owlvit-b16": ("OwlViT", _TEXT_B, dict(_VISION_B, patch_size=16, image_size=768), 512,
                   {"google/owlvit-base-patch16"}),
    "owlvit-l14": ("OwlViT", _TEXT_L, dict(_VISION_L, patch_size=14, image_size=840), 768,
                   {"google/owlvit-large-patch14"}),
    "owlv2-b16": ("Owlv2", _TEXT_B, dict(_VISION_B, patch_size=16, image_size=960), 512,
                  {"google/owlv2-base-patch16", "google/owlv2-base-patch16-ensemble",
                   "google/owlv2-base-patch16-finetuned"}),
    "owlv2-l14": ("Owlv2", _TEXT_L, dict(_VISION_L, patch_size=14, image_size=1008), 768,
                  {"google/owlv2-large-patch14", "google/owlv2-large-patch14-ensemble",
                   "google/owlv2-large-patch14-finetuned"}),
}  # fmt: skip


def _detector(name: str):
    import transformers as tf

    prefix, text, vision, projection, _ = PUBLISHED[name]
    config = getattr(tf, f"{prefix}Config")(text_config=text, vision_config=vision, projection_dim=projection)
    with torch.device("meta"):
        return getattr(tf, f"{prefix}ForObjectDetection")(config)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_a_detector_checkpoint_names_its_family_and_its_sizes_roots(name, tmp_path):
    report = inspect_built(_detector(name), tmp_path)
    family, roots = name.split("-")[0], PUBLISHED[name][-1]
    assert report["family"] == family and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert report["root"]["id"] in roots and {c["id"] for c in report["root"]["candidates"][: len(roots)]} == roots
    assert report["base_model"]["id"] == (next(iter(roots)) if len(roots) == 1 else None), report["base_model"]


@pytest.mark.parametrize("name", ["owlvit-b16", "owlv2-b16"])
def test_a_lora_on_a_detector_is_told_apart_by_its_prefix(name, tmp_path):
    """OWL-ViT B/16 and OWLv2 B/16 share every tower size a LoRA on the attention sees (their position tables differ,
    which a LoRA does not reach): the prefix each detector saves its towers under tells them apart (not OWL-ViT's B/32
    from its B/16, alike but for their patches)."""
    report = inspect_built(_detector(name), tmp_path, lora=("q_proj", "v_proj"))
    assert report["family"] == name.split("-")[0] and report["family_confidence"] == 1.0
    roots = PUBLISHED[name][-1] | ({"google/owlvit-base-patch32"} if name == "owlvit-b16" else set())
    assert {c["id"] for c in report["root"]["candidates"][: len(roots)]} == roots, report["root"]
    assert report["base_model"]["id"] is None


def test_clip_stays_clip(tmp_path):
    """A CLIP ViT-B/32 (no detector prefix, no heads) is no OWL-ViT B/32, whose towers it shares in width."""
    from tests.model_shapes import meta_model

    report = inspect_built(meta_model("clip"), tmp_path)
    assert report["family"] == "clip" and report["root"]["id"] == "openai/clip-vit-base-patch32"


@pytest.mark.parametrize("with_config", [False, True])
def test_a_bare_owlvit_model_is_owl_vit(with_config, tmp_path):
    """OwlViTModel (no detector, so no `owlvit.` prefix and no heads), as transformers saves it: its vision tower's
    `pre_layernorm` (CLIP's is `pre_layrnorm`) and 577 position rows make it OWL-ViT B/32, beside its config.json too
    (a first draft read CLIP ViT-B/32 at 1.0, and beside `model_type: owlvit` a conflict)."""
    import json

    from tests.model_shapes import meta_model

    model = meta_model("owlvit")
    config = json.loads(model.config.to_json_string(use_diff=False)) if with_config else None
    report = inspect_built(model, tmp_path, config=config)
    assert report["family"] == "owlvit" and report["root"]["id"] == "google/owlvit-base-patch32", report["root"]
    assert not report["conflicts"]
