"""``spikecodec demo --out DIR``: figures and the codec against JPEG on the bundled samples
(:mod:`spikecodec.lab.demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser"]


def run(args: argparse.Namespace) -> None:
    """Run the command as parsed (errors propagate: :func:`spikecodec.cli.main` reports them)."""
    from ..lab.demo import run_demo  # the lab extra, for this command only

    run_demo(Path(args.out))


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``spikecodec demo`` to the command\'s subparsers."""
    p = subparsers.add_parser("demo", help="figures and codec comparison on the bundled samples")
    p.add_argument("--out", default="out", help="output directory")
    p.set_defaults(run=run)
    return p
