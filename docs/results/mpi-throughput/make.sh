#!/bin/bash
# Data-parallel training throughput (docs/results.md §3): the mnist preset's BCT step, 60 steps, one process of one
# and of two threads against two ranks of one thread (with and without a barrier before the all-reduce).
# Run from the repository root on an otherwise idle machine (about 4 min); keeps each run's stats.jsonl here and
# writes table.md from them (tools/throughput_table.py).
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=docs/results/mpi-throughput
if [ -z "${BCM:-}" ]; then ./bcm --help > /dev/null; BCM="dotnet src/Bcm.Cli/bin/Release/net10.0/Bcm.Cli.dll"; fi   # builds, unless BCM names a build
D="--preset mnist --data mnist:../shared/data/mnist --steps 60 --checkpoint-every 100000 --sample-every 0 --no-report"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run() { local name=$1; shift; local dir; dir=$(mktemp -d); "$@" --out "$dir/run" > "$OUT/$name.log" 2>&1; cp "$dir/run/stats.jsonl" "$OUT/$name.stats.jsonl"; rm -rf "$dir"; }
run 1x1 $BCM train $D --threads 1
run 1x2 $BCM train $D --threads 2
run 2x1 mpirun -np 2 --bind-to none $BCM train $D --threads 1
run 2x1-barrier mpirun -np 2 --bind-to none -x BCM_ALLREDUCE_BARRIER=1 $BCM train $D --threads 1
python3 tools/throughput_table.py $OUT > $OUT/table.md
cat $OUT/table.md
