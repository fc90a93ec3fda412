"""The seed paper's figures, recomputed: Figs. 2-5 from the closed-form LIF neuron and its
quantizer, Fig. 6 (rate-distortion against JPEG) from the codec itself.

Every figure function writes a PNG and the CSV of the plotted data into ``out_dir`` and returns
their paths (Fig. 6 also a JSON of every image's numbers). Time is in milliseconds (ms)
throughout, so ``tau = R*C`` is in ms. The quantizer's decision thresholds at window ``T`` are
``I_k = theta/(R*(1 - exp(-T/(k*tau))))`` and its step lengths are ``l_k = I_{k+1} - I_k``;
they tend to ``C*theta/T`` as ``k`` grows.

The plots use matplotlib's object-oriented API (:class:`matplotlib.figure.Figure`, rendered by
Agg): no pyplot state and no display.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from PIL import Image
from scipy.fft import dctn

from ..codec import decode, encode, spike_counts
from ..data import SAMPLES, load_sample
from ..errors import SpikeCodecError
from ..metrics import bpp, psnr, ssim
from ..neuron import LIF
from ..quantizer import NeuroQuantizer
from .bench.codecs import JPEG

__all__ = [
    "FIG5_SETTINGS",
    "FIG6_COLUMNS",
    "FIG6_QUALITIES",
    "Fig6Files",
    "FigureFiles",
    "fig2",
    "fig3",
    "fig4",
    "fig5",
    "fig5_table",
    "fig6",
    "fig6_table",
    "proposition1",
    "write_all",
]

FIG5_SETTINGS = ((500.0, 50.0), (500.0, 150.0), (4000.0, 50.0), (4000.0, 150.0))
"""The ``(theta, T)`` pairs of Fig. 5 (``T`` in ms), with ``R = 1e3`` and ``C = 1``."""

_FIG5_R, _FIG5_C = 1e3, 1.0

FIG6_QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
"""The quality settings of Fig. 6 (libjpeg's 1..100 scale), for spikecodec and JPEG alike."""

FIG6_COLUMNS = (
    "quality",
    "spk_entropy_bpp",
    "spk_file_bpp",
    "spk_psnr",
    "spk_ssim",
    "jpeg_entropy_bpp",
    "jpeg_file_bpp",
    "jpeg_psnr",
    "jpeg_ssim",
)
"""The numbers of one Fig. 6 row (one image or the mean over images, one quality)."""


class FigureFiles(NamedTuple):
    """The two files a figure function writes: the plot and the data behind it."""

    png: Path
    csv: Path


class Fig6Files(NamedTuple):
    """The files Fig. 6 writes: the plot, its data (the means) and every image's numbers."""

    png: Path
    csv: Path
    json: Path


def _write_csv(path: Path, header: list[str], rows: ArrayLike) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(np.asarray(rows).tolist())


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, dpi=100, bbox_inches="tight")


def _out(out_dir: str | Path, stem: str) -> FigureFiles:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return FigureFiles(out_dir / f"{stem}.png", out_dir / f"{stem}.csv")


def fig2(
    out_dir: str | Path, theta: float = 5.0, C: float = 10.0, T: float = 100.0, kmax: int = 20
) -> FigureFiles:
    """Fig. 2: step length ``l_k`` against the spike count ``k``, for ``R = 1`` and ``R = 1e4``.

    ``R = 1e4`` (``tau = R*C`` much longer than ``T``) gives a uniform quantizer,
    ``l_k ~ C*theta/T`` for every ``k``; ``R = 1`` gives a non-uniform one whose steps grow with
    ``k`` towards that asymptote (drawn dashed). Defaults: ``theta = 5, C = 10, T = 100`` ms,
    asymptote 0.5, ``l_1 ~ 0.034`` and ``l_10 ~ 0.46`` for ``R = 1``.

    Returns
    -------
    FigureFiles
        ``fig2_step_lengths.png`` and ``.csv`` (columns ``k, l_k R=1, l_k R=1e4, asymptote``).
    """
    paths = _out(out_dir, "fig2_step_lengths")
    k = np.arange(1, kmax + 1)
    asymptote = C * theta / T
    steps = {R: NeuroQuantizer(LIF(R=R, C=C, theta=theta), T).step_lengths(kmax) for R in (1, 1e4)}
    _write_csv(
        paths.csv,
        ["k", "l_k R=1", "l_k R=1e4", "asymptote C*theta/T"],
        np.column_stack([k, steps[1], steps[1e4], np.full(kmax, asymptote)]),
    )
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    ax.plot(k, steps[1e4], "s-", label="R = 1e4 (uniform)")
    ax.plot(k, steps[1], "o-", label="R = 1 (non-uniform)")
    ax.axhline(asymptote, color="k", ls="--", lw=1, label=f"C·θ/T = {asymptote:g}")
    ax.set(xlabel="spike count k", ylabel="step length $l_k$", ylim=(0, 1.15 * asymptote))
    ax.set_title(f"Fig. 2: step lengths, θ = {theta:g}, C = {C:g}, T = {T:g} ms")
    ax.legend()
    _save(fig, paths.png)
    return paths


