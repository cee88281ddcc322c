#!/bin/bash
# Two versions of the engine side by side in one lease (issue 17): `bench engine` on the
# working tree as it came ("new") and on a copy with the files under .whl/old/ put back in
# place ("old"; e.g. .whl/old/engine/service/pipeline_backend.py from the parent commit),
# alternating old, new, old, new so a drift of the lent machine shows. Needs
# /root/m/smollm2.gguf (DEVICE.md) and .whl with gguf, aiosqlite, aiohttp and its parts,
# apscheduler, tzlocal, pydantic(-settings) and their parts.
#   LEVELS=16,32,48 REQUESTS=256 bash scripts/device/bench_engine_ab.sh
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
rm -rf /root/new /root/old && mkdir -p /root/new && cp -r engine diagrammer common models training bot /root/new/
cp -r /root/new /root/old && cp -r .whl/old/. /root/old/
export DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 ENGINE_SCORE_WORKERS=-1
nvidia-smi --query-gpu=name --format=csv,noheader; nproc
clean() { tr '\r' '\n' | grep -v "Loading weights\|Writing model\|warn\|it/s\]"; }
for round in 1 2; do
  for v in old new; do
    echo "== $v (round $round)"
    (cd /root/$v && PYTHONPATH=/tmp/site:/root/$v timeout 280 python3 -m diagrammer bench engine \
      --model /root/m/smollm2.gguf --adapter v1 --device cuda --concurrency "${LEVELS:-16,32,48}" \
      --requests "${REQUESTS:-256}" --out "$OUT/$v$round" 2>&1 | clean | grep -A4 "clients  req/min" )
  done
done
