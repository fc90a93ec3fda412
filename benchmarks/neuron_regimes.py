"""What the neuron's regime costs, and what the seed's rate hides.

1. Leak: BD-rate (PSNR, 0.25-2 bpp, real file bytes) of the codec with leakier neurons,
   ``T/tau`` = 1 and 3, against the default ``T/tau`` = 0.01 (``R = 1e4, C = 1, T = 100``:
   a dead-zone uniform quantizer), on the Kodak luma images.
2. Rate: the seed's rate, the zeroth-order entropy of all spike counts pooled (bits per
   pixel), against the real file's bits per pixel, for the same counts.

Prints both tables and writes ``results/neuron_regimes.json``.

Usage: ``python benchmarks/neuron_regimes.py [--step N]`` (every N-th Kodak image; default 1).
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

import spikecodec as sc
from spikecodec.lab.bench.corpus import corpus_images
from spikecodec.metrics import bd_rate, bpp, psnr

QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90)
T_OVER_TAU = (0.01, 1.0, 3.0)  # R = T / (C * ratio) with C = 1, T = 100 ms
RESULTS = Path(__file__).resolve().parents[1] / "results"


def pooled_entropy_bpp(counts: list[np.ndarray], pixels: int) -> float:
    """Zeroth-order entropy of every count pooled, in bits per pixel (the seed's rate)."""
    values = np.concatenate([c.ravel() for c in counts])
    _, n = np.unique(values, return_counts=True)
    p = n / n.sum()
    return float(-(p * np.log2(p)).sum() * values.size / pixels)


def measure(image: np.ndarray) -> dict:
    rows = {}
    for ratio in T_OVER_TAU:
        R = 100.0 / ratio
        for q in QUALITIES:
            data = sc.encode(image, quality=q, R=R)
            _, counts = sc.spike_counts(image, quality=q, R=R)
            rows[(ratio, q)] = (
                bpp(len(data), image.shape),
                psnr(image, sc.decode(data)),
                pooled_entropy_bpp(counts, image.shape[0] * image.shape[1]),
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=1, help="every N-th Kodak image")
    args = parser.parse_args()
    images = [img for _, _, img in corpus_images(("kodak",), mode="L")][:: args.step]
    with ProcessPoolExecutor() as pool:
        results = list(tqdm(pool.map(measure, images), total=len(images), desc="images"))
    mean = {key: np.mean([r[key] for r in results], axis=0) for key in results[0]}

    def curve(ratio, column):
        return np.array([mean[(ratio, q)][column] for q in QUALITIES])

    report = {"images": len(images), "qualities": list(QUALITIES), "leak": [], "rate": []}
    print(f"Leak ({len(images)} Kodak luma images, BD-rate PSNR vs T/tau = 0.01, 0.25-2 bpp)")
    for ratio in T_OVER_TAU[1:]:
        bd = bd_rate(curve(0.01, 0), curve(0.01, 1), curve(ratio, 0), curve(ratio, 1), (0.25, 2))
        report["leak"].append({"T_over_tau": ratio, "R": 100.0 / ratio, "bd_rate_psnr": bd})
        print(f"  T/tau = {ratio:4g} (R = {100 / ratio:g}): {bd:+.1f} %")
    print("\nThe seed's rate (entropy of the pooled counts) vs the real file, T/tau = 0.01")
    print(f"  {'q':>3} {'file bpp':>9} {'entropy bpp':>12} {'entropy/file':>13} {'PSNR':>6}")
    for q in QUALITIES:
        file_bpp, quality, entropy = mean[(0.01, q)]
        report["rate"].append(
            {"quality": q, "file_bpp": file_bpp, "entropy_bpp": entropy, "psnr": quality}
        )
        print(f"  {q:3d} {file_bpp:9.3f} {entropy:12.3f} {entropy / file_bpp:13.2f} {quality:6.2f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "neuron_regimes.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
