"""The ``spikecodec`` command, one module per subcommand: encode, decode, truncate, info,
spikes, nir, progressive, figures, demo and bench.

Outputs are written to a temporary file beside the target and renamed into place, so a failure
never leaves a partial file; an existing output is only replaced with ``--force``; ``-`` reads
standard input or writes standard output, and reports go to standard error. Exit codes: 0
success, 1 bad input or stream (the library's error; for many images: any of them failed), 2
usage, 3 the output exists.

Building the parser imports no compiled kernel and none of the lab's extras: each command
loads what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..errors import SpikeCodecError
from . import (
    bench,
    decode,
    demo,
    encode,
    figures,
    info,
    nir,
    output,
    progressive,
    spikes,
    truncate,
)

__all__ = ["EXIT_ERROR", "EXIT_EXISTS", "EXIT_USAGE", "build_parser", "main"]

EXIT_ERROR, EXIT_USAGE, EXIT_EXISTS = 1, 2, 3
COMMANDS = (
    encode, decode, truncate, info, figures, demo, spikes, nir, progressive, bench
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The ``spikecodec`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="spikecodec", description="Image compression with spiking neurons."
    )
    parser.add_argument("--version", action="version", version=f"spikecodec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``spikecodec`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code = args.run(args)
    except FileExistsError as err:
        print(f"spikecodec: {err}", file=sys.stderr)
        return EXIT_EXISTS
    except output.UsageError as err:
        print(f"usage: spikecodec {args.command}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (SpikeCodecError, ValueError, OSError, ImportError) as err:  # ImportError: an extra
        print(f"spikecodec: {err}", file=sys.stderr)
        return EXIT_ERROR
    return code or 0
