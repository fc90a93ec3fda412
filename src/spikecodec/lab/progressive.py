"""Show the stream's embedding in time: what the neurons give after a shorter listening time.

A ``.spk`` stream sends the spike-count bit-planes from the earliest instant on, so any prefix of
the file (or :func:`~spikecodec.decode` ``until=`` an instant) decodes to the image the spikes
emitted so far give. :func:`progressive_report` encodes one image once and writes into a folder:

- ``progressive_strip.png``: the reconstructions at every time-slice instant (one per
  :func:`~spikecodec.decode_progressive` step), each labelled with the instant ``t`` (ms), the
  bytes received by then (header included) and the PSNR;
- ``progressive.gif`` (and ``progressive.webp`` when Pillow has WebP): the same frames animated;
- ``progressive_curves.png``: PSNR and SSIM against the listening time (log axis, ms) and
  against the bytes received (log axis). On the bytes axes the same stream cut at many byte
  counts (``decode(data[:n])``) is drawn with two references cut at the same byte counts:

  * **JPEG progressive** (libjpeg-turbo through Pillow, ``progressive=True, optimize=True`` at
    ``jpeg_quality``, 95 by default), ``data[:n]`` decoded by Pillow with
    ``ImageFile.LOAD_TRUNCATED_IMAGES`` set only while decoding
    (:func:`~spikecodec.lab.bench.codecs.load_truncated`); a cut Pillow cannot decode at all
    (inside the file's header) gives no point;
  * **JPEG 2000** (OpenJPEG through Pillow, irreversible 9/7, raw J2K codestream ``no_jp2=True``,
    LRCP, ``quality_mode="rates"``) with many quality layers, compression ratios
    :data:`J2K_RATIOS` (200 down to 2, geometric). Pillow 13 with OpenJPEG 2.5 does **not**
    decode a truncated codestream: OpenJPEG runs in strict mode, Pillow raises ``OSError``
    ("broken data stream"), and with ``LOAD_TRUNCATED_IMAGES`` it silently returns a blank image
    (about 7 dB), even with the tile-part length zeroed and an EOC marker appended. So each cut
    ``n`` takes the **largest layer count whose encode fits**: the codestream encoded with the
    first ``k`` ratios only, for the largest ``k`` with ``len <= n`` (no point below the first
    layer). That is what a truncation at the end of layer ``k`` would give, i.e. the best a
    truncating decoder could do at a layer boundary.
    :meth:`~spikecodec.lab.bench.codecs.JPEG2000.decodes_truncated` probes this at run time;
    where it returns True (a Pillow/OpenJPEG that decodes truncated
    codestreams), the cuts truncate the full multi-layer codestream instead. The report says
    which in ``jpeg2000_method`` (``"layers"`` or ``"truncated"``).

- ``progressive.csv``: every point of the curves.

Rates count every byte of the file (headers included); PSNR is over all samples (peak 255) and
SSIM on luma (:mod:`spikecodec.metrics`). The reference codecs are those of the bench's
registry (:mod:`spikecodec.lab.bench.codecs`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from ..codec import decode, decode_progressive, encode
from ..format import container
from ..images import load_image
from ..metrics import psnr, ssim
from ..params import slice_instants
from .bench.codecs import JPEG, JPEG2000, load_truncated, pillow_decode_or_none

__all__ = [
    "DEFAULT_CUTS",
    "J2K_RATIOS",
    "byte_cuts",
    "instant_at",
    "jpeg2000_curve",
    "jpeg_progressive_curve",
    "progressive_report",
    "slice_ends",
    "spike_cut_curve",
    "spike_slices",
]

J2K_RATIOS = tuple(float(r) for r in np.geomspace(200.0, 2.0, 25))
"""Compression ratios of the JPEG 2000 quality layers (raw bits over coded bits), coarsest first:
for luma, 0.04 bpp up to 4 bpp."""
DEFAULT_CUTS = 40
GIF_MAX_SIDE = 512
THUMB_MAX_SIDE = 256
STRIP_COLUMNS = 5


def byte_cuts(first: int, total: int, n: int = DEFAULT_CUTS) -> np.ndarray:
    """About ``n`` distinct byte counts, geometric from ``first`` to ``total`` (both included)."""
    if not 0 < first <= total:
        raise ValueError(f"need 0 < first <= total, got {first} and {total}")
    return np.unique(np.rint(np.geomspace(first, total, max(int(n), 2))).astype(np.int64))


def _shape_label(image: np.ndarray) -> str:
    return f"{image.shape[1]}x{image.shape[0]} {'RGB' if image.ndim == 3 else 'L'}"


def _measure(reference: np.ndarray, decoded: np.ndarray, with_ssim: bool) -> dict[str, float]:
    out = {"psnr": psnr(reference, decoded)}
    if with_ssim:
        out["ssim"] = ssim(reference, decoded)
    return out


def slice_ends(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """A stream's slice instants (ms) and the byte offsets where its header and metadata, then
    each slice's chunk, end."""
    stream = container.unpack(data)
    ends = [stream.first_slice, *stream.ends]
    return slice_instants(stream.header), np.array(ends, dtype=np.int64)


