"""Write the format's test vectors: the ``.spk`` files of this folder and ``vectors.json``.

Each vector is a small stream made by the library from a crop of a bundled sample image
(:func:`spikecodec.data.load_sample`; grayscale ones through Pillow's ``convert("L")``) with
the ``encode`` parameters listed below (and, for the cut one, :func:`spikecodec.truncate`).
``vectors.json`` records for each file how it was made, its SHA-256, its header and metadata,
and the SHA-256 of what the library decodes from it: the image (``decode(data)``, C-order
uint8 bytes), each plane's counts (``state.counts()`` as little-endian int64) and levels
(``state.level`` as int8) from ``decode_counts(data)``, and the same at ``until=0.5`` and
``until=0.75`` of the window (docs/FORMAT.md, sections 14 and 17.2).

The ``FROZEN`` vectors are streams an earlier encoder wrote, which readers must still decode:
their files are kept as they are (``"frozen": true`` in the index; not re-encoded).

Run it from the project directory only when the format changes (a new format version; see
docs/FORMAT.md section 17.1)::

    PYTHONPATH=src python tests/vectors/generate.py

then check ``git diff --stat tests/vectors`` and run ``tests/format/test_vectors.py`` and
``tests/format/test_spec_decoder.py``. ``--check`` writes nothing and says whether the files
on disk are what it would write.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import spikecodec
from spikecodec.data import load_sample
from spikecodec.format import container

HERE = Path(__file__).resolve().parent
INDEX = HERE / "vectors.json"
UNTIL = (0.5, 0.75)

_EXIF = Image.Exif()
_EXIF[0x0112] = 6  # orientation: rotated 90 degrees clockwise
_XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>spikecodec test vector</dc:title>'
    b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
METADATA = {
    "icc_profile": b"spikecodec test vector: opaque ICC profile bytes",
    "exif": _EXIF.tobytes(),
    "xmp": _XMP,
}

# name, description, source (sample, rows, columns, gray), encode parameters, cut
VECTORS = [
    (
        "gray-24x40.spk",
        "grayscale, default neurons (table mild, R 1e4, bias 0.4)",
        ("kodim23", (96, 120), (120, 160), True),
        {"quality": 75},
        None,
    ),
    (
        "rgb420-32x48.spk",
        "RGB, 4:2:0 chroma",
        ("kodim23", (64, 96), (96, 144), False),
        {"quality": 75, "subsampling": "4:2:0"},
        None,
    ),
    (
        "rgb444-32x48.spk",
        "RGB, 4:4:4 chroma, tune psnr (chroma factor 1)",
        ("kodim23", (64, 96), (96, 144), False),
        {"quality": 75, "subsampling": "4:4:4", "tune": "psnr"},
        None,
    ),
    (
        "cut-rgb420-32x48.spk",
        "a cut stream (truncate) ending inside its largest time slice",
        ("kodim05", (128, 160), (64, 112), False),
        {"quality": 90, "subsampling": "4:2:0"},
        "middle of the largest slice",
    ),
    (
        "cut-head-gray-24x40.spk",
        "a cut stream ending inside the head of its fourth slice (4 zero bytes of padding)",
        ("kodim23", (96, 120), (120, 160), True),
        {"quality": 75},
        "inside the head of slice 3",
    ),
    (
        "metadata-16x16.spk",
        "ICC, EXIF (orientation 6) and XMP chunks before the slices",
        ("kodim05", (32, 48), (32, 48), True),
        {"quality": 50, **METADATA},
        None,
    ),
    (
        "gray-1x1.spk",
        "a single pixel: one block without neighbours",
        ("kodim23", (100, 101), (100, 101), True),
        {"quality": 75},
        None,
    ),
    (
        "rgb-9x17.spk",
        "odd sizes: partial blocks, 5x9 chroma planes",
        ("kodim05", (40, 49), (40, 57), False),
        {"quality": 90, "subsampling": "4:2:0"},
        None,
    ),
    (
        "leaky-r100-24x40.spk",
        "R = 100 (tau = T): a strongly leaky, non-uniform quantizer",
        ("kodim05", (96, 120), (96, 136), True),
        {"quality": 75, "R": 100.0},
        None,
    ),
    (
        "jpeg-rgb420-24x40.spk",
        "table jpeg, quality 95 (more slices), RGB 4:2:0",
        ("kodim23", (140, 164), (60, 100), False),
        {"quality": 95, "table": "jpeg", "subsampling": "4:2:0"},
        None,
    ),
    (
        "flat-gray-24x40.spk",
        "table flat, no bias current (bias 0)",
        ("kodim05", (200, 224), (150, 190), True),
        {"quality": 60, "table": "flat", "bias": 0.0},
        None,
    ),
    (
        "lossless-gray-24x40.spk",
        "lossless: a SAMPLES chunk, the 5/3 wavelet, exact",
        ("kodim05", (96, 120), (96, 136), True),
        {"lossless": True},
        None,
    ),
    (
        "lossless-rgb-9x17.spk",
        "lossless RGB at odd sizes: YCoCg-R with red in green's place (colour 1), 4:4:4, "
        "partial blocks",
        ("kodim05", (40, 49), (40, 57), False),
        {"lossless": True},
        None,
    ),
    (
        "lossless-gray16-16x24.spk",
        "lossless 16-bit gray: the samples spread to 16 bits (times 257) plus a ramp of low bits",
        ("kodim23", (96, 112), (120, 144), "gray16"),
        {"lossless": True},
        None,
    ),
    (
        "cut-lossless-rgb-32x48.spk",
        "a lossless stream cut inside its largest time slice: the wavelet's and the RCT's "
        "linear inverses",
        ("kodim23", (0, 32), (48, 96), False),
        {"lossless": True},
        "middle of the largest slice",
    ),
    (
        "lossy-gray16-16x24.spk",
        "16-bit gray at quality 75: the samples on the 8-bit scale (SAMPLES depth 16, transform 0)",
        ("kodim23", (96, 112), (120, 144), "gray16"),
        {"quality": 75},
        None,
    ),
    (
        "lossy-rgb16-9x17.spk",
        "16-bit RGB at quality 90, odd sizes, 4:2:0: the unrounded colour conversion",
        ("kodim05", (40, 49), (40, 57), "rgb16"),
        {"quality": 90, "subsampling": "4:2:0"},
        None,
    ),
    (
        "alpha-rgba-32x48.spk",
        "RGBA, quality 75: a lossless alpha plane of 3 levels through a level table",
        ("kodim23", (64, 96), (96, 144), False, "mask"),
        {"quality": 75},
        None,
    ),
    (
        "alpha-la-24x40.spk",
        "gray and alpha, lossless colour, a smooth alpha plane at quality 60 (no table)",
        ("kodim05", (96, 120), (96, 136), True, "ramp"),
        {"lossless": True, "alpha_quality": 60},
        None,
    ),
    (
        "cut-alpha-rgba-32x48.spk",
        "the RGBA stream cut inside its largest time slice: the alpha plane stays whole",
        ("kodim23", (64, 96), (96, 144), False, "mask"),
        {"quality": 75},
        "middle of the largest slice",
    ),
    (
        "stripes-rgb420-32x96.spk",
        "two stripes (a STRIPES chunk), RGB 4:2:0: 4 luma and 2 chroma block rows cut 2-2 and "
        "1-1, the planes together",
        ("kodim23", (64, 96), (96, 192), False),
        {"quality": 40, "subsampling": "4:2:0", "stripes": 2, "split_chroma": False},
        None,
    ),
    (
        "split-rgb444-32x48.spk",
        "one stripe, luma and chroma apart: two sub-streams, RGB 4:4:4",
        ("kodim05", (64, 96), (96, 144), False),
        {"quality": 75, "subsampling": "4:4:4", "split_chroma": True},
        None,
    ),
    (
        "cut-split-stripes-rgb420-48x64.spk",
        "three stripes, luma and chroma apart (six sub-streams), cut inside its largest slice",
        ("kodim23", (128, 176), (64, 128), False),
        {"quality": 70, "subsampling": "4:2:0", "stripes": 3, "split_chroma": True},
        "middle of the largest slice",
    ),
    (
        "cut-stripes-gray-48x64.spk",
        "three stripes (2-2-2 block rows), cut inside its largest time slice: stripes before "
        "the cut a bit-plane further than those after it",
        ("kodim05", (96, 144), (120, 184), True),
        {"quality": 60, "stripes": 3},
        "middle of the largest slice",
    ),
    (
        "stripes-gray16a-24x32.spk",
        "16-bit gray and alpha in three stripes: SAMPLES, STRIPES and ALPHA chunks in their order",
        ("kodim23", (96, 120), (120, 152), "gray16", "mask"),
        {"quality": 50, "stripes": 3},
        None,
    ),
]


# Streams an earlier encoder wrote, kept as they were written (what readers must still decode):
# name, description, source and encode parameters (as VECTORS), and the cut it was made with.
FROZEN = [
    (
        "first-lossless-rgb-9x17.spk",
        "lossless RGB of SAMPLES transform 1 (the first lossless streams): YCoCg-R, the DCT's "
        "context tables, odd sizes",
        ("kodim05", (40, 49), (40, 57), False),
        {"lossless": True},
        None,
    ),
    (
        "first-cut-lossless-rgb-32x48.spk",
        "a stream of transform 1 cut inside its largest time slice: YCoCg-R's linear inverse",
        ("kodim23", (64, 96), (96, 144), False),
        {"lossless": True},
        2418,
    ),
]


def alpha_plane(shape, kind: str) -> np.ndarray:
    """A vector's alpha plane at row ``r``, column ``c``: ``"mask"``, 255 where ``r + c <
    40``, else 128 where ``r < c``, else 0; ``"ramp"``, ``(8r + 3c) mod 256``."""
    r, c = np.indices(shape)
    if kind == "mask":
        return np.where(r + c < 40, 255, np.where(r < c, 128, 0)).astype(np.uint8)
    return ((8 * r + 3 * c) % 256).astype(np.uint8)


def source_image(sample: str, rows, cols, gray, alpha=None) -> np.ndarray:
    """The image a vector encodes: a crop of a sample, its luma (``gray`` True), or that luma
    spread to 16 bits (``"gray16"``: times 256, plus ``37 i mod 256`` at raster index ``i``
    of its samples), or the colour crop spread so (``"rgb16"``);
    with an ``alpha`` plane (:func:`alpha_plane`) last."""
    image = load_sample(sample)[rows[0] : rows[1], cols[0] : cols[1]]
    if gray and gray != "rgb16":
        image = np.asarray(Image.fromarray(image).convert("L"))
    if gray in ("gray16", "rgb16"):
        low = np.arange(image.size).reshape(image.shape) * 37 % 256
        image = (image.astype(np.uint16) * 256 + low).astype(np.uint16)
    if alpha is None:
        return image
    return np.dstack([image, alpha_plane(image.shape[:2], alpha)])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def counts_digest(states) -> list[dict]:
    """Each plane's counts and levels, hashed."""
    return [
        {
            "shape": list(st.prefix.shape),
            "counts_sha256": sha256(np.ascontiguousarray(st.counts(), "<i8").tobytes()),
            "level_sha256": sha256(np.ascontiguousarray(st.level, np.int8).tobytes()),
        }
        for st in states
    ]


