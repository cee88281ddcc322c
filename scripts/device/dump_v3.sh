#!/bin/bash
# Fourth call after the three that assemble /root/m/smollm2.gguf; carries .whl and v3.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/site:$PWD DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
for set in ${SETS:-tune_v8}; do
  python3 scripts/device/dump_candidates.py engine/bench/data/$set.jsonl $OUT/$set.jsonl ${N:-16} \
    /root/m/smollm2.gguf 2>&1 | tr '\r' '\n' | grep -v "Loading weights\|warn" | tail -3
done
