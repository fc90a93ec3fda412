"""``spikecodec bench``: rate–distortion and speed of spikecodec and the reference codecs.

::

    spikecodec bench ../shared/data/kodak --codecs spikecodec,jpeg,jpeg2000 --workers 2 --out DIR

measures every image (files, folders of images, or corpus sets with ``--sets``) with every
setting of every codec on Dask (:mod:`spikecodec.lab.bench.run`) and writes into ``DIR``:
``rows.csv`` (one row per image, codec and setting; also the cache that lets an interrupted or
repeated run skip the finished rows), ``<codec>.json`` (CompressAI layout), ``bd.md`` and
``bd.json`` (BD-rates against ``--anchor`` over ``--bpp-window``), ``rd.png`` and ``speed.md``
(:mod:`spikecodec.lab.bench.report`).

Timings are one wall-clock run per row. With several workers the workers share the machine's
cores (one thread each): the speed table then compares codecs under the same load, but for
careful single-process timing use ``benchmarks/speed.py``.

"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import SpikeCodecError
from ..lab.bench.corpus import SETS

__all__ = ["add_parser", "bench_command"]


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="*", metavar="IN", help="image files or folders of images")
    p.add_argument(
        "--sets",
        default="",
        help=f"comma-separated corpus sets to add ({', '.join(SETS)}; corpus root: "
        "$SPIKECODEC_DATA or ../shared/data)",
    )
    p.add_argument("--out", type=Path, default=Path("bench"), help="output folder (default bench)")
    p.add_argument(
        "--codecs",
        default="spikecodec,jpeg,jpeg2000",
        help="comma-separated codec names, or 'all' for every available one (default %(default)s)",
    )
    p.add_argument(
        "--settings",
        action="append",
        default=[],
        metavar="CODEC=V1,V2",
        help="replace a codec's default sweep, e.g. jpeg=10,50,90 (repeat for other codecs)",
    )
    p.add_argument(
        "--mode",
        choices=("L", "RGB"),
        default="L",
        help="code the luma (L, default) or RGB; RGB reports PSNR over RGB and on luma",
    )
    p.add_argument("--anchor", default="jpeg", help="the BD-rate anchor codec (default jpeg)")
    p.add_argument(
        "--bpp-window",
        nargs=2,
        type=float,
        default=(0.25, 2.0),
        metavar=("LO", "HI"),
        help="the BD integrals' bpp range (default 0.25 2.0)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Dask worker processes on this machine (default: one per core; 0 or 1: one "
        "worker thread in this process)",
    )
    p.add_argument("--scheduler", help="send the work to an existing Dask scheduler (tcp://...)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def bench_command(args: argparse.Namespace) -> None:
    """Run the bench as the parsed arguments say, write the outputs and print the tables."""
    from ..lab.bench import report, run  # the bench extra (Dask), loaded for this command only

    codecs = run.resolve_codecs(args.codecs)
    if args.anchor not in codecs:
        raise SpikeCodecError(f"the anchor {args.anchor!r} is not among the codecs {codecs}")
    lo, hi = args.bpp_window
    if not 0 < lo < hi:
        raise SpikeCodecError(f"--bpp-window needs 0 < LO < HI, got {lo:g} {hi:g}")
    if args.workers is not None and args.workers < 0:
        raise SpikeCodecError(f"--workers must be >= 0, got {args.workers}")
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    images = run.find_images(args.inputs, sets)
    settings = run.parse_settings(args.settings, codecs)
    jobs = run.plan(images, codecs, args.mode, settings)
    print(
        f"{len(images)} images x {len(codecs)} codecs ({', '.join(codecs)}): {len(jobs)} jobs, "
        f"mode {args.mode}",
        file=sys.stderr,
    )
    rows = run.measure(
        jobs,
        args.out / "rows.csv",
        workers=args.workers,
        scheduler=args.scheduler,
        progress=not args.no_progress,
    )
    if args.scheduler:
        where = f"on the Dask cluster at {args.scheduler}"
    else:
        n = run.default_workers() if args.workers is None else max(args.workers, 1)
        where = f"{n} worker(s) of one thread on {run.default_workers()} core(s)"
    note = f"Measured with {where}: several workers share the cores, so timings are indicative."
    text = report.write_reports(
        args.out, rows, codecs, mode=args.mode, anchor=args.anchor, window=(lo, hi), speed_note=note
    )
    print(text)
    print(f"\nrows, curves, BD tables, plot and speed table: {args.out}/")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to a ``spikecodec`` command's subparsers."""
    p = subparsers.add_parser(
        "bench",
        help="rate–distortion and speed against reference codecs (Dask)",
        description=__doc__.split("\n\n")[0],
    )
    _add_arguments(p)
    p.set_defaults(run=bench_command)
    return p