def image_digest(image: np.ndarray) -> dict:
    return {
        "shape": list(image.shape),
        "dtype": str(image.dtype),
        "sha256": sha256(np.ascontiguousarray(image).tobytes()),
    }


def alpha_entry(data: bytes) -> dict:
    """An ALPHA chunk's level table and inner stream's SHA-256 and header."""
    alpha = container.unpack(data).alpha
    return {
        "levels": list(alpha.levels),
        "stream_sha256": sha256(alpha.stream),
        "header": dataclasses.asdict(container.read_header(alpha.stream)),
    }


def decoded(data: bytes, until: float | None = None) -> dict:
    """What the library decodes from ``data`` (up to ``until``), hashed."""
    _, states = spikecodec.decode_counts(data, until=until, strict=True)
    image = spikecodec.decode(data, until=until, strict=True)
    return {"counts": counts_digest(states), "image": image_digest(image)}


def _json_value(value):
    return value.hex() if isinstance(value, bytes) else value


def cut_point(data: bytes, where: str) -> int:
    """Where a vector is cut: the middle of the largest slice's payload, or 4 bytes into the
    head of slice N."""
    stream = container.unpack(data)
    slices = [(head, length) for name, head, length, _ in stream.chunks if name == "SLICE"]
    if where.startswith("inside the head of slice "):
        return slices[int(where.split()[-1])][0] + 4
    assert where == "middle of the largest slice"
    head, length = max(slices, key=lambda s: s[1])
    return head + container.CHUNK_HEAD_SIZE + length // 2


