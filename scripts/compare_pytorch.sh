#!/usr/bin/env bash
# Runs `cnx bench` and scripts/bench_pytorch.py alternately in one sitting
# (issue 11's protocol; docs/performance.md) and prints one JSON line per run.
#
#   scripts/compare_pytorch.sh [ROUNDS] [PYTHON] [f32|bf16]
#
# ROUNDS (default 3) rounds of: cnx train, PyTorch train, cnx infer, PyTorch
# infer, ConvNeXt-Tiny, batch 16, 224x224, 2 threads, 5 timed steps after 1
# warm-up. PYTHON (default python3) must import torch. bf16 compares
# `cnx bench --dtype bf16` with PyTorch's CPU bf16 autocast, channels_last
# (`--bf16 --channels-last`, issue 16's protocol). Needs a release build
# of cnx (`swift build -c release --product cnx`). Optional: never part of the tests.
set -euo pipefail
rounds=${1:-3}
python=${2:-python3}
dtype=${3:-f32}
case "$dtype" in
  f32) cnx_dtype=""; torch_dtype="" ;;
  bf16) cnx_dtype="--dtype bf16"; torch_dtype="--bf16 --channels-last" ;;
  *) echo "dtype must be f32 or bf16, got '$dtype'" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
cnx=.build/release/cnx
[ -x "$cnx" ] || { echo "no $cnx: run 'swift build -c release --product cnx' first" >&2; exit 1; }
"$python" -c 'import torch' 2>/dev/null || { echo "$python cannot import torch: pip install torch (CPU wheels are enough)" >&2; exit 1; }
common="--batch 16 --image-size 224 --steps 5 --warmup 1 --threads 2"
for round in $(seq 1 "$rounds"); do
  for mode in train infer; do
    echo "{\"round\": $round, \"system\": \"cnx\", \"uptime\": \"$(uptime | sed 's/.*load/load/')\", \"record\": $("$cnx" -c "bench $mode --model tiny $common $cnx_dtype" --json 2>/dev/null)}"
    echo "{\"round\": $round, \"system\": \"pytorch\", \"uptime\": \"$(uptime | sed 's/.*load/load/')\", \"record\": $("$python" scripts/bench_pytorch.py "$mode" $common $torch_dtype 2>/dev/null | tail -1)}"
  done
done
