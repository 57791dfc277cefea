#!/bin/bash
# How the JSON and profiles here were made (issue 13), one process at a time on the otherwise idle machine.
# before = a build of commit 82d31fc (before this issue's sampling work); after = a build of commit 5c2ce65 (the final
# state: explicit attention as in the official code, layers called through Module.call, the streaming .pt loader);
# fused = a build of commit e3dbe8a, identical to "after" but for libtorch's fused scaled_dot_product_attention
# (tried, not kept). Run from the repository root with the three builds' Bcm.Cli folders in /tmp/bgcli,
# /tmp/cli-final and /tmp/cli-after.
out=docs/results/perf-before-after
cli() { case $1 in before) echo /tmp/bgcli;; after) echo /tmp/cli-final;; fused) echo /tmp/cli-after;; esac; }
presets() { dotnet $(cli $1)/Bcm.Cli.dll bench --presets tiny digits mnist cifar10 -b 16 --repeats 2 --json > $out/presets-b16-$1-$2.json; }
issue13() { dotnet $(cli $1)/Bcm.Cli.dll bench --config $out/issue13-net.json -b 64 --repeats 3 --json > $out/issue13-b64-$1-$2.json; }
set -e
date
presets before 1; presets after 1
for r in 1 2; do for v in before after fused; do issue13 $v $r; done; done
presets after 2; presets before 2                      # the reverse order of round 1
date
# Four more rounds of issue 13's network (the two above disagreed by up to 2x between runs of one build):
for r in 3 4 5 6; do for v in before after fused; do issue13 $v $r; done; done
date
# Profiles and memory, with a build of "after" plus the corrected memory measurement (commit 4e5ae19: the allocator's
# freed memory returned before each phase; no change to what is timed), in /tmp/cli-trim. A first pair of profiles
# made here with "after" fell into the machine's half-speed mode and was discarded. The two memory files were made while
# single-thread training jobs shared the machine (only their peak memory is read); the profiles at the end, idle.
trim=/tmp/cli-trim
dotnet $trim/Bcm.Cli.dll bench --presets tiny digits mnist cifar10 -b 16 --repeats 1 --threads 2 --json > $out/memory-presets-b16.json
dotnet $trim/Bcm.Cli.dll bench --config $out/issue13-net.json -b 64 --repeats 1 --threads 2 --json > $out/memory-issue13-b64.json
dotnet $trim/Bcm.Cli.dll bench --config $out/issue13-net.json -b 64,256 --repeats 2 --profile > $out/profile-issue13.md
dotnet $trim/Bcm.Cli.dll bench --presets mnist cifar10 -b 16 --repeats 1 --profile > $out/profile-presets-b16.md