def instant_at(n: int, instants: np.ndarray, ends: np.ndarray) -> float:
    """The instant (ms) a stream cut at ``n`` bytes reaches (as :func:`decode_progressive`);
    ``ends`` from :func:`slice_ends`."""
    done = int(np.searchsorted(ends[1:], n, side="right"))
    if done >= len(instants):
        return float(instants[-1])
    start_t = instants[done - 1] if done else 0.0
    start_b = ends[done]
    payload_start = start_b + container.CHUNK_HEAD_SIZE
    share = max(0, n - payload_start) / max(1, ends[done + 1] - payload_start)
    return float(start_t + (instants[done] - start_t) * share)


def spike_slices(
    image: np.ndarray, data: bytes, *, with_ssim: bool = True
) -> tuple[list[dict], list[np.ndarray]]:
    """The stream's reconstruction at every slice instant, and the frames.

    Returns ``(points, frames)``: one point per :func:`~spikecodec.decode_progressive` step,
    ``{"slice", "t_ms", "bytes", "psnr"[, "ssim"]}`` where ``bytes`` is the stream's length up
    to the end of that slice (header included), and the decoded images.
    """
    _, ends = slice_ends(data)
    points, frames = [], []
    for s, (t, frame) in enumerate(decode_progressive(data)):
        nbytes = int(ends[s + 1]) if s + 1 < len(ends) else len(data)
        points.append({"slice": s, "t_ms": t, "bytes": nbytes, **_measure(image, frame, with_ssim)})
        frames.append(frame)
    return points, frames


def spike_cut_curve(
    image: np.ndarray, data: bytes, cuts: Sequence[int], *, with_ssim: bool = True
) -> list[dict]:
    """``decode(data[:n])`` for every ``n`` of ``cuts`` (clipped to the stream; cuts shorter
    than the header give no point): ``{"cut", "bytes", "t_ms", "psnr"[, "ssim"]}``."""
    instants, ends = slice_ends(data)
    points = []
    for n in cuts:
        n = int(min(n, len(data)))
        if n < ends[0]:  # inside the header or metadata
            continue
        decoded = decode(container.cut_stream(data, n))  # decodes as data[:n], without a warning
        points.append(
            {
                "cut": n,
                "bytes": n,
                "t_ms": instant_at(n, instants, ends),
                **_measure(image, decoded, with_ssim),
            }
        )
    return points


def jpeg_progressive_curve(
    image: np.ndarray, cuts: Sequence[int], *, quality: int = 95, with_ssim: bool = True
) -> tuple[int, list[dict]]:
    """Progressive JPEG (``progressive=True, optimize=True``, 4:2:0 for RGB) cut at each byte
    count and decoded by Pillow inside :func:`load_truncated`.

    Returns ``(file_size, points)``; a point ``{"cut", "bytes", "psnr"[, "ssim"]}`` per cut
    Pillow decodes (``bytes = min(cut, file_size)``); cuts it cannot decode are left out.
    """
    data = JPEG(progressive=True).encode(image, int(quality))
    points = []
    with load_truncated():
        for n in cuts:
            n = int(min(n, len(data)))
            decoded = pillow_decode_or_none(data[:n], "JPEG", image.shape)
            if decoded is not None:
                points.append({"cut": n, "bytes": n, **_measure(image, decoded, with_ssim)})
    return len(data), points


