"""Rate–distortion of spikecodec against the reference codecs on the dev corpus.

A driver of the bench harness (:mod:`spikecodec.lab.bench`, the engine of ``spikecodec bench``) over
two fixed scopes:

- ``luma``: the 104 dev images in grayscale (Kodak converted to luma by Pillow's
  ``convert('L')``, BSD68 and Set12 as they are);
- ``kodak-rgb``: the 24 Kodak images in RGB (PSNR over R, G and B and on luma; SSIM and
  MS-SSIM on luma).

For every image and every setting of each codec's sweep the whole file is made and decoded
once (bytes, bpp ``8*bytes/(H*W)``, PSNR, SSIM, MS-SSIM, timings); curves are averaged per
setting across the images and compared with the Bjøntegaard delta rate against ``jpeg``
(libjpeg-turbo) over 0.25–2.0 bpp (negative = fewer bits than JPEG at equal quality), and
spikecodec also against ``jpeg2000``.

Usage (from the project directory; the corpus is ``$SPIKECODEC_DATA``, default
``../shared/data``)::

    python benchmarks/rd.py [--scope luma|kodak-rgb|all] [--quick] [--codecs LIST|all]
                            [--workers N] [--scheduler tcp://...] [--out DIR] [--no-progress]

``--codecs`` defaults to ``spikecodec,jpeg,jpeg2000``; ``all`` runs every available codec
(``spikecodec``, ``spikecodec-psnr`` (``tune="psnr"``, RGB only: in grayscale it is the default
stream), ``jpeg``, ``mozjpeg``, ``jpeg2000``, ``webp``, ``avif``, ``jpegxl``); ``jpeg`` is always
added as the anchor. ``--quick`` takes every 4th image of each set. The work runs on
Dask (``--workers`` processes, default one per core; ``--scheduler`` for an existing cluster).

Outputs, per scope, under ``results/`` (or ``results/cache/quick/`` with ``--quick``, or
``--out``): ``<scope>/<codec>.json`` (CompressAI layout), ``<scope>/bd.md`` and ``bd.json``,
``<scope>/rd.png`` and ``<scope>/speed.md``. The per-image rows go to
``results/cache/rd_<scope>[_quick].csv`` (not committed), which is also the cache: a rerun
measures only what that file lacks (new images, codecs, settings, or a codec's new version).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from spikecodec.lab.bench import report, run
from spikecodec.lab.bench.corpus import SETS, corpus_paths

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "results"
CACHE = RESULTS / "cache"

SCOPES = {
    "luma": {"sets": SETS, "mode": "L", "what": "grayscale, Kodak as luma"},
    "kodak-rgb": {"sets": ("kodak",), "mode": "RGB", "what": "RGB"},
}
ANCHOR = "jpeg"
WINDOW = (0.25, 2.0)  # bpp
QUICK_STEP = 4


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scope", choices=[*SCOPES, "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="every 4th image of each set")
    parser.add_argument(
        "--codecs",
        default="spikecodec,jpeg,jpeg2000",
        help="comma-separated codec names, or 'all' (default: %(default)s)",
    )
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--scheduler", help="an existing Dask scheduler (tcp://host:port)")
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    args.codecs = run.resolve_codecs(args.codecs)  # unknown or unavailable codecs fail here
    if ANCHOR not in args.codecs:
        args.codecs.insert(0, ANCHOR)
    args.scopes = list(SCOPES) if args.scope == "all" else [args.scope]
    if args.out is None:
        args.out = CACHE / "quick" if args.quick else RESULTS
    return args


def add_vs_jpeg2000(folder: Path, rows: list[dict], mode: str, codecs: list[str]) -> str:
    """Append spikecodec's BD against JPEG 2000 to ``bd.md`` and ``bd.json``; its markdown."""
    ours = [c for c in codecs if c.startswith("spikecodec")]
    curves = report.curves(rows, ["jpeg2000", *ours])
    table, notes = report.bd_table(curves, "jpeg2000", WINDOW, report.metrics_for(mode))
    n_images = len({r["path"] for r in rows})
    md = report.bd_markdown(table, notes, "jpeg2000", WINDOW, report.metrics_for(mode), n_images,
                            mode)  # fmt: skip
    with (folder / "bd.md").open("a") as f:
        f.write("\n" + md + "\n")
    bd = json.loads((folder / "bd.json").read_text())
    for codec in ours:
        bd[f"{codec}_vs_jpeg2000"] = table[codec]
    (folder / "bd.json").write_text(json.dumps(bd, indent=2) + "\n")
    return md


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    print(f"codecs: {', '.join(args.codecs)}")
    for scope in args.scopes:
        spec = SCOPES[scope]
        paths = corpus_paths(spec["sets"])
        if args.quick:
            paths = [p for s in spec["sets"] for p in [q for q in paths if q[0] == s][::QUICK_STEP]]
        # tune="psnr" changes only the chroma: in grayscale it is the default stream.
        codecs = [c for c in args.codecs if spec["mode"] == "RGB" or c != "spikecodec-psnr"]
        jobs = run.plan(paths, codecs, spec["mode"])
        print(f"{scope}: {len(paths)} images ({spec['what']}), {len(jobs)} jobs")
        rows_path = CACHE / f"rd_{scope}{'_quick' if args.quick else ''}.csv"
        rows = run.measure(
            jobs,
            rows_path,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=not args.no_progress,
        )
        folder = args.out / scope
        text = report.write_reports(
            folder,
            rows,
            codecs,
            mode=spec["mode"],
            anchor=ANCHOR,
            window=WINDOW,
            speed_note="Dask workers share the cores: see benchmarks/speed.py for careful timing.",
        )
        if {"spikecodec", "jpeg2000"} <= set(codecs):
            text += "\n\n" + add_vs_jpeg2000(folder, rows, spec["mode"], codecs)
        print(f"\n## {scope}\n\n{text}\n\nrows: {rows_path}\noutputs: {folder}/\n")
    print(f"elapsed: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
