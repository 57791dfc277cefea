#!/bin/bash
# A fixed set of reports for checking that a refactor keeps every number (CONTRIBUTING: "a refactor keeps every number").
#   tools/refactor-check.sh MODELS OUT            trains small models into MODELS once (kept), then writes every report into OUT
#   tools/refactor-check.sh compare BEFORE AFTER  compares two OUT folders byte for byte
# BCM=COMMAND runs another build (e.g. "dotnet /tmp/before/Bcm.Cli.dll"), so that edits made meanwhile do not reach it.
# Run it before and after a change with the same MODELS. Wall times cannot repeat: cost (all timings) is compared by its
# rows' names and NFE only, and files named *.log (the commands' console output) not at all.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = compare ]; then
  exec python3 - "$2" "$3" <<'PY'
import csv, io, json, os, re, sys
# Wall times cannot repeat: columns and keys that hold them (images/s, seconds) are left out of the comparison; every
# other byte must be equal. cost/ is all timings: its rows' names and NFE are compared.
TIMED = re.compile(r"second|img/s|images/s|per_s|\(s\)|^s$|time", re.I)
def csv_text(path, keep=None):
    rows = list(csv.reader(open(path, newline="")))
    if not rows: return rows
    cols = [i for i, h in enumerate(rows[0]) if (keep is None and not TIMED.search(h)) or (keep is not None and i in keep)]
    return [[r[i] for i in cols if i < len(r)] for r in rows]
def md_text(path):
    out, drop = [], None
    for line in open(path, encoding="utf-8"):
        if line.startswith("|"):
            cells = line.rstrip("\n").split("|")
            if drop is None: drop = {i for i, c in enumerate(cells) if TIMED.search(c)}
            out.append("|".join(c for i, c in enumerate(cells) if i not in drop))
        else:
            drop = None
            out.append(re.sub(r"[0-9.]+ ?(s|min|img/s)\b", "T", line))
    return out
def json_text(path):
    def strip(v):
        if isinstance(v, dict): return {k: strip(x) for k, x in v.items() if not TIMED.search(k)}
        if isinstance(v, list): return [strip(x) for x in v]
        return v
    return strip(json.load(open(path, encoding="utf-8")))
def same(a, b, rel):
    if rel.startswith("./cost/"): return not rel.endswith(".csv") or csv_text(a, {0, 1}) == csv_text(b, {0, 1})
    if rel.endswith(".csv"): return csv_text(a) == csv_text(b)
    if rel.endswith(".md"): return md_text(a) == md_text(b)
    if rel.endswith(".json"): return json_text(a) == json_text(b)
    return open(a, "rb").read() == open(b, "rb").read()
def files(root):
    return sorted("./" + os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs if not f.endswith(".log"))
a, b = sys.argv[1], sys.argv[2]
fa, fb = files(a), files(b)
bad = [f"missing after: {f}" for f in fa if f not in fb] + [f"new after: {f}" for f in fb if f not in fa]
bad += [f"differs: {f}" for f in fa if f in fb and not same(os.path.join(a, f), os.path.join(b, f), f)]
print("\n".join(bad) if bad else f"all {len(fa)} files identical (timings left out; cost: its rows)")
sys.exit(1 if bad else 0)
PY
fi
M=${1:?MODELS folder}; O=${2:?OUT folder}
B="${BCM:-./bcm}"; T="--threads 1"; E="--engine torch"
mkdir -p "$M" "$O"
train() { local out=$1; shift; [ -d "$M/$out/checkpoints" ] || $B train --no-report $T --out "$M/$out" "$@" > "$M/$out.log" 2>&1; }
train tiny --preset tiny --steps 60 --checkpoint-every 60
train tiny-edm --preset tiny --objective edm --steps 60 --checkpoint-every 60
train mix --preset mixture2d --steps 100 --checkpoint-every 100
train mix-edm --preset mixture2d --objective edm --steps 100 --checkpoint-every 100
run() { local name=$1; shift; echo "$ bcm $*" > "$O/$name.log"; $B "$@" >> "$O/$name.log" 2>&1 || { echo "FAILED: bcm $*"; tail -3 "$O/$name.log"; exit 1; }; }
run eval-mix eval -c "$M/mix" --baseline "$M/mix-edm" -n 300 $T $E --out "$O/eval-mix"
run eval-digits eval -c "$M/tiny" --baseline "$M/tiny-edm" --data digits -n 200 --inversion-images 64 --baseline-nfe 2,4 --inversion-nfe 2,4 $T $E --out "$O/eval-digits"
run restore restore -c "$M/tiny" --data digits -n 40 $T $E --out "$O/restore"
run restore-nfe restore -c "$M/tiny" --data digits -n 40 --nfe 2,4 --choose-count 20 -q 10 $T $E --out "$O/restore-nfe"
run inpaint inpaint -c "$M/tiny" --data digits -n 40 $T $E --out "$O/inpaint"
run purify purify -c "$M/tiny" --data digits -n 16 --queries 4 --levels 0.5 --methods bcm2,noise-blur $T $E --out "$O/purify"
run content content -c "$M/tiny" --data digits --pairs 8 -n 32 --rounds 2 $T $E --out "$O/content"
run sample sample -c "$M/tiny" -n 16 --individual $T $E --out "$O/sample"
run sample-mix sample -c "$M/mix" -n 64 $T $E --out "$O/sample-mix"
imgs=("$O"/sample/*.png); one=$(ls "$O"/sample/*0.png | head -1); two=$(ls "$O"/sample/*1.png | head -1)
run invert invert "$one" "$two" -c "$M/tiny" $T $E --out "$O/invert"
run interpolate interpolate "$one" "$two" -c "$M/tiny" $T $E --out "$O/interpolate"
run degrade degrade "$one" --downsample 2 --out "$O/degraded"
run degrade-jpeg degrade "$one" -q 10 --out "$O/degraded-jpeg"
run superres superres "$(ls "$O"/degraded/*.png | head -1)" -c "$M/tiny" --clean "$one" $T $E --out "$O/superres"
run restore-one restore "$(ls "$O"/degraded-jpeg/*.png | head -1)" -c "$M/tiny" --clean "$one" $T $E --out "$O/restore-one"
run inpaint-one inpaint "$one" --box 2,2,4,4 -c "$M/tiny" $T $E --out "$O/inpaint-one"
run edit edit "$one" -c "$M/tiny" $T $E --out "$O/edit"
run purify-one purify "$one" -c "$M/tiny" $T $E --out "$O/purify-one"
run cost cost "$M/tiny" "$M/tiny-edm" -b 16 --repeats 1 $T --out "$O/cost"
echo "reports written to $O"
