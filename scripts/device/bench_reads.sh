#!/bin/bash
# The lent GPU, fourth of four calls (the first three assemble /root/m/smollm2.gguf as
# train_v3.sh says); carries .whl. What each adapter reads by itself: `bench quality --dev
# --model-reads` (no steps hint, nothing grafted) on tune_v8 (never trained on) and the
# held-out dev set, v1 and v3 side by side; dev's per-request details stay on the device.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/site:$PWD DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name --format=csv,noheader
clean() { tr '\r' '\n' | grep -v "Loading weights\|Writing model\|warn"; }
for set in ${SETS:-tune_v8 dev_v2}; do
  mkdir -p /root/q/$set $OUT/$set
  timeout ${LIMIT:-200} python3 -m diagrammer bench quality --dev engine/bench/data/$set.jsonl \
    --model /root/m/smollm2.gguf --adapter v1 --adapter v3 --candidates 8 --batch 64 \
    --model-reads --out /root/q/$set 2>&1 | clean | grep "^|" | tail -20
  cp /root/q/$set/bench_quality_dev.* $OUT/$set/
done