def fig3(
    out_dir: str | Path,
    intensities: ArrayLike = (6.0, 10.0, 20.0, 50.0),
    R: float = 1.0,
    C: float = 10.0,
    theta: float = 5.0,
) -> FigureFiles:
    """Fig. 3: spike count ``N_T(I) = floor(T/d(I))`` and width of its cell against ``T``.

    ``T`` runs over 1..200 ms in steps of 0.1 ms, for four constant inputs ``I`` (the neuron
    fires when ``R*I > theta``; ``d(I) = -tau*ln(1 - theta/(R*I))``). The cell of count
    ``k = N_T(I)`` is ``[I_k, I_{k+1})``, of width ``l_k`` (``l_0 = I_1``, the dead zone): it is
    the quantization step the input sees, shrinking as ``T`` grows.

    Returns
    -------
    FigureFiles
        ``fig3_count_vs_T.png`` and ``.csv`` (columns ``T_ms``, then ``N`` and ``l`` per input).
    """
    paths = _out(out_dir, "fig3_count_vs_T")
    lif = LIF(R=R, C=C, theta=theta)
    intensities = np.asarray(intensities, dtype=np.float64)
    T = np.linspace(1.0, 200.0, 1991)
    counts = np.floor(T[:, None] / lif.delay(intensities)[None, :]).astype(np.int64)
    dead_zone = lif.threshold(1, T[:, None])  # cell 0 is [0, I_1)
    widths = np.where(counts == 0, dead_zone, lif.step_length(np.maximum(counts, 1), T[:, None]))
    labels = [f"I={i:g}" for i in intensities]
    _write_csv(
        paths.csv,
        ["T_ms"] + [f"N {s}" for s in labels] + [f"l {s}" for s in labels],
        np.column_stack([T, counts, widths]),
    )
    fig = Figure(figsize=(11, 4.4))
    ax_n, ax_l = fig.subplots(1, 2)
    for j, i in enumerate(intensities):
        label = f"I = {i:g} (R·I/θ = {R * i / theta:g})"
        ax_n.step(T, counts[:, j], where="post", label=label)
        ax_l.semilogy(T, widths[:, j], label=label)
    ax_n.set(xlabel="T (ms)", ylabel="spike count $N_T(I)$", title="(a) spike count")
    ax_l.set(xlabel="T (ms)", ylabel="step length of the cell of I", title="(b) step length")
    ax_n.legend()
    fig.suptitle(f"Fig. 3: count and step length vs T, R = {R:g}, C = {C:g}, θ = {theta:g}")
    _save(fig, paths.png)
    return paths


