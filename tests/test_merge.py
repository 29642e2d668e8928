"""A merge (mergekit): its recipe read, its card's base_model the models it merged, its relation `merge`.

The weights are Qwen2.5-0.5B's shapes, built by transformers on the meta device and written as a safetensors header
whose data is a sparse run of zeros (annotate refuses a file cut short). Before: a merge was a fine-tune (its card got
`base_model_relation: finetune` and one root), and a merged model the registry lacks led the candidates as if it were
a foundation model.
"""

from __future__ import annotations

import json
import os

import pytest
import torch
from huggingface_hub import ModelCard

from hfprobe.cards.annotate import annotate_folder
from hfprobe.tree.inspect import format_report, inspect_source
from hfprobe.tree.merge import merge_recipe
from tests.builders import sparse_folder, write_header
from tests.model_shapes import LLM_CONFIGS

BASE, INSTRUCT = "Qwen/Qwen2.5-0.5B", "Qwen/Qwen2.5-0.5B-Instruct"
TUNE = "someone/qwen2.5-0.5b-math-sft"  # a fine-tune the registry does not know
MERGED = [BASE, INSTRUCT, TUNE, "someone/math-lora"]  # the LoRA applied to TUNE before merging too, as mergekit's card

RECIPE = f"""models:
  - model: {INSTRUCT}
    parameters: {{density: 0.5, weight: 0.5}}
  - model: {TUNE}+someone/math-lora
    parameters: {{density: 0.5, weight: 0.5}}
  - model: ./local/checkpoint-300
merge_method: ties
base_model: {BASE}@main
dtype: bfloat16
"""


def qwen_header(**changes) -> dict:
    from transformers import AutoConfig, AutoModelForCausalLM

    model_type, kwargs, _ = LLM_CONFIGS["qwen2"]
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(model_type, **{**kwargs, **changes}))
    return {k: ("BF16", tuple(v.shape)) for k, v in model.state_dict().items() if k != "lm_head.weight"}  # (tied)


@pytest.fixture(scope="module")
def header() -> dict:
    return qwen_header()


def merge_folder(path, header, recipe: str | None = RECIPE, card: str | None = "# my merge\n\nA TIES merge.\n"):
    config = json.dumps({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]})
    return sparse_folder(path, header, {"config.json": config, "mergekit_config.yml": recipe, "README.md": card})


def test_a_recipe_names_the_hub_models_it_merged():
    r = merge_recipe({"mergekit_config.yml": RECIPE})
    assert (r["method"], r["base_model"], r["source"]) == ("ties", BASE, "mergekit_config.yml")
    assert r["models"] == MERGED and r["unnamed"] == 1  # revisions dropped, the LoRA listed; a path counted
    slices = "slices:\n  - sources:\n      - model: a/x\n        layer_range: [0, 24]\n      - model: {model: b/y}\n"
    r = merge_recipe({"mergekit_config.yml": slices + "merge_method: slerp\nbase_model: a/x\n"})
    assert (r["method"], r["models"]) == ("slerp", ["a/x", "b/y"])
    assert merge_recipe({"mergekit_config.yml": "models: [a/x]\n"}) is None  # no merge_method: no recipe
    assert merge_recipe({"mergekit_config.yml": "merge_method: [\n"}) is None  # not YAML


def test_mergekit_s_card_carries_its_recipe_where_the_file_is_gone():
    card = f"---\nbase_model: [{BASE}]\ntags: [mergekit, merge]\n---\n# m\n\n```yaml\n{RECIPE}```\n"
    assert merge_recipe({"README.md": card})["source"] == "README.md recipe"
    untagged = card.replace("tags: [mergekit, merge]", "tags: [text-generation]")
    assert merge_recipe({"README.md": untagged}) is None  # a YAML block in any card is no recipe


