"""Where torch runs: one resolver for `--device auto|cpu|cuda|mps`, the block a training run uses, and
the one place that decides when mixed precision is safe.

- `resolve_device(name)`: "auto" is the accelerator torch sees (CUDA, then MPS), else the CPU; a device
  torch does not see is a `UsageError` with one line naming what torch does see. `None` is the CPU, so a
  library call without a device computes exactly what it always did; the CLI's default is "auto".
- `use_device(dev)`: a block in which `train_probe` (and everything that calls it: layer sweeps, the
  bench's baselines) runs on `dev` without every caller passing it down.
- `autocast(dev)`: bf16 autocast on CUDA for a probe's forward (matmuls in bf16, master weights, losses,
  norms and the input centring in fp32); a no-op anywhere else, so CPU figures never change.

It lives below every stage (stage 0, like config) because `zoo build` trains on it too.

    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device(None)
    device(type='cpu')
    >>> with use_device("cpu"):
    ...     current_device()
    device(type='cpu')
"""

from __future__ import annotations

import contextlib
import contextvars

import torch

from .errors import UsageError

CHOICES = ("auto", "cpu", "cuda", "mps")
_CURRENT: contextvars.ContextVar[torch.device | None] = contextvars.ContextVar("hfprobe_device", default=None)


def _mps() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def seen() -> list[str]:
    """The device kinds torch sees here, e.g. ["cuda", "cpu"] (the CPU is always there)."""
    return (["cuda"] if torch.cuda.is_available() else []) + (["mps"] if _mps() else []) + ["cpu"]


def _what_torch_sees() -> str:
    cuda = (
        f"{torch.cuda.device_count()} CUDA device(s)"
        if torch.cuda.is_available()
        else ("no CUDA device" if torch.version.cuda else "no CUDA (this torch is a CPU build)")
    )
    return f"torch {torch.__version__} sees {cuda}{', MPS' if _mps() else ', no MPS'}"


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """The torch device for `--device NAME` ("auto", "cpu", "cuda", "cuda:N", "mps"); None means the CPU.

    Raises UsageError (one line, exit 2) for an unknown name or a device torch does not see.

    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    hfprobe.errors.UsageError: --device 'tpu': choose one of auto, cpu, cuda, mps (or cuda:N)
    """
    if name is None:
        return torch.device("cpu")
    if isinstance(name, torch.device):
        name = str(name)
    text = str(name).strip().lower()
    if text == "auto":
        return torch.device(seen()[0])
    kind, _, index = text.partition(":")
    if kind not in CHOICES or (index and (kind != "cuda" or not index.isdigit())):
        raise UsageError(f"--device {name!r}: choose one of {', '.join(CHOICES)} (or cuda:N)")
    if kind == "cpu":
        return torch.device("cpu")
    if kind not in seen():
        raise UsageError(f"--device {name}: {_what_torch_sees()}; use --device auto or cpu")
    if index and int(index) >= torch.cuda.device_count():
        raise UsageError(f"--device {name}: {_what_torch_sees()}; pick cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    return torch.device(text)


def current_device() -> torch.device:
    """The device of the enclosing `use_device` block (the CPU outside any)."""
    return _CURRENT.get() or torch.device("cpu")


@contextlib.contextmanager
def use_device(name: str | torch.device | None):
    """Run the block's training on `name` (resolved as `resolve_device` does); yields the device."""
    dev = resolve_device(name)
    token = _CURRENT.set(dev)
    try:
        yield dev
    finally:
        _CURRENT.reset(token)


def mixed_precision(dev: torch.device) -> bool:
    """Whether a probe's forward runs under bf16 autocast on `dev`: CUDA with bf16 support only.

    MPS stays in fp32 (its bf16 autocast is young and the probes are small there); the CPU never changes."""
    return dev.type == "cuda" and torch.cuda.is_bf16_supported()


def autocast(dev: torch.device):
    """bf16 autocast on CUDA (see `mixed_precision`), a no-op context elsewhere."""
    if mixed_precision(dev):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def describe(dev: torch.device) -> dict:
    """What a result records about where it ran: {"device", "name", "precision"}.

    >>> describe(torch.device("cpu"))["precision"]
    'fp32'
    """
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else ("Apple MPS" if dev.type == "mps" else "CPU")
    return {"device": str(dev), "name": name, "precision": "bf16-autocast" if mixed_precision(dev) else "fp32"}