def fig4(
    out_dir: str | Path,
    Ts: ArrayLike = (25.0, 50.0, 100.0, 200.0),
    C: float = 10.0,
    theta: float = 5.0,
    kmax: int = 20,
) -> FigureFiles:
    """Fig. 4: step lengths ``l_k`` for several windows ``T`` (ms): (a) ``R = 1e4``, (b) ``R = 1``.

    With ``R = 1e4`` the steps are flat at ``C*theta/T`` (dashed); with ``R = 1`` they are
    non-uniform, growing with ``k`` towards the same asymptote. Both shrink as ``T`` grows.

    Returns
    -------
    FigureFiles
        ``fig4_step_lengths_vs_T.png`` and ``.csv`` (long format: ``R, T_ms, k, l_k``).
    """
    paths = _out(out_dir, "fig4_step_lengths_vs_T")
    Ts = np.asarray(Ts, dtype=np.float64)
    k = np.arange(1, kmax + 1)
    Rs = (1e4, 1.0)
    steps = {
        (R, T): NeuroQuantizer(LIF(R=R, C=C, theta=theta), T).step_lengths(kmax)
        for R in Rs
        for T in Ts
    }
    _write_csv(
        paths.csv,
        ["R", "T_ms", "k", "l_k"],
        np.vstack(
            [
                np.column_stack([np.full(kmax, R), np.full(kmax, T), k, l])
                for (R, T), l in steps.items()
            ]
        ),
    )
    fig = Figure(figsize=(11, 4.4))
    for ax, R, letter in zip(fig.subplots(1, 2), Rs, "ab", strict=True):
        for T in Ts:
            (line,) = ax.plot(k, steps[R, T], "o-", ms=3, label=f"T = {T:g} ms")
            ax.axhline(C * theta / T, color=line.get_color(), ls="--", lw=0.8)
        ax.set(xlabel="spike count k", ylabel="step length $l_k$", title=f"({letter}) R = {R:g}")
        ax.set_yscale("log")
        ax.legend()
    fig.suptitle(f"Fig. 4: step lengths for several T, C = {C:g}, θ = {theta:g} (dashed: C·θ/T)")
    _save(fig, paths.png)
    return paths


def proposition1(
    out_dir: str | Path,
    ks: ArrayLike = (1, 2, 5, 10, 20),
    C: float = 10.0,
    theta: float = 5.0,
) -> tuple[FigureFiles, dict[tuple[float, int], float]]:
    """Proposition 1, checked numerically: every step length ``l_k -> 0`` as ``T`` grows.

    ``l_k`` is evaluated for ``T`` in 1..1000 ms (log-spaced) for ``R = 1e4`` and ``R = 1``, and
    the slope of ``ln l_k`` against ``ln T`` is fitted (least squares) over the last decade,
    ``100 <= T <= 1000`` ms. Two regimes set the rate: for ``T << k*tau``,
    ``l_k ~ C*theta/T`` (slope -1); for ``T >> k*tau``,
    ``l_k ~ (theta/R)*exp(-T/((k+1)*tau))``, faster than any power of ``T`` (the fitted slope
    is then steeper than -1 and depends on the window).

    Returns
    -------
    files : FigureFiles
        ``prop1_step_decay.png`` and ``.csv`` (long format: ``R, k, T_ms, l_k``).
    slopes : dict
        ``{(R, k): slope}``, the fitted log-log slopes (all negative).
    """
    paths = _out(out_dir, "prop1_step_decay")
    ks = np.asarray(ks, dtype=np.int64)
    T = np.logspace(0.0, 3.0, 301)
    large = T >= 100.0
    Rs = (1e4, 1.0)
    steps = {R: LIF(R=R, C=C, theta=theta).step_length(ks[None, :], T[:, None]) for R in Rs}
    slopes = {}
    for R in Rs:
        fitted = np.polyfit(np.log(T[large]), np.log(steps[R][large]), 1)[0]
        slopes.update({(R, int(k)): float(s) for k, s in zip(ks, fitted, strict=True)})
    grid_k, grid_T = np.meshgrid(ks, T)
    _write_csv(
        paths.csv,
        ["R", "k", "T_ms", "l_k"],
        np.vstack(
            [
                np.column_stack(
                    [np.full(grid_k.size, R), grid_k.ravel(), grid_T.ravel(), l.ravel()]
                )
                for R, l in steps.items()
            ]
        ),
    )
    fig = Figure(figsize=(11, 4.4))
    for ax, R, letter in zip(fig.subplots(1, 2), Rs, "ab", strict=True):
        for j, k in enumerate(ks):
            ax.loglog(T, steps[R][:, j], label=f"k = {k} (slope {slopes[R, int(k)]:.3g})")
        ax.loglog(T, C * theta / T, "k--", lw=0.8, label="C·θ/T")
        ax.axvspan(T[large][0], T[-1], color="0.9", zorder=0)
        ax.set(xlabel="T (ms)", ylabel="step length $l_k$", title=f"({letter}) R = {R:g}")
        ax.legend(fontsize="small")
    fig.suptitle(
        f"Proposition 1: $l_k \\to 0$ as T grows, C = {C:g}, θ = {theta:g} "
        "(slopes fitted on the shaded decade)"
    )
    _save(fig, paths.png)
    return paths, slopes


