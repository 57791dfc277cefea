#!/bin/bash
# Issue 14, part 9: the pipeline once on colour natural images (CIFAR-10 at 32x32, the lossless subset of
# ../shared/data: 4,000 training and 1,000 test images), on 2 CPU cores. From the repository root:
#   bash docs/results/cifar/make.sh            (or BCM=path/to/Bcm.Cli bash docs/results/cifar/make.sh)
# Training resumes where it stopped, so the script can be run again after an interruption. About 6 hours at one
# thread per job (training 3.7 h for BCT and 1.7 h for EDM; the measurements about 50 min).
set -euo pipefail
BCM=${BCM:-./bcm}
D=cifar10-subset:../shared/data/cifar10-subset
O=docs/results/cifar
run() { echo "\$ bcm $*"; $BCM "$@"; }

# The classifier whose features give FID/KID (15 epochs, fixed in advance; its test accuracy is printed).
[ -f classifiers/cifar10-subset-32.safetensors ] || run classifier --data $D --size 32 --epochs 15 --threads 1
# BCT from scratch, 3,000 steps, every checkpoint kept (the equal-budget comparison below uses step 1,500).
run train --preset cifar10-cpu --data $D --threads 1 --keep 30 --out runs/cifar-bcm
# The EDM baseline on the same network. By the FLOP count an EDM step costs 3 of BCT's 9 passes, so 4,500 EDM
# steps are the CPU time of 1,500 BCT steps (the runs' own stats.jsonl measure the ratio: 0.315). Equal time with
# the whole BCT run would be 9,000 EDM steps; this machine's session did not have the hours for them.
run train --preset cifar10-cpu --data $D --objective edm --steps 4500 --threads 1 --out runs/cifar-edm
# Equal CPU time: BCT at step 1,500 against EDM at 4,500 (Heun 1-19 NFE, ODE round trips 1+1 to 19+19 NFE), FID/KID
# on the classifier's features of 500 samples, round trips of 64 test images.
run eval -c runs/cifar-bcm/checkpoints/ckpt-00001500.safetensors --baseline runs/cifar-edm --data $D -n 500 --inversion-images 64 \
  --baseline-nfe 2,4,10,20 --inversion-nfe 2,4,10,20 --threads 1 --out $O/eval-equal
# The finished BCT run: generation at 1-4 NFE and the inversion round trip.
run eval -c runs/cifar-bcm --data $D -n 500 --inversion-images 64 --threads 1 --out $O/eval
# Round trips of the same 64 test images with the 4-jump inversion of the README's main job (chosen on digits).
run invert -c runs/cifar-bcm --data $D@test -n 64 --plan invert4 --threads 1 --out $O/invert-invert4
run invert -c runs/cifar-bcm --data $D@test -n 64 --plan invert2 --threads 1 --out $O/invert-invert2
run invert -c runs/cifar-bcm/checkpoints/ckpt-00001500.safetensors --data $D@test -n 64 --plan invert4 --threads 1 --out $O/invert-invert4-step1500
rm -f $O/invert-*/image-*.png $O/invert-*/latents.safetensors   # keep roundtrip.png and metrics.csv
# Restoration by FID over NFE at JPEG quality 10 (levels chosen on test images 300-499, reported on 0-299) and
# inpainting of test images 0-299 (nothing chosen).
run restore -c runs/cifar-bcm --data $D@test -n 300 --choose-count 200 --nfe 2,4 -q 10 --threads 1 --out $O/restore
run inpaint -c runs/cifar-bcm --data $D@test -n 300 --threads 1 --out $O/inpaint
