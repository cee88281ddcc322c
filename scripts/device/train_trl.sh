#!/bin/bash
# The lent GPU, fourth of four calls (the first three assemble /root/m/smollm2.gguf from
# .model/part_a?, as train_v3.sh says); this one carries .whl (trl, datasets and their small
# dependencies: the image has pandas, pyarrow, accelerate). Adapter v1's recipe again, on
# TRL's SFTTrainer (training/sft.py): the same data (make_data 32000, seed 1), the same
# command as v1's model card; then v1 and the TRL run side by side on the hand-written
# requests, tune_v8 and the held-out dev set (aggregates only for dev_v2).
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/site:$PWD DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name --format=csv,noheader
clean() { tr '\r' '\n' | grep -v "Loading weights\|Writing model\|warn\|it/s\]\|s/it\]"; }
t0=$(date +%s)
if [ "${SKIP_TRAIN:-0}" = 0 ]; then
  [ -s /root/data/v1.jsonl ] || python3 -c "from training.sft_data import make_data; make_data('/root/data/v1.jsonl', 32000, seed=1, chunks=16)" || exit 1
  echo "data: $(wc -l < /root/data/v1.jsonl) rows in $(( $(date +%s) - t0 )) s"
  python3 -m diagrammer train sft --data /root/data/v1.jsonl --out /root/trl --base /root/m/smollm2.gguf \
    --epochs 3 --batch-size 64 --lr 1e-3 --rank 16 --time-limit 200 --checkpoint-every 100 2>&1 | clean | tail -25
  cp /root/trl/adapter_config.json /root/trl/train_summary.json /root/trl/loss.png /root/trl/train_log.jsonl $OUT/
fi
mkdir -p models/adapters/trl && cp /root/trl/adapter_config.json /root/trl/adapter_model.safetensors models/adapters/trl/
touch models/adapters/trl/HELD_BACK
echo "trained at $(( $(date +%s) - t0 )) s"
if [ "${HAND:-1}" = 1 ]; then mkdir -p /root/q/hand; timeout 120 python3 -m diagrammer bench quality --model /root/m/smollm2.gguf \
  --adapter v1 --adapter trl --batch 64 --out /root/q/hand 2>&1 | clean | grep "^|" | tail -8; fi
for set in ${SETS:-tune_v8 dev_v2}; do
  mkdir -p /root/q/$set
  timeout 170 python3 -m diagrammer bench quality --dev engine/bench/data/$set.jsonl \
    --model /root/m/smollm2.gguf --adapter v1 --adapter trl --candidates 8 --batch 64 --seed ${SEED:-0} \
    --out /root/q/$set 2>&1 | clean | grep "^|" | tail -20
done
echo "total $(( $(date +%s) - t0 )) s"
