"""What a declared name names: a Hub id as it is spelled (`org/name`, a Hub address, a path through
huggingface_hub's cache), a local copy of a registry root, a checkpoint file, or a name hint's family, resolved
through the roots registry (`resolve_name`). `tree.declared` reads the names out of the metadata; this module says
what each one names.

>>> resolve_name("runwayml/stable-diffusion-v1-5")
('stable-diffusion-v1-5/stable-diffusion-v1-5', 'sd1')
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .registry import bare_id, canonical_id, families, file_stem, reupload_marked, roots, tail_key

# folders training scripts keep downloaded models in: `models/stable-diffusion-v1-5` is a local copy, not a Hub id
_LOCAL_FOLDERS = (
    "models",
    "model",
    "pretrained",
    "pretrained_models",
    "checkpoints",
    "ckpts",
    "weights",
    "base_models",
)


def is_local_path(value: str) -> bool:
    """Whether a declared value is a path on the trainer's machine, not a Hub id (`/content/sd15`, `C:\\sd`,
    `./out`, `models/stable-diffusion-v1-5`, anything with more than one '/').

    >>> is_local_path("models/stable-diffusion-v1-5"), is_local_path("org/name")
    (True, False)
    """
    v = value.strip()
    return (
        not v
        or v.startswith(("/", ".", "~", "\\"))
        or re.match(r"^[A-Za-z]:[\\/]", v) is not None
        or v.count("/") > 1
        or "\\" in v
        or v.split("/", 1)[0].lower() in _LOCAL_FOLDERS
        and "/" in v
    )


_HUB_ADDRESS = re.compile(r"^(?:hf://|https?://|(?:huggingface\.co|hf\.co)/)", re.IGNORECASE)


def named_hub_id(value: str) -> str | None:
    """The Hub id a spelling other than `org/name` names, else None: a Hub address (`hf://…`, `https://huggingface.co/…`,
    a file or branch in it included), or a path through huggingface_hub's cache, whose folders are named
    `models--org--name` (`from_pretrained` on a snapshot path records that path, as Kaggle and Colab runs often do;
    a repo id never holds `--`, so the folder name is the id exactly).

    >>> named_hub_id("/root/.cache/huggingface/hub/models--google-bert--bert-base-uncased/snapshots/86b5e09")
    'google-bert/bert-base-uncased'
    >>> named_hub_id("https://huggingface.co/org/name/tree/main"), named_hub_id("hf://org/name"), named_hub_id("org/x")
    ('org/name', 'org/name', None)
    """
    v = value.strip()
    if _HUB_ADDRESS.match(v):  # read as `resolve` reads one (huggingface_hub's parser); a dataset's or a Space's: none
        from ..errors import HfprobeError
        from ..source.resolve import parse_hub_spec

        try:
            return parse_hub_spec(v).id
        except HfprobeError:
            return None
    for part in re.split(r"[\\/]", v):
        if part.startswith("models--"):
            names = part.removeprefix("models--").split("--")
            if 1 <= len(names) <= 2 and all(re.fullmatch(r"[\w.-]+", n) for n in names):
                return "/".join(names)
    return None


# ModelScope's orgs for the copies it keeps of others' models (`LLM-Research/Meta-Llama-3-8B-Instruct`) and its
# spellings of others' orgs (`ZhipuAI/chatglm3-6b`, `01ai/Yi-6B`, `Shanghai_AI_Laboratory/internlm2-chat-7b`): no Hub
# ids, read as a local copy is, by the model's name
MODELSCOPE_MIRRORS = ("llm-research", "ai-modelscope", "zhipuai", "01ai", "shanghai_ai_laboratory")

# Kaggle Models mounts a model at /kaggle/input/<model>/<framework>/<variation>/<version>
_KAGGLE_MODEL = re.compile(r"^/kaggle/input/([\w.-]+)/[\w.-]+/([\w.-]+)/\d+/?$")


def _path_name(path: str) -> str:
    """A path's last part (a folder's, with or without a separator after it)."""
    return re.split(r"[\\/]", path.strip().rstrip("/\\"))[-1]


def loaded_name(value: str) -> str:
    """What a trainer recorded as the model it loaded, as a claim: a Hub id (or the one a path through the Hub's
    cache names) as it is, a local file or folder by its name (`/content/v1-5-pruned-emaonly.safetensors`).

    A Hub id with a revision or a LoRA applied (`org/name@main`, mergekit's `org/name+org/lora`) is the model's id.

    >>> loaded_name("C:\\\\sd\\\\flux1-dev.safetensors"), loaded_name("org/name"), loaded_name("/content/models/x/")
    ('flux1-dev.safetensors', 'org/name', 'x')
    >>> loaded_name("Qwen/Qwen2.5-0.5B@main"), loaded_name("org/base+org/lora")
    ('Qwen/Qwen2.5-0.5B', 'org/base')
    """
    value = named_hub_id(value) or value.strip()
    ref = _HUB_REF.fullmatch(value)
    if ref:
        return ref[1]
    return _path_name(value) if is_local_path(value) else value


_HUB_REF = re.compile(r"([\w.-]+/[\w.-]+)(?:@[\w./-]+|\+[\w.-]+/[\w.-]+(?:@[\w./-]+)?)+")  # `org/name@rev`, `+lora`


def local_copy(value: str) -> str | None:
    """The folder name of a local path when it is the repo name of exactly one registry root (a local copy of
    `stable-diffusion-v1-5/stable-diffusion-v1-5` kept as `/content/stable-diffusion-v1-5`), else None. A Kaggle
    Models mount is named by its model and variation (`/kaggle/input/gemma/transformers/2b-it/2`: `gemma-2b-it`), a
    ModelScope download by its name with '.' for the `___` ModelScope writes in its place.

    >>> local_copy("/content/drive/stable-diffusion-v1-5/"), local_copy("/content/my-finetune")
    ('stable-diffusion-v1-5', None)
    >>> local_copy("/kaggle/input/gemma/transformers/2b-it/2"), local_copy("/kaggle/input/x/transformers/y/1")
    ('gemma-2b-it', None)
    >>> local_copy("/root/.cache/modelscope/hub/models/Qwen/Qwen2___5-7B-Instruct")
    'Qwen2.5-7B-Instruct'
    """
    kaggle = _KAGGLE_MODEL.match(value.strip())
    if kaggle:  # the variation alone where it repeats the model's name (`gemma-2/transformers/gemma-2-2b-it`)
        model, variation = kaggle.groups()
        names = [variation] if variation.lower().startswith(model.lower()) else [f"{model}-{variation}"]
    else:
        names = [_path_name(value)]
    names = [n.replace("___", ".") for n in names]  # ModelScope's downloads write a '.' so
    return next((n for n in names if n and tail_key(n) in roots()["_tail"]), None)


MAX_NAME = 512  # characters: a Hub id has at most 96, a checkpoint's path or file name far fewer than this


def resolve_name(value: str) -> tuple[str | None, str | None]:
    """A declared base name -> (root id, family) through the registry, else family from name hints.

    >>> resolve_name("runwayml/stable-diffusion-v1-5")
    ('stable-diffusion-v1-5/stable-diffusion-v1-5', 'sd1')
    >>> resolve_name("sdxl_base_v1-0")
    (None, 'sdxl')
    """
    if len(value) > MAX_NAME:  # no model's name: a hostile card's 100 kB `base_model` met every name hint in turn
        return None, None
    reg = roots()
    v = bare_id(value).replace("___", ".")  # (ModelScope's downloads write a '.' so: `Qwen2___5-7B-Instruct`)
    file = file_stem(v)
    for cand in (v, file):
        rid = reg["_alias"].get(cand.lower())
        if rid:
            return rid, reg["_by_id"][rid]["family"]
    rid, _ = reg["_tail"].get(tail_key(v), (None, None))  # a name without its org, or a re-upload (by its name)
    rid = rid or reg["_file_tail"].get(tail_key(file))  # a root's file re-packed (`flux1-dev-fp8.safetensors`)
    rid = rid or reg["_tail"].get(tail_key(file), (None,))[0]  # a fine-tune's file (`dreamshaper_8.safetensors`)
    if rid:
        return rid, reg["_by_id"][rid]["family"]
    for pattern, fam in families()["_name_hints"]:
        if pattern.search(v):
            return None, fam
    return None, None


def hinted_families(value: str) -> list[str]:
    """Every family a name's words name by the name hints, in their order, each by words no earlier hint matched,
    up to a hint of no family (an architecture the registry lacks whose name holds another's): `resolve_name` reads
    the first. A distilled model's name may hold its teacher's words before its own architecture's; a hint that
    reads a word as another family's (`indic-bert`, an ALBERT) is no second family by that word.

    >>> hinted_families("deepseek-ai/DeepSeek-R1-0528-Qwen3-8B"), hinted_families("ai4bharat/indic-bert")
    (['deepseek_v3', 'qwen3'], ['albert'])
    """
    if len(value) > MAX_NAME:
        return []
    v, out, taken = bare_id(value).replace("___", "."), [], []
    for pattern, fam in families()["_name_hints"]:
        for m in pattern.finditer(v):
            if all(m.end() <= a or m.start() >= b for a, b in taken):
                break
        else:
            continue
        if fam is None:
            break
        taken.append(m.span())
        if fam not in out:
            out.append(fam)
    return out


def by_repo_name(value: str, rid: str | None) -> bool:
    """Whether a Hub id resolved to `rid` only because its repo name, unmarked, is a root's: a mirror
    (`NousResearch/Meta-Llama-3-8B`), or another model of that name (`klue/roberta-base`, a Korean RoBERTa of its
    own). `classify` drops the guess where the weights fit the root's layers but not its vocabulary. A name with
    a re-upload's marks (`unsloth/llama-3-8b-bnb-4bit`) is the root's weights, a contradiction a conflict.

    >>> roberta = "FacebookAI/roberta-base"
    >>> by_repo_name("klue/roberta-base", roberta), by_repo_name("roberta-base", roberta)
    (True, False)
    """
    v = bare_id(value)
    return rid is not None and "/" in v and v.lower() not in roots()["_alias"] and not reupload_marked(v)


def timm_source(config: Mapping) -> str | None:
    """The pretrained timm model a timm config.json names: timm's `push_to_hf_hub` saves the architecture and the
    pretrained weights' config, their tag too, which a fine-tune keeps from the weights it started from
    (`timm/<architecture>.<tag>`, the Hub id timm loads them by), or their `hf_hub_id`, where an older timm kept it.

    >>> timm_source({"architecture": "vit_base_patch16_224", "pretrained_cfg": {"tag": "augreg2_in21k_ft_in1k"}})
    'timm/vit_base_patch16_224.augreg2_in21k_ft_in1k'
    """
    arch, pretrained = config.get("architecture"), config.get("pretrained_cfg")
    if not isinstance(arch, str) or not isinstance(pretrained, Mapping) or not _TIMM_NAME.fullmatch(arch):
        return None
    hub = pretrained.get("hf_hub_id")
    if isinstance(hub, str) and re.fullmatch(r"[\w.-]{1,96}/[\w.-]{1,96}", hub):
        return hub
    tag = pretrained.get("tag")
    return f"timm/{arch}.{tag}" if isinstance(tag, str) and _TIMM_NAME.fullmatch(tag) else None


_TIMM_NAME = re.compile(r"[A-Za-z0-9][\w-]{0,95}")


# a mixture of experts named as one: mergekit-moe's "frankenMoEs" by their experts' count and size (`Beyonder-4x7B`,
# `Mixtral_11Bx2_MoE_19B`, `TinyLlama-4x1.1B-MoE`), or a mixture's own marks
_MIXTURE_MARK = re.compile(
    r"(?<![a-z])(?:\d{1,3}x\d{1,4}(?:\.\d{1,2})?[bm]|\d{1,4}(?:\.\d{1,2})?bx\d{1,3}|moe|frankenmoe)(?![a-z])", re.I
)


def names_mixture(value: str) -> bool:
    """Whether a model's name says it is a mixture of experts (`someorg/Mistral-4x7B-MoE`: Mistral 7B's MLPs as its
    experts, a Mixtral by architecture, whatever model its name's words name).

    >>> names_mixture("mlabonne/Beyonder-4x7B-v2"), names_mixture("Qwen/Qwen1.5-MoE-A2.7B"), names_mixture("org/mox-7b")
    (True, True, False)
    """
    return len(value) <= MAX_NAME and _MIXTURE_MARK.search(value) is not None


def names_itself(value: str, own: str | None) -> bool:
    """Whether `value` names `own`, the Hub repo being read (under an alias of the same weights too).

    >>> names_itself("https://huggingface.co/Org/Model", "org/model"), names_itself("org/model-v2", "org/model")
    (True, False)
    """
    if not own or not isinstance(value, str):
        return False
    a, b = (named_hub_id(value) or value).strip(), own.strip()
    return a.lower() == b.lower() or str(canonical_id(a)).lower() == str(canonical_id(b)).lower()