def _entropy_bpp(counts: np.ndarray) -> float:
    """Zeroth-order entropy of the counts, ``H = -sum_k p_k*log2(p_k)``, in bits per sample."""
    _, n = np.unique(counts, return_counts=True)
    p = n / counts.size
    return float(np.sum(p * np.log2(1.0 / p)))


def _gray(image: ArrayLike) -> np.ndarray:
    """A uint8 ``(H, W)`` image as is; a uint8 ``(H, W, 3)`` one as its luma (Pillow's ``'L'``)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise SpikeCodecError(f"the image must be uint8, got dtype {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 3:
        return np.asarray(Image.fromarray(image).convert("L"))
    if image.ndim != 2 or image.size == 0:
        raise SpikeCodecError(f"the image must have shape (H, W) or (H, W, 3), got {image.shape}")
    return image


def _fig5_runs(image: ArrayLike) -> list[tuple[dict[str, float], np.ndarray]]:
    """Each Fig. 5 setting's table row and uint8 reconstruction of the (luma) image."""
    gray = _gray(image)
    runs = []
    for theta, T in FIG5_SETTINGS:
        nq = NeuroQuantizer(LIF(R=_FIG5_R, C=_FIG5_C, theta=theta), T)
        counts = nq.encode(gray.astype(np.float64))
        recon = np.rint(np.clip(nq.decode(counts, "midpoint"), 0.0, 255.0)).astype(np.uint8)
        row = {"theta": theta, "T": T, "psnr": psnr(gray, recon), "bpp": _entropy_bpp(counts)}
        runs.append((row, recon))
    return runs


def fig5_table(image: ArrayLike) -> list[dict[str, float]]:
    """Fig. 5's numbers: pixel-domain NQ (no transform) of a grayscale image.

    For each ``(theta, T)`` of :data:`FIG5_SETTINGS` (``R = 1e3``, ``C = 1``, ``T`` in ms) the
    pixels (as floats 0..255) are encoded to spike counts and decoded to cell midpoints, then
    clipped to [0, 255] and rounded to uint8.

    Parameters
    ----------
    image : array_like of uint8, shape (H, W) or (H, W, 3)
        The image; an RGB one is reduced to its luma (Pillow's ``convert('L')``).

    Returns
    -------
    list of dict
        One row per setting: ``theta``, ``T`` (ms), ``psnr`` (dB, peak 255) and ``bpp``, the
        zeroth-order entropy of the counts in bits per pixel.
    """
    return [row for row, _ in _fig5_runs(image)]


