"""A mixture of experts built from dense models (mergekit-moe's "frankenMoEs"), read as the dense model it was built
from; and a published mixture (Mixtral 8x7B) read as itself.

The weights are the published sizes (Mistral 7B's attention, each expert its MLP), built by transformers on the meta
device and saved under the names `save_pretrained` writes, as a safetensors header over a sparse run of zeros.
Before: a 4x7B of Mistral 7B fine-tunes fit no root ("no known root fits these shapes; family mixtral"), and its
recipe's base model, Mistral 7B, was a conflict ("… says mistralai/Mistral-7B-Instruct-v0.2, but the weights are
Mixtral"); a full Mixtral 8x7B had "3% of its parameters" in Mixtral's layers, its experts uncounted.
"""

from __future__ import annotations

import json

import pytest
import torch
from huggingface_hub import ModelCard

from hfprobe.cards.annotate import annotate_folder
from hfprobe.tree.inspect import inspect_source
from hfprobe.tree.merge import merge_recipe
from hfprobe.tree.mixture import dense_view
from tests.builders import sparse_folder
from tests.model_shapes import LLM_CONFIGS

BASE = "mistralai/Mistral-7B-Instruct-v0.2"
TUNES = ["teknium/OpenHermes-2.5-Mistral-7B", "meta-math/MetaMath-Mistral-7B"]  # fine-tunes the registry lacks
RECIPE = f"""base_model: {BASE}
gate_mode: hidden
dtype: bfloat16
experts:
  - source_model: {TUNES[0]}
    positive_prompts: ["chat", "assistant"]
  - source_model: {TUNES[1]}
    positive_prompts: ["math", "solve"]
  - source_model: {BASE}
    positive_prompts: ["instruct"]
"""


def mixtral_header(experts: int) -> dict:
    """A Mixtral of Mistral 7B's sizes with this many experts, under the names its files have."""
    from transformers import AutoModelForCausalLM, MixtralConfig
    from transformers.core_model_loading import revert_weight_conversion

    _, kwargs, _ = LLM_CONFIGS["mistral"]
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(MixtralConfig(**kwargs, num_local_experts=experts))
    return {k: ("BF16", tuple(v.shape)) for k, v in revert_weight_conversion(model, model.state_dict()).items()}


@pytest.fixture(scope="module")
def four() -> dict:
    return mixtral_header(4)


def mixture_folder(path, header: dict, recipe: str | None = RECIPE, card: str | None = "# my 3x7B\n"):
    config = json.dumps({"model_type": "mixtral", "architectures": ["MixtralForCausalLM"]})
    return sparse_folder(path, header, {"config.json": config, "mergekit_moe_config.yml": recipe, "README.md": card})


def test_a_mixture_is_read_by_its_first_expert_under_the_dense_names():
    moe = "model.layers.0.block_sparse_moe."
    view = dense_view([moe + f"experts.{e}.w{w}.weight" for e in (1, 2) for w in (1, 2, 3)] + [moe + "gate.weight"])
    assert view.experts == 2 and view.example == moe + "experts.1.w1.weight"
    assert sorted(view.names.values()) == [f"model.layers.0.mlp.{p}_proj.weight" for p in ("down", "gate", "up")]
    mistral = dense_view([f"layers.3.feed_forward.experts.{e}.w2" for e in (0, 1)] + ["layers.3.feed_forward.gate"])
    assert list(mistral.names.values()) == ["layers.3.feed_forward.w2"]  # Mistral's own names for its dense MLP
    qwen = [f"model.layers.0.mlp.experts.{e}.up_proj" for e in (0, 1)] + ["model.layers.0.mlp.gate"]
    qwen += ["model.layers.0.mlp.shared_expert.up_proj", "model.layers.0.mlp.shared_expert_gate"]
    assert list(dense_view(qwen).names.values()) == ["model.layers.0.mlp.up_proj"]  # routers, shared expert left out
    assert dense_view([moe + "experts.0.w1", "model.layers.0.mlp.gate_proj"]) is None  # one expert: no mixture
    assert dense_view(["model.layers.0.mlp.experts.gate_up_proj"]) is None  # fused: no expert to read alone


