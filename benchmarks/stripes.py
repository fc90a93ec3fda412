"""What stripes cost in rate and what they give in speed, measured in one run.

**Rate.** Every image of the dev corpus (the luma of Kodak, BSD68 and Set12, and Kodak in RGB)
is coded at the qualities of the bench sweep in one stripe (what the encoder writes for these
images, all under two megapixels) and in ``n`` stripes forced (2 and 4 by default): printed
per set, the BD-rate of ``n`` stripes against one over 0.25-2 bpp (PSNR; over R, G and B for
RGB) and the bytes in all. A Kodak image is 6144 blocks, so its stripes are far smaller than the
encoder's own (2**14 blocks and more): an upper bound of their cost. The 24-megapixel image
below is also coded in one stripe and in the encoder's (2), and in RGB with its luma and
chroma together (the encoder codes them apart from a megapixel on): their cost at the real
size.

**Speed.** A Kodak image tiled to 6000x4000 (24 megapixels, RGB and luma, as
``benchmarks/speed.py`` builds it) at quality 50 (about 1 bpp on Kodak), in the encoder's
stripes, is encoded and decoded on 1 thread and on every core (best of ``--repeats``, 3 by
default), with libjpeg-turbo (Pillow, quality 85) in the same run; the RGB one also with its
luma and chroma together.

Usage (from the project directory; the corpus is ``$SPIKECODEC_DATA``, default
``../shared/data``)::

    python benchmarks/stripes.py [--stripes 2,4] [--repeats 3] [--sets kodak,bsd68,set12]

Writes ``results/stripes.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

import spikecodec as sc
from spikecodec.format import container
from spikecodec.lab.bench.codecs import SpikeCodec
from spikecodec.lab.bench.corpus import corpus_images, data_root, read_image
from spikecodec.lab.bench.timing import best_of
from spikecodec.metrics import bd_rate, bpp, psnr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import BIG_SHAPE, BIG_SOURCE, tile_to  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "results"
WINDOW = (0.25, 2.0)
BIG_QUALITY = 50


def rate_cost(sets: list[str], stripes: list[int]) -> list[dict]:
    """Per set and mode, the BD-rate and the bytes of each forced number of stripes against
    one stripe."""
    rows = []
    jobs = [(s, "L") for s in sets] + ([("kodak", "RGB")] if "kodak" in sets else [])
    for set_name, mode in jobs:
        curves = {n: [] for n in [1, *stripes]}
        images = list(corpus_images([set_name], mode))
        for *_, image in tqdm(images, desc=f"rate {set_name} {mode}", unit="image"):
            for n in curves:
                points = []
                for q in SpikeCodec.settings:
                    data = sc.encode(image, q, stripes=n)
                    points.append((bpp(len(data), image.shape), psnr(image, sc.decode(data))))
                curves[n].append(points)
        for n in stripes:
            deltas = [
                bd_rate(*zip(*one), *zip(*many), rate_window=WINDOW)
                for one, many in zip(curves[1], curves[n])
            ]
            total = {k: sum(r for points in curves[k] for r, _ in points) for k in (1, n)}
            rows.append(
                {
                    "set": set_name,
                    "mode": mode,
                    "images": len(images),
                    "stripes": n,
                    "bd_rate_percent": float(np.mean(deltas)),
                    "bytes_percent": 100.0 * (total[n] / total[1] - 1.0),
                }
            )
    return rows


def big_images() -> dict[str, np.ndarray]:
    """The 24-megapixel images of ``benchmarks/speed.py``, RGB and luma."""
    path = data_root() / "kodak" / f"{BIG_SOURCE}.png"
    sources = {"RGB": read_image(path, "RGB"), "L": read_image(path)}
    out = {}
    for mode, source in sources.items():
        if source.shape[0] > source.shape[1]:
            source = np.ascontiguousarray(np.swapaxes(source, 0, 1))
        out[mode] = tile_to(source, BIG_SHAPE)
    return out


def jpeg_times(image: np.ndarray, repeats: int) -> tuple[float, float]:
    """libjpeg-turbo's encode and decode seconds (Pillow, quality 85, 4:2:0)."""

    def encode() -> bytes:
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, "JPEG", quality=85)
        return buf.getvalue()

    data = encode()
    return best_of(encode, repeats), best_of(
        lambda: np.asarray(Image.open(io.BytesIO(data))), repeats
    )


