"""Fig. 5 of the seed paper on the 12 images of set12: pixel-domain NQ, R = 1e3, C = 1, midpoint.

Prints a markdown table (per image: PSNR in dB and zeroth-order entropy of the counts in bpp for
each (theta, T) setting, T in ms) with the mean over the images, writes
``results/fig5_set12.csv`` and ``results/fig5_set12.json``, and checks the theta = 500 settings
against the seed's numbers (mean within 0.5 dB, every image within 2 dB); exits with status 1
if the check fails.

The images are read from ``$SPIKECODEC_DATA/set12`` (default: ``shared/data`` beside the
project's directory).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from spikecodec.lab.figures import FIG5_SETTINGS, fig5_table

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "results"
# The seed's PSNR (dB) for the nearly image-independent theta = 500 settings, keyed by (theta, T).
TARGETS = {(500.0, 50.0): 38.93, (500.0, 150.0): 48.45}
MEAN_TOL_DB, IMAGE_TOL_DB = 0.5, 2.0


def data_root() -> Path:
    """The image corpus: ``$SPIKECODEC_DATA``, else ``shared/data`` beside the project."""
    env = os.environ.get("SPIKECODEC_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def run(folder: Path) -> list[dict[str, float | str]]:
    """One row per (image, setting): ``image, theta, T, psnr, bpp``."""
    paths = sorted(folder.glob("*.png"))
    if not paths:
        raise SystemExit(f"no PNG images in {folder} (set SPIKECODEC_DATA to the data root)")
    rows = []
    for path in paths:
        with Image.open(path) as im:
            gray = np.asarray(im.convert("L"))
        rows += [{"image": path.name, **row} for row in fig5_table(gray)]
    return rows


def _means(rows: list[dict]) -> dict[tuple[float, float], tuple[float, float]]:
    return {
        s: tuple(
            float(np.mean([r[key] for r in rows if (r["theta"], r["T"]) == s]))
            for key in ("psnr", "bpp")
        )
        for s in FIG5_SETTINGS
    }


def markdown(rows: list[dict]) -> str:
    """The per-image table with the mean as its last row."""
    head = ["image"] + [
        f"θ={th:g} T={T:g} {m}" for th, T in FIG5_SETTINGS for m in ("PSNR (dB)", "bpp")
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by_image: dict[str, dict] = {}
    for r in rows:
        by_image.setdefault(r["image"], {})[r["theta"], r["T"]] = (r["psnr"], r["bpp"])
    by_image["**mean**"] = _means(rows)
    for name, cells in by_image.items():
        values = [f"{cells[s][0]:.2f} | {cells[s][1]:.2f}" for s in FIG5_SETTINGS]
        lines.append(f"| {name} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def check(rows: list[dict]) -> list[str]:
    """Failures of the theta = 500 settings against the seed's PSNR (empty when all pass)."""
    means = _means(rows)
    failures = []
    for (theta, T), target in TARGETS.items():
        mean = means[theta, T][0]
        if abs(mean - target) > MEAN_TOL_DB:
            failures.append(f"θ={theta:g} T={T:g}: mean {mean:.2f} dB vs seed {target} dB")
        failures += [
            f"θ={theta:g} T={T:g}: {r['image']} {r['psnr']:.2f} dB vs seed {target} dB"
            for r in rows
            if (r["theta"], r["T"]) == (theta, T) and abs(r["psnr"] - target) > IMAGE_TOL_DB
        ]
    return failures


def main() -> int:
    rows = run(data_root() / "set12")
    print(markdown(rows))
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "fig5_set12.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["image", "theta", "T", "psnr", "bpp"])
        writer.writeheader()
        writer.writerows(rows)
    means = [{"theta": th, "T": T, "psnr": p, "bpp": b} for (th, T), (p, b) in _means(rows).items()]
    summary = {
        "setting": {"R": 1e3, "C": 1.0, "reconstruction": "midpoint", "T_unit": "ms"},
        "rows": rows,
        "mean": means,
    }
    (RESULTS / "fig5_set12.json").write_text(json.dumps(summary, indent=2) + "\n")
    failures = check(rows)
    print("\ncheck against the seed (θ=500):", "FAILED" if failures else "ok")
    for failure in failures:
        print("  " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
