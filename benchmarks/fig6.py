"""Fig. 6 of the seed paper, honestly: rate–distortion over the dev corpus luma, two rates each.

Mean PSNR and SSIM against mean bpp (per quality, averaged over the images) of spikecodec and
JPEG (libjpeg-turbo through Pillow, ``optimize=True``) at qualities 5..95
(:data:`spikecodec.lab.figures.FIG6_QUALITIES`), each codec's rate measured two ways: the seed's,
the zeroth-order entropy of the pooled quantized values (spikecodec: the signed spike counts;
JPEG: its quantized DCT coefficients) times their number per pixel, and the real file,
``8*bytes/pixels``. See :func:`spikecodec.lab.figures.fig6`.

Images: all 104 of the dev corpus in luma, in a fixed order: ``kodak`` (24, RGB converted by
Pillow's ``convert('L')``), ``bsd68`` (68), ``set12`` (12), each set's files sorted by name
(:func:`spikecodec.lab.bench.corpus.corpus_paths`; root ``$SPIKECODEC_DATA``, default
``../shared/data``). ``--step N`` takes every N-th of them, ``--quick`` the first image of each
set.

Writes ``results/fig6.png``, ``.csv`` (the means) and ``.json`` (settings, image names, means,
every image's rows), or under ``results/cache/quick/`` with ``--quick``, and prints the table.

Usage: ``python benchmarks/fig6.py [--quick] [--step N] [--workers 2]``
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from spikecodec.lab.bench.corpus import SETS, corpus_paths, read_image
from spikecodec.lab.figures import fig6

RESULTS = Path(__file__).resolve().parents[1] / "results"


def markdown(means: list[dict]) -> str:
    """Per quality: spikecodec's two rates, their ratio, PSNR and SSIM; JPEG's likewise."""
    lines = [
        "| q | spk entropy bpp | spk file bpp | entropy/file | spk PSNR (dB) | spk SSIM "
        "| JPEG entropy bpp | JPEG file bpp | JPEG PSNR (dB) | JPEG SSIM |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {m['quality']:g} | {m['spk_entropy_bpp']:.3f} | {m['spk_file_bpp']:.3f} "
        f"| {m['spk_entropy/file']:.2f} | {m['spk_psnr']:.2f} | {m['spk_ssim']:.4f} "
        f"| {m['jpeg_entropy_bpp']:.3f} | {m['jpeg_file_bpp']:.3f} | {m['jpeg_psnr']:.2f} "
        f"| {m['jpeg_ssim']:.4f} |"
        for m in means
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first image of each set")
    parser.add_argument("--step", type=int, default=1, help="every N-th image (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    args = parser.parse_args()
    if args.quick:
        paths = [corpus_paths((s,))[0] for s in SETS]
        out = RESULTS / "cache" / "quick"
    else:
        paths = corpus_paths()[:: args.step]
        out = RESULTS
    names = [f"{set_name}/{path.name}" for set_name, path in paths]
    images = (read_image(path, "L") for _, path in paths)
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:

        def mapper(function, items):
            return tqdm(pool.map(function, items), total=len(paths), desc="images", unit="img")

        files = fig6(out, images, names=names, mapper=mapper, stem="fig6")
    print(f"Fig. 6: {len(paths)} luma images, means per quality")
    print(markdown(json.loads(files.json.read_text())["mean"]))
    print("\n".join(f"wrote {path}" for path in files))


if __name__ == "__main__":
    main()
