"""The header path imports nothing heavy: `hfprobe inspect FILE --json` on safetensors and GGUF files of every format
runs without torch, diffusers, peft or transformers (seconds of imports each), nor, for a local file, huggingface_hub
(a tenth of a second, once imported to start Hub downloads for local files too); pickles still load torch (lazily),
and the CLI parser imports only what parsing needs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from hfprobe.formats.fuzz.seeds import seed_files
from tests import builders as B

HEAVY = ("torch", "diffusers", "peft", "transformers", "huggingface_hub")  # (the last for Hub sources only)

# runs `hfprobe inspect PATH --json` for each path in one fresh interpreter; prints, per path, its exit code
# and the heavy modules loaded so far (so the first format that pulls one in is named)
RUNNER = f"""
import contextlib, io, json, sys
from hfprobe.cli import main
out = []
for path in sys.argv[1:]:
    with contextlib.redirect_stdout(io.StringIO()) as buf:
        rc = main(["inspect", path, "--json"])
    report = json.loads(buf.getvalue() or "null")
    out.append([path, rc, report and report["format"], [m for m in {HEAVY!r} if m in sys.modules]])
print(json.dumps(out))
"""


def _run(paths) -> list:
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, *map(str, paths)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def _kohya(path, names, metadata=None):
    sd = {}
    for n in names:
        sd.update(
            {
                f"{n}.lora_down.weight": torch.randn(2, 16),
                f"{n}.lora_up.weight": torch.randn(16, 2),
                f"{n}.alpha": torch.tensor(1.0, dtype=torch.float16),
            }
        )
    save_file(sd, str(path), metadata=metadata)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("light")
    unet = B.add_unet_lora(B.tiny_unet(), r=4, alpha=8)
    te = B.add_unet_lora(B.tiny_clip_text(), r=2, alpha=2, targets=("q_proj", "v_proj", "fc1"))
    out = {
        "diffusers-lora": B.save_diffusers_lora(unet, d / "lora_A", style="lora_A"),
        "diffusers-lora lora.down + te": B.save_diffusers_lora(unet, d / "down", style="lora.down", text_encoder=te),
        "diffusers-lora-processor": B.save_diffusers_lora(unet, d / "proc", style="processor"),
        "kohya": B.save_kohya_lora(unet, d / "kohya", text_encoder=te, alpha=2.0),
        "kohya sdxl sgm": _kohya(
            d / "sgm.safetensors",
            [
                "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k",
                "lora_te2_text_model_encoder_layers_0_mlp_fc1",
            ],
        ),
        "kohya flux": _kohya(d / "flux.safetensors", ["lora_unet_double_blocks_0_img_attn_qkv"]),
        "kohya dotted (comfy)": _kohya(d / "comfy.safetensors", ["diffusion_model.blocks.0.self_attn.q"]),
        "cloneofsimo": B.save_cloneofsimo_lora(B.tiny_unet(), d / "clone")[0],
        "peft": B.peft_adapter("vit", d / "peft", alpha_pattern={"v_proj": 3})[1],
        "peft gpt2": B.peft_adapter("gpt2", d / "gpt2")[1],
        "transformers-checkpoint": B.save_checkpoint("vit", d / "vit")[1],
        "diffusers-checkpoint": B.save_unet_checkpoint(d / "unet")[1],
        "textual-inversion": B.save_textual_inversion(d / "ti"),
    }
    custom = d / "custom.safetensors"
    save_file({"w_a_000": torch.randn(2, 8), "w_b_000": torch.randn(8, 2)}, str(custom))
    ldm = d / "ldm.safetensors"
    save_file({"model.diffusion_model.input_blocks.1.1.proj_in.weight": torch.randn(4, 4, 1, 1)}, str(ldm))
    out.update({"custom-lora": custom, "ldm-checkpoint": ldm})
    for seed in ("gptq", "gguf", "onnx"):  # a quantized checkpoint, a llama.cpp file, an export, as the fuzz seeds
        folder = d / seed
        folder.mkdir()
        for name, blob in seed_files(seed).items():
            (folder / name).parent.mkdir(exist_ok=True)
            (folder / name).write_bytes(blob)
        out[seed] = folder
    ip = {"image_proj.proj.weight": ("F16", (16, 8)), "ip_adapter.1.to_k_ip.weight": ("F16", (320, 768))}
    out["ip-adapter"] = B.write_header(d / "ip-adapter.safetensors", ip)
    return out


def test_inspect_on_every_safetensors_format_imports_nothing_heavy(files):
    results = _run(files.values())
    for (name, path), (ran, rc, fmt, heavy) in zip(files.items(), results):
        assert ran == str(path) and rc == 0, (name, rc)
        assert heavy == [], f"{name} ({fmt}) imported {heavy}"
    formats = {fmt for _, _, fmt, _ in results}
    assert formats >= {
        "diffusers-lora",
        "diffusers-lora-processor",
        "kohya",
        "cloneofsimo",
        "peft",
        "custom-lora",
        "transformers-checkpoint",
        "diffusers-checkpoint",
        "ldm-checkpoint",
        "textual-inversion",
        "gguf",
        "onnx",
        "ip-adapter",
    }, formats


def test_realzoo_inspect_imports_nothing_heavy(realzoo):
    rows = [json.loads(line) for line in (realzoo / "manifest.jsonl").read_text().splitlines() if line.strip()]
    paths = [realzoo / r["local_path"] for r in rows if r["local_path"].endswith(".safetensors")]
    results = _run(paths)
    assert len(results) == len(paths) > 30
    for path, rc, fmt, heavy in results:
        assert rc == 0 and heavy == [], (path, fmt, heavy)


def test_zip_pickles_are_indexed_without_torch_and_old_ones_load_it(tmp_path):
    """A torch zip-format pickle is inspected from its data.pkl alone; an old-format one needs torch.load (and the
    guard above sees torch there, so it can see it)."""
    B.save_pickle_lora(B.add_unet_lora(B.tiny_unet()), tmp_path / "zip")
    old = tmp_path / "old" / "pytorch_lora_weights.bin"
    old.parent.mkdir()
    tensors = torch.load(tmp_path / "zip" / "pytorch_lora_weights.bin", weights_only=True)
    torch.save(tensors, old, _use_new_zipfile_serialization=False)
    (_, rc_zip, fmt_zip, heavy_zip), (_, rc_old, fmt_old, heavy_old) = _run(
        [tmp_path / "zip" / "pytorch_lora_weights.bin", old]
    )
    assert rc_zip == 0 and fmt_zip == "diffusers-lora-processor" and not heavy_zip
    assert rc_old == 0 and fmt_old == "diffusers-lora-processor" and "torch" in heavy_old


def test_cli_parser_imports_only_what_parsing_needs():
    code = (
        "import sys; from hfprobe.cli import build_parser; build_parser(); "
        "print([m for m in sys.modules if m.split('.')[0] in ('torch', 'diffusers', 'peft', 'transformers', "
        "'gradio', 'numpy', 'huggingface_hub', 'safetensors')])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.strip() == "[]", proc.stdout
