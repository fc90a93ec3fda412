"""``spikecodec decode IN OUT``: decompress a ``.spk`` file into an image file."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import spikecodec as sc

from .._io import write_atomic
from ..errors import SpikeCodecWarning
from .output import image_file_bytes

__all__ = ["add_parser"]


def run(args: argparse.Namespace) -> None:
    """Run the command as parsed (errors propagate: :func:`spikecodec.cli.main` reports them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpikeCodecWarning)
        image = sc.decode(Path(args.input).read_bytes(), strict=args.strict, until=args.until)
    for warning in caught:
        print(f"spikecodec: warning: {warning.message}", file=sys.stderr)
    write_atomic(args.output, image_file_bytes(image, Path(args.output)), force=args.force)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``spikecodec decode`` to the command\'s subparsers."""
    p = subparsers.add_parser("decode", help="decompress a .spk file into an image file")
    p.add_argument("input")
    p.add_argument("output", help="image file; the format follows the extension (.png, ...)")
    p.add_argument(
        "--until", type=float, help="listen only up to this fraction of the window T (0..1]"
    )
    p.add_argument("--strict", action="store_true", help="fail on a damaged time slice")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(run=run)
    return p
