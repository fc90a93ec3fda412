"""The ``spikecodec`` command: encode, decode, truncate, info, figures, demo, spikes and
progressive.

Outputs are written to a temporary file beside the target and renamed into place, so a failure
never leaves a partial file; an existing output is only replaced with ``--force``. Exit codes:
0 success, 1 bad input or stream (the library's error), 2 usage, 3 the output exists.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from . import __version__, container
from .bench.command import add_parser as add_bench_parser
from .codec import decode, encode, load_image
from .errors import SpikeCodecError, SpikeCodecWarning
from .events import add_spikes_parser
from .progressive import add_progressive_parser
from .ratecontrol import truncate
from .tables import TABLES

EXIT_ERROR, EXIT_USAGE, EXIT_EXISTS = 1, 2, 3


def write_atomic(path: str | os.PathLike, data: bytes, *, force: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists (use --force to overwrite it)")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _image_bytes(image: np.ndarray, path: Path) -> bytes:
    buf = io.BytesIO()
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise SpikeCodecError(f"cannot tell an image format from the extension of {path}")
    Image.fromarray(image).save(buf, format=fmt)
    return buf.getvalue()


def _report(path: str, data: bytes) -> None:
    h = container.read_header(data)
    print(f"{path}: {len(data)} bytes, {8 * len(data) / (h.width * h.height):.4f} bpp")


def _cmd_encode(args) -> None:
    options = dict(R=args.R, C=args.C, T=args.T, table=args.table, bias=args.bias)
    if args.theta is not None:
        options["theta"] = args.theta
    else:
        options["quality"] = args.quality
    data = encode(load_image(args.input), **options)
    write_atomic(args.output, data, force=args.force)
    _report(args.output, data)


def _cmd_truncate(args) -> None:
    data = Path(args.input).read_bytes()
    cut = truncate(data, args.bytes, bpp=args.bpp, until=args.until)
    write_atomic(args.output, cut, force=args.force)
    _report(args.output, cut)


def _cmd_decode(args) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpikeCodecWarning)
        image = decode(Path(args.input).read_bytes(), strict=args.strict, until=args.until)
    for warning in caught:
        print(f"spikecodec: warning: {warning.message}", file=sys.stderr)
    write_atomic(args.output, _image_bytes(image, Path(args.output)), force=args.force)


def _cmd_info(args) -> None:
    data = Path(args.input).read_bytes()
    header, chunks, partial = container.unpack(data)
    print(f"file        {args.input} ({len(data)} bytes)")
    print(f"image       {header.width}x{header.height} {header.mode}")
    print(f"bpp         {8 * len(data) / (header.width * header.height):.4f}")
    print(f"neurons     R={header.R:g} C={header.C:g} tau={header.R * header.C:g} ms")
    print(f"window      T={header.T:g} ms, theta={header.theta:g}, bias={header.bias:g} (beta)")
    print(f"table       {TABLES[header.table]} (chroma x{header.chroma:g})")
    print(f"time slices {header.planes} ({len(chunks)} complete)")
    if header.cut:
        where = f"inside slice {len(chunks)}" if partial.declared else "at a slice end"
        print(f"cut         on purpose {where} (format version {container.CUT_VERSION})")
    for s, chunk in enumerate(chunks):
        t = header.T / 2 ** (header.planes - 1 - s)
        print(f"  slice {s:2d}  until t = {t:9.4f} ms  {len(chunk):8d} bytes")
    if partial:
        print(f"  partial slice: {len(partial)} bytes of {partial.declared} (slice {len(chunks)})")


def _cmd_figures(args) -> None:
    from .figures import write_all

    image = None if args.image is None else load_image(args.image)
    for path in write_all(Path(args.out), image):
        print(path)


def _cmd_demo(args) -> None:
    from .demo import run_demo

    run_demo(Path(args.out))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spikecodec", description="Image compression with spiking neurons."
    )
    parser.add_argument("--version", action="version", version=f"spikecodec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("encode", help="compress an image into a .spk file")
    p.add_argument("input", help="any image Pillow opens (8-bit grayscale or RGB)")
    p.add_argument("output", help="the .spk file to write")
    p.add_argument("-q", "--quality", type=float, default=75.0, help="1..100 (default 75)")
    p.add_argument("--theta", type=float, help="base neuron threshold (instead of --quality)")
    p.add_argument("--R", type=float, default=1e4, help="membrane resistance (default 1e4)")
    p.add_argument("--C", type=float, default=1.0, help="membrane capacitance (default 1)")
    p.add_argument("--T", type=float, default=100.0, help="window in ms (default 100)")
    p.add_argument("--table", choices=TABLES, default="mild", help="threshold table")
    p.add_argument("--bias", type=float, default=0.3, help="bias current, fraction of a step")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(run=_cmd_encode)

    p = sub.add_parser("decode", help="decompress a .spk file into an image file")
    p.add_argument("input")
    p.add_argument("output", help="image file; the format follows the extension (.png, ...)")
    p.add_argument(
        "--until", type=float, help="listen only up to this fraction of the window T (0..1]"
    )
    p.add_argument("--strict", action="store_true", help="fail on a damaged time slice")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(run=_cmd_decode)

    p = sub.add_parser(
        "truncate", help="cut a .spk file to a size, bit rate or instant (no re-encoding)"
    )
    p.add_argument("input")
    p.add_argument("output", help="the cut .spk file to write")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--bytes", type=int, help="exactly this many bytes, header included")
    target.add_argument("--bpp", type=float, help="bits per pixel: floor(bpp*W*H/8) bytes")
    target.add_argument("--until", type=float, help="the instant, a fraction of T in (0, 1]")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(run=_cmd_truncate)

    p = sub.add_parser("info", help="describe a .spk file")
    p.add_argument("input")
    p.set_defaults(run=_cmd_info)

    p = sub.add_parser("figures", help="recompute the seed paper's figures (PNG + CSV)")
    p.add_argument("--out", default="figures", help="output directory")
    p.add_argument("--image", help="grayscale image for Fig. 5 (default: a bundled sample)")
    p.set_defaults(run=_cmd_figures)

    p = sub.add_parser("demo", help="figures and codec comparison on the bundled samples")
    p.add_argument("--out", default="out", help="output directory")
    p.set_defaults(run=_cmd_demo)

    add_spikes_parser(sub)
    add_progressive_parser(sub)
    add_bench_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except FileExistsError as err:
        print(f"spikecodec: {err}", file=sys.stderr)
        return EXIT_EXISTS
    except (SpikeCodecError, ValueError, OSError) as err:
        print(f"spikecodec: {err}", file=sys.stderr)
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