def jpeg2000_curve(
    image: np.ndarray,
    cuts: Sequence[int],
    *,
    ratios: Sequence[float] = J2K_RATIOS,
    with_ssim: bool = True,
    method: str | None = None,
) -> tuple[str, list[dict], list[dict]]:
    """Multi-layer JPEG 2000 at each byte count of ``cuts``.

    ``method`` ``"layers"`` (the default where
    :meth:`~spikecodec.lab.bench.codecs.JPEG2000.decodes_truncated` is False):
    for each cut, the codestream of the first ``k`` layers for the largest ``k`` whose encode
    fits in the cut; ``"truncated"``: the full codestream cut at each byte count.

    Returns ``(method, points, layers)``: ``points`` ``{"cut", "bytes", "layers", "psnr"
    [, "ssim"]}`` (``bytes`` the bytes actually used, ``layers`` 0 when unknown), cuts below
    the first layer (or undecodable) left out; ``layers`` one ``{"layers", "bytes", "psnr"}``
    per layer count (empty for ``"truncated"``).
    """
    if method is None:
        method = "truncated" if JPEG2000.decodes_truncated() else "layers"
    if method not in ("layers", "truncated"):
        raise ValueError(f"method must be 'layers' or 'truncated', got {method!r}")
    points: list[dict] = []
    if method == "truncated":
        data = JPEG2000().layered(image, ratios)
        for n in cuts:
            n = int(min(n, len(data)))
            decoded = pillow_decode_or_none(data[:n], "JPEG2000", image.shape)
            if decoded is not None:
                points.append(
                    {"cut": n, "bytes": n, "layers": 0, **_measure(image, decoded, with_ssim)}
                )
        return method, points, []
    layers = []
    for k in range(1, len(ratios) + 1):
        data = JPEG2000().layered(image, ratios[:k])
        decoded = pillow_decode_or_none(data, "JPEG2000", image.shape)
        if decoded is None:
            continue
        layers.append({"layers": k, "bytes": len(data), "decoded": decoded})
    cache: dict[int, dict] = {}
    for n in cuts:
        fitting = [layer for layer in layers if layer["bytes"] <= n]
        if not fitting:
            continue
        best = max(fitting, key=lambda layer: layer["layers"])
        k = best["layers"]
        if k not in cache:
            cache[k] = _measure(image, best["decoded"], with_ssim)
        points.append({"cut": int(n), "bytes": best["bytes"], "layers": k, **cache[k]})
    summary = [
        {"layers": layer["layers"], "bytes": layer["bytes"], "psnr": psnr(image, layer["decoded"])}
        for layer in layers
    ]
    return method, points, summary


# --- pictures --------------------------------------------------------------------------------


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: a fixed bitmap font
        return ImageFont.load_default()


