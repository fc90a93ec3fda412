"""``spikecodec truncate IN OUT``: cut a ``.spk`` file to a size, bit rate or instant."""

from __future__ import annotations

import argparse
from pathlib import Path

import spikecodec as sc

from . import output

__all__ = ["add_parser"]


def run(args: argparse.Namespace) -> int:
    """Run the command as parsed (errors propagate: :func:`spikecodec.cli.main` reports them)."""
    output.check_output(args.output, ".spk", force=args.force)
    data = output.read_input(args.input)
    data = data if isinstance(data, bytes) else Path(data).read_bytes()
    cut = sc.truncate(data, args.bytes, bpp=args.bpp, until=args.until)
    output.write_output(args.output, cut, force=args.force)
    output.report_stream(args, args.output, cut)
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``spikecodec truncate`` to the command's subparsers."""
    p = subparsers.add_parser(
        "truncate", help="cut a .spk file to a size, bit rate or instant (no re-encoding)"
    )
    p.add_argument("input", help="the .spk file, or - for standard input")
    p.add_argument("output", help="the cut .spk file to write, or -")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--bytes", type=int, help="exactly this many bytes, header included")
    target.add_argument("--bpp", type=float, help="bits per pixel: floor(bpp*W*H/8) bytes")
    target.add_argument("--until", type=float, help="the instant, a fraction of T in (0, 1]")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    output.add_verbosity(p)
    p.set_defaults(run=run)
    return p
