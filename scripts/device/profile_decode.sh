#!/bin/bash
# The lent GPU, a call in a lease where /root/m/smollm2.gguf is already assembled (as
# bench_v3.sh's calls do); this call carries .whl (gguf, for the GGUF conversion on a fresh
# /root/cache). Runs from the working tree this call starts in, or from $SNAP when set (e.g.
# SNAP=/root/snap, a git archive of a commit that has scripts/device/profile_decode.py).
# Milliseconds per decode step by part, then the eager loop against the fused one.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
if [ -n "${SNAP:-}" ]; then cp -r models "$SNAP"/ 2>/dev/null; cd "$SNAP" || exit 1; fi
export PYTHONPATH=/tmp/site:$PWD DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name --format=csv,noheader
[ -f /root/m/smollm2.gguf ] || { echo "no /root/m/smollm2.gguf in this lease"; exit 1; }
clean() { tr '\r' '\n' | grep -v "Loading weights\|Writing model\|warn\|it/s\]"; }
timeout 540 python3 scripts/device/profile_decode.py --model /root/m/smollm2.gguf \
  --adapter v1 --out "$OUT"/profile_decode.json 2>&1 | clean | tail -20
