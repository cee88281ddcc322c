#!/bin/bash
# The lent GPU, second of two calls (the first copies .model/part_aa to /root/m; see
# ../shared/DEVICE.md): LLM quality, fast vs plain, and latency with the kernel floor.
set -u
cat /root/m/part_aa .model/part_ab > /root/m/smollm2.gguf
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/site:$PWD DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name --format=csv,noheader
clean() { tr '\r' '\n' | grep -v "Loading weights\|Writing model\|warn"; }
mkdir -p $OUT/quality $OUT/latency
timeout 260 python3 -m diagrammer bench quality --model /root/m/smollm2.gguf --adapter v1 \
  --engine fast --engine plain --candidates 4 --batch 64 --synthetic 100 --out $OUT/quality 2>&1 | clean | tail -12
timeout 300 python3 -m diagrammer bench latency --model /root/m/smollm2.gguf --model deepseek-1.3b-shape \
  --device cuda --adapter v1 --plain-reps 1 --quality 24 --out $OUT/latency 2>&1 | clean | tail -60
