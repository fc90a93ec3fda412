"""Speed and memory of spikecodec against libjpeg-turbo and OpenJPEG, measured in one run.

**Speed.** On the luma of the 24 Kodak images, each codec codes each image at the setting of
its sweep (the bench codecs' ``settings``) whose whole-file rate is closest to 1 bpp. Encoding
and decoding are timed through the bench :class:`~spikecodec.lab.bench.Codec` methods
(``time.perf_counter``, best of ``--repeats`` runs, 5 by default) and turned into megapixels per
second; the codecs take turns image by image, so that a change in the machine's load touches
them alike. Printed: per codec the median MP/s over the images and its ratio to libjpeg-turbo
(targets for spikecodec: encode >= 1/20 and decode >= 1/15 of JPEG's speed).

**Memory.** A Kodak image tiled to 6000x4000 (24 megapixels), in RGB and as luma, is encoded
and decoded by each codec at the setting chosen above for that Kodak image; the peak of the
memory allocated during the call is given in bytes per pixel (target for spikecodec: < 30):

- ``tracemalloc``: Python and numpy allocations (as asked of the harness); it does not see
  memory allocated by C or Rust libraries on their own (libjpeg, OpenJPEG, constriction);
- ``RSS``: the rise of the peak resident set size (``VmHWM``, reset just before the call) over
  the resident size just before the call, in a fresh process (spawned; the codec warmed up on
  a small image first), which sees every allocation; Linux only, ``--no-rss`` skips it.

Usage (from the project directory; the corpus is ``$SPIKECODEC_DATA``, default
``../shared/data``)::

    python benchmarks/speed.py [--repeats 5] [--codecs spikecodec,jpeg,jpeg2000] [--no-rss]

Writes ``results/speed.json``. ``OPENBLAS_CORETYPE`` is reported as found (it is not changed).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from spikecodec.lab.bench.codecs import get_codec
from spikecodec.lab.bench.corpus import corpus_images, data_root, read_image
from spikecodec.lab.bench.timing import best_of
from spikecodec.metrics import bpp

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "results"
DEFAULT_CODECS = ("spikecodec", "jpeg", "jpeg2000")
REFERENCE = "jpeg"
TARGET_BPP = 1.0
SPEED_TARGETS = {"encode": 1 / 20, "decode": 1 / 15}  # spikecodec's speed / libjpeg-turbo's
MEMORY_TARGET = 30.0  # bytes per pixel
BIG_SHAPE = (4000, 6000)  # 24 megapixels, landscape
BIG_SOURCE = "kodim23"


# --- speed ----------------------------------------------------------------------------------------


def closest_setting(codec, image: np.ndarray, target: float = TARGET_BPP):
    """The setting whose file rate is nearest ``target`` bpp: ``(setting, data, bpp)``.

    The sweep is in increasing rate order, so a bisection finds the first setting at or above
    the target in a few encodings; the nearer of it and its predecessor wins.
    """
    settings = list(codec.settings)
    coded: dict[int, tuple] = {}

    def at(i: int) -> tuple:
        if i not in coded:
            data = codec.encode(image, settings[i])
            coded[i] = (settings[i], data, bpp(len(data), image.shape))
        return coded[i]

    lo, hi = 0, len(settings) - 1
    if at(hi)[2] < target:
        return at(hi)
    while lo < hi:  # the first index whose rate is >= target
        mid = (lo + hi) // 2
        if at(mid)[2] >= target:
            hi = mid
        else:
            lo = mid + 1
    candidates = [at(lo)] + ([at(lo - 1)] if lo > 0 else [])
    return min(candidates, key=lambda c: abs(c[2] - target))


def time_codecs(images: list[tuple[str, np.ndarray]], names: tuple[str, ...], repeats: int):
    """Per codec, per image: the chosen setting, its rate and the best encode/decode times."""
    from tqdm import tqdm

    codecs = {name: get_codec(name) for name in names}
    rows: dict[str, list[dict]] = {name: [] for name in names}
    for image_name, image in tqdm(images, desc="timing", unit="img"):
        megapixels = image.shape[0] * image.shape[1] / 1e6
        for name, codec in codecs.items():
            setting, data, rate = closest_setting(codec, image)  # also warms the codec up
            decoded = codec.decode(data)
            if decoded.shape != image.shape:
                raise RuntimeError(f"{name} decoded {image_name} to shape {decoded.shape}")
            t_enc = best_of(lambda c=codec, i=image, s=setting: c.encode(i, s), repeats)
            t_dec = best_of(lambda c=codec, d=data: c.decode(d), repeats)
            rows[name].append(
                {
                    "image": image_name,
                    "setting": setting,
                    "bpp": rate,
                    "encode_s": t_enc,
                    "decode_s": t_dec,
                    "encode_mps": megapixels / t_enc,
                    "decode_mps": megapixels / t_dec,
                }
            )
    return rows


def summarize_speed(rows: dict[str, list[dict]]) -> dict[str, dict]:
    summary = {}
    for name, per_image in rows.items():
        summary[name] = {
            "mean_bpp": float(np.mean([r["bpp"] for r in per_image])),
            "median_setting": statistics.median_low([r["setting"] for r in per_image]),
            "encode_mps": statistics.median(r["encode_mps"] for r in per_image),
            "decode_mps": statistics.median(r["decode_mps"] for r in per_image),
        }
    if REFERENCE in summary:
        ref = summary[REFERENCE]
        for entry in summary.values():
            for op in ("encode", "decode"):
                entry[f"{op}_ratio_to_{REFERENCE}"] = entry[f"{op}_mps"] / ref[f"{op}_mps"]
    return summary


# --- memory ---------------------------------------------------------------------------------------


def tile_to(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``image`` repeated to fill ``shape`` (H, W), built in place (no larger temporary)."""
    out = np.empty(shape + image.shape[2:], dtype=image.dtype)
    h, w = image.shape[:2]
    for y in range(0, shape[0], h):
        for x in range(0, shape[1], w):
            block = out[y : y + h, x : x + w]
            block[...] = image[: block.shape[0], : block.shape[1]]
    return out


