"""Rate control by truncation: targets against what is reached, and which stream to cut.

On the luma of a few Kodak images (``--images``, default kodim01, kodim05, kodim23), for each
bit-rate target (0.25, 0.5, 1 and 2 bpp, ``n = floor(bpp*W*H/8)`` bytes):

- **rate control**: ``encode(image, target_bpp=bpp)``, the coarsest stream of at least ``n``
  bytes cut to ``n`` (:mod:`spikecodec.ratecontrol`): bytes, bpp, PSNR, time;
- **cut q95**: the alternative strategy, a quality-95 stream cut to ``n`` bytes
  (``truncate(encode(image, quality=95), n)``): PSNR;
- **direct**: for reference, the finest whole stream of at most ``n`` bytes (bisection on
  ``log theta``, 30 steps; it need not hit ``n`` exactly): bytes and PSNR.

and for each PSNR target (30, 35 and 40 dB), ``encode(image, target_psnr=...)``: bytes, bpp,
PSNR reached, time.

Usage (from the project directory; the corpus is ``$SPIKECODEC_DATA``, default
``../shared/data``)::

    python benchmarks/ratecontrol.py [--images kodim01,kodim05,kodim23]

Prints a table and writes ``results/ratecontrol.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

import spikecodec as sc
from spikecodec.format import container
from spikecodec.lab.bench.corpus import data_root, read_image
from spikecodec.metrics import psnr
from spikecodec.tables import quality_to_step

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "results"
TARGETS = (0.25, 0.5, 1.0, 2.0)
PSNR_TARGETS = (30.0, 35.0, 40.0)
ALTERNATIVE_QUALITY = 95


def direct_fit(image: np.ndarray, n: int, steps: int = 30) -> bytes:
    """The finest whole stream of at most ``n`` bytes: bisection on ``log theta`` between
    qualities 100 and 1."""
    fine = math.log(container.read_header(sc.encode(image, quality=100)).theta)
    coarse = fine + math.log(quality_to_step(1) / quality_to_step(100))
    best = sc.encode(image, theta=math.exp(coarse))
    for _ in range(steps):
        mid = (fine + coarse) / 2
        data = sc.encode(image, theta=math.exp(mid))
        if len(data) <= n:
            coarse, best = mid, data
        else:
            fine = mid
    return best


def psnr_targets(name: str, image: np.ndarray) -> list[dict]:
    rows = []
    for target in PSNR_TARGETS:
        start = time.perf_counter()
        data = sc.encode(image, target_psnr=target)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "image": name,
                "target_psnr": target,
                "bytes": len(data),
                "bpp": 8 * len(data) / image.size,
                "psnr": psnr(image, sc.decode(data, strict=True)),
                "seconds": seconds,
            }
        )
    return rows


def measure(name: str, image: np.ndarray) -> list[dict]:
    pixels = image.size
    high = sc.encode(image, quality=ALTERNATIVE_QUALITY)
    rows = []
    for target in TARGETS:
        start = time.perf_counter()
        data = sc.encode(image, target_bpp=target)
        seconds = time.perf_counter() - start
        n = len(data)
        direct = direct_fit(image, n)
        rows.append(
            {
                "image": name,
                "target_bpp": target,
                "bytes": n,
                "bpp": 8 * n / pixels,
                "psnr": psnr(image, sc.decode(data, strict=True)),
                "seconds": seconds,
                "psnr_cut_q95": psnr(image, sc.decode(sc.truncate(high, n), strict=True)),
                "direct_bytes": len(direct),
                "psnr_direct": psnr(image, sc.decode(direct)),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default="kodim01,kodim05,kodim23")
    args = parser.parse_args()
    rows, by_psnr = [], []
    for name in args.images.split(","):
        image = read_image(data_root() / "kodak" / f"{name}.png", "L")
        rows += measure(name, image)
        by_psnr += psnr_targets(name, image)
    print(
        "| image | target bpp | bytes | bpp | PSNR (dB) | cut q95 PSNR | direct bytes | "
        "direct PSNR | time (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['image']} | {r['target_bpp']:g} | {r['bytes']} | {r['bpp']:.4f} | "
            f"{r['psnr']:.2f} | {r['psnr_cut_q95']:.2f} | {r['direct_bytes']} | "
            f"{r['psnr_direct']:.2f} | {r['seconds']:.2f} |"
        )
    summary = {
        f"{target:g}": {
            key: float(np.mean([r[key] for r in rows if r["target_bpp"] == target]))
            for key in ("psnr", "psnr_cut_q95", "psnr_direct", "seconds")
        }
        for target in TARGETS
    }
    for target, s in summary.items():
        print(
            f"mean at {target} bpp: rate control {s['psnr']:.2f} dB, cut q95 "
            f"{s['psnr_cut_q95']:.2f} dB ({s['psnr'] - s['psnr_cut_q95']:+.2f}), direct "
            f"{s['psnr_direct']:.2f} dB, {s['seconds']:.2f} s"
        )
    print("\n| image | target PSNR (dB) | bytes | bpp | PSNR (dB) | time (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in by_psnr:
        print(
            f"| {r['image']} | {r['target_psnr']:g} | {r['bytes']} | {r['bpp']:.4f} | "
            f"{r['psnr']:.3f} | {r['seconds']:.2f} |"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "ratecontrol.json"
    result = {"rows": rows, "mean": summary, "psnr_targets": by_psnr}
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
