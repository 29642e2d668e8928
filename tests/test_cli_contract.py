"""The CLI contract on malformed input: `hfprobe inspect --json` and `hfprobe predict` answer every bad file with
one line on stderr, exit 2, nothing on stdout and never a traceback; the readers raise hfprobe's typed errors, so
the CLI's catch-all for bugs (exit 1, "internal error") is never needed. Each case is a tiny file built here."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from hfprobe.cli import main
from hfprobe.formats.fuzz.seeds import pack, safetensors_bytes

RNG = random.Random(0)
ENTRY = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}


def st(header, data=b"\0" * 16, length=None) -> bytes:
    return pack(header, data, length)


def lora(tensors: dict, metadata: dict | None = None) -> bytes:
    return safetensors_bytes(tensors, metadata, RNG)


KOHYA = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
DIFF = "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"
PEFT = "base_model.model.model.embed_tokens"

# name -> (file name, bytes); every one must be refused with exit 2 and one line
CASES = {
    "empty": ("x.safetensors", b""),
    "three bytes": ("x.safetensors", b"abc"),
    "prefix past the end": ("x.safetensors", st({}, b"", length=10_000)),
    "prefix 2**64-1": ("x.safetensors", st({}, b"", length=2**64 - 1)),
    "header not JSON": ("x.safetensors", st(b"{nope")),
    "header a JSON array": ("x.safetensors", st([1, 2])),
    "nested JSON": ("x.safetensors", st(b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")),
    "non-UTF-8 header": ("x.safetensors", st(b'{"\xff": 1}')),
    "lone surrogate key": (
        "x.safetensors",
        st(b'{"a\\ud800": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}'),
    ),
    "duplicate key": ("x.safetensors", st(b'{"a": %s, "a": %s}' % ((json.dumps(ENTRY).encode(),) * 2))),
    "dtype a list": ("x.safetensors", st({"w": {**ENTRY, "dtype": ["F32"]}})),
    "unknown dtype": ("x.safetensors", st({"w": {**ENTRY, "dtype": "Q4"}})),
    "negative shape": ("x.safetensors", st({"w": {**ENTRY, "shape": [-2, -2]}})),
    "shape of 17 dims": ("x.safetensors", st({"w": {**ENTRY, "shape": [1] * 17, "data_offsets": [0, 4]}})),
    "bool in shape": ("x.safetensors", st({"w": {**ENTRY, "shape": [True, 4]}})),
    "offsets reversed": ("x.safetensors", st({"w": {**ENTRY, "data_offsets": [16, 0]}})),
    "offsets wrong size": ("x.safetensors", st({"w": {**ENTRY, "data_offsets": [0, 12]}})),
    "overlap": ("x.safetensors", st({"a": ENTRY, "b": {**ENTRY, "data_offsets": [8, 24]}}, b"\0" * 24)),
    "integer metadata": ("x.safetensors", st({"__metadata__": {"k": 1}, "w": ENTRY})),
    "key of 5,000 chars": ("x.safetensors", st({"k" * 5000: ENTRY})),
    "cloneofsimo 5,000-digit index": ("l.safetensors", st({f"unet:{'9' * 5000}:up": ENTRY})),
    "custom 5,000-digit index": ("l.safetensors", st({f"w_a_{'9' * 5000}": ENTRY})),
    "cloneofsimo up without down": ("l.safetensors", lora({"unet:0:up": ("F32", [4, 2])})),
    "cloneofsimo 1-D tensors": ("l.safetensors", lora({"unet:0:up": ("F32", [4]), "unet:0:down": ("F32", [4])})),
    "kohya lora_down without up": ("k.safetensors", lora({f"{KOHYA}.lora_down.weight": ("F32", [2, 768])})),
    "kohya empty alpha": (
        "k.safetensors",
        lora(
            {
                f"{KOHYA}.lora_down.weight": ("F32", [2, 8]),
                f"{KOHYA}.lora_up.weight": ("F32", [8, 2]),
                f"{KOHYA}.alpha": ("F32", [0]),
            }
        ),  # fmt: skip
    ),
    "kohya NaN alpha": (
        "k.safetensors",
        st(
            {
                f"{KOHYA}.lora_down.weight": {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 4]},
                f"{KOHYA}.lora_up.weight": {"dtype": "F32", "shape": [1, 1], "data_offsets": [4, 8]},
                f"{KOHYA}.alpha": {"dtype": "F32", "shape": [], "data_offsets": [8, 12]},
            },
            b"\0\0\x80?" * 2 + b"\0\0\xc0\x7f" + b"\0" * 4,
        ),
    ),
    "kohya LyCORIS": ("k.safetensors", lora({f"{KOHYA}.hada_w1_a": ("F32", [2, 4])})),
    "3-D lora_B": (
        "d.safetensors",
        lora({f"{DIFF}.lora_A.weight": ("F32", [2, 8]), f"{DIFF}.lora_B.weight": ("F32", [8, 2, 3])}),
    ),
    "1-D lora_embedding_A": (
        "adapter_model.safetensors",
        lora({f"{PEFT}.lora_embedding_A": ("F32", [8]), f"{PEFT}.lora_embedding_B": ("F32", [8, 2])}),
    ),
    "bad alpha_pattern regex": (
        "d.safetensors",
        lora(
            {f"{DIFF}.lora_A.weight": ("F32", [2, 8]), f"{DIFF}.lora_B.weight": ("F32", [8, 2])},
            {"lora_adapter_metadata": json.dumps({"unet.lora_alpha": 4, "unet.alpha_pattern": {"to_(k": 2}})},
        ),
    ),
    "catastrophic alpha_pattern": (
        "d.safetensors",
        lora(
            {f"{DIFF}.lora_A.weight": ("F32", [2, 8]), f"{DIFF}.lora_B.weight": ("F32", [8, 2])},
            {"lora_adapter_metadata": json.dumps({"alpha_pattern": {"(a+)+$": 2}})},
        ),
    ),
    "non-numeric lora_alpha": (
        "d.safetensors",
        lora(
            {f"{DIFF}.lora_A.weight": ("F32", [2, 8]), f"{DIFF}.lora_B.weight": ("F32", [8, 2])},
            {"lora_adapter_metadata": json.dumps({"lora_alpha": "eight"})},
        ),
    ),
    "B without A": ("d.safetensors", lora({f"{DIFF}.lora_B.weight": ("F32", [8, 2])})),
    "rank 0": (
        "d.safetensors",
        lora({f"{DIFF}.lora_A.weight": ("F32", [0, 8]), f"{DIFF}.lora_B.weight": ("F32", [8, 0])}),
    ),
    "unknown layout": ("x.safetensors", lora({"foo": ("F32", [2]), "bar": ("F32", [2])})),
    "pickle garbage": ("pytorch_lora_weights.bin", b"PK\x03\x04" + b"\x00" * 64),
    "pickle text": ("model.pt", b"this is not a pickle at all"),
}


def _write(tmp_path, name: str, blob: bytes):
    path = tmp_path / name
    path.write_bytes(blob)
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_inspect_json_refuses_with_one_line(case, tmp_path, capsys):
    path = _write(tmp_path, *CASES[case])
    assert main(["inspect", str(path), "--json"]) == 2, case
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("hfprobe: error: "), (case, err)
    assert "Traceback" not in err and "internal error" not in err and len(err) < 1500, (case, err)


def test_a_batch_reports_its_failed_item_in_the_json_too(tmp_path, capsys):
    """In a batch, a bad source is one line on stderr AND one object on stdout, as annotate and index add write
    theirs, so a script reading the JSON Lines sees every source; the good ones still answer; exit 1."""
    from tests.builders import save_textual_inversion

    good = save_textual_inversion(tmp_path / "good")
    bad = _write(tmp_path, *CASES["empty"])
    assert main(["inspect", str(good), str(bad), "--json"]) == 1
    out, err = capsys.readouterr()
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["format"] == "textual-inversion" and err.count("\n") == 1
    assert second == {"source": str(bad), "status": "failed", "error": err.strip().removeprefix("hfprobe: error: ")}
    assert main(["inspect", str(good), str(bad)]) == 1  # without --json: stderr only
    assert "failed" not in capsys.readouterr().out


PREDICT_CASES = ["empty", "nested JSON", "dtype a list", "cloneofsimo up without down", "3-D lora_B", "pickle garbage"]


@pytest.mark.parametrize("case", PREDICT_CASES)
def test_predict_refuses_with_one_line(case, tmp_path, capsys):
    path = _write(tmp_path, *CASES[case])
    assert main(["predict", str(path), "--labels", "dog,cat"]) == 2, case
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err, (case, err)


def test_a_5000_character_source_name_is_one_line(capsys):
    assert main(["inspect", "x" * 5000 + ".safetensors", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 1500 and "Traceback" not in err


ACCEPTED = {  # odd but readable: a report, with a note where something was ignored
    "cloneofsimo target list an int": (
        "l.safetensors",
        lora({"unet:0:up": ("F32", [4, 1]), "unet:0:down": ("F32", [1, 4])}, {"unet": "5"}),
    ),
    "diffusers metadata not JSON": (
        "d.safetensors",
        lora(
            {f"{DIFF}.lora_A.weight": ("F32", [2, 768]), f"{DIFF}.lora_B.weight": ("F32", [32, 2])},
            {"lora_adapter_metadata": "[" * 50_000},
        ),
    ),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_odd_but_readable_files_get_a_report(case, tmp_path, capsys):
    path = _write(tmp_path, *ACCEPTED[case])
    assert main(["inspect", str(path), "--json"]) == 0, case
    report = json.loads(capsys.readouterr().out)
    assert report["modules"] >= 1


def test_the_installed_command_prints_no_traceback(tmp_path):
    path = _write(tmp_path, *CASES["nested JSON"])
    proc = subprocess.run(
        [sys.executable, "-m", "hfprobe", "inspect", str(path), "--json"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr


def test_bitsandbytes_import_advice_shows_only_with_v(tmp_path):
    """peft imports bitsandbytes where it is installed, and bitsandbytes warns on each import that an optional
    CPU kernel package is missing: `hfprobe demo` printed it twice. The CLI keeps it off stderr unless -v."""
    script = (
        "import logging, sys\n"
        "from hfprobe.cli import main\n"
        "main(sys.argv[1:])\n"
        "logging.getLogger('bitsandbytes.backends.cpu.ops').warning('Failed to load CPU gemm_4bit_forward')\n"
    )
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(
        safetensors_bytes({"model.layers.0.self_attn.q_proj.weight": ("F32", [8, 8])}, None, random.Random(0))
    )
    for args, shown in (
        (["inspect", str(weights), "--json"], False),
        (["-v", "inspect", str(weights), "--json"], True),
    ):
        run = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120)
        assert ("gemm_4bit_forward" in run.stderr) == shown, run.stderr


@pytest.mark.parametrize("flag", [[], ["--json"]])
def test_a_card_in_any_script_prints_on_a_stdout_that_cannot_encode_it(tmp_path, flag):
    """A Windows console redirected to a file, PYTHONIOENCODING=ascii, a Latin-1 terminal: the card's own words
    (here Chinese and an emoji) are escaped, not an internal error; the JSON stays exact."""
    import os

    folder = tmp_path / "lora"
    folder.mkdir()
    (folder / "pytorch_lora_weights.safetensors").write_bytes(
        lora({f"{DIFF}.lora_A.weight": ("F32", [4, 768]), f"{DIFF}.lora_B.weight": ("F32", [320, 4])})
    )
    (folder / "README.md").write_text("# 動漫風格 LoRA 🎨\n\n此次作業是動漫風格的 LoRA 模型。\n", encoding="utf-8")
    runs = {}
    for encoding in ("ascii", "utf-8"):
        env = {**os.environ, "PYTHONIOENCODING": encoding}
        cmd = [sys.executable, "-m", "hfprobe", "inspect", str(folder), *flag]
        runs[encoding] = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
        assert runs[encoding].returncode == 0 and runs[encoding].stderr == b"", runs[encoding].stderr
    ascii_out, utf8_out = runs["ascii"].stdout.decode("ascii"), runs["utf-8"].stdout.decode("utf-8")
    if flag:
        assert json.loads(ascii_out) == json.loads(utf8_out) and "動漫" in json.loads(ascii_out)["described"]["text"]
    else:
        assert "\\u52d5\\u6f2b" in ascii_out and "動漫" in utf8_out


def test_predict_s_text_says_unknown_as_inspect_does():
    """One word for what the weights leave open: `inspect` says "root unknown"; `predict` said "root ?"."""
    from hfprobe.cli.predict import format_prediction

    out = {"source": "x", "tree": {"family": None, "root": None}, "expert": None, "routing": {"reason": "no expert"}}
    text = format_prediction(out)
    assert "tree:    family unknown, root unknown" in text.splitlines()
