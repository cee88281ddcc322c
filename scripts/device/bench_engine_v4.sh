#!/bin/bash
# The lent GPU, a call after bench_v3.sh in the same warm lease (/root/snap holds the git
# archive of the measured commit, /root/m/smollm2.gguf the model; this call carries .whl:
# gguf, aiosqlite, aiohttp and its parts, apscheduler, tzlocal, pydantic-settings and its
# parts). The engine under load with scoring worker processes (one per core beside a GPU).
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
cp -r models /root/snap/ 2>/dev/null  # the scorers, from the working tree
cd /root/snap
export PYTHONPATH=/tmp/site:$PWD DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name --format=csv,noheader; nproc
clean() { tr '\r' '\n' | grep -v "Loading weights\|Writing model\|warn\|it/s\]"; }
ENGINE_SCORE_WORKERS=-1 timeout 500 python3 -m diagrammer bench engine \
  --model /root/m/smollm2.gguf --adapter v1 --device cuda --concurrency 1,16,32,48 \
  --requests 128 --out $OUT/e 2>&1 | clean | tail -16
