"""LyCORIS networks: LoHa, LoKr and LoCon factors, in kohya names (`lora_unet_…`, `lora_te_…`) or PEFT's.

Per module, by key suffix (the LyCORIS package's own layout; peft's LoHa/LoKr use the same names):

- LoHa `hada_w1_a, hada_w1_b, hada_w2_a, hada_w2_b` (+ Tucker cores `hada_t1, hada_t2` on convolutions):
  ΔW = (w1_a @ w1_b) ⊙ (w2_a @ w2_b), each factor with a core being einsum("ijkl,jr,ip->prkl", t, w_b, w_a);
  rank r = w1_b's first dimension.
- LoKr `lokr_w1` or `lokr_w1_a, lokr_w1_b`; `lokr_w2` or `lokr_w2_a, lokr_w2_b` (+ core `lokr_t2`):
  ΔW = kron(w1, w2), w1 lifted to w2's dimensions; r is the rank of a decomposed side.
- LoCon with a Tucker core `lora_down, lora_mid, lora_up`: ΔW = einsum("pi,ijkl,jq->pqkl", up, mid, down).
  (LoCon without a core is a plain LoRA and is read as one.)
- `diff` (+ `diff_b`): a full ΔW, stored as it is.

Scale: alpha / r, alpha from the module's `.alpha` tensor (kohya names) or the config (peft), r as above; a
LoKr with neither side decomposed has scale 1 (LyCORIS stores alpha = its dim then). OFT/BOFT and norm
modules are counted in a note and not read. A LoHa or LoKr convolution stored without a core keeps its
kernel flattened into w_b; the kernel of a UNet `conv1/conv2/conv_in/conv_out/downsamplers/upsamplers` layer
is 3x3 and is restored from the name (`Module.kernel`), others stay unknown.
The ΔW itself is built by `factors.delta`, which `WeightsView.layer` calls.
"""

from __future__ import annotations

import math
import re

from ..errors import InvalidWeightsError
from ..source.safetensors import quote
from .base import Module, TensorStore, full_module, lora_module
from .lora import read_scalars

ROLES = {  # suffix after the module name -> role
    "hada_w1_a": "w1a", "hada_w1_b": "w1b", "hada_w2_a": "w2a", "hada_w2_b": "w2b", "hada_t1": "t1", "hada_t2": "t2",
    "lokr_w1": "w1", "lokr_w1_a": "w1a", "lokr_w1_b": "w1b", "lokr_w2": "w2", "lokr_w2_a": "w2a", "lokr_w2_b": "w2b",
    "lokr_t2": "t2", "lora_down.weight": "down", "lora_up.weight": "up", "lora_mid.weight": "mid",
    "diff": "diff", "alpha": "alpha",
}  # fmt: skip
_MARKERS = re.compile(r"\.(hada_|lokr_|lora_mid\.|diff$)")
_CONV3 = re.compile(r"(^|\.)(conv1|conv2|conv_in|conv_out|conv)$")


def is_lycoris(keys: list[str]) -> bool:
    """A LoHa, LoKr, LoCon-with-core or full-diff module among the keys."""
    return any(_MARKERS.search(k) for k in keys)


def split_lycoris(key: str) -> tuple[str, str] | None:
    """`'lora_unet_x.hada_w1_a'` -> `('lora_unet_x', 'w1a')`; None for a key of no LyCORIS role."""
    for suffix, role in ROLES.items():
        if key.endswith("." + suffix):
            return key[: -len(suffix) - 1], role
    return None


def group(keys) -> tuple[dict[str, dict[str, str]], list[str]]:
    """{module name: {role: key}} of the LyCORIS and LoRA parts, and the other keys (OFT, norms, full weights)."""
    groups: dict[str, dict[str, str]] = {}
    rest = []
    for key in keys:
        split = split_lycoris(key)
        if split is None:
            rest.append(key)
        else:
            groups.setdefault(split[0], {})[split[1]] = key
    return groups, rest


def build(
    name: str, parts: dict[str, str], store: TensorStore, where: str, *, alpha: float | None, rank: int | None = None
) -> Module | None:
    """One module from its parts; `alpha` None means none stored (scale 1); `rank` overrides the one the shapes give
    (peft divides by its configured r). None for a lone alpha."""
    raw = store.raw
    info = {role: raw[key] for role, key in parts.items() if role != "alpha"}
    bad = next((i for i in info.values() if len(i.shape) not in (2, 4)), None)
    if bad is not None:
        raise InvalidWeightsError(
            f"{where}: LyCORIS tensor {quote(bad.name, 100)} has shape {quote(list(bad.shape), 40)}, not 2-D or 4-D; "
            "the file is corrupt or mislabelled, re-export it"
        )
    if any(".hada_" in key for key in parts.values()):
        return _loha(name, parts, info, where, alpha, rank)
    if any(".lokr_" in key for key in parts.values()):
        return _lokr(name, parts, info, where, alpha, rank)
    if "mid" in info:
        return _locon(name, parts, info, where, alpha)
    if "down" in info:
        return lora_module(name, info["down"], info.get("up"), alpha=alpha, keys=_lora_keys(parts), where=where)
    if "diff" in info:
        return full_module(name, info["diff"], kind="delta")
    return None


def _lora_keys(parts: dict[str, str]) -> dict[str, str]:
    out = {"A": parts["down"], **({"B": parts["up"]} if "up" in parts else {})}
    return out | ({"alpha": parts["alpha"]} if "alpha" in parts else {})


def _need(name: str, info: dict, roles: tuple[str, ...], where: str, what: str) -> None:
    missing = [r for r in roles if r not in info]
    if missing:
        raise InvalidWeightsError(
            f"{where}: {what} module {quote(name, 100)} lacks its {', '.join(missing)} factor; the file is incomplete, "
            "re-export it"
        )


