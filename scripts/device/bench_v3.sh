#!/bin/bash
# The lent GPU, last of four calls: the first extracts .snap/code.tar (git archive of the
# commit to measure) to /root/snap, the next two copy .model/part_aa and part_ab to /root/m;
# this one carries .model/part_ac and .whl (gguf, aiosqlite). Per-kind faithfulness on the
# held-out dev set, v1 with 8 candidates, then the older hand-written set with 4.
set -u
cat /root/m/part_aa /root/m/part_ab .model/part_ac > /root/m/smollm2.gguf
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
cp -r models /root/snap/ 2>/dev/null; cp -r tests/data /root/snap/tests/ 2>/dev/null
cd /root/snap
export PYTHONPATH=/tmp/site:$PWD DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name --format=csv,noheader
clean() { tr '\r' '\n' | grep -v "Loading weights\|Writing model\|warn"; }
mkdir -p $OUT/q
timeout 330 python3 -m diagrammer bench quality --dev engine/bench/data/dev_v2.jsonl \
  --model /root/m/smollm2.gguf --adapter v1 --candidates 8 --batch 64 --out $OUT/q 2>&1 \
  | clean | tail -30
timeout 150 python3 -m diagrammer bench quality --prompts tests/data/requests.jsonl \
  --model /root/m/smollm2.gguf --adapter v1 --candidates 4 --batch 64 --out /root/h 2>&1 \
  | clean | tail -8
