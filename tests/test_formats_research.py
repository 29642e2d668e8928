"""hfprobe.formats on the layouts of research code bases: LoRA-ViT and SAMed adapters (alone, with their heads, or
inside the whole model) and ViT fine-tunes under their authors' names."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from hfprobe.errors import LayerNotFoundError
from hfprobe.formats import open_weights
from tests import builders as B

torch.set_num_threads(1)


def test_custom_lora(tmp_path):
    a, b = torch.randn(4, 16), torch.randn(16, 4)
    save_file(
        {"w_a_000": a, "w_b_000": b, "w_a_001": a.clone(), "w_b_001": b.clone()}, str(tmp_path / "lora.safetensors")
    )
    view = open_weights(tmp_path / "lora.safetensors")
    assert view.format == "custom-lora" and view.rank == 4
    assert torch.allclose(view.layer("lora.000"), b @ a)


@pytest.mark.parametrize("suffix", ["safetensors", "pth"])
def test_samed_lora_with_its_decoder_weights(suffix, tmp_path):
    """SAMed saves its w_a_/w_b_ pairs beside every prompt-encoder and mask-decoder tensor of segment_anything's SAM
    state dict, buffers too (the prompt encoder's `pe_layer.positional_encoding_gaussian_matrix`): a custom LoRA
    whose decoder names say Segment Anything, whether saved with torch.save (SAMed's `.pth`) or safetensors."""
    from hfprobe.tree.inspect import inspect_source

    t = {f"w_{r}_{i:03d}": torch.zeros(4, 768) if r == "a" else torch.zeros(768, 4) for i in range(24) for r in "ab"}
    t["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"] = torch.zeros(2, 128)  # a buffer, no .weight
    t["prompt_encoder.point_embeddings.0.weight"] = torch.zeros(1, 256)
    t["prompt_encoder.mask_downscaling.0.weight"] = torch.zeros(4, 1, 2, 2)
    t["mask_decoder.iou_token.weight"] = torch.zeros(1, 256)
    t["mask_decoder.transformer.layers.0.self_attn.q_proj.weight"] = torch.zeros(256, 256)
    t["mask_decoder.transformer.layers.0.self_attn.q_proj.bias"] = torch.zeros(256)
    t["mask_decoder.output_upscaling.0.weight"] = torch.zeros(256, 64, 2, 2)
    path = tmp_path / f"epoch_159.{suffix}"
    save_file(t, str(path)) if suffix == "safetensors" else torch.save(t, path)
    view = open_weights(path)
    assert view.format == "custom-lora" and sum(m.kind == "lora" for m in view.modules.values()) == 24
    assert "mask_decoder.transformer.layers.0.self_attn.q_proj" in view.modules
    report = inspect_source(str(path))
    assert (report["kind"], report["family"], report["root"]["id"]) == ("adapter", "sam", "facebook/sam-vit-base")


def test_lora_vit_saved_with_its_classifier_head(tmp_path):
    """LoRA-ViT's `save_lora_parameters` writes the w_a_/w_b_ pairs and the classifier head it trained, as
    `fc_<in>in_<out>out`: once an 'unknown weights layout', now a custom LoRA on a ViT whose head is noted."""
    from hfprobe.tree.inspect import inspect_source

    t = {f"w_{r}_{i:03d}": torch.zeros(4, 768) if r == "a" else torch.zeros(768, 4) for i in range(24) for r in "ab"}
    t["fc_768in_101out"] = torch.zeros(101, 768)
    save_file(t, str(tmp_path / "lora.safetensors"))
    view = open_weights(tmp_path / "lora.safetensors")
    assert view.format == "custom-lora" and sum(m.kind == "lora" for m in view.modules.values()) == 24
    assert "fc_768in_101out: the classifier head trained with it, 101 classes on 768 features" in view.notes
    report = inspect_source(str(tmp_path / "lora.safetensors"))
    assert (report["kind"], report["family"]) == ("adapter", "vit")
    assert {c["id"] for c in report["root"]["candidates"]} >= {"google/vit-base-patch16-224"}


@pytest.mark.parametrize(
    "call, written",
    [("ViT('B_16_imagenet1k')", "google/vit-base-patch16-384"), ("ViT('B_16')", "google/vit-base-patch16-224-in21k")],
)
def test_lora_vit_s_readme_names_the_pretrained_vit(call, written, tmp_path):
    """LoRA-ViT's README builds its ViT with lukemelas' names: `B_16_imagenet1k` is ViT-B/16 fine-tuned on
    ImageNet-1k at 384 px (google/vit-base-patch16-384; it was written as the 224 px fine-tune), `B_16` the
    ImageNet-21k checkpoint."""
    from hfprobe.tree.inspect import inspect_source

    t = {f"w_{r}_{i:03d}": torch.zeros(4, 768) if r == "a" else torch.zeros(768, 4) for i in range(24) for r in "ab"}
    save_file(t, str(tmp_path / "lora.safetensors"))
    (tmp_path / "README.md").write_text(f"```python\nmodel = {call}\nlora_model = LoRA_ViT(model, r=4)\n```\n")
    assert inspect_source(str(tmp_path))["base_model"]["id"] == written


class _LoRALayer(torch.nn.Module):  # LoRA-ViT's: the Linear it wraps plus w_b(w_a(x)), no scaling
    def __init__(self, w: torch.nn.Linear, r: int):
        super().__init__()
        self.w, self.w_a = w, torch.nn.Linear(w.in_features, r, bias=False)
        self.w_b = torch.nn.Linear(r, w.out_features, bias=False)

    def forward(self, x):
        return self.w(x) + self.w_b(self.w_a(x))


class _LoRAqkv(torch.nn.Module):  # SAMed's `_LoRA_qkv` (and LoRA-ViT's for timm): LoRA on the q and v slices
    def __init__(self, dim: int, r: int):
        super().__init__()
        self.qkv = torch.nn.Linear(dim, 3 * dim)
        self.linear_a_q, self.linear_b_q = torch.nn.Linear(dim, r, bias=False), torch.nn.Linear(r, dim, bias=False)
        self.linear_a_v, self.linear_b_v = torch.nn.Linear(dim, r, bias=False), torch.nn.Linear(r, dim, bias=False)


def test_lora_vit_and_samed_layers_saved_inside_the_whole_model(tmp_path):
    """`torch.save(model.state_dict())` of a LoRA-ViT or SAMed model keeps each LoRA layer under the module it
    replaced: `<layer>.w` + `.w_a` / `.w_b`, or a fused `<qkv>.qkv` + `linear_a_q` / `linear_b_q` / `_v`. They were
    read as a transformers checkpoint of full modules, `proj_q.w_a` among them; now a custom LoRA: each
    `_LoRALayer` a LoRA under its Linear's name whose ΔW is the one its forward adds, each `_LoRA_qkv` a merged
    LoRA at the fused qkv's size, the wrapped weights under their layers' names."""
    torch.manual_seed(0)
    model = torch.nn.Module()
    model.proj_q = _LoRALayer(torch.nn.Linear(16, 16), r=2)
    model.proj_k = torch.nn.Linear(16, 16)
    model.qkv = _LoRAqkv(16, r=2)
    for lin in (model.proj_q.w_b, model.qkv.linear_b_q):  # (both start at zero in the projects' code)
        torch.nn.init.normal_(lin.weight)
    save_file(
        {f"blocks.0.attn.{k}": v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "m.safetensors")
    )
    view = open_weights(tmp_path / "m.safetensors")
    assert view.format == "custom-lora"
    lora = view.modules["blocks.0.attn.proj_q"]
    assert (lora.kind, lora.rank, lora.d_out, lora.d_in, lora.scale) == ("lora", 2, 16, 16, 1.0)
    x = torch.randn(3, 16)
    with torch.no_grad():
        torch.testing.assert_close(x @ view.layer("blocks.0.attn.proj_q").T, model.proj_q(x) - model.proj_q.w(x))
    assert view.modules["blocks.0.attn.proj_k"].kind == "full"
    qkv = view.modules["blocks.0.attn.qkv"]
    assert (qkv.kind, qkv.rank, qkv.d_out, qkv.d_in, qkv.merged_groups) == ("lora", 2, 48, 16, 2)
    with pytest.raises(LayerNotFoundError, match="merged LoRA"):
        view.layer("blocks.0.attn.qkv")
    assert not any(".w_" in n or "linear_" in n or n.endswith((".w", ".qkv.qkv")) for n in view.modules)


@pytest.mark.parametrize("layout", ["lora-vit", "samed"])
def test_whole_lora_vit_and_samed_models_name_their_family(layout, tmp_path):
    """At a real ViT-B's sizes: LoRA-ViT's whole model (lukemelas' names under `lora_vit.`) is an adapter on a ViT
    with its classifier head; SAMed's (`sam.image_encoder.blocks.N.attn.qkv.qkv`) a Segment Anything adapter,
    where its fused qkv names had left the family at 0.5."""
    from hfprobe.tree.inspect import inspect_source

    t = {}
    for i in range(12):
        if layout == "lora-vit":
            p = f"lora_vit.transformer.blocks.{i}."
            for q in "qkv":
                t[p + f"attn.proj_{q}.{'w.' if q != 'k' else ''}weight"] = ("F32", (768, 768))
            for q in "qv":
                t[p + f"attn.proj_{q}.w_a.weight"], t[p + f"attn.proj_{q}.w_b.weight"] = (
                    ("F32", (4, 768)),
                    ("F32", (768, 4)),
                )
            t[p + "pwff.fc1.weight"], t[p + "pwff.fc2.weight"] = ("F32", (3072, 768)), ("F32", (768, 3072))
        else:
            p = f"sam.image_encoder.blocks.{i}.attn."
            t[p + "qkv.qkv.weight"], t[p + "proj.weight"] = ("F32", (2304, 768)), ("F32", (768, 768))
            for q in "qv":
                t[p + f"qkv.linear_a_{q}.weight"], t[p + f"qkv.linear_b_{q}.weight"] = (
                    ("F32", (4, 768)),
                    ("F32", (768, 4)),
                )
            t[f"sam.image_encoder.blocks.{i}.mlp.lin1.weight"] = ("F32", (3072, 768))
    if layout == "lora-vit":
        t["lora_vit.fc.weight"] = ("F32", (10, 768))
    else:
        t["sam.mask_decoder.iou_prediction_head.layers.0.weight"] = ("F32", (256, 256))
    B.write_header(tmp_path / "model.safetensors", t, data=False)
    report = inspect_source(str(tmp_path / "model.safetensors"))
    assert (report["format"], report["kind"]) == ("custom-lora", "adapter")
    if layout == "lora-vit":
        assert (report["family"], report["head"]["module"], report["head"]["outputs"]) == ("vit", "lora_vit.fc", 10)
    else:
        assert (report["family"], report["family_confidence"]) == ("sam", 1.0)
        assert report["root"]["id"] == "facebook/sam-vit-base"


# ViTs saved in the layouts of the code bases research projects build on: lukemelas' PyTorch-Pretrained-ViT (LoRA-ViT's
# base, `ViT('B_16_imagenet1k')`) and ViT-pytorch (jeonsworld's; VPT's backbone, with VPT's prompts beside it). A
# fine-tune saved whole in either was family unknown: no pattern knew their names.
VIT_LAYOUTS = {
    "pytorch-pretrained-vit": (
        "transformer.blocks.{i}.", ("attn.proj_q", "attn.proj_k", "attn.proj_v", "proj"), "pwff",
        {"patch_embedding.weight": ("F32", (768, 3, 16, 16)), "class_token": ("F32", (1, 1, 768)),
         "positional_embedding.pos_embedding": ("F32", (1, 197, 768)), "fc.weight": ("F32", (101, 768))},
    ),
    "vit-pytorch": (
        "transformer.encoder.layer.{i}.", ("attn.query", "attn.key", "attn.value", "attn.out"), "ffn",
        {"transformer.embeddings.patch_embeddings.weight": ("F32", (768, 3, 16, 16)),
         "transformer.embeddings.position_embeddings": ("F32", (1, 197, 768)),
         "head.weight": ("F32", (101, 768)), "prompt_embeddings": ("F32", (1, 50, 768)),
         "deep_prompt_embeddings": ("F32", (11, 50, 768))},
    ),
}  # fmt: skip


@pytest.mark.parametrize("layout", sorted(VIT_LAYOUTS))
def test_a_vit_fine_tune_in_a_research_code_base_s_names_is_a_vit(layout, tmp_path):
    from hfprobe.tree.inspect import inspect_source
    from tests.builders import write_header

    block, attention, mlp, t = VIT_LAYOUTS[layout]
    for i in range(12):
        for m in attention:
            t[f"{block.format(i=i)}{m}.weight"] = ("F32", (768, 768))
        t[f"{block.format(i=i)}{mlp}.fc1.weight"] = ("F32", (3072, 768))
        t[f"{block.format(i=i)}{mlp}.fc2.weight"] = ("F32", (768, 3072))
    write_header(tmp_path / "finetuned.safetensors", t, data=False)
    report = inspect_source(str(tmp_path))
    assert report["family"] == "vit" and report["family_confidence"] >= 0.9
    assert report["root"]["id"].startswith("google/vit-base-patch16-224") and report["head"]["outputs"] == 101