def test_a_merge_s_card_names_every_model_it_merged(tmp_path, header):
    folder = merge_folder(tmp_path / "m", header)
    report = inspect_source(str(folder))
    assert report["kind"] == "merge" and report["merge"]["models"] == MERGED
    assert report["root"]["id"] in (BASE, INSTRUCT) and report["base_model"]["merged"] == MERGED
    assert report["base_model"]["status"] == "declared"  # the recipe's `base_model: …@main` is that model
    assert "ties of" in format_report(report)
    assert annotate_folder(folder, today="2026-12-05").status == "annotated"
    data = ModelCard.load(folder / "README.md").data
    assert (data.base_model, data.base_model_relation) == (MERGED, "merge")  # as mergekit's own card lists them
    assert data.to_dict()["hfprobe"]["relation"] == "merge"
    assert "A TIES merge." in (folder / "README.md").read_text()  # the author's words kept
    assert annotate_folder(folder, today="2026-12-06").status == "unchanged"


def test_a_recipe_naming_a_model_the_weights_rule_out_writes_nothing(tmp_path, header):
    recipe = RECIPE.replace(INSTRUCT, "meta-llama/Llama-3.2-1B")  # 2048 wide, 16 layers: not these weights
    folder = merge_folder(tmp_path / "m", header, recipe)
    report = inspect_source(str(folder))
    decision = report["base_model"]
    assert decision["status"] == "contradicted" and "Llama-3.2-1B" in decision["reason"]
    assert report["conflict_codes"] == ["mergekit-config-yml-shapes"] and report["declared"]["agrees"] is False
    assert not decision.get("merged") and not decision["id"]
    annotate_folder(folder, today="2026-12-05")
    assert ModelCard.load(folder / "README.md").data.base_model is None


def test_a_merge_of_models_nothing_places_gets_no_base_model(tmp_path, header):
    recipe = "models:\n  - model: a/first-tune\n  - model: b/second-tune\nmerge_method: slerp\n"
    report = inspect_source(str(merge_folder(tmp_path / "m", header, recipe)))
    assert report["kind"] == "merge" and not report["base_model"].get("merged")
    assert "the registry lacks" in report["base_model"]["reason"]
    assert report["root"]["id"] in (BASE, INSTRUCT)  # the weights' root leads, not a merged fine-tune's name


def test_a_merged_fine_tune_the_card_lists_is_no_root_of_its_own(tmp_path, header):
    card = f"---\nbase_model:\n- {INSTRUCT}\n- {TUNE}\ntags: [mergekit, merge]\n---\n# m\n"
    folder = merge_folder(tmp_path / "m", header, RECIPE.replace(f"base_model: {BASE}@main\n", ""), card)
    report = inspect_source(str(folder))
    assert report["root"]["id"] in (BASE, INSTRUCT) and TUNE not in [c["id"] for c in report["root"]["candidates"]]
    annotate_folder(folder, today="2026-12-05")
    data = ModelCard.load(folder / "README.md").data
    assert data.base_model == [INSTRUCT, TUNE] and "base_model_relation" not in data.to_dict()  # the author's, kept
    assert f"base_model:\n- {INSTRUCT}\n- {TUNE}\n" in (folder / "README.md").read_text()  # its lines untouched


def test_a_merge_whose_card_names_one_model_gets_the_relation_the_hub_cannot_infer(tmp_path, header):
    card = f"---\nbase_model: {BASE}\nlicense: apache-2.0\n---\n# a merge\n"  # one base: a fine-tune, to the Hub
    folder = merge_folder(tmp_path / "m", header, card=card)
    annotate_folder(folder, today="2026-12-05")
    text = (folder / "README.md").read_text()
    data = ModelCard(text).data
    assert (data.base_model, data.base_model_relation) == (BASE, "merge")
    assert text.startswith(f"---\nbase_model: {BASE}\nlicense: apache-2.0\n")  # the author's lines as they were


def test_a_card_tagged_merge_that_names_several_bases_is_a_merge_without_its_recipe(tmp_path, header):
    card = f"---\nbase_model:\n- {INSTRUCT}\n- {TUNE}\ntags: [merge]\n---\n# m\n"  # mergekit's card, its recipe gone
    report = inspect_source(str(merge_folder(tmp_path / "m", header, recipe=None, card=card)))
    assert report["kind"] == "merge" and report["merge"]["source"] == "README.md base_model"
    assert report["root"]["id"] in (BASE, INSTRUCT)  # the merged fine-tune the registry lacks is no foundation model
    untagged = card.replace("tags: [merge]", "tags: [text-generation]")
    assert inspect_source(str(merge_folder(tmp_path / "u", header, recipe=None, card=untagged)))["merge"] is None


