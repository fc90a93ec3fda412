"""The bench's reports: averaged curves, BD-rate tables, RD plots and speed, from the rows.

From the rows of a run (:func:`spikecodec.lab.bench.run.measure`), :func:`write_reports` writes
into a folder:

- ``<codec>.json``: the codec's curve in the CompressAI layout, ``{"name", "description",
  "results": {"bpp", "psnr", "ssim", "ms-ssim", ...}}``, the mean of each quantity per setting
  over the images (``psnr-y``, PSNR on luma, too in RGB mode);
- ``bd.md`` and ``bd.json``: Bjøntegaard delta rates against an anchor codec over a bpp window
  (:func:`spikecodec.metrics.bd_rate`; negative = fewer bits than the anchor at equal quality)
  for PSNR, SSIM and MS-SSIM (and luma PSNR in RGB mode), and BD-PSNR
  (:func:`spikecodec.metrics.bd_psnr`, dB), then the averaged curves;
- ``rd.png``: each quality measure against bpp, one panel each, the window shaded;
- ``speed.md``: encoding and decoding speed in megapixels per second, and its ratio to
  libjpeg-turbo's (``jpeg``), from the rows' timings.

A failed row (non-empty ``error``) counts for nothing; a setting whose mean is not finite
(e.g. infinite PSNR on a lossless result) is left out of its curve and listed as dropped.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from ...metrics import bd_psnr, bd_rate
from .codecs import CODECS

__all__ = [
    "SPEED_REFERENCE",
    "bd_markdown",
    "bd_table",
    "curves",
    "metrics_for",
    "speed",
    "write_reports",
]

SPEED_REFERENCE = "jpeg"
"""The codec whose speed the others are compared with (libjpeg-turbo)."""
_AVERAGED = ("bpp", "psnr", "psnr_y", "ssim", "ms_ssim", "encoding_time", "decoding_time")
_LABELS = {"psnr": "PSNR", "psnr_y": "luma PSNR", "ssim": "SSIM", "ms_ssim": "MS-SSIM"}
_COMPRESSAI = {"psnr_y": "psnr-y", "ms_ssim": "ms-ssim"}


def metrics_for(mode: str) -> tuple[str, ...]:
    """The quality measures reported for a mode: luma PSNR besides RGB PSNR in RGB mode."""
    return ("psnr", "ssim", "ms_ssim") if mode == "L" else ("psnr", "psnr_y", "ssim", "ms_ssim")


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if text.lstrip("-").isdigit() else value


def curves(rows: Sequence[Mapping[str, str]], codecs: Sequence[str]) -> dict[str, dict]:
    """Per codec: its settings in increasing order and, per setting, the mean of each measured
    quantity over the images whose row did not fail (``images``: how many)."""
    groups: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if not row["error"]:
            groups[row["codec"]][row["setting"]].append(row)
    out = {}
    for codec in codecs:
        curve: dict[str, list] = {"settings": [], "images": [], "dropped": []}
        curve.update({k: [] for k in _AVERAGED})
        for setting in sorted(groups[codec], key=float):
            group = groups[codec][setting]
            means = {k: statistics.fmean(float(r[k]) for r in group) for k in _AVERAGED}
            if not all(math.isfinite(v) for v in means.values()):
                curve["dropped"].append(_number(setting))
                continue
            curve["settings"].append(_number(setting))
            curve["images"].append(len(group))
            for key, value in means.items():
                curve[key].append(value)
        out[codec] = curve
    return out


def bd_table(
    curves: Mapping[str, dict], anchor: str, window: tuple[float, float], metrics: Sequence[str]
) -> tuple[dict[str, dict], list[str]]:
    """BD-rate (%) per quality measure and BD-PSNR (dB) of every codec against ``anchor``.

    Returns the table (``{codec: {"bd_rate_<metric>": ..., "bd_psnr_db": ...}}``, None where
    the curves do not allow it) and the reasons for the Nones.
    """
    a = curves[anchor]
    table, notes = {}, []
    for codec, c in curves.items():
        if codec == anchor:
            continue
        entry: dict[str, float | None] = {}
        for name, fn, metric in [(f"bd_rate_{m}", bd_rate, m) for m in metrics] + [
            ("bd_psnr_db", bd_psnr, "psnr")
        ]:
            try:
                entry[name] = fn(a["bpp"], a[metric], c["bpp"], c[metric], rate_window=window)
            except ValueError as err:
                entry[name] = None
                notes.append(f"{codec} {name}: {err}")
        table[codec] = entry
    return table, notes


def speed(rows: Sequence[Mapping[str, str]], codecs: Sequence[str]) -> dict[str, dict]:
    """Per codec: megapixels per second over its rows that did not fail (total pixels over
    total time), and the ratio to :data:`SPEED_REFERENCE`'s speed (None without it)."""
    totals = {c: {"jobs": 0, "megapixels": 0.0, "encode_s": 0.0, "decode_s": 0.0} for c in codecs}
    for row in rows:
        if not row["error"] and row["codec"] in totals:
            t = totals[row["codec"]]
            t["jobs"] += 1
            t["megapixels"] += int(row["height"]) * int(row["width"]) / 1e6
            t["encode_s"] += float(row["encoding_time"])
            t["decode_s"] += float(row["decoding_time"])
    out = {}
    for codec, t in totals.items():
        out[codec] = {
            "jobs": t["jobs"],
            "encode_mps": t["megapixels"] / t["encode_s"] if t["encode_s"] else None,
            "decode_mps": t["megapixels"] / t["decode_s"] if t["decode_s"] else None,
        }
    ref = out.get(SPEED_REFERENCE)
    for entry in out.values():
        for way in ("encode", "decode"):
            mine, theirs = entry[f"{way}_mps"], ref and ref[f"{way}_mps"]
            entry[f"{way}_ratio"] = mine / theirs if mine and theirs else None
    return out


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def bd_markdown(table, notes, anchor, window, metrics, n_images, mode) -> str:
    """:func:`bd_table`'s table and notes as markdown, with a line saying what was compared."""
    head = " | ".join(f"BD-rate {_LABELS[m]} %" for m in metrics)
    lines = [
        f"BD vs {anchor} over {window[0]:g}–{window[1]:g} bpp, mode {mode}, {n_images} image(s); "
        f"negative BD-rate = fewer bits than {anchor} at equal quality",
        "",
        f"| codec | {head} | BD-PSNR dB |",
        "|---|" + "---:|" * (len(metrics) + 1),
        f"| {anchor} |" + " (anchor) |" * (len(metrics) + 1),
    ]
    for codec, entry in table.items():
        cells = [_fmt(entry[f"bd_rate_{m}"], "+.1f") for m in metrics]
        cells.append(_fmt(entry["bd_psnr_db"], "+.2f"))
        lines.append(f"| {codec} | " + " | ".join(cells) + " |")
    lines += [f"- n/a: {note}" for note in notes]
    return "\n".join(lines)


