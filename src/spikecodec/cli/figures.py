"""``spikecodec figures --out DIR``: the seed paper's figures (:mod:`spikecodec.lab.figures`)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser"]


def run(args: argparse.Namespace) -> None:
    """Run the command as parsed (errors propagate: :func:`spikecodec.cli.main` reports them)."""
    from ..images import load_image
    from ..lab.figures import write_all  # the lab extra, for this command only

    image = None if args.image is None else load_image(args.image)
    for path in write_all(Path(args.out), image):
        print(path)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``spikecodec figures`` to the command\'s subparsers."""
    p = subparsers.add_parser("figures", help="recompute the seed paper's figures (PNG + CSV)")
    p.add_argument("--out", default="figures", help="output directory")
    p.add_argument("--image", help="grayscale image for Fig. 5 (default: a bundled sample)")
    p.set_defaults(run=run)
    return p
