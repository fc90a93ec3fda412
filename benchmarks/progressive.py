"""Progressive decoding: what cutting a spikecodec stream short costs, and what it gives.

Over the luma of the dev corpus (every ``--step``-th image of each set, 4 by default; ``--step 1``
for all 104), one ``quality=95`` stream per image is checked for:

(i) **embedding cost**: the PSNR of the stream cut at 1/16, 1/8, 1/4 and 1/2 of its bytes
    (``decode(data[:n])``), against the curve of direct encodes (``encode(quality=q)`` for q in
    :data:`DIRECT_QUALITIES`, 2..95) at the same bytes, PSNR interpolated linearly in log-bytes;
    mean and worst (most negative) difference per cut. A cut outside the direct curve's byte
    range is counted as such and left out of the mean;
(ii) **monotonicity** on the Kodak images of the selection: PSNR never decreases from one
    :func:`~spikecodec.decode_progressive` step (slice boundary) to the next; violations counted
    (also over the 40 geometric cuts of :func:`spikecodec.lab.progressive.byte_cuts`);
(iii) at each cut, the PSNR of a progressive JPEG (q = 95, ``optimize=True``) truncated at the
    same bytes and decoded by Pillow with ``LOAD_TRUNCATED_IMAGES`` (a cut Pillow cannot decode
    gives no point), and of multi-layer JPEG 2000 at the same bytes (largest layer count whose
    encode fits: Pillow/OpenJPEG do not decode truncated codestreams, see
    :mod:`spikecodec.lab.progressive`);
(iv) **time to first image** on the Kodak images of the selection: decoding the first 1/16 of the
    stream against a full decode (best of ``--repeats`` each, in the main process after the
    rest); target ratio < 1/3;
(v) **where the gap at a slice end comes from**, on the Kodak images of the selection: at the
    end of slice ``s`` (instant ``T/2^j``) the stream holds the counts of a window ``T/2^j``,
    i.e. of thresholds ``2^j`` times larger with the same bias *current*, which is ``beta/2^j``
    of the coarser step: its gap to the direct curve, that of a fresh encode with ``theta*2^j``
    and bias ``beta/2^j`` (the same counts, coded in fewer slices: the coding's share), and that
    of a direct encode with ``theta*2^j`` and the full bias ``beta`` (the dead zone's share).

Usage (from the project directory; the corpus is ``$SPIKECODEC_DATA``, default
``../shared/data``)::

    python benchmarks/progressive.py [--step 4] [--workers N] [--repeats 3]

Prints a table and writes ``results/progressive.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

import spikecodec as sc
from spikecodec.format import container
from spikecodec.lab.bench.corpus import SETS, corpus_paths, data_root, read_image
from spikecodec.lab.bench.timing import best_of
from spikecodec.lab.progressive import (
    byte_cuts,
    jpeg2000_curve,
    jpeg_progressive_curve,
    slice_ends,
)
from spikecodec.metrics import psnr

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "results"
QUALITY = 95
JPEG_QUALITY = 95
FRACTIONS = (1 / 16, 1 / 8, 1 / 4, 1 / 2)
FRACTION_NAMES = ("1/16", "1/8", "1/4", "1/2")
DIRECT_QUALITIES = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 70, 80, 85, 90, 95)
FIRST_IMAGE_TARGET = 1 / 3


def select(step: int) -> list[tuple[str, Path]]:
    """Every ``step``-th image of each set (the first of each set included)."""
    chosen = []
    for set_name in SETS:
        paths = [p for s, p in corpus_paths((set_name,)) if s == set_name]
        chosen += [(set_name, p) for p in paths[::step]]
    return chosen


def direct_psnr_at(sizes: np.ndarray, values: np.ndarray, n: int) -> float:
    """PSNR of the direct-encode curve at ``n`` bytes (linear in log-bytes); NaN outside it."""
    order = np.argsort(sizes)
    sizes, values = sizes[order], values[order]
    if not sizes[0] <= n <= sizes[-1]:
        return float("nan")
    return float(np.interp(np.log(n), np.log(sizes), values))


def run_image(item: tuple[str, Path]) -> dict:
    set_name, path = item
    image = read_image(path, "L")
    data = sc.encode(image, quality=QUALITY)
    cuts = [max(1, round(f * len(data))) for f in FRACTIONS]
    spike = [psnr(image, sc.decode(data[:n])) for n in cuts]
    sizes, values = [], []
    for q in DIRECT_QUALITIES:
        d = sc.encode(image, quality=q)
        sizes.append(len(d))
        values.append(psnr(image, sc.decode(d)))
    sizes, values = np.array(sizes), np.array(values)
    direct = [direct_psnr_at(sizes, values, n) for n in cuts]
    _, jpeg_points = jpeg_progressive_curve(image, cuts, quality=JPEG_QUALITY, with_ssim=False)
    jpeg = {p["cut"]: p["psnr"] for p in jpeg_points}
    method, j2k_points, _ = jpeg2000_curve(image, cuts, with_ssim=False)
    j2k = {p["cut"]: p["psnr"] for p in j2k_points}
    row = {
        "set": set_name,
        "name": path.stem,
        "shape": list(image.shape),
        "bytes": len(data),
        "full_psnr": psnr(image, sc.decode(data)),
        "cuts": cuts,
        "spike_psnr": spike,
        "direct_psnr": direct,
        "direct_curve": {"bytes": sizes.tolist(), "psnr": values.tolist()},
        "jpeg_psnr": [jpeg.get(n, float("nan")) for n in cuts],
        "jpeg2000_psnr": [j2k.get(n, float("nan")) for n in cuts],
        "jpeg2000_method": method,
    }
    if set_name == "kodak":
        row["slice_ends"] = slice_end_gaps(image, data, sizes, values)
        steps = [psnr(image, frame) for _, frame in sc.decode_progressive(data)]
        geo = byte_cuts(container.HEADER_SIZE, len(data))
        geo_psnr = [psnr(image, sc.decode(data[:n])) for n in geo]
        row["slice_psnr"] = steps
        row["slice_violations"] = int(np.sum(np.diff(steps) < 0))
        row["cut_violations"] = int(np.sum(np.diff(geo_psnr) < 0))
    return row


def slice_end_gaps(image: np.ndarray, data: bytes, sizes: np.ndarray, values: np.ndarray) -> dict:
    """Gaps to the direct curve at the ends of the slices before the last (see (v)): of the
    cut stream, of a fresh encode with the same counts, of a direct encode with the full bias."""
    header = container.read_header(data)
    _, ends = slice_ends(data)
    ends = ends[1:]
    gaps = {"cut": [], "same_counts": [], "full_bias": []}
    for s, end in enumerate(ends[:-1]):
        j = len(ends) - 1 - s
        same = sc.encode(image, theta=header.theta * 2**j, bias=header.bias / 2**j)
        full = sc.encode(image, theta=header.theta * 2**j, bias=header.bias)
        for key, stream in (("cut", data[:end]), ("same_counts", same), ("full_bias", full)):
            gap = psnr(image, sc.decode(stream)) - direct_psnr_at(sizes, values, len(stream))
            gaps[key].append(gap)
    return gaps


def time_to_first_image(paths: list[Path], repeats: int) -> list[dict]:
    rows = []
    for path in paths:
        image = read_image(path, "L")
        data = sc.encode(image, quality=QUALITY)
        head = data[: len(data) // 16]
        sc.decode(head)  # warm up
        first = best_of(lambda head=head: sc.decode(head), repeats)
        full = best_of(lambda data=data: sc.decode(data), repeats)
        rows.append({"name": path.stem, "first_s": first, "full_s": full, "ratio": first / full})
    return rows


def _mean(values) -> float:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")


def summarize(rows: list[dict], timing: list[dict]) -> dict:
    cuts = []
    for i, name in enumerate(FRACTION_NAMES):
        spike = np.array([r["spike_psnr"][i] for r in rows])
        direct = np.array([r["direct_psnr"][i] for r in rows])
        diff = spike - direct
        ok = np.isfinite(diff)
        jpeg = np.array([r["jpeg_psnr"][i] for r in rows])
        j2k = np.array([r["jpeg2000_psnr"][i] for r in rows])
        bpp = [8 * r["cuts"][i] / (r["shape"][0] * r["shape"][1]) for r in rows]
        worst = int(np.nanargmin(np.where(ok, diff, np.inf))) if ok.any() else None
        cuts.append(
            {
                "cut": name,
                "images": len(rows),
                "mean_bpp": _mean(bpp),
                "spike_psnr": _mean(spike),
                "direct_psnr": _mean(direct[ok]),
                "diff_mean": _mean(diff[ok]),
                "diff_worst": float(diff[worst]) if worst is not None else float("nan"),
                "diff_worst_image": rows[worst]["name"] if worst is not None else None,
                "out_of_range": int((~ok).sum()),
                "jpeg_psnr": _mean(jpeg),
                "jpeg_decoded": int(np.isfinite(jpeg).sum()),
                "jpeg2000_psnr": _mean(j2k),
                "jpeg2000_points": int(np.isfinite(j2k).sum()),
                "spike_minus_jpeg": _mean(spike - jpeg),
                "spike_minus_jpeg2000": _mean(spike - j2k),
            }
        )
    kodak = [r for r in rows if "slice_violations" in r]
    ratios = [t["ratio"] for t in timing]
    gaps = {
        k: [g for r in kodak for g in r["slice_ends"][k]]
        for k in ("cut", "same_counts", "full_bias")
    }
    return {
        "cuts": cuts,
        "slice_ends": {
            "images": len(kodak),
            "points": int(np.isfinite(gaps["cut"]).sum()),
            **{f"{k}_gap_mean": _mean(v) for k, v in gaps.items()},
        },
        "monotonicity": {
            "images": len(kodak),
            "slice_steps": sum(len(r["slice_psnr"]) - 1 for r in kodak),
            "slice_violations": sum(r["slice_violations"] for r in kodak),
            "cut_steps": sum(len(byte_cuts(container.HEADER_SIZE, r["bytes"])) - 1 for r in kodak),
            "cut_violations": sum(r["cut_violations"] for r in kodak),
        },
        "time_to_first_image": {
            "images": len(timing),
            "median_ratio": float(np.median(ratios)) if ratios else float("nan"),
            "worst_ratio": float(np.max(ratios)) if ratios else float("nan"),
            "target": FIRST_IMAGE_TARGET,
            "met": bool(ratios) and float(np.max(ratios)) < FIRST_IMAGE_TARGET,
        },
    }


def table(summary: dict, rows: list[dict]) -> str:
    lines = [
        f"spikecodec q={QUALITY} stream cut at a fraction of its bytes, luma, {len(rows)} images "
        f"(PSNR dB, means; diff = cut - direct encode at the same bytes)",
        "",
        "| cut  | bpp   | cut PSNR | direct | diff mean | diff worst (image)    | out | "
        "JPEG prog (n) | J2K layers (n) |",
        "|------|-------|----------|--------|-----------|-----------------------|-----|"
        "---------------|----------------|",
    ]
    for c in summary["cuts"]:
        lines.append(
            f"| {c['cut']:<4} | {c['mean_bpp']:5.3f} | {c['spike_psnr']:8.2f} | "
            f"{c['direct_psnr']:6.2f} | {c['diff_mean']:+9.2f} | "
            f"{c['diff_worst']:+6.2f} ({c['diff_worst_image'] or '-':<13}) | "
            f"{c['out_of_range']:3d} | {c['jpeg_psnr']:8.2f} ({c['jpeg_decoded']:2d}) | "
            f"{c['jpeg2000_psnr']:9.2f} ({c['jpeg2000_points']:2d}) |"
        )
    m = summary["monotonicity"]
    t = summary["time_to_first_image"]
    g = summary["slice_ends"]
    lines += [
        "",
        f"at the slice ends (Kodak, {g['images']} images, {g['points']} ends inside the direct "
        f"curve), mean PSNR gap to the direct curve: cut stream {g['cut_gap_mean']:+.2f} dB; "
        f"fresh encode of the same counts (bias beta/2^j) {g['same_counts_gap_mean']:+.2f} dB; "
        f"direct encode of the same threshold with the full bias {g['full_bias_gap_mean']:+.2f} dB",
        "",
        f"monotonicity (Kodak, {m['images']} images): {m['slice_violations']} PSNR decreases "
        f"in {m['slice_steps']} slice steps; {m['cut_violations']} in {m['cut_steps']} steps "
        "of 40 geometric byte cuts",
        f"time to first image (Kodak, {t['images']} images, first 1/16 vs full decode): "
        f"median ratio {t['median_ratio']:.3f}, worst {t['worst_ratio']:.3f} "
        f"(target < 1/3: {'met' if t['met'] else 'NOT met'})",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step", type=int, default=4, help="every STEP-th image of each set")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (best of)")
    parser.add_argument("--out", type=Path, default=RESULTS / "progressive.json")
    args = parser.parse_args(argv)
    if args.step < 1:
        parser.error("--step must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"corpus: {data_root()}", file=sys.stderr)
    items = select(args.step)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        rows = list(pool.map(run_image, items))
    timing = time_to_first_image([p for s, p in items if s == "kodak"], args.repeats)
    summary = summarize(rows, timing)
    print(table(summary, rows))
    doc = {
        "description": __doc__.split("\n\n")[0],
        "step": args.step,
        "quality": QUALITY,
        "jpeg_quality": JPEG_QUALITY,
        "direct_qualities": list(DIRECT_QUALITIES),
        "jpeg2000_method": sorted({r["jpeg2000_method"] for r in rows}),
        "summary": summary,
        "timing": timing,
        "images": rows,
        "seconds": time.perf_counter() - start,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1, allow_nan=True) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