def _curves_markdown(curves: Mapping[str, dict], metrics: Sequence[str]) -> str:
    head = " | ".join(_LABELS[m] for m in metrics)
    lines = [f"| codec | setting | images | bpp | {head} |", "|---|" + "---:|" * (3 + len(metrics))]
    for codec, c in curves.items():
        for i, setting in enumerate(c["settings"]):
            cells = [f"{c[m][i]:.4f}" if "ssim" in m else f"{c[m][i]:.2f}" for m in metrics]
            lines.append(
                f"| {codec} | {setting:g} | {c['images'][i]} | {c['bpp'][i]:.3f} | "
                + " | ".join(cells)
                + " |"
            )
        if c["dropped"]:
            lines.append(f"| {codec} | dropped (mean not finite): {c['dropped']} |")
    return "\n".join(lines)


def _speed_markdown(table: Mapping[str, dict], note: str) -> str:
    lines = [
        f"Speed in megapixels per second (total pixels / total wall-clock time over the rows, one "
        f"run each) and ratio to {SPEED_REFERENCE} (libjpeg-turbo). {note}".strip(),
        "",
        f"| codec | jobs | encode MP/s | encode × {SPEED_REFERENCE} | decode MP/s | "
        f"decode × {SPEED_REFERENCE} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for codec, e in table.items():
        lines.append(
            f"| {codec} | {e['jobs']} | {_fmt(e['encode_mps'], '.2f')} | "
            f"{_fmt(e['encode_ratio'], '.3g')} | {_fmt(e['decode_mps'], '.2f')} | "
            f"{_fmt(e['decode_ratio'], '.3g')} |"
        )
    return "\n".join(lines)


def _plot(path: Path, curves, window, metrics, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(metrics), figsize=(5 * len(metrics), 4.6), layout="constrained", squeeze=False
    )
    top = max((max(c["bpp"]) for c in curves.values() if c["bpp"]), default=window[1])
    for ax, metric in zip(axes[0], metrics):
        ax.axvspan(*window, color="0.92", zorder=0, label=f"BD window {window[0]:g}–{window[1]:g}")
        for codec, c in curves.items():
            ax.plot(c["bpp"], c[metric], marker="o", markersize=3, label=codec)
        ax.set_xlabel("bits per pixel (whole file)")
        ax.set_ylabel(_LABELS[metric] + (" (dB)" if "psnr" in metric else ""))
        ax.set_xlim(0, min(top, 4.0) * 1.02)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _failures(rows: Sequence[Mapping[str, str]]) -> str:
    failed = [r for r in rows if r["error"]]
    if not failed:
        return ""
    lines = [f"{len(failed)} of {len(rows)} jobs failed (column `error` of the rows):", ""]
    lines += [f"- {r['codec']} {r['setting']} on {r['path']}: {r['error']}" for r in failed[:10]]
    if len(failed) > 10:
        lines.append(f"- ... and {len(failed) - 10} more")
    return "\n".join(lines)


def write_reports(
    out: str | Path,
    rows: Sequence[Mapping[str, str]],
    codecs: Sequence[str],
    *,
    mode: str,
    anchor: str = "jpeg",
    window: tuple[float, float] = (0.25, 2.0),
    speed_note: str = "",
) -> str:
    """Write the JSON curves, BD tables, RD plot and speed table of a run into ``out``.

    ``codecs`` orders the tables; ``anchor`` must be one of them; ``window`` is the bpp range
    of the BD integrals; ``speed_note`` is said above the speed table (e.g. how many workers
    shared the cores). Returns the markdown of the BD and speed tables, and of the failures.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metrics = metrics_for(mode)
    n_images = len({r["path"] for r in rows})
    versions = {r["codec"]: r["version"] for r in rows}
    averaged = curves(rows, codecs)
    for codec, c in averaged.items():
        doc = {
            "name": codec,
            "description": f"{CODECS[codec].__doc__.strip().splitlines()[0].rstrip('.')} "
            f"({versions.get(codec, '')}); mean per setting over {n_images} image(s), mode {mode}",
            "setting_name": CODECS[codec].setting_name,
            "settings": c["settings"],
            "images": c["images"],
            "results": {
                _COMPRESSAI.get(k, k): c[k]
                for k in ("bpp", *metrics, "encoding_time", "decoding_time")
            },
        }
        (out / f"{codec}.json").write_text(json.dumps(doc, indent=2) + "\n")
    table, notes = bd_table(averaged, anchor, window, metrics)
    bd = {
        "anchor": anchor,
        "rate_window_bpp": list(window),
        "mode": mode,
        "images": n_images,
        "versions": versions,
        "bd": table,
        "notes": notes,
    }
    (out / "bd.json").write_text(json.dumps(bd, indent=2) + "\n")
    bd_md = bd_markdown(table, notes, anchor, window, metrics, n_images, mode)
    curves_md = _curves_markdown(averaged, metrics)
    failures = _failures(rows)
    parts = [bd_md, "Averaged curves (mean per setting over the images):", curves_md, failures]
    (out / "bd.md").write_text("\n\n".join(p for p in parts if p) + "\n")
    speed_md = _speed_markdown(speed(rows, codecs), speed_note)
    (out / "speed.md").write_text(speed_md + "\n")
    _plot(out / "rd.png", averaged, window, metrics, f"mean over {n_images} image(s), mode {mode}")
    return "\n\n".join(p for p in (bd_md, speed_md, failures) if p)
