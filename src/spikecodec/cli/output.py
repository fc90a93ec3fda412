"""What the commands write: image files by extension, and a line about each stream written."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import SpikeCodecError
from ..format import container

__all__ = ["image_file_bytes", "report_stream"]


def image_file_bytes(image: np.ndarray, path: Path) -> bytes:
    """``image`` as the bytes of a file in the format ``path``'s extension names (Pillow's)."""
    buf = io.BytesIO()
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise SpikeCodecError(f"cannot tell an image format from the extension of {path}")
    Image.fromarray(image).save(buf, format=fmt)
    return buf.getvalue()


def report_stream(path: str, data: bytes) -> None:
    """Print ``path: N bytes, B bpp`` for a stream written to ``path``."""
    h = container.read_header(data)
    print(f"{path}: {len(data)} bytes, {8 * len(data) / (h.width * h.height):.4f} bpp")
