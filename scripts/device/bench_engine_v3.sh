#!/bin/bash
# The lent GPU, last of four calls (as bench_v3.sh: /root/snap holds a git archive of the
# measured commit, /root/m the first two model parts; this call carries .model/part_ac and
# .whl: gguf, aiosqlite, aiohttp and its parts, apscheduler, tzlocal). The engine under load,
# scoring with worker processes (ENGINE_SCORE_WORKERS=-1: one per core beside a GPU), then
# on the scoring thread alone (0), side by side.
set -u
cat /root/m/part_aa /root/m/part_ab .model/part_ac > /root/m/smollm2.gguf
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
cp -r models /root/snap/ 2>/dev/null
cd /root/snap
export PYTHONPATH=/tmp/site:$PWD DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name --format=csv,noheader; nproc
clean() { tr '\r' '\n' | grep -v "Loading weights\|Writing model\|warn\|it/s\]"; }
for workers in -1 0; do
  echo "== ENGINE_SCORE_WORKERS=$workers"
  ENGINE_SCORE_WORKERS=$workers timeout 250 python3 -m diagrammer bench engine \
    --model /root/m/smollm2.gguf --adapter v1 --device cuda --concurrency 1,16,32 \
    --requests 96 --out $OUT/e$workers 2>&1 | clean | tail -14
done
