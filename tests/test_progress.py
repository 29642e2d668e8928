"""Progress bars: huggingface_hub's tqdm under hfprobe's name, quiet in a log. Written into a file or a pipe rather
than a terminal (CI, a Space's logs), a bar updates every PROGRESS_LOG_EVERY_S at most: the demo's bars were
hundreds of carriage-return updates, 100 kB of a CI log."""

from __future__ import annotations

import io
import time

from hfprobe import config


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(stream, steps: int = 60, pause: float = 0.01) -> str:
    with config.progress_bar(total=steps, desc="work", file=stream) as bar:
        for _ in range(steps):
            time.sleep(pause)
            bar.update(1)
    return stream.getvalue()


def test_a_bar_into_a_log_is_drawn_at_its_start_and_end_only_when_short():
    written = _run(io.StringIO())
    assert written.count("\r") <= 3 and "60/60" in written  # its start and its end, not an update a step


def test_a_bar_meant_to_vanish_leaves_nothing_in_a_log_when_short():
    """A training epoch's or a tree's read bar (`leave=False`) into a log: drawn at its start it stayed at 0% there,
    its end erased; now a task done within PROGRESS_LOG_EVERY_S leaves no line, while on a terminal it is drawn."""
    for stream, drawn in ((io.StringIO(), False), (Terminal(), True)):
        with config.progress_bar(total=5, desc="epochs", file=stream, leave=False) as bar:
            for _ in range(5):
                bar.update(1)
        assert ("epochs" in stream.getvalue()) is drawn


def test_a_bar_on_a_terminal_keeps_tqdm_s_pace():
    written = _run(Terminal())
    assert written.count("\r") >= 4 and "60/60" in written


def test_every_bar_is_named_hfprobe_so_one_switch_silences_them(monkeypatch):
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    disable_progress_bars("hfprobe")
    try:
        assert _run(io.StringIO(), steps=3) == ""
    finally:
        enable_progress_bars("hfprobe")
    assert config.bar_settings({"file": Terminal()})["name"] == "hfprobe"


def test_training_into_a_log_draws_its_bar_at_that_pace_not_each_epoch(capsys):
    """Each epoch's figures are set on the bar without drawing it (they were drawn every epoch, whatever the pace)."""
    import torch

    from hfprobe.experts.probes import TrainConfig
    from hfprobe.experts.train import train_probe

    g = torch.Generator().manual_seed(0)
    X, Y = torch.randn(16, 8, 6, generator=g), (torch.rand(16, 3, generator=g) > 0.5).float()
    cfg = TrainConfig(r_U=4, r_V=4, r_T=4, batch_size=8, max_epochs=40, patience=100)
    result = train_probe(X[:12], Y[:12], X[12:], Y[12:], cfg, progress=True)
    assert len(result.history) == 40
    assert capsys.readouterr().err.count("\r") <= 4  # drawn at its start and end (and at most one 30 s mark)