def test_a_model_without_a_recipe_is_no_merge(tmp_path, header):
    report = inspect_source(str(merge_folder(tmp_path / "m", header, recipe=None)))
    assert report["kind"] == "checkpoint" and report["merge"] is None and "merged" not in report["base_model"]


@pytest.mark.parametrize(
    "text",
    [
        "merge_method: ties\nmodels: 5\nslices: [{sources: 7}, 3, {sources: [x, {model: [1]}]}]\nbase_model: {}\n",
        "merge_method: [slerp]\nbase_model: a/b\n",
        "merge_method: ties\nmodels: [{model: {model: {path: [1]}}}, {model: a/b+c/d@e}]\n",
    ],
)
def test_a_hostile_recipe_is_read_within_bounds_or_not_at_all(text):
    r = merge_recipe({"mergekit_config.yml": text})
    assert r is None or all(isinstance(m, str) for m in r["models"])


def test_a_passthrough_merge_is_deeper_than_its_models_by_design(tmp_path):
    recipe = (
        f"slices:\n  - sources:\n    - model: {INSTRUCT}\n      layer_range: [0, 18]\n"
        f"  - sources:\n    - model: {TUNE}\n      layer_range: [6, 24]\nmerge_method: passthrough\n"
    )
    report = inspect_source(str(merge_folder(tmp_path / "m", qwen_header(num_hidden_layers=36), recipe)))
    assert report["root"]["id"] in (BASE, INSTRUCT) and report["conflicts"] == []  # 36 blocks rule out no Qwen2.5
    assert report["base_model"]["merged"] == [INSTRUCT, TUNE]
    # with no recipe, its config.json's architecture (qwen2) places it, a stack deeper than its roots (see
    # tests/test_deeper_stacks.py), which the weights alone do not name, and no merge
    plain = inspect_source(str(merge_folder(tmp_path / "p", qwen_header(num_hidden_layers=36), recipe=None)))
    assert plain["root"]["id"] in (BASE, INSTRUCT) and plain["conflicts"] == [] and plain["kind"] == "checkpoint"
    assert plain["base_model"]["id"] is None and "merged" not in plain["base_model"]


# ---------------------------------------------------------------- a checkpoint merger's record in the header

SD15_FILE = "6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa"  # v1-5-pruned-emaonly.safetensors


