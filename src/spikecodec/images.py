"""What spikecodec codes, from what users have: arrays, PIL images and image files.

:func:`load_image` gives a uint8 array ``(H, W)`` (grayscale) or ``(H, W, 3)`` (RGB).
"""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import LimitError, UnsupportedImageError

__all__ = ["load_image"]

_ALPHA_MODES = {"LA", "La", "RGBA", "RGBa", "PA"}


def load_image(image) -> np.ndarray:
    """An image as a uint8 array (H, W) or (H, W, 3): from an array, a PIL image or a file.

    Palette, bilevel and CMYK images are converted (to RGB or L); images with alpha and
    images of more than 8 bits per sample are refused with :class:`UnsupportedImageError`.
    """
    if isinstance(image, (str, os.PathLike, io.IOBase)):
        try:
            with Image.open(image) as im:
                if any(";16" in str(tile.args) for tile in im.tile):
                    raise UnsupportedImageError(
                        f"{image!r} has 16 bits per sample: spikecodec codes 8-bit images"
                    )
                return load_image(im)
        except Image.DecompressionBombError as err:
            raise LimitError(f"cannot read {image!r}: {err}") from err
        except (UnidentifiedImageError, OSError) as err:
            raise UnsupportedImageError(f"cannot read an image from {image!r}: {err}") from err
    if isinstance(image, Image.Image):
        if image.mode in _ALPHA_MODES or "transparency" in image.info:
            raise UnsupportedImageError(
                f"images with alpha ({image.mode}) are not supported: flatten them first, "
                "e.g. image.convert('RGB')"
            )
        if image.mode in ("P", "CMYK", "YCbCr", "LAB", "HSV"):
            image = image.convert("RGB")
        elif image.mode == "1":
            image = image.convert("L")
        if image.mode not in ("L", "RGB"):
            raise UnsupportedImageError(
                f"image mode {image.mode!r} is not supported: spikecodec codes 8-bit "
                "grayscale (L) and RGB images"
            )
        return np.asarray(image)
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise UnsupportedImageError(f"image arrays must be uint8, got dtype {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise UnsupportedImageError(
            f"image arrays must have shape (H, W) or (H, W, 3), got {array.shape}"
        )
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise UnsupportedImageError(f"the image is empty (shape {array.shape})")
    return array