def speed(repeats: int) -> list[dict]:
    """Encode and decode seconds of the 24-megapixel images on 1 thread and on every core,
    and the rate cost of the encoder's stripes there."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rows = []
    for mode, image in tqdm(big_images().items(), desc="24 MP", unit="image"):
        data = sc.encode(image, BIG_QUALITY)
        one = sc.encode(image, BIG_QUALITY, stripes=1, split_chroma=False)
        header = container.read_header(data)
        together = sc.encode(image, BIG_QUALITY, split_chroma=False) if header.split else data
        jpeg_enc, jpeg_dec = jpeg_times(image, repeats)
        row = {
            "mode": mode,
            "shape": list(image.shape),
            "quality": BIG_QUALITY,
            "stripes": header.stripes,
            "split": header.split,
            "bpp": bpp(len(data), image.shape),
            "bytes_percent_vs_one_stripe": 100.0 * (len(data) / len(one) - 1.0),
            "bytes_percent_vs_together": 100.0 * (len(data) / len(together) - 1.0),
            "cores": cores,
            "jpeg_encode_s": jpeg_enc,
            "jpeg_decode_s": jpeg_dec,
        }
        for threads in sorted({1, cores}):
            row[f"encode_s_{threads}"] = best_of(
                lambda t=threads, i=image: sc.encode(i, BIG_QUALITY, threads=t), repeats
            )
            row[f"decode_s_{threads}"] = best_of(
                lambda t=threads, d=data: sc.decode(d, threads=t), repeats
            )
            if header.split:
                row[f"decode_together_s_{threads}"] = best_of(
                    lambda t=threads, d=together: sc.decode(d, threads=t), repeats
                )
        rows.append(row)
    return rows


def report(rate: list[dict], timing: list[dict]) -> str:
    lines = [
        "| set | mode | images | stripes | BD-rate (PSNR) | bytes |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rate:
        lines.append(
            f"| {r['set']} | {r['mode']} | {r['images']} | {r['stripes']} | "
            f"{r['bd_rate_percent']:+.2f} % | {r['bytes_percent']:+.2f} % |"
        )
    lines += [
        "",
        "| 24 MP | stripes | luma, chroma apart | bytes vs 1 stripe together | threads | "
        "encode s | decode s | decode, planes together | decode vs 1 thread | "
        "decode vs libjpeg-turbo |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in timing:
        for threads in sorted({1, r["cores"]}):
            dec = r[f"decode_s_{threads}"]
            together = r.get(f"decode_together_s_{threads}")
            lines.append(
                f"| {r['mode']} | {r['stripes']} | {'yes' if r['split'] else 'no'} | "
                f"{r['bytes_percent_vs_one_stripe']:+.3f} % | {threads} | "
                f"{r[f'encode_s_{threads}']:.3f} | {dec:.3f} | "
                f"{'' if together is None else f'{together:.3f}'} | "
                f"{r['decode_s_1'] / dec:.2f}x | 1/{dec / r['jpeg_decode_s']:.1f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stripes", default="2,4", help="forced stripes to measure (comma list)")
    parser.add_argument("--sets", default="kodak,bsd68,set12")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-rate", action="store_true", help="only the 24-megapixel timings")
    args = parser.parse_args(argv)
    stripes = [int(n) for n in args.stripes.split(",")]
    rate = [] if args.no_rate else rate_cost(args.sets.split(","), stripes)
    timing = speed(args.repeats)
    print(report(rate, timing))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stripes.json").write_text(json.dumps({"rate": rate, "speed": timing}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
