#!/usr/bin/env bash
# The device checks of docs/reproduce.md, as one script for a machine with a CUDA GPU (under 5 minutes).
# Needs torch, numpy, huggingface_hub, safetensors and pytest (the lent H200 image has them); runs from the
# repository root with the package on PYTHONPATH (no install). Writes to $OUT (default ./gpu_check):
#   device_cuda.json   one probe's training cost per model-epoch at the paper's shapes, on the GPU
#   device_cpu16.json  the same cases on this machine's CPU cores (the speed-up's other side)
#   pytest_cuda.txt    tests/test_device.py's CUDA test: bf16 autocast within 0.05 of the CPU's figure
set -uo pipefail
OUT=${OUT:-gpu_check}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/nvidia_smi.txt"
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
$PY benchmarks/bench_device.py --device cuda --models 512 --epochs 5 --out "$OUT/device_cuda.json"
$PY benchmarks/bench_device.py --device cpu --threads 16 --models 128 --epochs 2 --out "$OUT/device_cpu16.json"
$PY -m pytest -q -p no:cacheprovider tests/test_device.py -k cuda -rA 2>&1 | tee "$OUT/pytest_cuda.txt"
