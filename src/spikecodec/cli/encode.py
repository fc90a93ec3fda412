"""``spikecodec encode``: compress images into ``.spk`` files.

::

    spikecodec encode IN OUT [options]          # one image; IN or OUT may be - (stdin, stdout)
    spikecodec encode IN... --out DIR [-r]      # files and folders of images into DIR

The rate is a quality (``-q``, libjpeg's scale), a threshold (``--theta``), lossless
(``--lossless``), or a target met by cutting the stream (``--bpp``, ``--bytes``, ``--psnr``;
with ``-q``, ``--theta`` or ``--lossless`` that stream is cut). An image with alpha keeps its
alpha plane, lossless unless ``--alpha-q`` gives it a quality (cwebp's ``-alpha_q``), a fully
opaque one only with ``--keep-alpha``. Many images are encoded over
``--jobs`` processes (default: every core, each image then on one thread unless ``--threads``
says otherwise) with a progress bar; a file that fails is reported
and the rest go on, and the exit code says whether any failed. The output path is checked
before any work: its folder exists, it is not a folder, it ends in ``.spk``, and it exists only
with ``--force``.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image

from ..errors import ParameterError, SpikeCodecError
from ..params import DEFAULT_QUALITY, DEFAULTS, SUBSAMPLINGS, TUNES
from ..tables import TABLES
from . import output

__all__ = ["add_parser", "encode_file"]

_NEURONS = (
    "theta",
    "lossless",
    "R",
    "C",
    "T",
    "table",
    "bias",
    "chroma",
    "tune",
    "subsampling",
    "strip",
    "alpha_quality",
    "keep_alpha",
    "stripes",
    "threads",
)
_TARGETS = {"bpp": "target_bpp", "bytes": "target_bytes", "psnr": "target_psnr"}


def _options(args: argparse.Namespace) -> dict:
    """:func:`spikecodec.encode`'s keyword arguments from the command's (those given)."""
    options = {name: getattr(args, name) for name in _NEURONS if getattr(args, name) is not None}
    if args.quality is not None:
        options["quality"] = args.quality
    options.update({_TARGETS[k]: getattr(args, k) for k in _TARGETS if getattr(args, k)})
    return options


def encode_file(source: str, destination: str, options: dict, force: bool) -> bytes:
    """Encode the image file (or ``-``: standard input) ``source`` into ``destination`` (or
    ``-``: standard output); returns the stream."""
    import spikecodec as sc

    data = sc.encode(output.read_input(source), **options)
    output.write_output(destination, data, force=force)
    return data


def _images(inputs: list[str], recursive: bool) -> list[tuple[Path, Path]]:
    """``(file, path relative to its input)`` of every image the inputs name: files as they
    are, folders' files with an extension Pillow opens (their subfolders with ``recursive``)."""
    extensions = {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}
    found = []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            files = path.rglob("*") if recursive else path.glob("*")
            found += [
                (f, f.relative_to(path))
                for f in sorted(files)
                if f.is_file() and f.suffix.lower() in extensions
            ]
        elif path.exists():
            found.append((path, Path(path.name)))
        else:
            raise ParameterError(f"{name}: no such file or folder")
    return found


def _job(source: str, destination: str, options: dict, force: bool) -> tuple[str, int, str]:
    """One image of a batch: ``(source, bytes written, error message or "")``."""
    try:
        return source, len(encode_file(source, destination, options, force)), ""
    except (SpikeCodecError, OSError) as err:
        return source, 0, str(err)


