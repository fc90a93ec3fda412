"""``spikecodec encode IN OUT``: compress an image into a ``.spk`` file."""

from __future__ import annotations

import argparse

import spikecodec as sc

from .._io import write_atomic
from ..params import DEFAULT_QUALITY, DEFAULTS
from ..tables import TABLES
from .output import report_stream

__all__ = ["add_parser"]


def run(args: argparse.Namespace) -> None:
    """Run the command as parsed (errors propagate: :func:`spikecodec.cli.main` reports them)."""
    options = dict(R=args.R, C=args.C, T=args.T, table=args.table, bias=args.bias)
    if args.theta is not None:
        options["theta"] = args.theta
    else:
        options["quality"] = args.quality
    data = sc.encode(sc.load_image(args.input), **options)
    write_atomic(args.output, data, force=args.force)
    report_stream(args.output, data)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``spikecodec encode`` to the command\'s subparsers."""
    p = subparsers.add_parser("encode", help="compress an image into a .spk file")
    p.add_argument("input", help="any image Pillow opens (8-bit grayscale or RGB)")
    p.add_argument("output", help="the .spk file to write")
    p.add_argument(
        "-q",
        "--quality",
        type=float,
        default=float(DEFAULT_QUALITY),
        help=f"1..100 (default {DEFAULT_QUALITY})",
    )
    p.add_argument("--theta", type=float, help="base neuron threshold (instead of --quality)")
    p.add_argument(
        "--R", type=float, default=DEFAULTS["R"], help=f"membrane resistance ({DEFAULTS['R']:g})"
    )
    p.add_argument(
        "--C", type=float, default=DEFAULTS["C"], help=f"membrane capacitance ({DEFAULTS['C']:g})"
    )
    p.add_argument(
        "--T", type=float, default=DEFAULTS["T"], help=f"window in ms ({DEFAULTS['T']:g})"
    )
    p.add_argument("--table", choices=TABLES, default=DEFAULTS["table"], help="threshold table")
    p.add_argument(
        "--bias",
        type=float,
        default=DEFAULTS["bias"],
        help=f"bias current, fraction of a step ({DEFAULTS['bias']:g})",
    )
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(run=run)
    return p
