"""`hfprobe demo`: the newcomer's first command. The end-to-end run builds a zoo and trains experts
(minutes on 2 cores), so it runs only with HFPROBE_SLOW=1; `.ci/run` runs `hfprobe demo` itself."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

SLOW = os.environ.get("HFPROBE_SLOW") == "1"


def test_unknown_preset_is_one_line_and_writes_nothing(tmp_path, capsys):
    from hfprobe.cli import main

    assert main(["demo", "--preset", "no-such-preset", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no-such-preset" in err and "tiny" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(
    not SLOW, reason="runs the whole demo (zoo build + expert training, minutes on 2 cores); set HFPROBE_SLOW=1"
)
def test_demo_end_to_end_then_cached(tmp_path):
    from hfprobe.demo import run_demo

    lines: list[str] = []
    s = run_demo(preset="test", workdir=tmp_path / "demo", progress=False, out=lines.append)
    text = "\n".join(lines)
    assert s["zoo"]["models"] > 0 and Path(s["zoo"]["path"]).is_dir()
    assert {r["tree"] for r in s["experts"]["trees"]} == set(s["zoo"]["trees"]) and s["experts"]["trained_now"]
    held = s["held_out"]
    assert held["id"] in text and held["predictions"] and held["inspect"]["family"]
    card = Path(s["card"]["path"]).read_text()
    assert "<!-- hfprobe:start -->" in card and s["card"]["diff_lines"] > 0
    assert s["index"]["models"] + len(s["index"]["failed"]) == s["zoo"]["models"]
    scores = [h["score"] for h in s["query"]["hits"]]
    assert scores and scores == sorted(scores, reverse=True)
    for label in ("Where everything is:", "Try next:", "hfprobe query"):
        assert label in text
    assert json.loads((tmp_path / "demo" / "demo.json").read_text())["query"]["text"] == "shoes"

    # the Space shows the same model's categories as a bar chart once experts exist
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "space_app_demo", Path(__file__).resolve().parents[1] / "space" / "app.py"
    )
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    os.environ["HFPROBE_EXPERTS"] = s["experts"]["path"]
    app.ALLOW_LOCAL = True  # a local path in the repo box (HFPROBE_SPACE_ALLOW_LOCAL=1)
    try:
        status, summary, bars, diff, state = app.inspect_action(held["spec"], None, "")
    finally:
        os.environ.pop("HFPROBE_EXPERTS", None)
    assert status == "Done." and len(bars) == len(held["predictions"]) and "categories from expert" in summary
    assert "+<!-- hfprobe:start -->" in diff

    # the same model served by a Hub on 127.0.0.1: `hfprobe index add org/name` records repo, revision, sha, url
    import hashlib

    from hfprobe.cli import main
    from hfprobe.search.index import ModelIndex
    from tests.fakehub import FakeHub

    folder = Path(held["spec"])
    hub = FakeHub(tmp_path / "hub")
    hub.add_repo("org/held-out", {p.name: p for p in folder.iterdir() if p.is_file()})
    weights = next(p for p in folder.iterdir() if p.name.endswith(".safetensors"))
    with hub.serving():
        rc = main(
            [
                "index",
                "add",
                "org/held-out",
                "--index",
                str(tmp_path / "hubidx"),
                "--experts",
                s["experts"]["path"],
                "--json",
            ]
        )
    assert rc == 0
    row = ModelIndex(tmp_path / "hubidx").rows()[0]
    assert row["id"] == "org/held-out" and row["repo"] == "org/held-out" and row["url"].endswith("/org/held-out")
    assert row["file"] == weights.name and row["file_sha"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert [c["label"] for c in row["categories"]] == [p["label"] for p in held["predictions"]]
    assert row["format"] == held["inspect"]["format"] and row["expert"] and row["expert_version"]

    again = run_demo(preset="test", workdir=tmp_path / "demo", progress=False, out=lambda _: None)
    assert not again["experts"]["trained_now"] and again["index"]["added"] == 0
    assert again["seconds"]["total"] < s["seconds"]["total"]
