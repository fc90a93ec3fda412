"""``make demo``: the seed's figures and the codec against JPEG on the bundled samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..codec import decode, encode
from ..data import SAMPLES, load_sample
from ..metrics import bpp, psnr, ssim
from .bench.codecs import JPEG
from .figures import fig5_table, write_all

__all__ = ["DEMO_QUALITIES", "run_demo"]

DEMO_QUALITIES = (30, 50, 75, 90)


def run_demo(out: Path) -> None:
    """Write the figures under ``out/figures``, the streams and their decodings under ``out``,
    and print the Fig. 5 table and spikecodec against libjpeg-turbo (``optimize=True``) at the
    same or fewer bytes (:meth:`~spikecodec.lab.bench.codecs.JPEG.fit`)."""
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
    jpeg = JPEG()
    for name in SAMPLES:
        image = load_sample(name)
        for q in DEMO_QUALITIES:
            data = encode(image, quality=q)
            rec = decode(data)
            (out / f"{name}_q{q}.spk").write_bytes(data)
            Image.fromarray(rec).save(out / f"{name}_q{q}.png")
            jpg = jpeg.fit(image, len(data))
            jrec = jpeg.decode(jpg)
            print(
                f"{name:10} {q:3d} {bpp(len(data), image.shape):6.3f} {psnr(image, rec):6.2f} "
                f"{ssim(image, rec):6.4f} | {bpp(len(jpg), image.shape):8.3f} "
                f"{psnr(image, jrec):6.2f} {ssim(image, jrec):6.4f}"
            )
    print(f"\nfiles written under {out}/")