def _batch(args: argparse.Namespace, options: dict) -> int:
    """Encode every image of ``args.inputs`` into ``args.out``; the exit code."""
    from tqdm import tqdm

    out = Path(args.out)
    if not out.is_dir():
        raise ParameterError(f"--out {out}: no such folder")
    if args.threads is None:
        options = {**options, "threads": 1}  # the processes share the cores
    jobs = []
    for source, relative in _images(args.inputs, args.recursive):
        destination = out / relative.with_suffix(".spk")
        destination.parent.mkdir(parents=True, exist_ok=True)
        jobs.append((str(source), str(destination), options, args.force))
    if not jobs:
        raise ParameterError("no image to encode")
    failed, written = [], 0
    workers = min(args.jobs or os.cpu_count() or 1, len(jobs))
    bar = tqdm(total=len(jobs), unit="image", disable=args.quiet, file=sys.stderr)
    with ProcessPoolExecutor(workers) as pool:
        for source, size, error in pool.map(_job, *zip(*jobs)):
            bar.update()
            if error:
                failed.append(source)
                bar.write(f"spikecodec: {source}: {error}", file=sys.stderr)
            else:
                written += size
                if args.verbose:
                    bar.write(f"{source}: {size} bytes", file=sys.stderr)
    bar.close()
    output.say(
        args,
        f"{len(jobs) - len(failed)} encoded into {out} ({written} bytes), {len(failed)} failed",
    )
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    """Run the command as parsed (errors propagate: :func:`spikecodec.cli.main` reports them)."""
    options = _options(args)
    if args.out is not None:
        return _batch(args, options)
    if len(args.inputs) != 2:
        raise output.UsageError(
            "give IN OUT (one image, - for standard input or output) or IN... --out DIR"
        )
    source, destination = args.inputs
    output.check_output(destination, ".spk", force=args.force)
    data = encode_file(source, destination, options, args.force)
    output.report_stream(args, destination, data)
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``spikecodec encode`` to the command's subparsers."""
    p = subparsers.add_parser(
        "encode",
        help="compress images into .spk files",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("inputs", nargs="+", metavar="IN", help="IN OUT, or IN... with --out DIR")
    p.add_argument("--out", metavar="DIR", help="encode every IN (files, folders) into DIR")
    p.add_argument("-r", "--recursive", action="store_true", help="folders' subfolders too")
    p.add_argument("-j", "--jobs", type=int, help="processes for many images (default: cores)")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument(
        "-q", "--quality", type=float, help=f"1..100, libjpeg's scale (default {DEFAULT_QUALITY})"
    )
    rate.add_argument("--theta", type=float, help="the base neuron threshold instead")
    rate.add_argument(
        "--lossless",
        action="store_const",
        const=True,
        help="exact: the whole stream decodes to the input, every prefix to a coarser image",
    )
    target = p.add_mutually_exclusive_group()
    target.add_argument("--bpp", type=float, help="cut the stream to this many bits per pixel")
    target.add_argument("--bytes", type=int, help="cut the stream to exactly this many bytes")
    target.add_argument("--psnr", type=float, help="the fewest bytes reaching this PSNR (dB)")
    p.add_argument("--R", type=float, help=f"membrane resistance (default {DEFAULTS['R']:g})")
    p.add_argument("--C", type=float, help=f"membrane capacitance (default {DEFAULTS['C']:g})")
    p.add_argument("--T", type=float, help=f"window in ms (default {DEFAULTS['T']:g})")
    p.add_argument("--table", choices=TABLES, help=f"threshold table (default {DEFAULTS['table']})")
    p.add_argument("--bias", type=float, help=f"bias current (default {DEFAULTS['bias']:g})")
    p.add_argument("--chroma", type=float, help="chroma threshold factor (default: the tune's)")
    p.add_argument(
        "--tune", choices=tuple(TUNES), help=f"what to serve (default {DEFAULTS['tune']})"
    )
    p.add_argument(
        "--subsampling",
        choices=SUBSAMPLINGS,
        help=f"chroma resolution (default {DEFAULTS['subsampling']})",
    )
    p.add_argument(
        "--strip",
        action="store_const",
        const=True,
        help="drop the ICC profile, EXIF and XMP (kept by default)",
    )
    p.add_argument(
        "--alpha-q",
        dest="alpha_quality",
        type=float,
        metavar="Q",
        help="the alpha plane's quality, 1..100 (default: lossless)",
    )
    p.add_argument(
        "--keep-alpha",
        action="store_const",
        const=True,
        help="keep a fully opaque alpha plane (dropped by default)",
    )
    p.add_argument(
        "--stripes",
        type=int,
        help="independently coded stripes (default: one per 8.4 megapixels)",
    )
    p.add_argument(
        "--threads",
        type=int,
        help="threads per image (default: every core; 1 per image with --out); same bytes",
    )
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    output.add_verbosity(p)
    p.set_defaults(run=run)
    return p
