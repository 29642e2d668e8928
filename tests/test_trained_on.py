"""What a model's card and training code say it was trained on (`tree.trained_on`): the datasets they name, reported
as declared (`report["datasets"]`, the text report's `data` line, the card's **Training data, as declared**). Before,
hfprobe read these files for the base model only, so a LoRA whose card says "fine-tuned on the
lambdalabs/naruto-blip-captions dataset" said nothing of it."""

from __future__ import annotations

import pytest

from hfprobe.cards.card import update_card
from hfprobe.tree.inspect import format_report, inspect_source
from hfprobe.tree.trained_on import declared_datasets, declared_prompts
from tests.builders import write_header

# the card diffusers' train_text_to_image_lora.py writes (its template's sentences, as of diffusers 0.42)
DIFFUSERS_CARD = """---
license: creativeml-openrail-m
base_model: runwayml/stable-diffusion-v1-5
datasets:
- lambdalabs/naruto-blip-captions
tags:
- stable-diffusion
- lora
---

# LoRA text2image fine-tuning - someone/naruto-lora
These are LoRA adaption weights for runwayml/stable-diffusion-v1-5. The weights were fine-tuned on the
lambdalabs/naruto-blip-captions dataset. You can find some example images in the following.
"""


@pytest.mark.parametrize(
    "texts, expected",
    [
        ({"README.md": DIFFUSERS_CARD}, [("lambdalabs/naruto-blip-captions", "README.md datasets")]),
        ({"README.md": "The weights were fine-tuned on the\nlambdalabs/naruto-blip-captions dataset."},
         [("lambdalabs/naruto-blip-captions", "README.md")]),
        ({"README.md": "Trained on [emotion](https://huggingface.co/datasets/emotion) (six emotions)."},
         [("emotion", "README.md")]),
        ({"train.py": 'ds = load_dataset("dair-ai/emotion")\nimdb = load_dataset(path="imdb", split="test")'},
         [("dair-ai/emotion", "train.py"), ("imdb", "train.py")]),
        ({"script.sh": 'export DATASET_NAME="Rapidata/text-2-image-Rich-Human-Feedback"\n--dataset_name=$DATASET_NAME'},
         [("Rapidata/text-2-image-Rich-Human-Feedback", "script.sh")]),
        ({"train.sh": '--dataset_name="lambdalabs/pokemon-blip-captions" --caption_column="text"'},
         [("lambdalabs/pokemon-blip-captions", "train.sh")]),
        # said by hand: quoted after "trained on" (a realzoo README's words), or labelled as the dataset
        ({"README.md": '## This is lora training(trained on "lambdalabs/naruto-blip-captions") and inference'},
         [("lambdalabs/naruto-blip-captions", "README.md")]),
        ({"README.md": "Fine-tuned on the `dair-ai/emotion` dataset."}, [("dair-ai/emotion", "README.md")]),
        ({"README.md": "Hugging face dataset : 'ppbrown/danbooru-cleaned'"},
         [("ppbrown/danbooru-cleaned", "README.md")]),
        ({"README.md": "Dataset: lambdalabs/naruto-blip-captions."},
         [("lambdalabs/naruto-blip-captions", "README.md")]),
        ({"config.yaml": 'base_model: "distilgpt2"\ntrain_dataset: "phuongsky/PSD2"\n'},
         [("phuongsky/PSD2", "config.yaml")]),
        # well-known datasets named in words (hfprobe/data/datasets.json), where the prose calls them its data
        ({"README.md": "Trained on the IMDB dataset."}, [("stanfordnlp/imdb", 'README.md "IMDB"')]),
        ({"README.md": "- **Dataset:** IMDB reviews (subset for faster experimentation)"},
         [("stanfordnlp/imdb", 'README.md "IMDB reviews"')]),
        ({"NOTES.md": "We fine-tuned ViT on Food-101 and evaluated it.\nIt was trained on CIFAR-10."},
         [("ethz/food101", 'NOTES.md "Food-101"'), ("uoft-cs/cifar10", 'NOTES.md "CIFAR-10"')]),
        # one dataset once: the link's legacy id and the words name the same one (a realzoo README)
        ({"README.md": "Hugging Face Emotions Dataset: used for training (https://huggingface.co/datasets/emotion)."},
         [("emotion", "README.md")]),
        # the Trainer's card: "… a fine-tuned version of X on the Y dataset", Y a Hub id or a well-known name
        ({"README.md": "This model is a fine-tuned version of [openai/whisper-small](https://h/whisper-small) on "
                       "the mozilla-foundation/common_voice_11_0 dataset.\nIt achieves the following results:"},
         [("mozilla-foundation/common_voice_11_0", "README.md")]),
        ({"README.md": "This model is a fine-tuned version of openai/whisper-small on the Common Voice 11.0 dataset."},
         [("mozilla-foundation/common_voice_11_0", 'README.md "Common Voice 11.0"')]),
        # axolotl's config, which its cards carry (collapsed) and its runs keep: the Hub ids under `datasets:`, not a
        # file's path, nor a `path:` of another key
        ({"README.md": "<details><summary>See axolotl config</summary>\n\n```yaml\nbase_model: m/Llama-3-8B"
                       "\ndatasets:\n  - path: mhenrichsen/alpaca_2k_test\n    type: alpaca\n  - path: data/extra.jsonl"
                       "\n    type: alpaca\noutput_dir: ./outputs/lora-out\n```\n</details>"},
         [("mhenrichsen/alpaca_2k_test", "README.md datasets: path")]),
        ({"config.yml": "datasets:\n- path: teknium/OpenHermes-2.5\n  type: sharegpt\nlora_model_dir:\n"
                        "wandb:\n  path: someone/project\n"}, [("teknium/OpenHermes-2.5", "config.yml")]),
    ],
)  # fmt: skip
def test_the_datasets_a_model_s_files_name(texts, expected):
    assert [(d["id"], d["source"]) for d in declared_datasets(texts)] == expected


