"""A Space warms the readout up at start: in a background thread it fetches the text encoder of each root the readout
reads SD LoRAs through and computes the default vocabulary's token states, so that the first visitor's SD LoRA is
answered from the cache instead of running past the time limit. A root that cannot be had is logged, not raised."""

from __future__ import annotations

import logging

import pytest

from tests.test_readout import _tiny_sd_root

pytest.importorskip("gradio")


@pytest.fixture()
def one_root(tmp_path, monkeypatch):
    """The registry's readout roots replaced by a tiny local one (32-wide) and one that does not exist."""
    from hfprobe.text import states as st
    from hfprobe.text.encoders import registry

    root = str(_tiny_sd_root(tmp_path / "sd"))
    entries = {"32": {"root": root}, "48": {"root": str(tmp_path / "missing")}, "384": {"encoder": "minilm"}}
    monkeypatch.setattr(st, "registry", lambda: {**registry(), "cross_attention": entries})
    monkeypatch.setenv("HFPROBE_CACHE", str(tmp_path / "cache"))
    return root


def test_the_space_computes_the_default_vocabulary_s_states_at_start(one_root, monkeypatch, caplog):
    from hfprobe.experts import readout as ro
    from hfprobe.experts import readout_features as rf
    from hfprobe.space.app import start_warmup
    from hfprobe.text import states as st
    from hfprobe.text.vocab import default_vocabulary

    monkeypatch.setenv("HFPROBE_SPACE_WARMUP", "1")  # (on a Space it is the default)
    with caplog.at_level(logging.INFO, logger="hfprobe.space.app"):
        thread = start_warmup()
        thread.join(300)
    assert not thread.is_alive()
    said = {r.getMessage() for r in caplog.records}
    assert f"readout warm-up: {one_root}: ready" in said
    assert any("missing: cannot fetch the text encoder" in m for m in said)  # one that cannot be had: one line
    reader = st.CLIPStates(one_root)
    assert reader.encoder._components is None  # the text model it loaded is let go once the states are cached
    monkeypatch.setattr(reader.encoder, "token_states", lambda *a: pytest.fail("computed again"))
    cached = reader.states(default_vocabulary())
    monkeypatch.setattr(rf, "_compress", lambda *a: pytest.fail("label features computed again"))
    assert rf.prepare_labels(cached, ro.default_config())["norms"].shape == (len(default_vocabulary()),)
    assert len(cached.states) == len(default_vocabulary())  # what predict will ask


def test_warmup_is_on_on_a_space_unless_turned_off_and_off_locally_unless_asked(monkeypatch):
    import types

    from hfprobe.space import app

    started = []

    class Thread:  # records the start instead of fetching 2 GB
        def __init__(self, **kw):
            self.name = kw["name"]

        def start(self):
            started.append(self.name)

    monkeypatch.setattr(app, "threading", types.SimpleNamespace(Thread=Thread))
    monkeypatch.delenv("HFPROBE_SPACE_WARMUP", raising=False)
    assert app.start_warmup() is None  # `hfprobe space run` on a laptop: no download unasked
    monkeypatch.setattr(app, "on_space", lambda: True)
    monkeypatch.setenv("HFPROBE_SPACE_WARMUP", "0")
    assert app.start_warmup() is None and started == []
    monkeypatch.delenv("HFPROBE_SPACE_WARMUP")
    assert app.start_warmup() is not None and started == ["hfprobe-warmup"]  # on a Space, by default
