"""Hashes of what the codec writes and decodes, to show that a change leaves the bytes alone.

For a fixed set of images (the bundled samples, and dev images when the corpus is there: three
Kodak images in RGB and in luma, two of BSD68, one of Set12), every stream of a grid of settings
(qualities 5, 30, 75, 95; the flat and JPEG tables, a leaky neuron, no bias, coarser chroma, an
explicit theta; rate targets in bytes, bpp and PSNR) is hashed, and so is what it decodes to:
whole, cut by ``truncate`` at several sizes and instants, cut raw at byte counts inside chunk
heads and payloads, decoded ``until`` instants, decoded progressively, and its spike events.
One line per case with a short SHA-256, and one digest over them all.

Usage (from the project directory; the corpus is ``$SPIKECODEC_DATA``, default
``../shared/data``)::

    python benchmarks/stream_hashes.py [--out results/stream_hashes.json]

Run it before and after a change that must not alter the bytes and compare the digests (or
``diff`` the JSON files).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import spikecodec as sc
from spikecodec.data import load_sample
from spikecodec.format.container import HEADER_SIZE

SETTINGS: list[tuple[str, dict]] = [
    ("q5", {"quality": 5}),
    ("q30", {"quality": 30}),
    ("q75", {"quality": 75}),
    ("q95", {"quality": 95}),
    ("flat-q50", {"quality": 50, "table": "flat"}),
    ("jpeg-q50", {"quality": 50, "table": "jpeg"}),
    ("leaky-q50", {"quality": 50, "R": 100.0}),
    ("nobias-q50", {"quality": 50, "bias": 0.0}),
    ("chroma-q50", {"quality": 50, "chroma": 1.5}),
    ("theta", {"theta": 123.0, "T": 50.0}),
]
TARGETS: list[tuple[str, dict]] = [
    ("bytes", {"target_bytes": 3000}),
    ("bpp", {"target_bpp": 0.6}),
    ("psnr", {"target_psnr": 33.0}),
]
UNTIL = (0.01, 0.3, 0.5, 0.77)
CUT_FRACTIONS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 0.9)


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str((part.dtype.str, part.shape)).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(bytes(part))
    return h.hexdigest()[:16]


def images() -> list[tuple[str, np.ndarray]]:
    """The bundled samples, then dev images when the corpus is found."""
    out = [(f"sample/{name}", load_sample(name)) for name in ("kodim23", "kodim05")]
    out.append(
        (
            "sample/kodim23-gray-crop",
            np.asarray(Image.fromarray(out[0][1]).convert("L"))[3:77, 5:101],
        )
    )
    root = Path(os.environ.get("SPIKECODEC_DATA", "../shared/data"))
    if root.is_dir():
        for name in ("kodim01", "kodim05", "kodim23"):
            with Image.open(root / "kodak" / f"{name}.png") as im:
                rgb = np.asarray(im.convert("RGB"))
            out += [
                (f"kodak/{name}", rgb),
                (f"kodak/{name}-L", np.asarray(Image.fromarray(rgb).convert("L"))),
            ]
        for path in (
            root / "bsd68" / "test001.png",
            root / "bsd68" / "test002.png",
            root / "set12" / "01.png",
        ):
            with Image.open(path) as im:
                out.append((f"{path.parent.name}/{path.name}", np.asarray(im.convert("L"))))
    return out


def _raw_prefix(data: bytes, n: int) -> str:
    """The hash of what the first ``n`` bytes of a stream decode to, or of the name of the
    library's error they raise (a cut inside the header)."""
    try:
        with np.errstate(all="ignore"):
            return _digest(sc.decode(data[:n]))
    except sc.SpikeCodecError as err:
        return _digest(type(err).__name__.encode())


def cases(name: str, image: np.ndarray) -> dict[str, str]:
    """Every hash of one image."""
    rows: dict[str, str] = {}
    small = image.shape[0] * image.shape[1] < 300_000
    for label, options in SETTINGS:
        data = sc.encode(image, **options)
        key = f"{name} {label}"
        rows[f"{key} stream"] = _digest(data)
        rows[f"{key} decode"] = _digest(sc.decode(data))
        if label not in ("q75", "q95", "leaky-q50"):
            continue
        for f in CUT_FRACTIONS:
            n = max(int(f * len(data)), HEADER_SIZE)
            cut = sc.truncate(data, n)
            rows[f"{key} truncate {f:.4f}"] = _digest(cut, sc.decode(cut, strict=True))
        for until in UNTIL:
            rows[f"{key} until {until}"] = _digest(sc.decode(data, until=until))
            cut = sc.truncate(data, until=until)
            rows[f"{key} truncate until {until}"] = _digest(cut)
        for n in (HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + 1, HEADER_SIZE + 3, 100):
            rows[f"{key} raw prefix {n}"] = _raw_prefix(data, n)
        for n in (len(data) // 3, len(data) - 1):
            rows[f"{key} raw prefix {n}"] = _raw_prefix(data, n)
        if small:
            progressive = [_digest(np.array([t]), im) for t, im in sc.decode_progressive(data)]
            rows[f"{key} progressive"] = _digest(" ".join(progressive).encode())
            for source, tag in ((image, "image"), (data, "stream")):
                events = sc.to_events(
                    source, **({"quality": options["quality"]} if tag == "image" else {})
                )
                rows[f"{key} events {tag}"] = _digest(events.records)
            header, counts = sc.spike_counts(image, **options)
            rows[f"{key} counts"] = _digest(*counts)
    for label, options in TARGETS:
        if not small and label == "psnr":
            continue
        data = sc.encode(image, **options)
        rows[f"{name} target {label} stream"] = _digest(data)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="results/stream_hashes.json")
    args = parser.parse_args(argv)
    rows: dict[str, str] = {}
    for name, image in images():
        rows.update(cases(name, image))
        print(f"{name}: {len(rows)} cases so far", file=sys.stderr)
    total = _digest(json.dumps(rows, sort_keys=True).encode())
    for key, value in rows.items():
        print(f"{value}  {key}")
    print(f"{total}  ALL ({len(rows)} cases)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"digest": total, "cases": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