def traced_peak(fn):
    """``(peak bytes allocated during fn(), result)`` as tracemalloc sees them."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, result


def _status_bytes(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _peak_rss_rise(fn, *args):
    """``(rise of the peak RSS over the RSS before fn(*args), result)``, in bytes.

    The peak (``VmHWM``) is reset to the current RSS first by writing ``5`` to
    ``/proc/self/clear_refs`` (Linux >= 4.0).
    """
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status_bytes("VmRSS")
    result = fn(*args)
    return max(0, _status_bytes("VmHWM") - before), result


def rss_probe(name: str, source: np.ndarray, shape: tuple[int, int], setting) -> dict:
    """In a fresh process: the rise of peak RSS during one encode, then one decode, in bytes.

    ``source`` is tiled to ``shape`` here; the codec is warmed up on a small crop first. Both
    calls run in the same process, so they use the same version of the codec even while its
    source is being edited.
    """
    codec = get_codec(name)
    image = tile_to(source, shape)
    codec.decode(codec.encode(source[:64, :64], setting))  # warm up (imports, first calls)
    enc, data = _peak_rss_rise(codec.encode, image, setting)
    del image
    dec, _ = _peak_rss_rise(codec.decode, data)
    return {"encode": enc, "decode": dec}


def measure_memory(names: tuple[str, ...], settings: dict[str, object], rss: bool) -> list[dict]:
    from tqdm import tqdm

    source_rgb = read_image(data_root() / "kodak" / f"{BIG_SOURCE}.png", "RGB")
    if source_rgb.shape[0] > source_rgb.shape[1]:
        source_rgb = np.ascontiguousarray(source_rgb.transpose(1, 0, 2))
    sources = {"RGB": source_rgb, "L": read_image(data_root() / "kodak" / f"{BIG_SOURCE}.png")}
    if sources["L"].shape[0] > sources["L"].shape[1]:
        sources["L"] = np.ascontiguousarray(sources["L"].T)
    pixels = BIG_SHAPE[0] * BIG_SHAPE[1]
    rows = []
    jobs = [(name, mode) for mode in ("L", "RGB") for name in names]
    pool = (
        ProcessPoolExecutor(1, mp_context=get_context("spawn"), max_tasks_per_child=1)
        if rss
        else None
    )
    try:
        for name, mode in tqdm(jobs, desc="memory", unit="run"):
            codec = get_codec(name)
            setting = settings[name]
            image = tile_to(sources[mode], BIG_SHAPE)
            codec.decode(codec.encode(sources[mode][:64, :64], setting))  # warm up
            t0 = time.perf_counter()
            enc_peak, data = traced_peak(lambda c=codec, i=image, s=setting: c.encode(i, s))
            t1 = time.perf_counter()
            dec_peak, decoded = traced_peak(lambda c=codec, d=data: c.decode(d))
            t2 = time.perf_counter()
            if decoded.shape != image.shape:
                raise RuntimeError(f"{name} decoded the {mode} image to shape {decoded.shape}")
            del decoded, image
            row = {
                "codec": name,
                "mode": mode,
                "shape": list(BIG_SHAPE) + ([3] if mode == "RGB" else []),
                "setting": setting,
                "bpp": bpp(len(data), BIG_SHAPE),
                "encode_s": t1 - t0,
                "decode_s": t2 - t1,
                "encode_tracemalloc_bpp": enc_peak / pixels,
                "decode_tracemalloc_bpp": dec_peak / pixels,
            }
            if pool is not None:
                # A fresh process per codec and image (max_tasks_per_child=1).
                probe = pool.submit(rss_probe, name, sources[mode], BIG_SHAPE, setting)
                rise = probe.result()
                row["encode_rss_bpp"] = rise["encode"] / pixels
                row["decode_rss_bpp"] = rise["decode"] / pixels
            rows.append(row)
    finally:
        if pool is not None:
            pool.shutdown()
    return rows


# --- report ---------------------------------------------------------------------------------------


def _ratio(value: float) -> str:
    return f"1/{1 / value:.1f}" if 0 < value < 1 else f"{value:.2f}x"


def speed_table(summary: dict[str, dict], n_images: int, repeats: int) -> str:
    lines = [
        f"Speed: luma of {n_images} Kodak images at the setting nearest {TARGET_BPP} bpp; best "
        f"of {repeats} per image, median over images; MP/s = megapixels per second",
        "",
        "| codec | mean bpp | median setting | encode MP/s | decode MP/s "
        f"| encode vs {REFERENCE} | decode vs {REFERENCE} |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in summary.items():
        enc_ratio = s.get(f"encode_ratio_to_{REFERENCE}")
        dec_ratio = s.get(f"decode_ratio_to_{REFERENCE}")
        lines.append(
            f"| {name} | {s['mean_bpp']:.3f} | {s['median_setting']:g} | {s['encode_mps']:.2f} "
            f"| {s['decode_mps']:.2f} | {_ratio(enc_ratio) if enc_ratio else 'n/a'} "
            f"| {_ratio(dec_ratio) if dec_ratio else 'n/a'} |"
        )
    spike = summary.get("spikecodec", {})
    if f"encode_ratio_to_{REFERENCE}" in spike:
        lines.append("")
        for op, target in SPEED_TARGETS.items():
            value = spike[f"{op}_ratio_to_{REFERENCE}"]
            verdict = "met" if value >= target else "NOT met"
            lines.append(
                f"spikecodec {op}: {_ratio(value)} of libjpeg-turbo "
                f"(target >= {_ratio(target)}): {verdict}"
            )
    return "\n".join(lines)


def memory_table(rows: list[dict]) -> str:
    rss = any("encode_rss_bpp" in r for r in rows)
    head = "| codec | image | setting | bpp | encode s | decode s | encode tracemalloc B/px "
    head += "| decode tracemalloc B/px |"
    if rss:
        head += " encode RSS B/px | decode RSS B/px |"
    lines = [
        f"Peak memory allocated by one call on a {BIG_SHAPE[1]}x{BIG_SHAPE[0]} image "
        f"({BIG_SHAPE[0] * BIG_SHAPE[1] / 1e6:.0f} MP, {BIG_SOURCE} tiled), bytes per pixel",
        "",
        head,
        "|---|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if rss else ""),
    ]
    for r in rows:
        line = (
            f"| {r['codec']} | {r['mode']} | {r['setting']:g} | {r['bpp']:.3f} "
            f"| {r['encode_s']:.2f} | {r['decode_s']:.2f} "
            f"| {r['encode_tracemalloc_bpp']:.1f} | {r['decode_tracemalloc_bpp']:.1f} |"
        )
        if rss:
            line += f" {r['encode_rss_bpp']:.1f} | {r['decode_rss_bpp']:.1f} |"
        lines.append(line)
    spike = [r for r in rows if r["codec"] == "spikecodec"]
    if spike:
        worst = max(max(r["encode_tracemalloc_bpp"], r["decode_tracemalloc_bpp"]) for r in spike)
        verdict = "met" if worst < MEMORY_TARGET else "NOT met"
        lines += ["", f"spikecodec worst tracemalloc peak: {worst:.1f} B/px "]
        lines[-1] += f"(target < {MEMORY_TARGET:g}): {verdict}"
        if rss:
            worst_rss = max(max(r["encode_rss_bpp"], r["decode_rss_bpp"]) for r in spike)
            verdict = "met" if worst_rss < MEMORY_TARGET else "NOT met"
            lines.append(
                f"spikecodec worst peak-RSS rise: {worst_rss:.1f} B/px "
                f"(target < {MEMORY_TARGET:g}): {verdict}"
            )
    return "\n".join(lines)


def environment() -> dict:
    import PIL
    from PIL import features

    import spikecodec

    return {
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "spikecodec": spikecodec.__version__,
        "pillow": PIL.__version__,
        "libjpeg-turbo": str(features.version("libjpeg_turbo") or features.version("jpg")),
        "openjpeg": str(features.version("jpg_2000")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--codecs", default=",".join(DEFAULT_CODECS))
    parser.add_argument("--no-rss", action="store_true", help="skip the fresh-process RSS peaks")
    args = parser.parse_args(argv)
    names = tuple(c.strip() for c in args.codecs.split(",") if c.strip())
    for name in names:
        get_codec(name)

    start = time.perf_counter()
    env = environment()
    coretype = env["OPENBLAS_CORETYPE"]
    print(f"OPENBLAS_CORETYPE={coretype}" if coretype is not None else "OPENBLAS_CORETYPE not set")
    print(
        f"cpus: {env['cpu_count']}; load average at start: "
        + " ".join(f"{v:.2f}" for v in env["load_average_at_start"])
    )
    images = [(name, image) for _, name, image in corpus_images(("kodak",), mode="L")]
    rows = time_codecs(images, names, args.repeats)
    summary = summarize_speed(rows)
    settings = {
        name: next(r["setting"] for r in rows[name] if r["image"] == BIG_SOURCE) for name in names
    }
    memory = measure_memory(names, settings, rss=not args.no_rss)
    env["load_average_at_end"] = list(os.getloadavg())
    elapsed = time.perf_counter() - start

    print()
    print(speed_table(summary, len(images), args.repeats))
    print()
    print(memory_table(memory))
    print("\nload average at end: " + " ".join(f"{v:.2f}" for v in env["load_average_at_end"]))
    print(f"elapsed: {elapsed:.1f} s")

    RESULTS.mkdir(exist_ok=True)
    doc = {
        "environment": env,
        "target_bpp": TARGET_BPP,
        "repeats": args.repeats,
        "reference": REFERENCE,
        "targets": {
            "encode_ratio": SPEED_TARGETS["encode"],
            "decode_ratio": SPEED_TARGETS["decode"],
            "memory_bytes_per_pixel": MEMORY_TARGET,
        },
        "speed": summary,
        "per_image": rows,
        "memory": memory,
        "elapsed_s": elapsed,
    }
    (RESULTS / "speed.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {RESULTS / 'speed.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
