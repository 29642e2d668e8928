#!/usr/bin/env bash
# The device checks of docs/reproduce.md, as one script for a machine with a CUDA GPU (about 2 minutes).
# Needs torch, numpy, huggingface_hub, safetensors and pytest (the lent H200 image has them); runs from the
# repository root with the package on PYTHONPATH (no install). Writes to $OUT (default ./gpu_check):
#   device_cuda.json   one probe's training cost per model-epoch at the paper's shapes, on the GPU
#   device_cpu16.json  the same cases on this machine's CPU cores (the speed-up's other side)
#   pytest_cuda.txt    tests/test_device.py's CUDA test: bf16 autocast within 0.05 of the CPU's figure
# With ZOO=<a built zoo folder> (and TREES=<comma list>, default all) it also runs `hfprobe bench` end to end
# on that zoo twice, --device cuda and --device cpu with every core:
#   bench_cuda.json, bench_cpu.json   the bench's JSON (seconds_total, the figures; no plot)
# and trains the first of TREES's experts with `hfprobe train --device cuda`, then predicts one of its test
# models with it on each device:
#   predict_cuda.json, predict_cpu.json   `hfprobe predict --json` (scoring is fp32: the same answer on both)
set -uo pipefail
OUT=${OUT:-gpu_check}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export HFPROBE_CACHE=${HFPROBE_CACHE:-$(mktemp -d)}
PY=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
$PY -c "import torch, huggingface_hub; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'hub', huggingface_hub.__version__, 'cpus', torch.get_num_threads())"
$PY benchmarks/bench_device.py --device cuda --models 512 --epochs 20 --out "$OUT/device_cuda.json"
$PY benchmarks/bench_device.py --device cpu --threads "$(nproc)" --models 128 --epochs 2 --out "$OUT/device_cpu16.json"
$PY -m pytest -q -p no:cacheprovider tests/test_device.py -k cuda -rA 2>&1 | tee "$OUT/pytest_cuda.txt"
if [ -n "${ZOO:-}" ]; then
    trees=()
    [ -n "${TREES:-}" ] && trees=(--trees "$TREES")
    for dev in cuda cpu; do
        $PY -m hfprobe bench --zoo "$ZOO" "${trees[@]}" --device "$dev" --threads "$(nproc)" -q --no-plot \
            --out "$OUT/bench_$dev.json" 2>&1 | tail -n 12
    done
    tree=${TREES:-}; tree=${tree%%,*}
    if [ -n "$tree" ]; then
        experts=$(mktemp -d)
        $PY -m hfprobe train --zoo "$ZOO" --tree "$tree" --device cuda -q --out "$experts/$tree"
        model=$($PY -c 'import json, sys
rows = [json.loads(line) for line in open(sys.argv[1] + "/manifest.jsonl")]
print(sys.argv[1] + "/" + next(r["path"] for r in rows if r["tree"] == sys.argv[2] and r["split"] == "test"))' "$ZOO" "$tree")
        for dev in cuda cpu; do
            $PY -m hfprobe predict "$model" --experts "$experts" --device "$dev" --json > "$OUT/predict_$dev.json"
            $PY -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(sys.argv[2], r["method"], [(p["label"], p.get("probability")) for p in r["predictions"]])' "$OUT/predict_$dev.json" "$dev"
        done
    fi
fi
