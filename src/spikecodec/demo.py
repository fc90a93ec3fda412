"""``make demo``: the seed's figures and the codec against JPEG on the bundled samples."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from .codec import decode, encode
from .figures import SAMPLES, fig5_table, load_sample, write_all
from .metrics import bpp, psnr, ssim

DEMO_QUALITIES = (30, 50, 75, 90)


def _jpeg(image: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def jpeg_at_size(image: np.ndarray, max_bytes: int) -> bytes:
    """The best libjpeg-turbo file (optimize=True) of at most ``max_bytes`` (bisection on q)."""
    lo, hi, best = 1, 100, _jpeg(image, 1)
    while lo <= hi:
        q = (lo + hi) // 2
        data = _jpeg(image, q)
        if len(data) <= max_bytes:
            best, lo = data, q + 1
        else:
            hi = q - 1
    return best


def _decode_jpeg(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def run_demo(out: Path) -> None:
    """Write the figures under ``out/figures`` and print the Fig. 5 and codec tables."""
    out.mkdir(parents=True, exist_ok=True)
    paths = write_all(out / "figures")
    print(f"figures: {len(paths)} files under {out / 'figures'}")

    luma = np.asarray(Image.fromarray(load_sample()).convert("L"))
    print("\nFig. 5, pixel-domain NQ (R=1e3, C=1, midpoint), luma of the bundled sample")
    print(f"{'theta':>6} {'T (ms)':>7} {'PSNR (dB)':>10} {'rate (bpp)':>11}")
    for row in fig5_table(luma):
        print(f"{row['theta']:6g} {row['T']:7g} {row['psnr']:10.2f} {row['bpp']:11.3f}")

    print("\nspikecodec vs libjpeg-turbo (optimize=True) at the same or fewer bytes")
    header = f"{'image':10} {'q':>3} {'bpp':>6} {'PSNR':>6} {'SSIM':>6} | {'JPEG bpp':>8}"
    print(header + f" {'PSNR':>6} {'SSIM':>6}")
    for name in SAMPLES:
        image = load_sample(name)
        for q in DEMO_QUALITIES:
            data = encode(image, quality=q)
            rec = decode(data)
            (out / f"{name}_q{q}.spk").write_bytes(data)
            Image.fromarray(rec).save(out / f"{name}_q{q}.png")
            jpg = jpeg_at_size(image, len(data))
            jrec = _decode_jpeg(jpg)
            print(
                f"{name:10} {q:3d} {bpp(len(data), image.shape):6.3f} {psnr(image, rec):6.2f} "
                f"{ssim(image, rec):6.4f} | {bpp(len(jpg), image.shape):8.3f} "
                f"{psnr(image, jrec):6.2f} {ssim(image, jrec):6.4f}"
            )
    print(f"\nfiles written under {out}/")