@pytest.mark.parametrize(
    "readme",
    [
        'LoRA trained on "runwayml/stable-diffusion-v1-5".',  # a model the registry knows: the base, not the data
        "Dataset: stabilityai/stable-diffusion-2-1-base",
        "LoRA trained on someorg/some-model for 10 epochs.",  # unquoted, not called a dataset: perhaps a model
        "Trained on the Tigrinya news dataset.",  # a name, not a Hub id, and not one datasets.json knows
        "We fine-tuned it on emotion classification.",  # a known name, but the task, not the data
        "a model trained on alpaca-style prompts",
    ],
)
def test_models_and_bare_names_are_not_taken_for_datasets(readme):
    assert declared_datasets({"README.md": readme}) == []


def test_local_files_and_paths_are_no_datasets():
    texts = {
        "train.py": 'load_dataset("imagefolder", data_dir="./images")\nload_dataset("json", data_files="d.json")\n'
        'load_dataset("./my_data")',
        "run.sh": '--dataset_name="path_to_training_dataset" --train_data_dir=/content/data',
        "README.md": "Trained on my own photos.",
    }
    assert declared_datasets(texts) == []


def test_inspect_and_the_card_say_the_declared_data(tmp_path):
    tensors = {}
    for i in range(2):  # an SD 1.x LoRA's cross-attention keys: SD 1.x's 768-wide text
        key = f"unet.down_blocks.0.attentions.{i}.transformer_blocks.0.attn2.to_k"
        tensors[f"{key}.lora_A.weight"], tensors[f"{key}.lora_B.weight"] = ("F32", (4, 768)), ("F32", (320, 4))
    write_header(tmp_path / "pytorch_lora_weights.safetensors", tensors)
    (tmp_path / "README.md").write_text(DIFFUSERS_CARD)
    report = inspect_source(str(tmp_path))
    assert report["datasets"] == [{"id": "lambdalabs/naruto-blip-captions", "source": "README.md datasets"}]
    assert "  data     declared: lambdalabs/naruto-blip-captions (README.md datasets)" in format_report(report)
    card = update_card(DIFFUSERS_CARD, report, today="2026-12-03").text
    assert "**Training data, as declared:** lambdalabs/naruto-blip-captions (README.md datasets)." in card


# the prompts a run trained or sampled with: diffusers' DreamBooth card keeps `instance_prompt` in its YAML, a
# project's README or script passes `--instance_prompt` / `--validation_prompt`, kohya's header counts caption tags
KOHYA_DATASETS = (
    '[{"is_dreambooth": true, "subsets": [{"image_dir": "10_sks woman", "class_tokens": "sks woman"}], '
    '"tag_frequency": {"10_sks woman": {"sks woman": 20, "smiling": 5, "outdoors": 7}}}]'
)