def _labelled(frame: np.ndarray, lines: Sequence[str], max_side: int) -> Image.Image:
    """``frame`` scaled to at most ``max_side`` pixels a side, with ``lines`` in a band below."""
    im = Image.fromarray(frame).convert("RGB")
    scale = min(1.0, max_side / max(im.size))
    if scale < 1.0:
        size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        im = im.resize(size, Image.Resampling.LANCZOS)
    font_size = max(10, min(16, im.width // 14))
    band = (font_size + 4) * len(lines) + 6
    out = Image.new("RGB", (max(im.width, 9 * font_size), im.height + band), "white")
    out.paste(im, (0, 0))
    draw = ImageDraw.Draw(out)
    font = _font(font_size)
    for i, line in enumerate(lines):
        draw.text((4, im.height + 3 + i * (font_size + 4)), line, fill="black", font=font)
    return out


def _frame_lines(point: dict) -> list[str]:
    return [f"t = {point['t_ms']:.4g} ms", f"{point['bytes']} bytes", f"{point['psnr']:.2f} dB"]


def _write_strip(path: Path, frames: list[np.ndarray], points: list[dict]) -> None:
    tiles = [_labelled(f, _frame_lines(p), THUMB_MAX_SIDE) for f, p in zip(frames, points)]
    cols = min(STRIP_COLUMNS, len(tiles))
    rows = math.ceil(len(tiles) / cols)
    tw = max(t.width for t in tiles)
    th = max(t.height for t in tiles)
    pad = 4
    strip = Image.new("RGB", (cols * (tw + pad) + pad, rows * (th + pad) + pad), "white")
    for i, tile in enumerate(tiles):
        strip.paste(tile, (pad + (i % cols) * (tw + pad), pad + (i // cols) * (th + pad)))
    strip.save(path, format="PNG", optimize=True)


def _write_animations(
    out_dir: Path, frames: list[np.ndarray], points: list[dict]
) -> dict[str, Path]:
    images = [_labelled(f, _frame_lines(p), GIF_MAX_SIDE) for f, p in zip(frames, points)]
    durations = [600] * (len(images) - 1) + [2000]
    written = {}
    gif = out_dir / "progressive.gif"
    images[0].save(
        gif, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0
    )
    written["gif"] = gif
    if features.check("webp"):
        webp = out_dir / "progressive.webp"
        images[0].save(
            webp,
            format="WEBP",
            save_all=True,
            append_images=images[1:],
            duration=durations,
            loop=0,
            quality=90,
        )
        written["webp"] = webp
    return written


def _plot(path: Path, report: dict, title: str) -> None:
    from matplotlib.figure import Figure  # imported here: the CLI starts without matplotlib

    fig = Figure(figsize=(12, 8.5))
    axes = fig.subplots(2, 2)
    slices, cuts = report["slices"], report["spikecodec_cuts"]
    jpeg, j2k = report["jpeg_progressive"], report["jpeg2000"]
    j2k_label = (
        "JPEG 2000, largest layer count that fits"
        if report["jpeg2000_method"] == "layers"
        else "JPEG 2000 truncated"
    )
    for row, metric, unit in ((0, "psnr", "PSNR (dB)"), (1, "ssim", "SSIM")):
        ax = axes[row, 0]
        ax.plot(
            [p["t_ms"] for p in cuts],
            [p[metric] for p in cuts],
            "-",
            color="tab:blue",
            alpha=0.5,
            label="stream cut at n bytes",
        )
        ax.plot(
            [p["t_ms"] for p in slices],
            [p[metric] for p in slices],
            "o",
            color="tab:blue",
            label="slice instants",
        )
        ax.set_xscale("log")
        ax.set_xlabel("listening time t (ms)")
        ax.set_ylabel(unit)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)

        ax = axes[row, 1]
        ax.plot(
            [p["bytes"] for p in cuts],
            [p[metric] for p in cuts],
            "-",
            color="tab:blue",
            label="spikecodec cut",
        )
        ax.plot(
            [p["bytes"] for p in slices],
            [p[metric] for p in slices],
            "o",
            color="tab:blue",
            label="spikecodec slice ends",
        )
        ax.plot(
            [p["cut"] for p in jpeg],
            [p[metric] for p in jpeg],
            ".-",
            color="tab:red",
            label="JPEG progressive cut",
        )
        ax.step(
            [p["cut"] for p in j2k],
            [p[metric] for p in j2k],
            ".-",
            where="post",
            color="tab:green",
            label=j2k_label,
        )
        ax.set_xscale("log")
        ax.set_xlabel("bytes received (header included)")
        ax.set_ylabel(unit)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")


def _write_csv(path: Path, report: dict) -> None:
    columns = ["series", "cut_bytes", "bytes", "t_ms", "layers", "psnr", "ssim"]
    series = (
        ("spikecodec_slice", report["slices"]),
        ("spikecodec_cut", report["spikecodec_cuts"]),
        ("jpeg_progressive_cut", report["jpeg_progressive"]),
        ("jpeg2000_cut", report["jpeg2000"]),
    )
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for name, points in series:
            for p in points:
                writer.writerow(
                    [
                        name,
                        p.get("cut", ""),
                        p["bytes"],
                        "" if "t_ms" not in p else f"{p['t_ms']:.6g}",
                        p.get("layers", ""),
                        f"{p['psnr']:.4f}",
                        "" if "ssim" not in p else f"{p['ssim']:.6f}",
                    ]
                )


# --- the report ------------------------------------------------------------------------------


def progressive_report(
    image,
    out_dir: str | Path,
    *,
    quality: float = 95,
    cuts: int | Sequence[int] | None = None,
    jpeg_quality: int = 95,
) -> dict:
    """Encode ``image`` once and write the progressive-decoding figures into ``out_dir``.

    Parameters
    ----------
    image : array_like, PIL.Image.Image, str or path
        Anything :func:`~spikecodec.load_image` takes (grayscale or RGB).
    out_dir : str or path
        Created if missing. Files: ``progressive_strip.png``, ``progressive.gif``
        (``progressive.webp`` if Pillow has WebP), ``progressive_curves.png``,
        ``progressive.csv`` (see the module docstring).
    quality : float
        spikecodec quality of the one stream (default 95).
    cuts : int or sequence of int, optional
        Byte counts at which the streams are cut: a number of cuts geometric from the
        spikecodec header to the whole stream (default 40), or the byte counts themselves.
    jpeg_quality : int
        Quality of the progressive JPEG reference (default 95).

    Returns
    -------
    dict
        ``image`` (shape label), ``bytes`` (stream length), ``quality``, ``full``
        (``psnr``/``ssim`` of the full decode), ``slices`` (per slice: ``slice``, ``t_ms``,
        ``bytes``, ``psnr``, ``ssim``), ``spikecodec_cuts`` (per cut: ``cut``, ``bytes``,
        ``t_ms``, ``psnr``, ``ssim``), ``jpeg_progressive`` and ``jpeg2000`` (per decodable
        cut: ``cut``, ``bytes`` used, ``psnr``, ``ssim``; J2K also ``layers``),
        ``jpeg_bytes``, ``jpeg2000_layers``, ``jpeg2000_method`` (``"layers"`` or
        ``"truncated"``), and ``files`` (name -> path written).
    """
    image = load_image(image)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = encode(image, quality=quality)
    if cuts is None or isinstance(cuts, (int, np.integer)):
        count = DEFAULT_CUTS if cuts is None else int(cuts)
        cut_list = byte_cuts(container.HEADER_SIZE, len(data), count)
    else:
        cut_list = np.unique(np.asarray(cuts, dtype=np.int64))
    full = decode(data)
    slices, frames = spike_slices(image, data)
    spike_cuts = spike_cut_curve(image, data, cut_list)
    jpeg_bytes, jpeg = jpeg_progressive_curve(image, cut_list, quality=jpeg_quality)
    method, j2k, j2k_layers = jpeg2000_curve(image, cut_list)
    report = {
        "image": _shape_label(image),
        "bytes": len(data),
        "quality": quality,
        "full": {"psnr": psnr(image, full), "ssim": ssim(image, full)},
        "slices": slices,
        "spikecodec_cuts": spike_cuts,
        "jpeg_progressive": jpeg,
        "jpeg_bytes": jpeg_bytes,
        "jpeg_quality": jpeg_quality,
        "jpeg2000": j2k,
        "jpeg2000_layers": j2k_layers,
        "jpeg2000_method": method,
    }
    files = {"strip": out_dir / "progressive_strip.png"}
    _write_strip(files["strip"], frames, slices)
    files.update(_write_animations(out_dir, frames, slices))
    files["plot"] = out_dir / "progressive_curves.png"
    title = (
        f"{report['image']}: spikecodec q={quality:g} ({len(data)} bytes) vs progressive JPEG "
        f"q={jpeg_quality} ({jpeg_bytes} bytes) and layered JPEG 2000"
    )
    _plot(files["plot"], report, title)
    files["csv"] = out_dir / "progressive.csv"
    _write_csv(files["csv"], report)
    report["files"] = files
    return report
