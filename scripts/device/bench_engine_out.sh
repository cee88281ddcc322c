#!/bin/bash
# The engine benched from another process (issue 17), beside the usual in-process bench, in
# one lease. `bench engine` without --url runs its clients on the engine's own event loop and
# GIL; the bot is always another process, so `--url` against `diagrammer engine` measures what
# users get. Alternates in, out, in, out so a drift of the lent machine shows. Needs
# /root/m/smollm2.gguf (DEVICE.md) and .whl with gguf, aiosqlite, aiohttp and its parts,
# apscheduler, tzlocal, pydantic(-settings) and their parts.
#   LEVELS=16,32,48 REQUESTS=192 bash scripts/device/bench_engine_out.sh
# A record of the run on 7a78ff2 (docs/notes-engine.md): since then `bench engine` itself starts
# the engine in a process of its own, so on later code both columns measure the same thing.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/site:$PWD DIAGRAMMER_CACHE=/root/cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
export ENGINE_SCORE_WORKERS=-1 ENGINE_SECRET=$(python3 -c "import secrets; print(secrets.token_hex(16))")
nvidia-smi --query-gpu=name --format=csv,noheader; nproc
clean() { tr '\r' '\n' | grep -v "Loading weights\|Writing model\|warn\|it/s\]"; }
model=(--model /root/m/smollm2.gguf --adapter v1 --device cuda)
bench=(--concurrency "${LEVELS:-16,32,48}" --requests "${REQUESTS:-192}")
for round in 1 2; do
  echo "== in-process (round $round)"
  timeout 200 python3 -m diagrammer bench engine "${model[@]}" "${bench[@]}" --out "$OUT/in$round" \
    2>&1 | clean | grep -A4 "clients  req/min"
  echo "== another process (round $round)"
  rm -rf /root/eng && ENGINE_RETRAIN_INTERVAL_MIN=0 ENGINE_QUEUE_MAX=256 ENGINE_QUEUE_MAX_PER_USER=64 \
    python3 -m diagrammer engine "${model[@]}" --data-dir /root/eng --port 8765 > /root/engine.log 2>&1 &
  engine=$!
  for _ in $(seq 120); do kill -0 $engine 2>/dev/null || break; python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8765/healthz')" 2>/dev/null && break; sleep 1; done
  timeout 200 python3 -m diagrammer bench engine --url http://127.0.0.1:8765 "${bench[@]}" \
    --out "$OUT/out$round" 2>&1 | clean | grep -A4 "clients  req/min"
  kill $engine; wait $engine 2>/dev/null
done
tail -3 /root/engine.log
