"""Hostile input on demand, for the fuzz test (tests/test_fuzz.py) and `benchmarks/fuzz.py`: `seeds` builds small
synthetic files of every weights format, `mutate` derives numbered, replayable mutants from them (`mutant`), and
this module writes a case to a folder (`write_case`) and runs it through the readers (`exercise`). A case is a
folder of files: weights plus companions. Imports only from formats/ and errors; `inspect` is passed in to
`exercise` because it lives in a later stage.

    >>> import tempfile
    >>> from hfprobe.formats.fuzz.seeds import seed_files
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     exercise(write_case(seed_files("kohya"), Path(tmp)), inspect=lambda path: None)[:2]
    ('ok', '')
"""

from __future__ import annotations

import time
from pathlib import Path


def write_case(files: dict[str, bytes], folder: Path) -> Path:
    for name, blob in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
    return folder


def exercise(folder: Path, inspect, layers: int = 3) -> tuple[str, str, float]:
    """Run one case folder through `inspect` (e.g. hfprobe.tree.inspect.inspect_source), `open_weights` and
    `view.layer()` on its first modules that hold values, read by torch and in numpy alike (the two must agree).
    Returns (outcome, detail, seconds): outcome "ok", "typed" (an hfprobe error with a one-line message of bounded
    length) or "untyped" (anything else: a bug)."""
    from ...errors import HfprobeError
    from .. import open_weights

    start = time.perf_counter()
    typed: list[str] = []

    def attempt(step: str, fn):
        try:
            return True, fn()
        except HfprobeError as err:
            message = str(err)
            if "\n" in message or len(message) > 2000 or not message:
                raise _Untyped(f"{step}: {type(err).__name__}: a message of {len(message)} chars or lines") from None
            typed.append(f"{step}: {type(err).__name__}")
        except Exception as err:  # noqa: BLE001 - what the fuzz looks for
            raise _Untyped(f"{step}: {type(err).__name__}: {' '.join(str(err).split())[:200]}") from err
        return False, None

    try:
        attempt("inspect", lambda: inspect(str(folder)))
        opened, view = attempt("open", lambda: open_weights(folder))
        # (a quantized, IA3 or other PEFT tuner's module, a merged LoRA's fused projection, or any GGUF tensor, has
        # no values hfprobe reads: layer() refuses it by design, in one line; an ONNX or OpenVINO model's, likewise)
        values = opened and view.store.gguf is None and view.store.export is None
        readable = [
            n for n, m in view.modules.items() if m.kind not in ("quantized", "ia3", "tuner") and m.merged_groups == 1
        ] if values else []  # fmt: skip
        for name in readable[:layers]:
            ok, w = attempt("layer", lambda name=name: view.layer(name, scaled=True))
            ok_np, w_np = attempt("layer numpy", lambda name=name: view.layer(name, scaled=True, numpy=True))
            if ok != ok_np or (ok and not _same(w, w_np)):  # predict's numpy read must answer as torch's does
                raise _Untyped(f"layer numpy: {name!r} read {'differently' if ok == ok_np else 'once of two ways'}")
        if opened:
            view.close()
    except _Untyped as bug:
        return "untyped", str(bug), time.perf_counter() - start
    outcome, detail = ("typed", "; ".join(typed)) if typed else ("ok", "")
    return outcome, detail, time.perf_counter() - start


class _Untyped(Exception):
    pass


def _same(tensor, array) -> bool:
    import numpy as np

    return tensor.shape == array.shape and np.allclose(tensor.numpy(), array, rtol=1e-5, atol=1e-6, equal_nan=True)
