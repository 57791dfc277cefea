#!/usr/bin/env python3
"""Images per second of one-step sampling with the official PyTorch code, for comparison with `bcm bench --onnx`.

    python3 tools/official_sampling_rate.py NETWORK.json --official PATH/TO/BCM-iCT-torch/BCM [-b 256] [--threads 2] [--repeats 5]

NETWORK.json is a bcm network configuration (the "network" object of a run's options.json, e.g.
docs/results/onnx/unet28.json). The official `UNetModel` is built from it with random weights and timed as bcm times
one-step sampling: x = 80·z, then f(x, 80, 0.002) = c_skip·x + c_out·F(c_in·x, c_noise(80), c_noise(0.002)) in float32
under torch.no_grad(), one warm-up, then the mean over the repeats. The official code is not part of this repository.
"""
import argparse
import json
import math
import sys
import time

import torch


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network")
    parser.add_argument("--official", required=True)
    parser.add_argument("-b", "--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, args.official)
    from cm.unet_bcf import UNetModel

    torch.set_num_threads(args.threads)
    n = json.load(open(args.network))
    model = UNetModel(image_size=n["image_size"], in_channels=n["in_channels"], model_channels=n["model_channels"],
                      out_channels=n["out_channels"], num_res_blocks=n["num_res_blocks"],
                      attention_resolutions=tuple(n["attention_resolutions"]), dropout=0.0, dropout_highres=0.0, channel_mult=tuple(n["channel_mult"]),
                      num_classes=None, num_head_channels=n["num_head_channels"], use_scale_shift_norm=False,
                      resblock_updown=n.get("res_block_up_down", True), use_fp16=False).eval()
    sigma_data, t, u = 0.5, 80.0, 0.002
    c_in = 1 / math.sqrt(t * t + sigma_data ** 2)
    c_skip = (t * u + sigma_data ** 2) / (t * t + sigma_data ** 2)
    c_out = sigma_data * (t - u) / math.sqrt(t * t + sigma_data ** 2)
    b = args.batch_size
    c_t = torch.full((b,), 250 * math.log(t + 1e-44))
    c_u = torch.full((b,), 250 * math.log(u + 1e-44))

    def sample():
        with torch.no_grad():
            x = torch.randn(b, n["in_channels"], n["image_size"], n["image_size"]) * t
            return c_skip * x + c_out * model(x * c_in, c_t, c_u)

    sample()
    start = time.perf_counter()
    for _ in range(args.repeats):
        sample()
    seconds = (time.perf_counter() - start) / args.repeats
    print(f"| official PyTorch {torch.__version__} | {b} | {args.threads} | {b / seconds:.1f} img/s |")


if __name__ == "__main__":
    main()