def test_mergekit_moe_s_recipe_names_the_experts_models():
    r = merge_recipe({"mergekit_moe_config.yml": RECIPE})
    assert (r["tool"], r["method"], r["base_model"]) == ("mergekit-moe", "moe", BASE)
    assert r["models"] == [BASE, *TUNES] and r["source"] == "mergekit_moe_config.yml"
    shared = RECIPE + "shared_experts:\n  - source_model: someone/shared\n"
    assert merge_recipe({"mergekit_moe_config.yml": shared})["models"] == [BASE, *TUNES, "someone/shared"]
    card = f"---\ntags: [moe, frankenmoe, merge, mergekit]\n---\n# x\n\n```yaml\n{RECIPE}```\n"
    assert merge_recipe({"README.md": card})["tool"] == "mergekit-moe"  # LazyMergekit's card: the recipe as a block
    assert merge_recipe({"mergekit_moe_config.yml": "experts: []\nbase_model: a/b\n"}) is None


def test_a_frankenmoe_is_placed_in_its_dense_model_s_tree_and_carded_as_a_merge(tmp_path, four):
    folder = mixture_folder(tmp_path / "moe", four)
    report = inspect_source(str(folder))
    assert report["kind"] == "merge" and report["family"] == "mistral" and not report["conflicts"]
    assert report["root"]["id"] == BASE and report["declared"]["agrees"] is True
    assert report["root"]["evidence"][0].startswith("a mixture of 4 experts per layer")
    assert report["base_model"]["merged"] == [BASE, *TUNES]
    assert annotate_folder(folder, today="2026-12-05").status == "annotated"
    data = ModelCard.load(folder / "README.md").data
    assert (data.base_model, data.base_model_relation) == ([BASE, *TUNES], "merge")


def test_a_frankenmoe_of_a_model_the_weights_rule_out_writes_nothing(tmp_path, four):
    recipe = RECIPE + "  - source_model: codellama/CodeLlama-7b-hf\n"  # LLaMA 2's sizes: no expert of these
    report = inspect_source(str(mixture_folder(tmp_path / "moe", four, recipe)))
    assert report["base_model"]["status"] == "contradicted" and "CodeLlama-7b-hf" in report["base_model"]["reason"]
    assert report["conflict_codes"] == ["mergekit-moe-config-yml-shapes"]


def test_a_mixture_no_published_mixtral_fits_is_its_dense_model_s_and_names_no_base_model(tmp_path, four):
    report = inspect_source(str(mixture_folder(tmp_path / "moe", four, recipe=None, card=None)))
    assert report["family"] == "mistral" and "no Mixtral root fits it" in report["root"]["evidence"][0]
    assert not report["conflicts"]  # its config.json's model_type, mixtral, is the mixture's architecture
    assert report["root"]["id"].startswith("mistralai/Mistral-7B") and report["base_model"]["id"] is None


@pytest.fixture(scope="module")
def eight() -> dict:
    return mixtral_header(8)


def test_mixtral_8x7b_is_itself_and_its_experts_count_as_its_layers(tmp_path, eight):
    report = inspect_source(str(mixture_folder(tmp_path / "moe", eight, recipe=None, card=None)))
    assert report["family"] == "mixtral" and report["family_confidence"] == 1.0
    assert report["root"]["tree"]["id"] == "mistralai/Mixtral-8x7B-v0.1"
    assert not any("of the parameters are in layers" in e for e in report["root"]["evidence"])
    tuned = mixture_folder(
        tmp_path / "tune", eight, recipe=None, card="---\nbase_model: mistralai/Mixtral-8x7B-v0.1\n---\n"
    )
    report = inspect_source(str(tuned))  # (a fine-tune of Mixtral: its dense reading has nothing to say)
    assert report["family"] == "mixtral" and report["base_model"]["id"] == "mistralai/Mixtral-8x7B-v0.1"


@pytest.mark.parametrize("tags", ["[moe, frankenmoe, merge]", "[merge]"])
def test_an_8x7b_frankenmoe_s_card_says_what_its_shapes_cannot(tags, tmp_path, eight):
    """Eight experts of Mistral 7B's MLP are Mixtral 8x7B's every shape. Its card, recipe gone, lists the dense
    models it was built from (LazyMergekit tags it `moe`): each was a conflict ("the weights are Mixtral") and nothing
    was written. Read as its dense model, they fit; without the tag, so that the metadata has fewer conflicts."""
    card = f"---\ntags: {tags}\nbase_model:\n- {TUNES[0]}\n- {TUNES[1]}\n- {BASE}\n---\n# 8x7B\n"
    report = inspect_source(str(mixture_folder(tmp_path / "moe", eight, recipe=None, card=card)))
    assert report["family"] == "mistral" and not report["conflicts"], report["conflicts"]
    assert report["base_model"]["merged"] == [*TUNES, BASE]


