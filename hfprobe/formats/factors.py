"""ΔW of a LyCORIS module from its factors (the shapes and kinds are read in lycoris.py): LoHa, LoKr and LoCon
with a Tucker core. Here, below `WeightsView.layer`, so that base.py imports nothing that imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def delta(mod, get) -> torch.Tensor:
    """ΔW of a LoHa, LoKr or LoCon-with-core module, unscaled, as [d_out, d_in*kh*kw]; `get(key)` reads a tensor."""
    import torch

    k = mod.keys

    def factor(n: str) -> torch.Tensor:
        if f"w{n}" in k:
            return get(k[f"w{n}"]).float()
        a, b = get(k[f"w{n}a"]).float(), get(k[f"w{n}b"]).float()
        if f"t{n}" in k:
            return torch.einsum("ijkl,jr,ip->prkl", get(k[f"t{n}"]).float(), b, a)
        return a @ b

    if mod.kind == "loha":
        w = factor("1") * factor("2")
    elif mod.kind == "lokr":
        w1, w2 = factor("1"), factor("2")
        w1 = w1.reshape(*w1.shape, *([1] * (w2.dim() - w1.dim())))
        w = torch.kron(w1.contiguous(), w2.contiguous())
    else:
        up, down = get(k["up"]).float(), get(k["down"]).float()
        up, down = up.reshape(up.shape[0], -1), down.reshape(down.shape[0], -1)
        w = torch.einsum("pi,ijkl,jq->pqkl", up, get(k["mid"]).float(), down)
    return w.reshape(mod.d_out, -1)
