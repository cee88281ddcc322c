#!/bin/bash
# The lent GPU, fourth of four calls: the first three copy .model/part_aa, part_ab to /root/m
# and assemble the GGUF with part_ac (`cat /root/m/part_a? > /root/m/smollm2.gguf`); this one
# carries .whl. Adapter v3: v1's data (training/sft.py make_data, the v1 mix) plus the
# hand-written tuning sets' structure and step-list requests (training/data/hand.py,
# tune_v2..v7, REPEATS styles each; tune_v8 is held out), trained as v1 was; then v1 and v3
# side by side on tune_v8 (never trained on) and on the held-out dev set (aggregates).
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/site:$PWD DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name --format=csv,noheader
clean() { tr '\r' '\n' | grep -v "Loading weights\|Writing model\|warn"; }
t0=$(date +%s)
python3 - <<PY || exit 1
from pathlib import Path
from training.data.hand import write_mix
hand = [Path(f'engine/bench/data/tune_v{i}.jsonl') for i in range(2, 8)]
n, dropped = write_mix(Path('/root/data/train.jsonl'), 32000, 1, hand, ${REPEATS:-8}, 3)
print('hand rows', n, 'left out', dropped)
PY
echo "data: $(wc -l < /root/data/train.jsonl) rows in $(( $(date +%s) - t0 )) s"
python3 -m diagrammer train sft --data /root/data/train.jsonl --out /root/v3 --base /root/m/smollm2.gguf \
  --max-steps ${STEPS:-700} --batch-size 64 --lr 1e-3 --rank 16 --time-limit ${LIMIT:-220} \
  --checkpoint-every 200 2>&1 | clean | tail -4
mkdir -p models/adapters/v3
python3 - <<'PY'
import os
from safetensors.torch import load_file, save_file
t = load_file("/root/v3/adapter_model.safetensors")
t = {k: v.bfloat16().contiguous() for k, v in t.items()}
for d in (os.environ["OUT"], "models/adapters/v3"):
    save_file(t, d + "/adapter_model.safetensors")
PY
cp /root/v3/adapter_config.json /root/v3/train_summary.json /root/v3/loss.png $OUT/
cp /root/v3/adapter_config.json models/adapters/v3/
cat /root/v3/train_summary.json; echo
# tune_v8's per-request details come back (a tuning set); dev_v2's stay on the device.
for set in tune_v8 dev_v2; do
  mkdir -p /root/q/$set
  timeout 170 python3 -m diagrammer bench quality --dev engine/bench/data/$set.jsonl \
    --model /root/m/smollm2.gguf --adapter v1 --adapter v3 --candidates 8 --batch 64 \
    --out /root/q/$set 2>&1 | clean | grep "^|" | tail -20
  mkdir -p $OUT/$set && cp /root/q/$set/bench_quality_dev.* $OUT/$set/
done
cp /root/q/tune_v8/dev_details_*.jsonl $OUT/tune_v8/
echo "total $(( $(date +%s) - t0 )) s"