def fig5(out_dir: str | Path, image: ArrayLike) -> FigureFiles:
    """Fig. 5: the four pixel-domain NQ reconstructions of :func:`fig5_table` in a 2x2 grid.

    Each panel is labelled with its ``theta``, ``T`` (ms), PSNR (dB) and rate (bpp).

    Returns
    -------
    FigureFiles
        ``fig5_pixel_nq.png`` and ``.csv`` (columns ``theta, T_ms, psnr_db, bpp``).
    """
    paths = _out(out_dir, "fig5_pixel_nq")
    runs = _fig5_runs(image)
    _write_csv(
        paths.csv,
        ["theta", "T_ms", "psnr_db", "bpp"],
        [[r["theta"], r["T"], r["psnr"], r["bpp"]] for r, _ in runs],
    )
    fig = Figure(figsize=(8, 8.6))
    for ax, (row, recon) in zip(fig.subplots(2, 2).ravel(), runs, strict=True):
        ax.imshow(recon, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(
            f"θ = {row['theta']:g}, T = {row['T']:g} ms\n"
            f"PSNR {row['psnr']:.2f} dB, {row['bpp']:.2f} bpp"
        )
        ax.set_axis_off()
    fig.suptitle(f"Fig. 5: pixel-domain NQ, R = {_FIG5_R:g}, C = {_FIG5_C:g}, midpoint")
    _save(fig, paths.png)
    return paths


def _pooled_entropy_bpp(values: np.ndarray, pixels: int) -> float:
    """The seed's rate: zeroth-order entropy of all the values pooled, in bits per pixel."""
    return _entropy_bpp(values) * values.size / pixels


def _jpeg_coefficients(gray: np.ndarray, data: bytes) -> np.ndarray:
    """The quantized 8x8 DCT coefficients of a grayscale JPEG file of ``gray``, recomputed.

    A float DCT of the level-shifted, edge-padded blocks divided by the file's quantization
    table and rounded: libjpeg's integer DCT rounds a few of them one step differently (under
    1 % in a check on six corpus images, most at high qualities).
    """
    with Image.open(io.BytesIO(data)) as im:
        table = np.asarray(im.quantization[0], dtype=np.float64).reshape(8, 8)
    h, w = gray.shape
    padded = np.pad(gray - 128.0, ((0, -h % 8), (0, -w % 8)), mode="edge")
    blocks = padded.reshape(padded.shape[0] // 8, 8, padded.shape[1] // 8, 8).swapaxes(1, 2)
    return np.rint(dctn(blocks, axes=(2, 3), norm="ortho") / table)


def fig6_table(
    image: ArrayLike, qualities: Sequence[int] = FIG6_QUALITIES
) -> list[dict[str, float]]:
    """Fig. 6's numbers for one image (luma): spikecodec and JPEG at each quality.

    spikecodec (``encode(image, quality=q)``, every other parameter at its default) has two
    rates: ``spk_entropy_bpp``, the seed's, the zeroth-order entropy of all the signed spike
    counts of :func:`~spikecodec.spike_counts` pooled in one histogram, times the number of
    counts, per pixel; and ``spk_file_bpp``, the real file, ``8*len(encode(...))/pixels``.
    JPEG (libjpeg-turbo through Pillow, ``optimize=True``) likewise: ``jpeg_file_bpp`` from
    the file and ``jpeg_entropy_bpp`` from its quantized DCT coefficients
    (:func:`_jpeg_coefficients`). PSNR (dB, peak 255) and SSIM are of the decoded files.

    Returns
    -------
    list of dict
        One row per quality, keyed by :data:`FIG6_COLUMNS`.
    """
    gray = _gray(image)
    pixels = gray.size
    jpeg = JPEG()
    rows = []
    for q in qualities:
        counts = np.concatenate([c.ravel() for c in spike_counts(gray, quality=q)[1]])
        spk = encode(gray, quality=q)
        spk_image = decode(spk)
        jpg = jpeg.encode(gray, q)
        jpg_image = jpeg.decode(jpg)
        values = (
            q,
            _pooled_entropy_bpp(counts, pixels),
            bpp(len(spk), gray.shape),
            psnr(gray, spk_image),
            ssim(gray, spk_image),
            _pooled_entropy_bpp(_jpeg_coefficients(gray, jpg), pixels),
            bpp(len(jpg), gray.shape),
            psnr(gray, jpg_image),
            ssim(gray, jpg_image),
        )
        rows.append(dict(zip(FIG6_COLUMNS, values, strict=True)))
    return rows


def fig6(
    out_dir: str | Path,
    images: Iterable[ArrayLike],
    *,
    names: Sequence[str] | None = None,
    qualities: Sequence[int] = FIG6_QUALITIES,
    mapper: Callable = map,
    stem: str = "fig6_entropy_vs_bytes",
) -> Fig6Files:
    """Fig. 6: mean PSNR and SSIM against mean bpp, spikecodec and JPEG, two rates each.

    Every image's :func:`fig6_table` is computed (``mapper(function, images)``: pass a process
    pool's ``imap`` to spread them), then averaged per quality over the images: mean bpp, mean
    PSNR and mean SSIM. Solid lines are real file bytes, dashed lines the zeroth-order entropy
    estimate (the seed's rate); ``spk_entropy/file`` is the ratio of spikecodec's mean rates.

    Parameters
    ----------
    images : iterable of array_like of uint8
        Grayscale or RGB images (RGB reduced to luma).
    names : sequence of str, optional
        The images' names, stored in the JSON.

    Returns
    -------
    Fig6Files
        ``<stem>.png``, ``<stem>.csv`` (the means: :data:`FIG6_COLUMNS` and ``spk_entropy/file``)
        and ``<stem>.json`` (settings, means and every image's rows).
    """
    paths = _out(out_dir, stem)
    paths = Fig6Files(*paths, paths.csv.with_suffix(".json"))
    tables = list(mapper(partial(fig6_table, qualities=qualities), images))
    if not tables:
        raise SpikeCodecError("Fig. 6 needs at least one image")
    mean = {
        key: np.mean([[row[key] for row in table] for table in tables], axis=0)
        for key in FIG6_COLUMNS
    }
    columns = [*FIG6_COLUMNS, "spk_entropy/file"]
    means = np.column_stack([*mean.values(), mean["spk_entropy_bpp"] / mean["spk_file_bpp"]])
    _write_csv(paths.csv, columns, means)
    summary = {
        "images": len(tables),
        "names": None if names is None else list(names),
        "averaging": "per quality: mean bpp, mean PSNR and mean SSIM over the images",
        "spikecodec": "spikecodec.encode(luma, quality=q), defaults otherwise",
        "jpeg": "libjpeg-turbo through Pillow, optimize=True, grayscale",
        "entropy_bpp": "zeroth-order entropy of the pooled values * their number / pixels "
        "(spikecodec: signed spike counts; JPEG: quantized DCT coefficients, float DCT)",
        "file_bpp": "8 * file bytes / pixels",
        "mean": [dict(zip(columns, row, strict=True)) for row in means.tolist()],
        "per_image": tables,
    }
    paths.json.write_text(json.dumps(summary, indent=2) + "\n")
    fig = Figure(figsize=(11, 4.4))
    for ax, metric, unit in zip(fig.subplots(1, 2), ("psnr", "ssim"), (" (dB)", ""), strict=True):
        for codec, label, color in (("spk", "spikecodec", "C0"), ("jpeg", "JPEG", "C1")):
            y = mean[f"{codec}_{metric}"]
            ax.plot(mean[f"{codec}_file_bpp"], y, "o-", color=color, label=f"{label}, file bytes")
            ax.plot(
                mean[f"{codec}_entropy_bpp"],
                y,
                "o--",
                color=color,
                mfc="none",
                label=f"{label}, entropy estimate",
            )
        ax.set(xlabel="bits per pixel", ylabel=metric.upper() + unit)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(
        f"Fig. 6: rate–distortion, mean over {len(tables)} luma images per quality "
        f"{qualities[0]}..{qualities[-1]} (solid: real files; dashed: zeroth-order entropy)"
    )
    _save(fig, paths.png)
    return paths


def write_all(out_dir: str | Path, image: ArrayLike | None = None) -> list[Path]:
    """Write every figure into ``out_dir`` and return the paths of the files written.

    Fig. 5 uses ``image`` (uint8, grayscale or RGB, reduced to luma), or the luma of the
    bundled sample :func:`load_sample` when ``image`` is None. Fig. 6 uses the luma of every
    bundled sample (:data:`SAMPLES`); ``benchmarks/fig6.py`` runs it on the dev corpus.
    """
    figures = [fig2(out_dir), fig3(out_dir), fig4(out_dir), proposition1(out_dir)[0]]
    figures.append(fig5(out_dir, load_sample() if image is None else image))
    figures.append(fig6(out_dir, map(load_sample, SAMPLES), names=SAMPLES))
    return [path for written in figures for path in written]
