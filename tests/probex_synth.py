"""Synthetic weight zoos for the ProbeX / routing tests: no training of real networks, milliseconds.

A tree = a random root matrix. A model of the tree = root + the sum of its classes' low-rank
"fine-tune" deltas + noise. Multilabel trees: each model holds half the classes. Text trees: a class's
delta is a fixed linear function of its text embedding, so a held-out class (never trained on) still
lands where its name points, which is what zero-shot needs. Cross-attention LoRA trees: a delta is
b (P t)ᵀ with b random per model, so the class is in the delta's row space only up to sign.
"""

from __future__ import annotations

import torch


def make_root(d_H: int, d_W: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(d_H, d_W, generator=g) * 0.5


def multilabel_tree(n: int, *, d_H=24, d_W=16, n_classes=6, seed=0, strength=0.15, noise=0.05, root_seed=None):
    """Models of one tree with multi-hot labels. Returns (X [n, d_H, d_W], Y [n, C] float)."""
    g = torch.Generator().manual_seed(1000 + seed)
    root = make_root(d_H, d_W, seed if root_seed is None else root_seed)
    a = torch.randn(n_classes, d_H, generator=g)
    b = torch.randn(n_classes, d_W, generator=g)
    Y = torch.zeros(n, n_classes)
    for i in range(n):
        Y[i, torch.randperm(n_classes, generator=g)[: n_classes // 2]] = 1
    deltas = torch.einsum("nc,ch,cw->nhw", Y, a, b) / (d_H * d_W) ** 0.25
    X = root + strength * deltas + noise * torch.randn(n, d_H, d_W, generator=g)
    return X, Y


def text_tree(class_emb: torch.Tensor, idx: torch.Tensor, *, d_H=24, d_W=16, seed=0, k=8, strength=0.3, noise=0.02):
    """Models whose single class is idx[i]; delta = G1 diag(R t) G2ᵀ with t that class's text embedding."""
    g = torch.Generator().manual_seed(2000 + seed)
    root = make_root(d_H, d_W, seed)
    R = torch.randn(k, class_emb.shape[1], generator=g)
    G1, G2 = torch.randn(d_H, k, generator=g), torch.randn(d_W, k, generator=g)
    gen_noise = torch.Generator().manual_seed(3000 + seed + int(idx.sum()))
    codes = class_emb[idx] @ R.T  # [n, k]
    deltas = torch.einsum("hk,nk,wk->nhw", G1, codes, G2) / k
    return root + strength * deltas + noise * torch.randn(len(idx), d_H, d_W, generator=gen_noise)


def lora_text_tree(class_emb: torch.Tensor, idx: torch.Tensor, *, d_H=24, d_W=16, seed=0, strength=0.3, noise=0.02):
    """Models whose single class is idx[i]; delta = b_i (P t)ᵀ, b_i a random output direction of either sign
    (as a LoRA's B is set by images, not by the caption) and t the class's text embedding."""
    g = torch.Generator().manual_seed(4000 + seed)
    root = make_root(d_H, d_W, seed)
    P = torch.randn(d_W, class_emb.shape[1], generator=g) / class_emb.shape[1] ** 0.5
    gen = torch.Generator().manual_seed(5000 + seed + int(idx.sum()))
    b = torch.randn(len(idx), d_H, generator=gen)
    deltas = torch.einsum("nh,nw->nhw", b, class_emb[idx] @ P.T)
    return root + strength * deltas + noise * torch.randn(len(idx), d_H, d_W, generator=gen)
