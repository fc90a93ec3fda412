"""Rate–distortion of spikecodec against JPEG (libjpeg-turbo) and JPEG 2000 (OpenJPEG).

For every image of a scope and every setting of each codec's sweep (the bench codecs'
``settings``), the whole file is made and decoded once, and its bytes, bpp (``8*bytes/(H*W)``),
PSNR (peak 255, over all samples) and SSIM (on luma) are measured. Curves are averaged per
setting across the images (mean bpp, mean PSNR, mean SSIM), and compared with the Bjøntegaard
delta rate against ``jpeg`` over 0.25–2.0 bpp (:func:`spikecodec.metrics.bd_rate`; negative =
fewer bits than JPEG at equal quality), for PSNR and for SSIM; BD-PSNR (dB) is given beside.

Scopes:

- ``luma``: the 104 dev images in grayscale (Kodak converted to luma by Pillow's
  ``convert('L')``, BSD68 and Set12 as they are);
- ``kodak-rgb``: the 24 Kodak images in RGB (PSNR over R, G and B; SSIM on luma).

Usage (from the project directory; the corpus is ``$SPIKECODEC_DATA``, default
``../shared/data``)::

    python benchmarks/rd.py [--scope luma|kodak-rgb|all] [--quick]
                            [--codecs spikecodec,jpeg,jpeg2000] [--workers N] [--out DIR]

``--quick`` takes every 4th image of each set. Outputs, per scope, under ``results/`` (or
``results/cache/quick/`` with ``--quick``, or ``--out``):

- ``<scope>/<codec>.json``: the averaged curve in the CompressAI layout,
  ``{"name", "description", "results": {"bpp", "psnr", "ssim"}}``;
- ``<scope>/bd.json`` and ``<scope>/bd.md``: the BD table;
- ``<scope>/rd.png``: PSNR and SSIM against bpp.

The per-image rows go to ``results/cache/rd_<scope>[_quick].csv`` (not committed). When
``--codecs`` leaves a codec out, its rows are taken from that file if it holds them for every
image of the run (so ``--codecs spikecodec`` reuses the anchors of an earlier run).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from tqdm import tqdm

from spikecodec.bench.codecs import CODECS, get_codec
from spikecodec.bench.corpus import SETS, corpus_paths, data_root, read_image
from spikecodec.metrics import bd_psnr, bd_rate

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "results"
CACHE = RESULTS / "cache"

SCOPES = {
    "luma": {"sets": SETS, "mode": "L", "what": "grayscale, Kodak as luma"},
    "kodak-rgb": {"sets": ("kodak",), "mode": "RGB", "what": "RGB; PSNR over RGB, SSIM on luma"},
}
DEFAULT_CODECS = ("spikecodec", "jpeg", "jpeg2000")
ANCHOR = "jpeg"
WINDOW = (0.25, 2.0)  # bpp
QUICK_STEP = 4
FIELDS = [
    "scope", "set", "image", "height", "width", "codec", "setting",
    "bytes", "bpp", "psnr", "ssim", "encoding_time", "decoding_time",
]  # fmt: skip
METRICS = ("psnr", "ssim")


# --- measuring (in worker processes) --------------------------------------------------------------


def measure(task: tuple[str, str, str, str, str, tuple[str, ...]]) -> list[dict]:
    """Every setting of every codec on one image: one row per (codec, setting)."""
    scope, set_name, name, path, mode, codecs = task
    image = read_image(path, mode)
    rows = []
    for codec_name in codecs:
        codec = get_codec(codec_name)
        for setting in codec.settings:
            result = codec.run(image, setting)
            rows.append(
                {
                    "scope": scope,
                    "set": set_name,
                    "image": name,
                    "height": image.shape[0],
                    "width": image.shape[1],
                    "codec": codec_name,
                    "setting": setting,
                    **result,
                }
            )
    return rows


def run_tasks(tasks: list[tuple], workers: int) -> list[dict]:
    rows: list[dict] = []
    if workers <= 1:
        for task in tqdm(tasks, desc="images", unit="img"):
            rows += measure(task)
        return rows
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(measure, task) for task in tasks]
        for future in tqdm(as_completed(futures), total=len(futures), desc="images", unit="img"):
            rows += future.result()
    return rows


# --- the per-image cache --------------------------------------------------------------------------


def csv_path(scope: str, quick: bool) -> Path:
    return CACHE / f"rd_{scope}{'_quick' if quick else ''}.csv"


def read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key in ("height", "width", "bytes"):
            row[key] = int(row[key])
        for key in ("setting", "bpp", "psnr", "ssim", "encoding_time", "decoding_time"):
            row[key] = float(row[key])
    return rows


def write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def merge_cached(
    rows: list[dict], cached: list[dict], images: set[tuple[str, str]], ran: tuple[str, ...]
) -> tuple[list[dict], list[str]]:
    """The new rows plus cached rows of codecs not run now that cover every image of the run."""
    by_codec: dict[str, list[dict]] = defaultdict(list)
    for row in cached:
        if row["codec"] not in ran and (row["set"], row["image"]) in images:
            by_codec[row["codec"]].append(row)
    reused = []
    for codec, codec_rows in sorted(by_codec.items()):
        if {(r["set"], r["image"]) for r in codec_rows} == images:
            rows = rows + codec_rows
            reused.append(codec)
    return rows, reused


# --- curves and BD --------------------------------------------------------------------------------


def _order(codec: str) -> tuple:
    """Codecs in table order: spikecodec, the anchors, then any other by name."""
    return (DEFAULT_CODECS.index(codec) if codec in DEFAULT_CODECS else 99, codec)


def average_curves(rows: list[dict]) -> dict[str, dict]:
    """Per codec: settings and mean bpp / PSNR / SSIM per setting across the images.

    Settings whose mean is not finite (a lossless image makes PSNR infinite) are left out and
    listed under ``"dropped"``.
    """
    groups: dict[str, dict[float, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        groups[row["codec"]][float(row["setting"])].append(row)
    curves = {}
    for codec in sorted(groups, key=_order):
        curve = {"settings": [], "bpp": [], "psnr": [], "ssim": [], "images": 0, "dropped": []}
        for setting in sorted(groups[codec]):
            group = groups[codec][setting]
            means = {k: float(np.mean([r[k] for r in group])) for k in ("bpp", *METRICS)}
            if not all(math.isfinite(v) for v in means.values()):
                curve["dropped"].append(setting)
                continue
            curve["settings"].append(int(setting) if setting.is_integer() else setting)
            for key, value in means.items():
                curve[key].append(value)
            curve["images"] = max(curve["images"], len(group))
        curves[codec] = curve
    return curves


def bd_table(curves: dict[str, dict], anchor: str) -> dict[str, dict[str, float]]:
    """BD-rate (%) for PSNR and SSIM and BD-PSNR (dB) of every codec against ``anchor``."""
    table = {}
    if anchor not in curves:
        return table
    a = curves[anchor]
    for codec, c in curves.items():
        entry = {}
        for metric in METRICS:
            try:
                entry[f"bd_rate_{metric}"] = bd_rate(
                    a["bpp"], a[metric], c["bpp"], c[metric], rate_window=WINDOW
                )
            except ValueError as err:
                print(f"  BD-rate {metric} of {codec} vs {anchor}: {err}", file=sys.stderr)
                entry[f"bd_rate_{metric}"] = float("nan")
        try:
            entry["bd_psnr_db"] = bd_psnr(a["bpp"], a["psnr"], c["bpp"], c["psnr"], WINDOW)
        except ValueError as err:
            print(f"  BD-PSNR of {codec} vs {anchor}: {err}", file=sys.stderr)
            entry["bd_psnr_db"] = float("nan")
        table[codec] = entry
    return table


# --- outputs --------------------------------------------------------------------------------------


def library_versions() -> dict[str, str]:
    import PIL
    from PIL import features

    import spikecodec

    return {
        "spikecodec": spikecodec.__version__,
        "pillow": PIL.__version__,
        "libjpeg-turbo": str(features.version("libjpeg_turbo") or features.version("jpg")),
        "openjpeg": str(features.version("jpg_2000")),
    }


def describe(codec: str, scope: str, n_images: int, versions: dict[str, str]) -> str:
    what = {
        "spikecodec": f"spikecodec {versions['spikecodec']}, spikecodec.encode(image, quality=q)",
        "jpeg": f"libjpeg-turbo {versions['libjpeg-turbo']} via Pillow {versions['pillow']}, "
        "optimize=True, 4:2:0",
        "jpeg2000": f"OpenJPEG {versions['openjpeg']} via Pillow {versions['pillow']}, "
        "rate mode (setting = target bpp), 9/7, raw J2K codestream",
    }.get(codec, codec)
    return (
        f"{what}; whole files; mean bpp, PSNR and SSIM per setting over {n_images} images "
        f"({scope}: {SCOPES[scope]['what']})"
    )


def _fmt(value: float, digits: int = 1) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:+.{digits}f}"


def bd_markdown(scope: str, n_images: int, table: dict, extra: dict | None) -> str:
    lines = [
        f"BD vs {ANCHOR} over {WINDOW[0]}–{WINDOW[1]} bpp, scope {scope} ({n_images} images, "
        f"{SCOPES[scope]['what']}); negative BD-rate = fewer bits than {ANCHOR}",
        "",
        "| codec | BD-rate PSNR % | BD-rate SSIM % | BD-PSNR dB |",
        "|---|---:|---:|---:|",
    ]
    for codec, e in table.items():
        if codec == ANCHOR:
            lines.append(f"| {codec} | (anchor) | (anchor) | (anchor) |")
            continue
        lines.append(
            f"| {codec} | {_fmt(e['bd_rate_psnr'])} | {_fmt(e['bd_rate_ssim'])} | "
            f"{_fmt(e['bd_psnr_db'], 2)} |"
        )
    if extra:
        e = extra["spikecodec"]
        lines += [
            "",
            f"spikecodec vs jpeg2000: BD-rate PSNR {_fmt(e['bd_rate_psnr'])} %, "
            f"SSIM {_fmt(e['bd_rate_ssim'])} %, BD-PSNR {_fmt(e['bd_psnr_db'], 2)} dB",
        ]
    return "\n".join(lines)


def curves_markdown(curves: dict[str, dict]) -> str:
    lines = ["| codec | setting | bpp | PSNR dB | SSIM |", "|---|---:|---:|---:|---:|"]
    for codec, c in curves.items():
        for s, b, p, q in zip(c["settings"], c["bpp"], c["psnr"], c["ssim"]):
            lines.append(f"| {codec} | {s:g} | {b:.3f} | {p:.2f} | {q:.4f} |")
        if c["dropped"]:
            lines.append(f"| {codec} | dropped (not finite): {c['dropped']} | | | |")
    return "\n".join(lines)


def plot(path: Path, scope: str, n_images: int, curves: dict[str, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    hi = max(max(c["bpp"]) for c in curves.values() if c["bpp"])
    for ax, metric, label in zip(axes, METRICS, ("PSNR (dB)", "SSIM (luma)")):
        ax.axvspan(*WINDOW, color="0.92", zorder=0, label=f"BD window {WINDOW[0]}–{WINDOW[1]}")
        for codec, c in curves.items():
            ax.plot(c["bpp"], c[metric], marker="o", markersize=3.5, label=codec)
        ax.set_xlabel("bits per pixel (whole file)")
        ax.set_ylabel(label)
        ax.set_xlim(0, min(hi, 4.0) * 1.02)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right")
    fig.suptitle(f"{scope}: mean over {n_images} images ({SCOPES[scope]['what']})")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_outputs(
    out: Path, scope: str, curves: dict, table: dict, extra: dict | None, versions: dict
) -> str:
    folder = out / scope
    folder.mkdir(parents=True, exist_ok=True)
    n_images = max(c["images"] for c in curves.values())
    for codec, c in curves.items():
        doc = {
            "name": codec,
            "description": describe(codec, scope, c["images"], versions),
            "setting_name": CODECS[codec].setting_name if codec in CODECS else "setting",
            "settings": c["settings"],
            "results": {"bpp": c["bpp"], "psnr": c["psnr"], "ssim": c["ssim"]},
        }
        (folder / f"{codec}.json").write_text(json.dumps(doc, indent=2) + "\n")
    bd = {
        "scope": scope,
        "images": n_images,
        "anchor": ANCHOR,
        "rate_window_bpp": list(WINDOW),
        "versions": versions,
        "bd": table,
    }
    if extra:
        bd["spikecodec_vs_jpeg2000"] = extra["spikecodec"]
    (folder / "bd.json").write_text(json.dumps(bd, indent=2, allow_nan=True) + "\n")
    md = bd_markdown(scope, n_images, table, extra)
    (folder / "bd.md").write_text(md + "\n\n" + curves_markdown(curves) + "\n")
    plot(folder / "rd.png", scope, n_images, curves)
    return md


# --- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scope", choices=[*SCOPES, "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="every 4th image of each set")
    parser.add_argument(
        "--codecs",
        default=",".join(DEFAULT_CODECS),
        help="comma-separated codec names (default: %(default)s)",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    args = parser.parse_args(argv)
    args.codecs = tuple(c.strip() for c in args.codecs.split(",") if c.strip())
    for codec in args.codecs:
        get_codec(codec)  # unknown or unavailable codecs fail here, before any work
    args.scopes = list(SCOPES) if args.scope == "all" else [args.scope]
    if args.out is None:
        args.out = CACHE / "quick" if args.quick else RESULTS
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    root = data_root()
    print(f"corpus: {root}; codecs: {', '.join(args.codecs)}; workers: {args.workers}")
    tasks, images = [], {}
    for scope in args.scopes:
        spec = SCOPES[scope]
        paths = corpus_paths(spec["sets"], root)
        if args.quick:  # every 4th image of each set
            paths = [p for s in spec["sets"] for p in [q for q in paths if q[0] == s][::QUICK_STEP]]
        images[scope] = {(s, p.stem) for s, p in paths}
        tasks += [(scope, s, p.stem, str(p), spec["mode"], args.codecs) for s, p in paths]
        print(f"{scope}: {len(paths)} images ({spec['what']})")
    # The heaviest images first, for an even load on the workers.
    tasks.sort(key=lambda t: t[4] != "RGB")
    rows = run_tasks(tasks, args.workers)

    versions = library_versions()
    report = []
    for scope in args.scopes:
        scope_rows = [r for r in rows if r["scope"] == scope]
        path = csv_path(scope, args.quick)
        scope_rows, reused = merge_cached(scope_rows, read_rows(path), images[scope], args.codecs)
        scope_rows.sort(
            key=lambda r: (_order(r["codec"]), r["set"], r["image"], float(r["setting"]))
        )
        write_rows(path, scope_rows)
        curves = average_curves(scope_rows)
        table = bd_table(curves, ANCHOR)
        extra = None
        if "spikecodec" in curves and "jpeg2000" in curves:
            extra = bd_table({k: curves[k] for k in ("jpeg2000", "spikecodec")}, "jpeg2000")
        md = write_outputs(args.out, scope, curves, table, extra, versions)
        note = f" (from {path.name}: {', '.join(reused)})" if reused else ""
        report.append(
            f"## {scope}{note}\n\n{md}\n\nAveraged curves (mean per setting across the "
            f"images):\n\n{curves_markdown(curves)}\n\nper-image rows: {path}\n"
            f"curves, BD table, plot: {args.out / scope}/"
        )
    print()
    print("\n\n".join(report))
    print(f"\nversions: {versions}")
    print(f"elapsed: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
