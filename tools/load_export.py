#!/usr/bin/env python3
"""Load a `bcm export` into the official UNet and sample one step, as `bcm sample` does.

    python3 tools/load_export.py EXPORT_DIR --official PATH/TO/BCM-iCT-torch/BCM [--seed 0] [-n 4] [--compare SAMPLES]

EXPORT_DIR holds model.safetensors and config.json (written by `bcm export`). The official code
(Mosasaur5526/BCM-iCT-torch) provides `cm.unet_bcf.UNetModel`; it is not part of this repository. The script builds
`UNetModel(**config["unet_args"])`, loads the weights with `load_state_dict(strict=True)`, and generates the images of
seeds SEED .. SEED+n-1 in one step from T = 80 to eps = 0.002 with bcm's per-sample noise (a torch generator seeded
with the same counter-based mix of (seed, purpose 6, step 0)), then writes them to EXPORT_DIR/python-samples.pt.
With --compare, the `samples.safetensors` of `bcm sample -c EXPORT_DIR/model.safetensors -n N --seed SEED` is read
and the largest difference printed.

Needs PyTorch and NumPy; reads safetensors itself, so the `safetensors` package is optional.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

MASK64 = (1 << 64) - 1
SAMPLE_PURPOSE = 6  # Bcm.Randomness.Seeds.Sample


def mix(seed, *counters):
    """Bcm.Randomness.Seeds.Mix: splitmix64 steps over the counters."""
    z = seed & MASK64
    for c in counters:
        z = (z + 0x9E3779B97F4A7C15 + (c & MASK64)) & MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
    return z


def read_safetensors(path):
    """Every tensor of a safetensors file (little-endian F32/F64/I64/I32 as bcm writes them)."""
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "F16": np.float16}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=dtypes[entry["dtype"]]).reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export_dir")
    parser.add_argument("--official", required=True, help="the folder of the official code that holds cm/ (BCM-iCT-torch/BCM)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-n", type=int, default=4)
    parser.add_argument("--compare", help="samples.safetensors of bcm sample with the same -n and --seed")
    args = parser.parse_args()

    sys.path.insert(0, args.official)
    from cm.unet_bcf import UNetModel  # the official network

    config = json.load(open(os.path.join(args.export_dir, "config.json")))
    unet_args = dict(config["unet_args"])
    unet_args["attention_resolutions"] = tuple(unet_args["attention_resolutions"])
    unet_args["channel_mult"] = tuple(unet_args["channel_mult"])
    model = UNetModel(**unet_args)
    model.load_state_dict(read_safetensors(os.path.join(args.export_dir, config["weights_file"])), strict=True)
    model.eval()

    s = config["scalings"]
    sigma_data, t, u = s["sigma_data"], s["sigma_max"], s["sigma_min"]
    shape = (unet_args["in_channels"], unet_args["image_size"], unet_args["image_size"])
    noise = []
    for i in range(args.n):
        g = torch.Generator().manual_seed(mix(args.seed + i, SAMPLE_PURPOSE, 0) & 0x7FFF_FFFF_FFFF_FFFF)
        noise.append(torch.randn(shape, generator=g))
    x = torch.stack(noise).double() * t
    c_in = 1 / (t * t + sigma_data ** 2) ** 0.5
    c_skip = (t * u + sigma_data ** 2) / (t * t + sigma_data ** 2)
    c_out = sigma_data * (t - u) / (t * t + sigma_data ** 2) ** 0.5
    c_noise = lambda level: torch.full((args.n,), 250 * np.log(level + 1e-44), dtype=torch.float32)
    labels = None
    if unet_args["num_classes"] is not None:
        labels = torch.arange(args.n) % unet_args["num_classes"]  # bcm sample's default: 0, 1, 2, ... in turn
    with torch.no_grad():
        F = model((x * c_in).float(), c_noise(t), c_noise(u), labels).double()
    samples = (c_skip * x + c_out * F).float()
    torch.save(samples, os.path.join(args.export_dir, "python-samples.pt"))
    print(f"{args.n} one-step samples of seeds {args.seed}..{args.seed + args.n - 1}: range [{samples.min():.4f}, {samples.max():.4f}]")
    if args.compare:
        reference = read_safetensors(args.compare)["samples"]
        print(f"largest difference to bcm sample: {(samples - reference).abs().max().item():.3g} "
              f"(values up to {reference.abs().max().item():.3g})")


if __name__ == "__main__":
    main()