def header_merge(path, shapes: dict, metadata: dict):
    """A single-file checkpoint (or LoRA) whose header holds `metadata`, its data a sparse run of zeros."""
    import struct

    path.mkdir(parents=True)
    head, offset = {"__metadata__": {"format": "pt", **metadata}}, 0
    for key, shape in shapes.items():
        n = 2 * int(torch.tensor(shape).prod()) if shape else 2
        head[key] = {"dtype": "F16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(head).encode()
    blob += b" " * (-len(blob) % 8)
    weights = path / "merged.safetensors"
    weights.write_bytes(struct.pack("<Q", len(blob)) + blob)
    os.truncate(weights, 8 + len(blob) + offset)
    return path


def webui_record(*models: tuple[str, str]) -> dict:
    """What AUTOMATIC1111's checkpoint merger writes: how, and each model merged by its file's SHA-256."""
    recipe = {"type": "webui", "interp_method": "Weighted sum", "multiplier": 0.3, "primary_model_hash": models[0][0]}
    merged = {sha: {"name": name, "legacy_hash": sha[:8], "sd_merge_recipe": None} for sha, name in models}
    return {"sd_merge_recipe": json.dumps(recipe), "sd_merge_models": json.dumps(merged)}


def test_a_checkpoint_merger_s_record_names_the_models_merged(tmp_path):
    from tests.single_file import sd_single_file

    record = webui_record((SD15_FILE, "v1-5-pruned-emaonly.safetensors"), ("ab" * 32, "dreamshaper_8.safetensors"),
                          ("cd" * 32, "myPrivateMix_v3.safetensors [0123456789]"))  # fmt: skip
    folder = header_merge(tmp_path / "m", sd_single_file("sd1"), record)
    report = inspect_source(str(folder))
    assert report["kind"] == "merge" and report["merge"]["method"] == "Weighted sum"
    merged = ["stable-diffusion-v1-5/stable-diffusion-v1-5", "Lykon/dreamshaper-8"]  # by its hash; by its file's name
    assert report["merge"]["models"] == merged and report["merge"]["unnamed"] == 1
    assert report["base_model"]["merged"] == merged
    annotate_folder(folder, today="2026-12-05")
    data = ModelCard.load(folder / "README.md").data
    assert (data.base_model, data.base_model_relation) == (merged, "merge")


def test_a_merge_record_naming_another_architecture_is_a_conflict(tmp_path):
    from tests.single_file import sd_single_file

    record = {"modelspec.merged_from": "sd_xl_base_1.0.safetensors, someMix_v2.safetensors"}  # sd-scripts' record
    report = inspect_source(str(header_merge(tmp_path / "m", sd_single_file("sd1"), record)))
    assert report["family"] == "sd1" and report["base_model"]["status"] == "contradicted"
    assert "stabilityai/stable-diffusion-xl-base-1.0" in report["conflicts"][-1]


def test_a_lora_merged_from_loras_keeps_its_base(tmp_path):
    lora = {f"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.{m}": s
            for m, s in (("lora_down.weight", (8, 768)), ("lora_up.weight", (320, 8)))}  # fmt: skip
    record = {"modelspec.merged_from": "v1-5-pruned-emaonly.safetensors, dreamshaper_8.safetensors"}
    report = inspect_source(str(header_merge(tmp_path / "m", lora, record)))
    assert report["kind"] == "adapter" and report["merge"]["source"] == "header modelspec.merged_from"
    assert "merged" not in report["base_model"]  # an adapter's base is what it adapts, not what it was merged from


@pytest.mark.parametrize(
    "metadata",
    [
        {"sd_merge_models": "[" * 20000 + "]" * 20000},  # deeper than json's parser goes: RecursionError
        {"sd_merge_models": '{"a": {"name": "v1-5-pruned-emaonly"}}', "sd_merge_recipe": "[" * 20000 + "]" * 20000},
        {"sd_merge_models": '{"a": 5, "b": {"name": 7}}'},
        {"modelspec.merged_from": ", ".join(["a.safetensors"] * 5000)},
        {"prompt": '{"1": {"class_type": "ModelMergeSimple", "inputs": []}, "2": [1], "3": {"class_type": 7}}'},
        {"prompt": json.dumps({str(i): {"class_type": "ModelMergeAdd", "inputs": {}} for i in range(3000)})},
    ],
)
def test_a_hostile_merge_record_is_read_within_bounds_or_not_at_all(metadata):
    r = merge_recipe({}, metadata)
    assert r is None or (len(r["models"]) <= 16 and r["unnamed"] <= 64)


# ---------------------------------------------------------------- from the Hub (a server on 127.0.0.1)


def gpt2_weights(tmp_path) -> bytes:
    import transformers as tf

    with torch.device("meta"):
        model = tf.GPT2LMHeadModel(tf.GPT2Config())
    shapes = {k: ("F16", tuple(v.shape)) for k, v in model.state_dict().items()}
    return write_header(tmp_path / "w.safetensors", shapes, data=False).read_bytes()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from tests.fakehub import FakeHub

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf_cache"))
    return FakeHub(tmp_path / "hub")


def test_a_hub_merge_s_recipe_is_read_and_cached(tmp_path, monkeypatch, hub):
    from huggingface_hub import constants

    recipe = "models:\n  - model: org/gpt2-poems\nmerge_method: task_arithmetic\nbase_model: openai-community/gpt2\n"
    hub.add_repo("org/gpt2-merge", {"model.safetensors": gpt2_weights(tmp_path), "mergekit_config.yml": recipe})
    with hub.serving():
        online = inspect_source("org/gpt2-merge")
        assert online["kind"] == "merge"
        assert online["base_model"]["merged"] == ["openai-community/gpt2", "org/gpt2-poems"]
        seen = len(hub.requests)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # the recipe, like the card, from the cache
        offline = inspect_source("org/gpt2-merge")
        assert len(hub.requests) == seen and offline["merge"] == online["merge"]


def test_a_merge_of_models_the_registry_lacks_is_placed_by_their_cards(tmp_path, hub):
    """A slerp of two fine-tunes nothing in the registry names: their cards on the Hub say what they were tuned
    from, as the Hub's model tree follows them; where that is a root the weights rule out, nothing is written."""
    recipe = "slices:\n  - sources:\n    - model: a/poems\n    - model: b/jokes\nmerge_method: slerp\n"
    hub.add_repo("a/poems", {"README.md": "---\nbase_model: openai-community/gpt2\n---\n# poems\n"})
    hub.add_repo("b/jokes", {"README.md": "---\nbase_model: a/poems\n---\n# jokes, tuned further\n"})
    hub.add_repo("c/merge", {"model.safetensors": gpt2_weights(tmp_path), "mergekit_config.yml": recipe})
    hub.add_repo("c/wrong", {"model.safetensors": gpt2_weights(tmp_path),
                             "mergekit_config.yml": recipe.replace("b/jokes", "d/big")})  # fmt: skip
    hub.add_repo("d/big", {"README.md": "---\nbase_model: openai-community/gpt2-large\n---\n"})
    with hub.serving():
        placed = inspect_source("c/merge")["base_model"]
        wrong = inspect_source("c/wrong")["base_model"]
    assert placed["merged"] == ["a/poems", "b/jokes"] and "by their model cards" in placed["reason"]
    assert wrong["status"] == "contradicted" and "gpt2-large" in wrong["reason"]  # 1280 wide: not these weights


def comfy_prompt(*nodes: tuple[str, dict]) -> dict:
    """The header ComfyUI's CheckpointSave writes: the graph that made the model (its API `prompt`), node by node."""
    return {"prompt": json.dumps({str(i): {"class_type": k, "inputs": v} for i, (k, v) in enumerate(nodes, 1)})}


def test_a_comfyui_merge_says_what_it_merged_and_a_comfyui_save_what_it_loaded(tmp_path):
    from tests.single_file import sd_single_file

    merged = comfy_prompt(
        ("CheckpointLoaderSimple", {"ckpt_name": "SD15/v1-5-pruned-emaonly.safetensors"}),
        ("CheckpointLoaderSimple", {"ckpt_name": "dreamshaper_8.safetensors"}),
        ("ModelMergeSimple", {"model1": ["1", 0], "model2": ["2", 0], "ratio": 0.6}),
        ("CheckpointSave", {"model": ["3", 0], "clip": ["1", 1], "vae": ["1", 2], "filename_prefix": "mix"}),
    )
    report = inspect_source(str(header_merge(tmp_path / "m", sd_single_file("sd1"), merged)))
    assert report["kind"] == "merge" and report["merge"]["source"] == "header prompt (ComfyUI)"
    assert report["merge"]["method"] == "ModelMergeSimple"
    assert report["base_model"]["merged"] == ["stable-diffusion-v1-5/stable-diffusion-v1-5", "Lykon/dreamshaper-8"]
    baked = comfy_prompt(
        ("CheckpointLoaderSimple", {"ckpt_name": "dreamshaper_8.safetensors"}),
        ("LoraLoader", {"model": ["1", 0], "clip": ["1", 1], "lora_name": "style.safetensors", "strength_model": 1}),
        ("CheckpointSave", {"model": ["2", 0], "clip": ["2", 1], "vae": ["1", 2], "filename_prefix": "baked"}),
    )
    report = inspect_source(str(header_merge(tmp_path / "b", sd_single_file("sd1"), baked)))
    assert report["kind"] == "checkpoint" and report["merge"] is None  # a LoRA baked into one checkpoint: no merge
    assert report["base_model"]["id"] == "Lykon/dreamshaper-8" and report["base_model"]["status"] == "declared"


def test_a_merge_of_a_repo_s_own_revisions_does_not_name_itself(tmp_path, hub):
    recipe = "models: [{model: c/self@v1}, {model: c/self@v2}, {model: openai-community/gpt2}]\nmerge_method: ties\n"
    hub.add_repo("c/self", {"model.safetensors": gpt2_weights(tmp_path), "mergekit_config.yml": recipe})
    with hub.serving():
        decision = inspect_source("c/self")["base_model"]
    assert decision["merged"] == ["openai-community/gpt2"]  # was c/self too: the Hub's tree would loop on itself
