"""A tiny generative tree for the readout tests: a text-conditioned UNet2DConditionModel that reads MiniLM
token states (384-d), and LoRAs trained a few dozen steps each on one caption with procedurally made images.

Built from config with the real libraries (diffusers, peft); the root is not pretrained, which is enough here:
a LoRA's cross-attention gradient lies in the span of its caption's token states whatever the root.
"""

from __future__ import annotations

import torch

CROSS = ("attn2.to_k", "attn2.to_v")


def tiny_unet(seed: int = 0):
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    # attention only at 8x8 (second block) keeps a step ~50 ms on one thread
    return UNet2DConditionModel(
        sample_size=16,
        in_channels=3,
        out_channels=3,
        block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        layers_per_block=1,
        cross_attention_dim=384,
        attention_head_dim=8,
        norm_num_groups=8,
    )


def images(seed: int, n: int, gen: torch.Generator) -> torch.Tensor:
    """A category's look: a fixed colour plus a fixed stripe pattern, with a little noise per sample."""
    g = torch.Generator().manual_seed(1000 + seed)
    col = torch.rand(3, 1, 1, generator=g) * 2 - 1
    fx, fy = torch.randint(1, 4, (2,), generator=g).tolist()
    x = torch.linspace(0, 6.283, 16)
    pat = torch.sin(fx * x)[None, :, None] * torch.cos(fy * x)[None, None, :]
    return (0.6 * col + 0.4 * pat).expand(n, 3, 16, 16) + 0.05 * torch.randn(n, 3, 16, 16, generator=gen)


def train_lora(
    root_state: dict,
    caption_states: torch.Tensor,
    image_seed: int,
    *,
    steps: int = 30,
    rank: int = 4,
    lr: float = 3e-3,
    batch: int = 4,
    seed: int = 0,
    save_to=None,
) -> dict[str, torch.Tensor]:
    """Train one LoRA on one caption; return {canonical name `unet.…attn2.to_k`: dW = B@A * alpha/r}.

    `save_to`: also write it with diffusers' save_lora_weights (pytorch_lora_weights.safetensors) there.
    """
    from diffusers import DDPMScheduler
    from peft import LoraConfig

    unet = tiny_unet()
    unet.load_state_dict(root_state)
    unet.requires_grad_(False)
    torch.manual_seed(seed)
    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    opt = torch.optim.AdamW([p for p in unet.parameters() if p.requires_grad], lr=lr)
    sched = DDPMScheduler(num_train_timesteps=1000)
    gen = torch.Generator().manual_seed(seed)
    ehs = caption_states[None].expand(batch, -1, -1)
    for _ in range(steps):
        x0 = images(image_seed, batch, gen)
        noise = torch.randn(x0.shape, generator=gen)
        t = torch.randint(0, 1000, (batch,), generator=gen)
        loss = torch.nn.functional.mse_loss(unet(sched.add_noise(x0, noise, t), t, ehs).sample, noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
    if save_to is not None:
        from diffusers import StableDiffusionPipeline
        from diffusers.utils import convert_state_dict_to_diffusers
        from peft.utils import get_peft_model_state_dict

        layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
        StableDiffusionPipeline.save_lora_weights(save_to, unet_lora_layers=layers, safe_serialization=True)
    return lora_deltas(unet)


def lora_deltas(unet) -> dict[str, torch.Tensor]:
    out = {}
    for name, mod in unet.named_modules():
        if name.endswith(CROSS) and hasattr(mod, "lora_A"):
            a, b = mod.lora_A["default"].weight, mod.lora_B["default"].weight
            out[f"unet.{name}"] = (b @ a * mod.scaling["default"]).detach().clone()
    return out
