"""XLNet: xlnet/xlnet-base-cased and -large-cased, the base of many text classifiers since 2019. Its attention's
projections are parameters of [d_model, heads, head_dim] (`transformer.layer.N.rel_attn.q`, no `.weight`), beside
three biases [heads, head_dim] and a segment embedding per block; a LoRA can adapt its feed-forward only
(`ff.layer_1`, `ff.layer_2`). Models are built by transformers on the meta device at the published sizes and written
as header-only safetensors files.

Before: XLNet had no family: a fine-tune, its LoRA and the models themselves named no root.
"""

from __future__ import annotations

import pytest
import torch

from tests.model_shapes import candidate_ids as _ids
from tests.model_shapes import inspect_built

torch.set_num_threads(1)

SIZES = {  # d_model, layers, heads, d_inner
    "xlnet/xlnet-base-cased": dict(d_model=768, n_layer=12, n_head=12, d_inner=3072),
    "xlnet/xlnet-large-cased": dict(d_model=1024, n_layer=24, n_head=16, d_inner=4096),
}


def _xlnet(cls: str = "XLNetForSequenceClassification", **kw):
    import transformers as tf

    with torch.device("meta"):
        return getattr(tf, cls)(tf.XLNetConfig(**kw))


@pytest.mark.parametrize("root", sorted(SIZES))
@pytest.mark.parametrize("kind", ["checkpoint", "lora", "lm"])
def test_an_xlnet_fine_tune_names_its_base_from_its_weights(root, kind, tmp_path):
    if kind == "lm":
        report = inspect_built(_xlnet("XLNetLMHeadModel", **SIZES[root]), tmp_path)
    else:
        lora = ["layer_1", "layer_2"] if kind == "lora" else ()
        report = inspect_built(_xlnet(**SIZES[root], num_labels=3), tmp_path, lora=lora)
    assert report["family"] == "xlnet" and report["family_confidence"] == 1.0, report["root"]["evidence"]
    assert _ids(report) == [root]
    assert report["base_model"]["id"] == root and report["base_model"]["status"] == "weights"


def test_a_config_naming_the_legacy_id_is_written_as_it_spells_it(tmp_path):
    config = {"model_type": "xlnet", "_name_or_path": "xlnet-base-cased"}
    report = inspect_built(_xlnet(**SIZES["xlnet/xlnet-base-cased"], num_labels=2), tmp_path, config=config)
    assert report["base_model"]["id"] == "xlnet-base-cased" and not report["conflicts"]


def test_a_shallower_xlnet_is_not_named_as_the_full_model(tmp_path):
    """Six blocks at base's widths (a distilled or truncated XLNet): base's sizes, not its depth."""
    report = inspect_built(_xlnet("XLNetModel", **{**SIZES["xlnet/xlnet-base-cased"], "n_layer": 6}), tmp_path)
    assert report["family"] == "xlnet" and report["base_model"]["id"] is None


@pytest.mark.parametrize(
    "cls, config",
    [("DistilBertForSequenceClassification", "DistilBertConfig"), ("XLMForSequenceClassification", "XLMConfig")],
)
def test_other_transformer_layer_names_are_no_xlnet(cls, config, tmp_path):
    """DistilBERT keeps its blocks under `transformer.layer.N` too (`ffn.lin1`), XLM under `transformer.ffns.N`."""
    import transformers as tf

    with torch.device("meta"):
        model = getattr(tf, cls)(getattr(tf, config)())
    report = inspect_built(model, tmp_path)
    assert report["family"] != "xlnet" and not any(i.startswith("xlnet/") for i in _ids(report))
