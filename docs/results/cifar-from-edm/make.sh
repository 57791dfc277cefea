#!/bin/bash
# Issue 26 §5: a user's cheapest route to a BCM on natural images. A user who has an EDM model (section 8's CIFAR-10
# run: 4,500 steps, 1.7 h at one thread) spends the same extra CPU time either continuing it or fine-tuning it into a
# BCM, and compares what each gives. From the repository root:
#   bash docs/results/cifar-from-edm/make.sh      (or BCM=path/to/Bcm.Cli bash docs/results/cifar-from-edm/make.sh)
# Training resumes where it stopped, so the script can be run again after an interruption. It took 3.7 h of wall time
# here, sharing the 2 cores with other jobs (the EDM run 2.5 h, then the continuation and the fine-tuning side by side,
# 1.25 h; on an idle machine about 1.7 h and 1 h), then 5 min of measurements at 2 threads (ONNX Runtime).
#
# Budget: an EDM step costs 3 forward passes' worth against BCT's 9 (section 8 measured 0.315 on this network), so
# 750 fine-tuning steps are the CPU time of 2,250 EDM steps. Both routes start from the same EDM checkpoint (step
# 4,500) and spend the same time after it: EDM continued to 6,750 steps against the BCM fine-tuned for 750 steps
# (N fixed at 321 as in the paper's fine-tuning; learning rate 3e-4, the preset's, as for the MNIST BCM from EDM).
set -euo pipefail
BCM=${BCM:-./bcm}
D=cifar10-subset:../shared/data/cifar10-subset
O=docs/results/cifar-from-edm
run() { echo "\$ bcm $*"; $BCM "$@"; }
mkdir -p $O

[ -f classifiers/cifar10-subset-32.safetensors ] || { echo "classifiers/cifar10-subset-32.safetensors is missing (see docs/results/cifar/make.sh)"; exit 2; }
# 1. The EDM run of section 8 (same command, its own folder), 4,500 steps, every checkpoint of its second half kept.
[ -f runs/cifar-edm-long/checkpoints/ckpt-00004500.safetensors ] ||
  run train --preset cifar10-cpu --data $D --objective edm --steps 4500 --keep 30 --threads 1 --out runs/cifar-edm-long
# 2. Both routes from its step 4,500, side by side at one thread each: the run resumed to 6,750 steps (a resumed run
#    repeats the uninterrupted one exactly), and the BCM fine-tuned from its step-4,500 checkpoint for 750 steps.
run train --out runs/cifar-edm-long --steps 6750 --threads 1 > $O/train-edm-6750.log 2>&1 &
edm=$!
run train --preset cifar10-cpu --data $D --init-from runs/cifar-edm-long/checkpoints/ckpt-00004500.safetensors --fixed-scales 321 --steps 750 \
  --threads 1 --out runs/cifar-from-edm > $O/train-from-edm.log 2>&1 &
bcm=$!
wait $edm; wait $bcm
cp runs/cifar-from-edm/report/report.json $O/training-report-from-edm.json   # the fine-tuning's own report (loss, round-trip MSE)
# The two routes' training logs, one row per step (the stats.csv that training writes), for their rates side by side:
# the EDM run's steps after 4,500 and the whole fine-tuning.
awk -F, 'NR == 1 || $1 > 4500' runs/cifar-edm-long/report/stats.csv > $O/train-stats-edm-4500-6750.csv
cp runs/cifar-from-edm/report/stats.csv $O/train-stats-from-edm.csv
# 3. Generation and round trips: the fine-tuned BCM at 1-4 NFE (and its 1-, 2- and 4-jump inversions) against the
#    continued EDM model with DPM-Solver++(2M) and Heun within 2-20 NFE (Heun's best in section 8: 19), 500 samples against
#    500 test images, round trips of 64 test images. The start (EDM at 4,500) is measured the same way beside them.
#    Both networks run on ONNX Runtime (2.8x libtorch for this UNet in docs/results/onnx/bench.txt; outputs equal to 1e-5).
run eval -c runs/cifar-from-edm --baseline runs/cifar-edm-long --data $D -n 500 --inversion-images 64 --inversion-plans invert1,invert2,invert4 \
  --baseline-solvers dpmpp2m,heun --baseline-nfe 2,3,4,6,8,10,20 --inversion-nfe 2,4,10 --threads 2 --engine onnx --out $O/eval
run eval -c runs/cifar-from-edm --baseline runs/cifar-edm-long/checkpoints/ckpt-00004500.safetensors --data $D -n 500 --inversion-images 64 \
  --inversion-plans invert4 --plans onestep --baseline-solvers dpmpp2m --baseline-nfe 4,6,8,10 --inversion-nfe 4,10 --threads 2 --engine onnx --out $O/eval-start
echo done
