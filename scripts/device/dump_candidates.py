"""What v3 writes for a tuning set's requests, both ways (the readers' hint and graft, and
the model's own reading), for designing the ranking offline (never run on the dev set)."""

import json
import sys
from dataclasses import replace

from engine.bench.quality import SEEDED, read_dev
from engine.llm.load import load
from engine.pipeline import BadRequest, model_reads, sample_many, spec_of

path, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
assert "dev_v2" not in path, "the dev set is judged in aggregate only"
rows = [r for r in read_dev(path) if r["kind"] in ("structure", "steps")]
lm = load(sys.argv[4], adapter="v3")
dump = []
for k in range(0, len(rows), 64):
    chunk = rows[k : k + 64]
    texts = [r["text"] for r in chunk]
    try:
        got = {
            name: sample_many(lm, texts, n, sampling=replace(SEEDED, seed=k), reader=reader)
            for name, reader in (("reader", spec_of), ("free", model_reads))
        }
    except BadRequest as e:  # pragma: no cover - tuning rows are all drawable
        print("refused", e)
        continue
    for i, r in enumerate(chunk):
        dump.append(
            {**r, **{name: [g.text for g in s.generations[i]] for name, s in got.items()}}
        )
with open(out, "w") as f:
    f.writelines(json.dumps(d) + "\n" for d in dump)
print(len(dump), "requests dumped")
