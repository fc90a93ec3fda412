"""16-bit samples in lossy streams: does a quality mean the same at 8 and 16 bits?

Each Kodak image (``--images``, default all 24), RGB and luma, is spread to 16 bits with real
low bits (``x * 257`` plus uniform noise in ``0..256``, clipped at 65535) and encoded at
qualities 30, 75 and 95 beside its 8-bit original: the 16-bit stream's bytes over the 8-bit
one's, and the PSNR of each against its own source, on its own peak (65535 and 255).

Usage (from the project directory; the corpus is ``$SPIKECODEC_DATA``, default
``../shared/data``)::

    python benchmarks/deep.py [--images kodim01,kodim05]

Prints a table and writes ``results/deep.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import spikecodec as sc
from spikecodec.lab.bench.corpus import data_root, read_image
from spikecodec.metrics import psnr

RESULTS = Path(__file__).resolve().parents[1] / "results"
QUALITIES = (30, 75, 95)


def spread(image: np.ndarray, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).integers(0, 257, image.shape)
    return np.minimum(image.astype(np.int64) * 257 + noise, 65535).astype(np.uint16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", help="comma-separated Kodak names (default: all 24)")
    args = parser.parse_args()
    paths = sorted((data_root() / "kodak").glob("*.png"))
    names = args.images.split(",") if args.images else [p.stem for p in paths]
    rows = []
    for mode in ("RGB", "L"):
        for i, name in enumerate(names):
            image = read_image(data_root() / "kodak" / f"{name}.png", mode)
            deep = spread(image, i)
            for quality in QUALITIES:
                data8, data16 = sc.encode(image, quality), sc.encode(deep, quality)
                rows.append(
                    {
                        "mode": mode,
                        "image": name,
                        "quality": quality,
                        "bytes_8": len(data8),
                        "bytes_16": len(data16),
                        "psnr_8": psnr(image, sc.decode(data8)),
                        "psnr_16": psnr(deep, sc.decode(data16)),
                    }
                )
    print(f"\nmean of {len(names)} images: 16-bit against 8-bit at the same quality")
    print("| mode | quality | bytes 16/8 | PSNR 8-bit (dB) | PSNR 16-bit (dB) |")
    print("|---|---:|---:|---:|---:|")
    summary = []
    for mode in ("RGB", "L"):
        for quality in QUALITIES:
            sel = [r for r in rows if r["mode"] == mode and r["quality"] == quality]
            ratio = float(np.mean([r["bytes_16"] / r["bytes_8"] for r in sel]))
            p8 = float(np.mean([r["psnr_8"] for r in sel]))
            p16 = float(np.mean([r["psnr_16"] for r in sel]))
            summary.append({"mode": mode, "quality": quality, "bytes_ratio": ratio,
                            "psnr_8": p8, "psnr_16": p16})  # fmt: skip
            print(f"| {mode} | {quality} | {ratio:.4f} | {p8:.2f} | {p16:.2f} |")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "deep.json"
    out.write_text(json.dumps({"images": names, "rows": rows, "summary": summary}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
