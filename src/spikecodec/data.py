"""Sample images bundled with the package, as functions (in the manner of ``skimage.data``)."""

from __future__ import annotations

import io
from importlib import resources

import numpy as np
from PIL import Image

from .errors import ParameterError

__all__ = ["SAMPLES", "load_sample"]

SAMPLES = ("kodim23", "kodim05")
"""Names of the bundled sample images (256x256 RGB crops of the Kodak images of the same name,
released by Kodak for unrestricted use)."""


def load_sample(name: str | None = None) -> np.ndarray:
    """A bundled sample image as a uint8 ``(256, 256, 3)`` RGB array: one of :data:`SAMPLES`
    (default the first, ``"kodim23"``)."""
    name = SAMPLES[0] if name is None else name
    if name not in SAMPLES:
        raise ParameterError(f"unknown sample {name!r}; the samples are {', '.join(SAMPLES)}")
    data = resources.files(__package__).joinpath("samples", f"{name}.png").read_bytes()
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))
