#!/bin/bash
# How the JSON and profiles here were made (issue 13, stop 11), one process at a time on the otherwise idle machine.
# before = a build of commit 82d31fc (before fused attention and Module.call); after = a build of the commit that added
# this folder; infer = "after" with torch.inference_mode instead of no_grad in PlanRunner (tried, not kept).
# Run from the repository root with the three builds' Bcm.Cli folders in /tmp/bgcli, /tmp/cli-after, /tmp/cli-infer.
out=docs/results/perf-before-after
cli() { case $1 in before) echo /tmp/bgcli;; after) echo /tmp/cli-after;; infer) echo /tmp/cli-infer;; esac; }
presets() { dotnet $(cli $1)/Bcm.Cli.dll bench --presets tiny digits mnist cifar10 -b 16 --repeats 2 --json > $out/presets-b16-$1-$2.json; }
issue13() { dotnet $(cli $1)/Bcm.Cli.dll bench --config $out/issue13-net.json -b 64 --repeats 3 --json > $out/issue13-b64-$1-$2.json; }
presets before 1; presets after 1                      # 19:07-19:14
for r in 1 2; do for v in before after infer; do issue13 $v $r; done; done   # 19:14-19:17
presets after 2; presets before 2                      # 19:17-19:19 (the reverse order of round 1)
dotnet $(cli after)/Bcm.Cli.dll bench --config $out/issue13-net.json -b 64,256 --repeats 2 --profile > $out/profile-issue13.md
dotnet $(cli after)/Bcm.Cli.dll bench --presets mnist cifar10 -b 16 --repeats 1 --profile > $out/profile-presets-b16.md
