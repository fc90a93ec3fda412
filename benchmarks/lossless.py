"""Lossless: rates against the standard lossless codecs, the cost of embedding, and speed.

On the Kodak images (``--images``, default all 24), RGB and luma (Pillow's ``convert("L")``),
all in one run and every decode checked bit-exact:

- **rate** (bits per pixel) of ``spikecodec.encode(image, lossless=True)`` beside PNG
  (Pillow, ``optimize=True``), JPEG 2000 (OpenJPEG through Pillow: the reversible 5/3 wavelet,
  RCT for RGB, ``irreversible=False``), WebP lossless (Pillow, ``method=6``), JPEG XL lossless
  (libjxl through imagecodecs, effort 7) and JPEG-LS (CharLS through imagecodecs, no colour
  transform);
- **the cost of embedding** (on ``--embedding`` images, default every third): the lossless
  stream cut to 1/16, 1/8, 1/4 and 1/2 of its bytes (:func:`spikecodec.truncate`) against a
  lossy encode of exactly as many bytes (``encode(image, target_bytes=n)``), PSNR (over RGB);
- **speed**: encode and decode seconds of the spikecodec and JPEG 2000 lossless streams (the
  best of ``--repeat`` runs after one warm-up), and their ratio;
- **RGBA** (mode ``RGBA``): the RGB images with an alpha plane of real transparency, one of
  three kinds in turn (:func:`alpha_plane`): a *mask* (opaque where the image, smoothed, is
  brighter than its median: a cut-out with the image's own edges), that mask *anti-aliased*
  (a 5x5 box filter: every level at the edges) and a radial *vignette*; the rates of the RGBA
  images (WebP with ``exact=True``, which keeps the colour under transparent pixels; JPEG-LS
  left out, it has no colour transform) and of the alpha planes alone (spikecodec's ALPHA
  chunk against PNG and WebP of the plane).

Usage (from the project directory; the corpus is ``$SPIKECODEC_DATA``, default
``../shared/data``)::

    python benchmarks/lossless.py [--images kodim01,kodim05] [--embedding ...] [--repeat 3]
                                  [--modes RGB,L,RGBA]

Prints tables and writes ``results/lossless.json`` (``lossless-L.json`` for one mode).
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import imagecodecs
import numpy as np
from PIL import Image, ImageFilter

import spikecodec as sc
from spikecodec.format import container
from spikecodec.lab.bench.corpus import data_root, read_image
from spikecodec.metrics import psnr

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "results"
CUTS = (1 / 16, 1 / 8, 1 / 4, 1 / 2)
MODES = ("RGB", "L", "RGBA")
ALPHA_KINDS = ("mask", "anti-aliased", "vignette")


def _pillow(format: str, **options):
    def encode(image: np.ndarray) -> bytes:
        out = io.BytesIO()
        Image.fromarray(image).save(out, format, **options)
        return out.getvalue()

    def decode(data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im)

    return encode, decode


def _j2k_options(image: np.ndarray) -> dict:
    return {"irreversible": False, "mct": 1 if image.ndim == 3 else 0, "no_jp2": True}


def _j2k_encode(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, "JPEG2000", **_j2k_options(image))
    return out.getvalue()


CODECS = {
    "spikecodec": (lambda image: sc.encode(image, lossless=True), sc.decode),
    "PNG": _pillow("PNG", optimize=True),
    "JPEG 2000": (_j2k_encode, _pillow("JPEG2000")[1]),
    "WebP": _pillow("WEBP", lossless=True, method=6),
    "JPEG XL": (
        lambda image: imagecodecs.jpegxl_encode(image, lossless=True, effort=7),
        imagecodecs.jpegxl_decode,
    ),
    "JPEG-LS": (lambda image: imagecodecs.jpegls_encode(image, level=0), imagecodecs.jpegls_decode),
}


RGBA_CODECS = {
    **{name: CODECS[name] for name in ("spikecodec", "PNG", "JPEG 2000", "JPEG XL")},
    "WebP": _pillow("WEBP", lossless=True, method=6, exact=True),
}
ALPHA_CODECS = {
    "spikecodec": (
        lambda alpha: container.unpack(
            sc.encode(np.dstack([alpha] * 2), lossless=True)
        ).alpha.payload(),
        None,
    ),
    "PNG": CODECS["PNG"],
    "WebP": CODECS["WebP"],
}


def alpha_plane(image: np.ndarray, kind: str) -> np.ndarray:
    """An alpha plane for an RGB image: ``"mask"``, 255 where the image's mean over R, G, B
    smoothed by a 9x9 box filter exceeds its median, else 0; ``"anti-aliased"``, that mask
    smoothed by a 5x5 box filter (rounded); ``"vignette"``, ``255 * (1 - d**2)`` clipped at 0,
    ``d`` the distance from the centre over half the diagonal."""
    if kind == "vignette":
        r, c = np.indices(image.shape[:2])
        h, w = image.shape[:2]
        d = np.hypot(r - (h - 1) / 2, c - (w - 1) / 2) / (np.hypot(h, w) / 2)
        return np.rint(255 * np.clip(1 - d**2, 0, 1)).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(image).convert("L").filter(ImageFilter.BoxBlur(4)))
    mask = np.where(smooth > np.median(smooth), 255, 0).astype(np.uint8)
    if kind == "mask":
        return mask
    return np.asarray(Image.fromarray(mask).filter(ImageFilter.BoxBlur(2)))


def rates(images: dict[str, np.ndarray], codecs=CODECS) -> dict[str, list[float]]:
    """Bits per pixel of every codec on every image; raises if a decode is not exact."""
    out: dict[str, list[float]] = {name: [] for name in codecs}
    for image_name, image in images.items():
        for name, (encode, decode) in codecs.items():
            data = encode(image)
            decoded = image if decode is None else decode(data)  # None: checked elsewhere
            if image.ndim == 2 and decoded.ndim == 3:  # WebP keeps gray as three equal channels
                decoded = decoded if (decoded == decoded[..., :1]).all() else None
                decoded = None if decoded is None else decoded[..., 0]
            if decoded is None or not np.array_equal(decoded, image):
                raise AssertionError(f"{name} does not decode {image_name} exactly")
            out[name].append(8 * len(data) / (image.shape[0] * image.shape[1]))
    return out


def embedding(images: dict[str, np.ndarray]) -> list[dict]:
    rows = []
    for image_name, image in images.items():
        stream = sc.encode(image, lossless=True)
        for share in CUTS:
            n = int(share * len(stream))
            cut = sc.decode(sc.truncate(stream, n), strict=True)
            lossy = sc.encode(image, target_bytes=n)
            rows.append(
                {
                    "image": image_name,
                    "share": share,
                    "bytes": n,
                    "bpp": 8 * n / (image.shape[0] * image.shape[1]),
                    "psnr_cut": psnr(image, cut),
                    "psnr_lossy": psnr(image, sc.decode(lossy, strict=True)),
                }
            )
    return rows


def _best(repeat: int, function, *args, **options) -> float:
    """The least seconds of ``repeat`` calls, after one more."""
    function(*args, **options)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(*args, **options)
        times.append(time.perf_counter() - start)
    return min(times)


def speed(images: dict[str, np.ndarray], repeat: int) -> dict[str, float]:
    seconds = {"spk_encode": 0.0, "spk_decode": 0.0, "j2k_encode": 0.0, "j2k_decode": 0.0}
    for image in images.values():
        stream, j2k = sc.encode(image, lossless=True), _j2k_encode(image)
        seconds["spk_encode"] += _best(repeat, sc.encode, image, lossless=True)
        seconds["spk_decode"] += _best(repeat, sc.decode, stream)
        seconds["j2k_encode"] += _best(repeat, _j2k_encode, image)
        seconds["j2k_decode"] += _best(repeat, CODECS["JPEG 2000"][1], j2k)
    pixels = sum(image.shape[0] * image.shape[1] for image in images.values())
    return {
        **seconds,
        "megapixels": pixels / 1e6,
        "encode_ratio": seconds["j2k_encode"] / seconds["spk_encode"],
        "decode_ratio": seconds["j2k_decode"] / seconds["spk_decode"],
    }


def rgba(names: list[str]) -> dict:
    """The RGBA rates and the alpha planes' (module docstring), printed; spikecodec's RGBA
    decodes are checked exact by :func:`rates`, its alpha chunks by decoding them whole."""
    kinds = {n: ALPHA_KINDS[i % len(ALPHA_KINDS)] for i, n in enumerate(names)}
    colour = {n: read_image(data_root() / "kodak" / f"{n}.png", "RGB") for n in names}
    planes = {n: alpha_plane(colour[n], kinds[n]) for n in names}
    images = {n: np.dstack([colour[n], planes[n]]) for n in names}
    bpp = rates(images, RGBA_CODECS)
    alpha_bpp = rates(planes, ALPHA_CODECS)
    out: dict = {"kinds": kinds, "bpp": bpp, "alpha_bpp": alpha_bpp, "mean": {}}
    print("\nRGBA: lossless bits per pixel, mean over the images of each alpha kind, exact")
    print("| alpha | image or plane | " + " | ".join(RGBA_CODECS) + " |")
    print("|---|---|" + "---:|" * len(RGBA_CODECS))
    for kind in ALPHA_KINDS:
        which = [i for i, n in enumerate(names) if kinds[n] == kind]
        if not which:
            continue
        whole = {c: float(np.mean([bpp[c][i] for i in which])) for c in RGBA_CODECS}
        alone = {c: float(np.mean([alpha_bpp[c][i] for i in which])) for c in ALPHA_CODECS}
        out["mean"][kind] = {"rgba": whole, "alpha": alone}
        print(f"| {kind} | RGBA | " + " | ".join(f"{v:.3f}" for v in whole.values()) + " |")
        cells = [f"{alone[c]:.4f}" if c in alone else "" for c in RGBA_CODECS]
        print(f"| {kind} | alpha alone | " + " | ".join(cells) + " |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", help="comma-separated Kodak names (default: all 24)")
    parser.add_argument("--embedding", help="images for the cost of embedding (default: every 3rd)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", default=",".join(MODES), help="RGB, L or both (default)")
    args = parser.parse_args()
    paths = sorted((data_root() / "kodak").glob("*.png"))
    names = args.images.split(",") if args.images else [p.stem for p in paths]
    embedded = args.embedding.split(",") if args.embedding else names[::3]
    result: dict = {"images": names, "embedding_images": embedded}
    for mode in args.modes.split(","):
        if mode == "RGBA":
            result[mode] = rgba(names)
            continue
        images = {n: read_image(data_root() / "kodak" / f"{n}.png", mode) for n in names}
        bpp = rates(images)
        means = {name: float(np.mean(v)) for name, v in bpp.items()}
        rows = embedding({n: images[n] for n in embedded})
        cuts = {
            f"{share:g}": {
                key: float(np.mean([r[key] for r in rows if r["share"] == share]))
                for key in ("bpp", "psnr_cut", "psnr_lossy")
            }
            for share in CUTS
        }
        result[mode] = {
            "bpp": bpp,
            "mean_bpp": means,
            "embedding": rows,
            "embedding_mean": cuts,
            "speed": speed(images, args.repeat),
        }
        print(f"\n{mode}: lossless bits per pixel, mean of {len(names)} images, every decode exact")
        print("| " + " | ".join(means) + " |\n|" + "---:|" * len(means))
        print("| " + " | ".join(f"{v:.3f}" for v in means.values()) + " |")
        print(f"\n{mode}: a lossless stream cut, against a lossy encode of as many bytes (PSNR)")
        print("| share | bpp | cut (dB) | lossy (dB) | cost (dB) |\n|---|---:|---:|---:|---:|")
        for share, c in cuts.items():
            print(
                f"| 1/{round(1 / float(share))} | {c['bpp']:.3f} | {c['psnr_cut']:.2f} | "
                f"{c['psnr_lossy']:.2f} | {c['psnr_lossy'] - c['psnr_cut']:.2f} |"
            )
        s = result[mode]["speed"]
        print(
            f"\n{mode} speed, {s['megapixels']:.1f} MP: spikecodec encodes in "
            f"{s['spk_encode']:.2f} s and decodes in {s['spk_decode']:.2f} s, JPEG 2000 in "
            f"{s['j2k_encode']:.2f} s and "
            f"{s['j2k_decode']:.2f} s: {s['encode_ratio']:.2f}x and {s['decode_ratio']:.2f}x "
            "JPEG 2000's speed"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / (
        "lossless.json" if args.modes == ",".join(MODES) else f"lossless-{args.modes}.json"
    )
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
