#!/bin/bash
# The lent GPU, third of three calls (the first two copy .model/part_aa and part_ab to /root/m;
# this one carries .model/part_ac and .whl): per-kind faithfulness on the held-out dev set for
# the base model, v1 and v2 side by side (8 candidates), then the older hand-written set.
set -u
cat /root/m/part_aa /root/m/part_ab .model/part_ac > /root/m/smollm2.gguf
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/site:$PWD DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name --format=csv,noheader
clean() { tr '\r' '\n' | grep -v "Loading weights\|Writing model\|warn"; }
mkdir -p $OUT/q
timeout 420 python3 -m diagrammer bench quality --dev engine/bench/data/dev_v2.jsonl \
  --model /root/m/smollm2.gguf --adapter none --adapter v1 --adapter v2 --candidates 8 \
  --batch 64 --out $OUT/q 2>&1 | clean | tail -30
timeout 120 python3 -m diagrammer bench quality --prompts tests/data/requests.jsonl \
  --model /root/m/smollm2.gguf --adapter v1 --adapter v2 --candidates 4 --batch 64 \
  --out /root/h 2>&1 | clean | tail -8
