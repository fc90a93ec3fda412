"""``spikecodec progressive IN --out DIR``: figures of decoding in time
(:mod:`spikecodec.lab.progressive`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["add_parser"]


def run(args: argparse.Namespace) -> None:
    """``spikecodec progressive IN --out DIR [-q Q] [--cuts N]``: write the report, print the
    files and a one-line summary per slice; ``progressive.json`` holds the numbers."""
    from ..lab.progressive import progressive_report  # the lab extra, for this command only

    given = {k: v for k, v in (("quality", args.quality), ("cuts", args.cuts)) if v is not None}
    report = progressive_report(args.input, args.out, **given)
    out = Path(args.out)
    numbers = {k: v for k, v in report.items() if k != "files"}
    (out / "progressive.json").write_text(json.dumps(numbers, indent=1) + "\n")
    for point in report["slices"]:
        print(
            f"t = {point['t_ms']:9.4f} ms  {point['bytes']:9d} bytes  "
            f"PSNR {point['psnr']:6.2f} dB  SSIM {point['ssim']:.4f}"
        )
    for path in [*report["files"].values(), out / "progressive.json"]:
        print(path)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``spikecodec progressive`` to the command\'s subparsers."""
    p = subparsers.add_parser(
        "progressive",
        help="figures of decoding in time: strip, animation, PSNR/SSIM vs time and bytes",
    )
    p.add_argument("input", help="any image Pillow opens (8-bit grayscale or RGB)")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("-q", "--quality", type=float, help="1..100 (default: the report's, 95)")
    p.add_argument("--cuts", type=int, help="number of byte cuts (default: the report's, 40)")
    p.set_defaults(run=run)
    return p