def make(
    name: str, description: str, source, params: dict, cut, frozen: bool = False
) -> tuple[bytes, dict]:
    """A vector's bytes and its entry in the index (a ``frozen`` one's bytes are the file's,
    its ``cut`` the point it was cut at)."""
    if frozen:
        data, entry_cut = (HERE / name).read_bytes(), cut
    else:
        data = spikecodec.encode(source_image(*source), **params)
        entry_cut = None
        if cut is not None:
            entry_cut = cut_point(data, cut)
            data = spikecodec.truncate(data, entry_cut)
    header = container.read_header(data)
    _, info = spikecodec.decode(data, with_info=True, strict=True)
    sample, rows, cols, gray, *alpha = source
    entry = {
        "file": name,
        "description": description,
        "source": {"sample": sample, "rows": list(rows), "cols": list(cols), "gray": gray}
        | ({"alpha": alpha[0]} if alpha else {}),
        "encode": {key: _json_value(value) for key, value in params.items()},
        "truncate": entry_cut,
        **({"frozen": True} if frozen else {}),
        "size": len(data),
        "sha256": sha256(data),
        "header": dataclasses.asdict(header),
        "metadata": {key: value.hex() for key, value in sorted(info.items())},
        **({"alpha": alpha_entry(data)} if alpha else {}),
        "decoded": decoded(data),
        "until": {str(t): decoded(data, t) for t in UNTIL},
    }
    return data, entry