def _unfit(name: str, where: str, what: str, detail: str) -> InvalidWeightsError:
    return InvalidWeightsError(
        f"{where}: the {what} factors of {quote(name, 100)} do not fit ({detail}); the file is corrupt, re-export it"
    )


def _kernel(name: str, d_in: int) -> tuple[int, int] | None:
    """A flattened 3x3 UNet convolution's kernel, from its name."""
    leaf = re.sub(r"^lora_(unet|te\d?)_", "", name).replace("_", ".")
    return (3, 3) if _CONV3.search(leaf) and d_in % 9 == 0 else None


def _product(info: dict, n: str) -> tuple[int, int, tuple[int, ...] | None, int]:
    """(out, in·kh·kw, kernel, rank) of w{n}_a @ w{n}_b, or of the core form einsum(t{n}, w{n}_b, w{n}_a)."""
    a, b = info[f"w{n}a"].shape, info[f"w{n}b"].shape
    if len(a) != 2 or len(b) != 2:
        raise ValueError(f"w{n}_a {list(a)} and w{n}_b {list(b)} must be 2-D")
    if f"t{n}" in info:  # w_a [r, out], w_b [r, in], t [r, r, kh, kw]
        t = info[f"t{n}"].shape
        if len(t) != 4 or t[0] != a[0] or t[1] != b[0]:
            raise ValueError(f"core t{n} {list(t)} does not join w{n}_a {list(a)} and w{n}_b {list(b)}")
        return a[1], b[1] * t[2] * t[3], (t[2], t[3]), b[0]
    if a[1] != b[0]:
        raise ValueError(f"w{n}_a {list(a)} and w{n}_b {list(b)}")
    return a[0], b[1], None, b[0]


def _loha(name, parts, info, where, alpha, rank) -> Module:
    _need(name, info, ("w1a", "w1b", "w2a", "w2b"), where, "LoHa")
    try:
        (o1, i1, k1, r1), (o2, i2, k2, _) = _product(info, "1"), _product(info, "2")
    except ValueError as err:
        raise _unfit(name, where, "LoHa", str(err)) from None
    if (o1, i1, k1) != (o2, i2, k2):
        raise _unfit(name, where, "LoHa", f"the two products are {o1}x{i1} {k1 or ''} and {o2}x{i2} {k2 or ''}")
    return _module(name, "loha", o1, i1, k1 or _kernel(name, i1), rank or r1, alpha, parts)


def _side(info: dict, n: str) -> tuple[int, int, tuple[int, ...] | None, int | None]:
    """(out, in·kh·kw, kernel, rank) of one Kronecker side: whole (`w1`, `w2`) or a product."""
    if f"w{n}" in info:
        s = info[f"w{n}"].shape
        kernel = tuple(s[2:]) or None
        return s[0], s[1] * math.prod(kernel or (1,)), kernel, None
    return _product(info, n)


def _lokr(name, parts, info, where, alpha, rank) -> Module:
    for n in "12":
        if f"w{n}" not in info:
            _need(name, info, (f"w{n}a", f"w{n}b"), where, "LoKr")
    try:
        (o1, i1, k1, r1), (o2, i2, k2, r2) = _side(info, "1"), _side(info, "2")
    except ValueError as err:
        raise _unfit(name, where, "LoKr", str(err)) from None
    if k1:
        raise _unfit(name, where, "LoKr", "w1 holds a kernel; only w2 may")
    d_in = i1 * i2
    r = rank or r1 or r2
    return _module(name, "lokr", o1 * o2, d_in, k2 or _kernel(name, d_in), r, alpha if r else None, parts)


def _locon(name, parts, info, where, alpha) -> Module:
    _need(name, info, ("down", "up"), where, "LoCon")
    down, mid, up = info["down"].shape, info["mid"].shape, info["up"].shape
    pointwise = all(len(s) == 2 or tuple(s[2:]) == (1, 1) for s in (down, up))
    if not pointwise or len(mid) != 4 or mid[0] != up[1] or mid[1] != down[0]:
        raise _unfit(name, where, "LoCon", f"down {list(down)}, mid {list(mid)}, up {list(up)}")
    kernel = (mid[2], mid[3])
    return _module(name, "locon", up[0], down[1] * math.prod(kernel), kernel, down[0], alpha, parts)


def _module(name, kind, d_out, d_in, kernel, rank, alpha, parts) -> Module:
    eff = float(alpha) if alpha is not None and rank else (float(rank) if rank else None)
    scale = eff / rank if rank else 1.0
    keys = {role: key for role, key in parts.items()}
    return Module(name, kind, d_out, d_in, kernel, rank, eff, scale, keys)


def read_modules(
    renamed: dict[str, str], groups: dict[str, dict[str, str]], store: TensorStore, where: str, **kw
) -> dict[str, Module]:
    """Modules under canonical names: `renamed` maps each group's name to its canonical module name.

    `kw`: `alpha` (a value for every module: peft's config) or `rank` (peft's configured r)."""
    alpha_keys = [p["alpha"] for p in groups.values() if "alpha" in p]
    alphas = read_scalars(store, alpha_keys, where) if alpha_keys else {}
    modules: dict[str, Module] = {}
    for raw_name, parts in groups.items():
        name = renamed.get(raw_name, raw_name)
        alpha = alphas.get(parts.get("alpha"), kw.get("alpha"))
        mod = build(name, parts, store, where, alpha=alpha, rank=kw.get("rank"))
        if mod is not None:
            modules[name] = mod
    return modules