@pytest.mark.parametrize(
    "texts, metadata, expected",
    [
        ({"README.md": "---\ninstance_prompt: a photo of sks dog\ntags: [lora]\n---\n# LoRA DreamBooth\n"}, None,
         [("a photo of sks dog", "README.md instance_prompt")]),
        ({"README.md": '```\naccelerate launch train_text_to_image_lora.py \\\n'
                       '  --validation_prompt="A lion is walking" \\\n  --seed=1337\n```'},
         None,  # a realzoo README's (its subject: lions)
         [("A lion is walking", "README.md --validation_prompt")]),
        ({"train.sh": "--instance_prompt 'photo of zwx man' --validation_prompt=$VALIDATION_PROMPT"}, None,
         [("photo of zwx man", "train.sh --instance_prompt")]),
        ({"config.yaml": "instance_prompt: 'photo of TOK person'  # the trigger\nvalidation_prompt: TOK on a beach\n"},
         None,
         [("photo of TOK person", "config.yaml instance_prompt"), ("TOK on a beach", "config.yaml validation_prompt")]),
        ({"run.sh": 'export INSTANCE_PROMPT="a photo of sks cat"'}, None,
         [("a photo of sks cat", "run.sh instance_prompt")]),
        ({}, {"ss_tag_frequency": '{"10_cat": {"cat": 12, "sitting": 3, "grass": 4}}'},
         [("cat", "header ss_tag_frequency folder names"), ("cat, grass, sitting", "header ss_tag_frequency")]),
        # kohya's folders are `<repeats>_<token> <class>`; uncaptioned, the folder names are all the header keeps
        ({}, {"ss_dataset_dirs": '{"10_sks dog": {"n_repeats": 10, "img_count": 12}, "reg": {"n_repeats": 1}}'},
         [("sks dog", "header ss_dataset_dirs folder names")]),
        ({}, {"ss_datasets": KOHYA_DATASETS},
         [("sks woman", "header ss_datasets class_tokens"),
          ("sks woman, outdoors, smiling", "header ss_datasets tag_frequency")]),
        # the Hub's inference widget, as ai-toolkit's and diffusers' cards fill it; a widget entry without text is none
        ({"README.md": "---\nwidget:\n- text: a TOK cat on a sofa\n  output:\n    url: images/0.png\n- output: x\n"
                       "- text: TOK dog\n---\n# LoRA\n"}, None,
         [("a TOK cat on a sofa", "README.md widget"), ("TOK dog", "README.md widget")]),
        # the Hub's LoRA card template says the trigger in prose (a card of a run without one says "None")
        ({"README.md": "# vintage ads\n\n## Trigger words\n\nYou should use `a vintage ad of` to trigger the image "
                       "generation.\n"}, None,
         [("a vintage ad of", "README.md trigger words")]),
        ({"README.md": "## Trigger words\n\nYou should use sks dog to trigger the image generation.\n"
                       "You should use None to trigger the image generation.\n"}, None,
         [("sks dog", "README.md trigger words")]),
        ({}, {"modelspec.trigger_phrase": "nrt style", "ss_tag_frequency": '{"5_nrt": {"nrt style": 9}}'},
         [("nrt style", "header modelspec.trigger_phrase"), ("nrt", "header ss_tag_frequency folder names")]),
    ],
)  # fmt: skip
def test_the_prompts_a_model_s_files_name(texts, metadata, expected):
    assert [(p["text"], p["source"]) for p in declared_prompts(texts, metadata)] == expected


def test_code_that_only_handles_prompts_declares_none():
    code = (
        'parser.add_argument("--instance_prompt", type=str, default=None, help="the prompt")\n'
        "pipe(prompt=args.instance_prompt)\nbuild(instance_prompt=instance_prompt)\n"
        'instance_prompt = f"a photo of {token}"\n'
    )
    metadata = {"ss_tag_frequency": "not json", "ss_datasets": '{"not": "a list"}'}
    assert declared_prompts({"train.py": code, "run.sh": "--instance_prompt=$PROMPT"}, metadata) == []


def test_inspect_and_the_card_say_the_declared_prompt(tmp_path):
    tensors = {}
    key = "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"
    tensors[f"{key}.lora_A.weight"], tensors[f"{key}.lora_B.weight"] = ("F32", (4, 768)), ("F32", (320, 4))
    write_header(tmp_path / "pytorch_lora_weights.safetensors", tensors)
    readme = "---\nbase_model: runwayml/stable-diffusion-v1-5\ninstance_prompt: a photo of sks dog\n---\n# dog\n"
    (tmp_path / "README.md").write_text(readme)
    report = inspect_source(str(tmp_path))
    assert report["prompts"] == [{"text": "a photo of sks dog", "source": "README.md instance_prompt"}]
    assert '  prompts  declared: "a photo of sks dog" (README.md instance_prompt)' in format_report(report)
    card = update_card(readme, report, today="2026-12-03").text
    assert '**Training prompts, as declared:** "a photo of sks dog" (README.md instance_prompt).' in card
