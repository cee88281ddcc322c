#!/bin/bash
# The lent GPU, third of three calls: the first two copy .model/part_aa and part_ab to /root/m
# (`mkdir -p /root/m && cp .model/part_a? /root/m/`), this one carries .model/part_ac and .whl.
# Makes adapter v2's data (training/data/synth.py, sketch v2 mix), trains it (training/sft.py)
# and returns the adapter (bf16), its log, summary and loss plot under $OUT.
set -u
cat /root/m/part_aa /root/m/part_ab .model/part_ac > /root/m/smollm2.gguf
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/site:$PWD DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name --format=csv,noheader
t0=$(date +%s)
python3 -c "from training.sft_data import make_data; make_data('/root/data/train.jsonl', ${N:-40000}, seed=2, chunks=16, version=2)" || exit 1
echo "data: $(wc -l < /root/data/train.jsonl) rows in $(( $(date +%s) - t0 )) s"
python3 -m diagrammer train sft --data /root/data/train.jsonl --out /root/v2 --base /root/m/smollm2.gguf \
  --max-steps ${STEPS:-800} --batch-size 64 --lr 1e-3 --rank 16 --time-limit ${LIMIT:-330} \
  --checkpoint-every 200 2>&1 | tr '\r' '\n' | grep -v "Loading weights\|Writing model\|warn" | tail -5
python3 - <<'PY'
import os
from safetensors.torch import load_file, save_file
t = load_file("/root/v2/adapter_model.safetensors")
save_file({k: v.bfloat16().contiguous() for k, v in t.items()}, os.environ["OUT"] + "/adapter_model.safetensors")
PY
cp /root/v2/adapter_config.json /root/v2/train_summary.json /root/v2/loss.png /root/v2/train_log.jsonl $OUT/
cat /root/v2/train_summary.json
