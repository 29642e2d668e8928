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
