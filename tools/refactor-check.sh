#!/bin/bash
# A fixed set of reports for checking that a refactor keeps every number (CONTRIBUTING: "a refactor keeps every number").
#   tools/refactor-check.sh MODELS OUT            trains small models into MODELS once (kept), then writes every report into OUT
#   tools/refactor-check.sh compare BEFORE AFTER  compares two OUT folders byte for byte
# Run it before and after a change with the same MODELS. Wall times cannot repeat: cost (all timings) is compared by its
# rows' names and NFE only, and files named *.log (the commands' console output) not at all.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = compare ]; then
  a=$2; b=$3; status=0; n=0
  while IFS= read -r f; do
    n=$((n + 1))
    if [ ! -f "$b/$f" ]; then echo "missing after: $f"; status=1
    elif [[ "$f" == ./cost/* ]]; then
      [[ "$f" == *.csv ]] && ! cmp -s <(cut -d, -f1,2 "$a/$f") <(cut -d, -f1,2 "$b/$f") && { echo "rows differ: $f"; status=1; }
    elif ! cmp -s "$a/$f" "$b/$f"; then echo "differs: $f"; status=1; fi
  done < <(cd "$a" && find . -type f ! -name '*.log' | sort)
  extra=$(comm -13 <(cd "$a" && find . -type f ! -name '*.log' | sort) <(cd "$b" && find . -type f ! -name '*.log' | sort))
  [ -n "$extra" ] && { echo "new after: $extra"; status=1; }
  [ $status = 0 ] && echo "all $n files identical (cost: rows)"
  exit $status
fi
M=${1:?MODELS folder}; O=${2:?OUT folder}
B="./bcm"; T="--threads 1"; E="--engine torch"
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
