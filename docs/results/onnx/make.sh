#!/usr/bin/env bash
# Remakes the one-step sampling rates of docs/guides/onnx.md, interleaved in one process per command, batch 256, 2 threads:
#   bench.txt           libtorch, the library on ONNX Runtime, and the Bcm.Inference package, for the CPU presets and
#                       the 28x28x1 UNet (unet28.json), in three sittings;
#   official-vs-bcm.txt the official PyTorch code on unet28.json, each run followed by bcm's, three times, when
#                       OFFICIAL=path/to/BCM-iCT-torch/BCM is given (the official code is not part of this repository; it
#                       needs Debian's python3-torch, and libopenblas0-pthread for its fastest BLAS; PYTHON names the
#                       interpreter that has them, default /usr/bin/python3).
# Nothing else may run on the machine meanwhile (libtorch's and ONNX Runtime's threads spin).
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=docs/results/onnx
presets="tiny digits mnist cifar10-cpu mixture2d mixture64"
./bcm --help > /dev/null # builds the command first, if it is not current, so that no build output lands in the files
{
    for sitting in 1 2 3; do
        echo "# sitting $sitting, $(date -u)"
        echo "\$ bcm bench --presets $presets -b 256 --thread-counts 2 --onnx --repeats 6"
        ./bcm bench --presets $presets -b 256 --thread-counts 2 --onnx --repeats 6 | grep '^|'
        echo "\$ bcm bench --config $out/unet28.json -b 256 --thread-counts 2 --onnx --repeats 6"
        ./bcm bench --config $out/unet28.json -b 256 --thread-counts 2 --onnx --repeats 6 | grep '^| unet28'
    done
    echo "# done $(date -u)"
} > "$out/bench.txt"
if [ -n "${OFFICIAL:-}" ]; then
    shim=$(mktemp -d)
    # The one einops pattern the official unet_bcf.py uses (einops is not a Debian package).
    printf '%s\n' 'def rearrange(x, pattern, three=3, h=1):' \
        '    assert pattern == "b (three h d) s -> b s three h d", pattern' \
        '    b, width, s = x.shape' \
        '    return x.reshape(b, three, h, width // (three * h), s).permute(0, 4, 1, 2, 3)' > "$shim/einops.py"
    {
        echo "# official code at $(git -C "$OFFICIAL" rev-parse --short HEAD 2>/dev/null || echo '?') on Debian python3-torch with OpenBLAS; bcm on TorchSharp 0.107 (libtorch 2.10) and ONNX Runtime 1.32"
        echo "#   python3 tools/official_sampling_rate.py $out/unet28.json --official \$OFFICIAL -b 256 --threads 2 --repeats 6"
        echo "#   bcm bench --config $out/unet28.json -b 256 --thread-counts 2 --onnx --repeats 6"
        echo "# $(date -u)"
        for run in 1 2 3; do
            env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH="$shim" "${PYTHON:-/usr/bin/python3}" tools/official_sampling_rate.py "$out/unet28.json" --official "$OFFICIAL" -b 256 --threads 2 --repeats 6 | grep '^|'
            ./bcm bench --config "$out/unet28.json" -b 256 --thread-counts 2 --onnx --repeats 6 | grep '^| unet28'
        done
        echo "# done $(date -u)"
    } > "$out/official-vs-bcm.txt"
    rm -rf "$shim"
fi
