#!/usr/bin/env python3
"""The data-parallel throughput table of docs/results.md §3, from the runs' stats.jsonl files.

    python3 tools/throughput_table.py docs/results/mpi-throughput

Images/s over steps 21-60 (the first 20 warm up): the global batch times the steps over the elapsed time between
step 20 and step 60; the all-reduce time per step is the mean and median of all_reduce_seconds over the same steps.
"""
import json, statistics, sys
from pathlib import Path

ROWS = [("1x1", "1 × 1"), ("1x2", "1 × 2"), ("2x1", "2 × 1"), ("2x1-barrier", "2 × 1, barrier before the all-reduce")]

def rows(folder):
    for name, label in ROWS:
        lines = [json.loads(l) for l in Path(folder, f"{name}.stats.jsonl").read_text().splitlines() if l.strip()]
        steps = {r["step"]: r for r in lines if "step" in r and "elapsed_seconds" in r}
        a, b = steps[20], steps[60]
        batch = 32
        ips = batch * (b["step"] - a["step"]) / (b["elapsed_seconds"] - a["elapsed_seconds"])
        reduce = [steps[s]["all_reduce_seconds"] for s in range(21, 61) if s in steps and steps[s].get("all_reduce_seconds") is not None]
        cell = f"{1000 * statistics.mean(reduce):.1f} ms mean ({1000 * statistics.median(reduce):.1f} ms median)" if reduce else "—"
        yield label, ips, 1000 * batch / ips, cell

if __name__ == "__main__":
    print("| processes × threads | images/s | ms per step | all-reduce per step |")
    print("|---|---|---|---|")
    for label, ips, ms, cell in rows(sys.argv[1]):
        print(f"| {label} | {ips:.1f} | {ms:.0f} | {cell} |")
