#!/bin/bash
# Adapter v4 on the lent GPU (issue 13): v1's data (training/sft.py make_data, the v1 mix) plus
# the hand-written structure and step-list requests of ten writers' tuning sets
# (training/data/hand.py; tune_v2..v11, REPEATS styles each). Held out, never trained on:
# tune_v12 and tune_v13 (two fresh writers, engine/bench/data/TUNE.md) and dev_v2.
# Needs /root/m/smollm2.gguf (DEVICE.md) and .whl with gguf. Two calls, back to back:
#   PHASE=train bash scripts/device/train_v4.sh   (~250 s: data, then SFT with a time limit)
#   PHASE=bench bash scripts/device/train_v4.sh   (v3 and v4 side by side: the model's own
#                                                  reading on the held-out writers and dev,
#                                                  and v1 and v4 served on dev)
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | grep -v already | tail -1
export PYTHONPATH=/tmp/site:$PWD DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name --format=csv,noheader
clean() { tr '\r' '\n' | grep -v "Loading weights\|Writing model\|warn\|it/s\]"; }
t0=$(date +%s)
if [ "${PHASE:-train}" = train ]; then
  mkdir -p /root/data
  python3 - <<PY || exit 1
from pathlib import Path
from training.data.hand import write_mix
hand = [Path(f'engine/bench/data/tune_v{i}.jsonl') for i in range(2, 12)]
n, dropped = write_mix(Path('/root/data/train.jsonl'), 32000, 1, hand, ${REPEATS:-8}, 4)
print('hand rows', n, 'left out', dropped)
PY
  echo "data: $(wc -l < /root/data/train.jsonl) rows in $(( $(date +%s) - t0 )) s"
  python3 -m diagrammer train sft --data /root/data/train.jsonl --out /root/v4 --base /root/m/smollm2.gguf \
    --max-steps ${STEPS:-800} --batch-size 64 --lr 1e-3 --rank 16 --time-limit ${LIMIT:-230} \
    --checkpoint-every 200 2>&1 | clean | tail -4
  python3 - <<'PY'
import os
from safetensors.torch import load_file, save_file
t = load_file("/root/v4/adapter_model.safetensors")
save_file({k: v.bfloat16().contiguous() for k, v in t.items()}, os.environ["OUT"] + "/adapter_model.safetensors")
PY
  cp /root/v4/adapter_config.json /root/v4/train_summary.json /root/v4/loss.png $OUT/
  cat /root/v4/train_summary.json; echo
else
  mkdir -p models/adapters/v4 && cp /root/v4/adapter_config.json models/adapters/v4/
  python3 -c "
from safetensors.torch import load_file, save_file
t = load_file('/root/v4/adapter_model.safetensors')
save_file({k: v.bfloat16().contiguous() for k, v in t.items()}, 'models/adapters/v4/adapter_model.safetensors')"
  cat engine/bench/data/tune_v12.jsonl engine/bench/data/tune_v13.jsonl > /root/data/fresh2.jsonl
  # fresh2's per-request details come back (tuning sets); dev_v2's stay on the device.
  for set in /root/data/fresh2.jsonl engine/bench/data/dev_v2.jsonl; do
    name=$(basename $set .jsonl); mkdir -p /root/q/$name $OUT/$name
    timeout 170 python3 -m diagrammer bench quality --dev $set --model /root/m/smollm2.gguf \
      --adapter v3 --adapter v4 --model-reads --candidates 8 --batch 64 --seed 1 \
      --out /root/q/$name 2>&1 | clean | grep "^|" | tail -20
    cp /root/q/$name/bench_quality_dev.* $OUT/$name/
  done
  cp /root/q/fresh2/dev_details_*.jsonl $OUT/fresh2/ 2>/dev/null
  mkdir -p /root/q/served $OUT/served
  timeout 170 python3 -m diagrammer bench quality --dev engine/bench/data/dev_v2.jsonl \
    --model /root/m/smollm2.gguf --adapter v1 --adapter v4 --candidates 8 --batch 64 --seed 1 \
    --out /root/q/served 2>&1 | clean | grep "^|" | tail -20
  cp /root/q/served/bench_quality_dev.* $OUT/served/
fi
echo "phase ${PHASE:-train}: $(( $(date +%s) - t0 )) s"
