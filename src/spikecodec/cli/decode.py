"""``spikecodec decode IN OUT``: decompress a ``.spk`` file into an image file.

IN or OUT may be ``-`` (standard input, standard output); OUT's format is what its extension
names (any Pillow writes), or ``--format``; ``--quality`` for the lossy ones. The ICC profile,
EXIF and XMP go into the file where its format holds them, and so does an alpha plane (PNG,
WebP, TIFF; dropped with a warning from the others); ``--auto-orient`` applies the EXIF
orientation instead of keeping it.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import spikecodec as sc

from ..errors import SpikeCodecWarning
from . import output

__all__ = ["add_parser"]


def run(args: argparse.Namespace) -> int:
    """Run the command as parsed (errors propagate: :func:`spikecodec.cli.main` reports them)."""
    fmt = output.image_format(args.output, args.format)
    if args.quality is not None and fmt not in output.LOSSY_FORMATS:
        lossy = ", ".join(output.LOSSY_FORMATS)
        raise output.UsageError(f"--quality is for the lossy formats ({lossy}), not {fmt}")
    output.check_output(args.output, None, force=args.force)
    data = output.read_input(args.input)
    data = data if isinstance(data, bytes) else Path(data).read_bytes()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpikeCodecWarning)
        image, info = sc.decode(
            data,
            strict=args.strict,
            until=args.until,
            with_info=True,
            auto_orient=args.auto_orient,
            threads=args.threads,
        )
        encoded = output.image_file_bytes(image, fmt, info, args.quality)
    for warning in caught:
        print(f"spikecodec: warning: {warning.message}", file=sys.stderr)
    output.write_output(args.output, encoded, force=args.force)
    if args.verbose:
        output.say(args, f"{args.output}: {image.shape[1]}x{image.shape[0]} {fmt}")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``spikecodec decode`` to the command's subparsers."""
    p = subparsers.add_parser(
        "decode",
        help="decompress a .spk file into an image file (ICC profile, EXIF and XMP kept)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("input", help="the .spk file, or - for standard input")
    p.add_argument("output", help="the image file (any format Pillow writes), or -")
    p.add_argument("--format", help="the output's format (else its extension's), e.g. png")
    p.add_argument("--quality", type=int, help="quality of a lossy output format (JPEG, WebP)")
    p.add_argument(
        "--until", type=float, help="listen only up to this fraction of the window T (0..1]"
    )
    p.add_argument("--strict", action="store_true", help="fail on a damaged or truncated stream")
    p.add_argument(
        "--auto-orient",
        action="store_true",
        help="turn the image upright as its EXIF orientation says (else kept as metadata)",
    )
    p.add_argument(
        "--threads", type=int, help="threads to decode the stripes with (default: every core)"
    )
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    output.add_verbosity(p)
    p.set_defaults(run=run)
    return p