def build() -> tuple[dict[str, bytes], dict]:
    files, entries = {}, []
    for vector, frozen in [(v, False) for v in VECTORS] + [(v, True) for v in FROZEN]:
        data, entry = make(*vector, frozen=frozen)
        files[entry["file"]] = data
        entries.append(entry)
    index = {
        "format_version": container.FORMAT_VERSION,
        "generator": "tests/vectors/generate.py",
        "note": "hashes are SHA-256; counts little-endian int64, levels int8, images uint8, "
        "all C order; metadata hex; encode values of bytes hex (docs/FORMAT.md 17.2)",
        "vectors": entries,
    }
    return files, index


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files, write none")
    args = parser.parse_args(argv)
    files, index = build()
    text = json.dumps(index, indent=1) + "\n"
    if args.check:
        stale = [name for name, data in files.items() if (HERE / name).read_bytes() != data]
        if INDEX.read_text() != text:
            stale.append(INDEX.name)
        print("up to date" if not stale else f"differ: {', '.join(stale)}")
        return 1 if stale else 0
    for old in HERE.glob("*.spk"):
        if old.name not in files:
            old.unlink()
    for name, data in files.items():
        (HERE / name).write_bytes(data)
    INDEX.write_text(text)
    total = sum(map(len, files.values()))
    print(f"wrote {len(files)} vectors ({total} bytes) and {INDEX.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
