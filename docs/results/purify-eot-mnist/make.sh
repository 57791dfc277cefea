#!/bin/bash
# Issue 26 §4: purification under an attacker that knows the defence is random. Square Attack (L∞ 0.3) and SimBA
# (L2 1.5) with expectation over transformation (each query averaged over 8 draws of the defence's noise), up to 1,000
# queries per image, on 500 held-out MNIST test images (500-999: section 5's measurement, which chose σ*, used 0-499),
# for the BCM purifiers and the DiffPure-style comparator on the EDM baseline at equal NFE. From the repository root:
#   bash docs/results/purify-eot-mnist/make.sh      (or BCM=path/to/Bcm.Cli bash docs/results/purify-eot-mnist/make.sh)
# Both measurements run side by side, one thread each. Every chunk of 25 images is saved in OUT/progress as it
# finishes (with fingerprints of the images, the model and the classifier), so the script resumes where it stopped,
# on this machine or, from the committed progress and models/, on another. Many CPU-hours in all (see docs/results.md §5).
# The thread count changes the time only: the last chunks of diffpure2 × SimBA ran at --threads 2 once the BCM half had
# finished, and a chunk computed again at one thread gave the same outcomes, queries and curve.
set -euo pipefail
BCM=${BCM:-./bcm}
D=mnist:../shared/data/mnist@test
O=docs/results/purify-eot-mnist
# σ* = 0.25 for every purifier: the level at which bcm1's worse robust accuracy of the two attacks is highest in
# section 5 (images 0-499, 50 queries, no EOT); the comparator at the same σ* and NFE.
# The networks run on ONNX Runtime (2.5x libtorch's rate for this UNet at one thread here: bcm bench --onnx). The
# engines agree to 1e-5 of the output's scale, and a chunk of 25 images measured on both (bcm1, SimBA and Square,
# 100 queries) gave identical per-image outcomes.
COMMON="--data $D --offset 500 -n 500 --levels 0.25 --queries 1000 --eot-draws 8 --chunk 25 --threads 1 --engine onnx"
$BCM purify -c models/mnist/bcm/model.safetensors $COMMON --methods bcm1,bcm2 --out $O/bcm > $O/bcm.log 2>&1 &
bcm_pid=$!
$BCM purify -c models/mnist/edm/model.safetensors $COMMON --methods diffpure1,diffpure2 --out $O/diffpure > $O/diffpure.log 2>&1 &
diffpure_pid=$!
wait $bcm_pid; wait $diffpure_pid
echo done