def test_eight_experts_of_llama_3_8b_are_llama_3_s_not_mixtral_s(tmp_path):
    """Llama 3 8B's MLP eight times over is Mixtral 8x7B's every shape but its 128,256-token vocabulary: the mixture
    was Mixtral's (its vocabulary "resized"); read by an expert, every size fits Llama 3 8B."""
    from transformers import AutoModelForCausalLM, MixtralConfig
    from transformers.core_model_loading import revert_weight_conversion

    _, kwargs, _ = LLM_CONFIGS["mistral"]
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(MixtralConfig(**{**kwargs, "vocab_size": 128256}, num_local_experts=8))
    header = {k: ("BF16", tuple(v.shape)) for k, v in revert_weight_conversion(model, model.state_dict()).items()}
    report = inspect_source(str(mixture_folder(tmp_path / "moe", header, recipe=None, card=None)))
    assert report["family"] == "llama" and report["root"]["id"].startswith("meta-llama/"), report["root"]
    assert "fits but for a resized embedding or its depth" in report["root"]["evidence"][0]
    assert not report["conflicts"] and report["base_model"]["id"] is None


def lora_of(header: dict, r: int = 8) -> dict:
    """A rank-r PEFT LoRA on every 2-D projection of a model's blocks (attention, each expert), PEFT's names."""
    out = {}
    for key, (dtype, shape) in header.items():
        if ".layers." in key and key.endswith("proj.weight") or ".experts." in key and len(shape) == 2:
            stem = "base_model.model." + key.removesuffix(".weight")
            out[stem + ".lora_A.weight"] = (dtype, (r, shape[1]))
            out[stem + ".lora_B.weight"] = (dtype, (shape[0], r))
    return out


@pytest.mark.parametrize(
    "base, conflict",
    [("someorg/Mistral-4x7B-MoE", False), ("someorg/Beyonder-llama-2x7b", False), ("someorg/mistral-7b-ft", True)],
)
def test_an_adapter_declaring_a_mixture_by_a_dense_model_s_name_is_no_conflict(base, conflict, tmp_path, four):
    """A LoRA on a frankenMoE's experts declares the mixture, which the registry lacks, by its Hub id: the id's
    words name Mistral (or LLaMA), its "4x7B" / "MoE" a mixture, which the weights' Mixtral experts are. It was a
    CONFLICT ("says someorg/Mistral-4x7B-MoE (Mistral), but the weights are Mixtral"); a dense model's name on a
    mixture's experts still is one."""
    assert any(".experts.3." in k for k in lora_of(four))
    config = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "base_model_name_or_path": base}
    folder = sparse_folder(tmp_path / "lora", lora_of(four), {"adapter_config.json": json.dumps(config)})
    report = inspect_source(str(folder))
    assert report["kind"] == "adapter" and report["family"] == "mixtral"
    assert bool(report["conflicts"]) is conflict, report["conflicts"]
    assert report["base_model"]["id"] is None
    if not conflict:
        assert report["base_model"]["status"] == "unchecked" and report["declared"].get("agrees") is not False


def test_a_mixture_of_another_expert_count_is_no_published_mixtral(tmp_path, four):
    """Mixtral's experts are counted: a mixture holds all of its own, and an adapter's target module names every
    expert of a layer alike. A LoRA on a 4x7B's experts was Mixtral 8x7B's (0.54, its tree 0.90). A full mixture of
    16 (its dense model's, as before) and a LoRA on all 8 of Mixtral's (Mixtral's) are the neighbours."""
    folder = sparse_folder(tmp_path / "lora", lora_of(four), {"adapter_config.json": json.dumps({"peft_type": "LORA"})})
    report = inspect_source(str(folder))
    assert report["family"] == "mixtral" and report["root"]["id"] is None, report["root"]
    assert any("4 experts per layer, mistralai/Mixtral-8x7B-v0.1 has 8" in e for e in report["root"]["evidence"])
    report = inspect_source(str(mixture_folder(tmp_path / "sixteen", mixtral_header(16), recipe=None, card=None)))
    assert report["family"] == "mistral" and "a mixture of 16 experts" in report["root"]["evidence"][0]
    assert report["root"]["id"].startswith("mistralai/Mistral-7B") and not report["conflicts"]
    eight = sparse_folder(tmp_path / "eight", lora_of(mixtral_header(8)), {"adapter_config.json": "{}"})
    assert inspect_source(str(eight))["root"]["tree"]["id"] == "mistralai/Mixtral-8x7B-v0.1"  # all 8: itself
