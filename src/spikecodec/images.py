"""What spikecodec codes, from what users have: arrays, PIL images and image files; and the
metadata they carry.

:func:`load_image` gives a uint8 array ``(H, W)`` (grayscale) or ``(H, W, 3)`` (RGB) (or, for
``deep=True``, uint16 too: 16-bit samples; with ``alpha=True``, ``(H, W, 2)`` gray and
alpha or ``(H, W, 4)`` RGBA for images that have an alpha plane), and with
``with_info=True`` also the image's metadata as a dict like Pillow's ``Image.info``:
``"icc_profile"`` (an ICC profile), ``"exif"`` (an EXIF block, ``b"Exif\0\0"`` and a TIFF
header, as Pillow's JPEG plugin gives it) and ``"xmp"`` (an XMP packet), each present only when
the image has it. :func:`orient` applies an EXIF orientation to an array.
"""

from __future__ import annotations

import io
import os
import struct
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import LimitError, SpikeCodecWarning, UnsupportedImageError

__all__ = ["METADATA_KEYS", "image_info", "load_image", "normal_exif", "orient"]

METADATA_KEYS = ("icc_profile", "exif", "xmp")
"""The metadata spikecodec carries, by the keys of Pillow's ``Image.info``."""
_EXIF_PREFIX = b"Exif\x00\x00"
_XMP_TAG = 700  # TIFF's XMP tag
_ORIENTATION_TAG = 0x0112

_ALPHA_MODES = {"LA", "La", "RGBA", "RGBa", "PA"}
_DEEP_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}  # 16-bit gray (and 32-bit I: checked)
_NOT_DEEP_HERE = "16-bit samples are not taken here (the codec takes them: encode)"


def _deep_gray(image: Image.Image) -> np.ndarray:
    """A 16-bit gray PIL image as uint16 (an ``I`` image's samples must fit 16 bits)."""
    array = np.asarray(image)
    if array.size and (array.min() < 0 or array.max() > 0xFFFF):
        raise UnsupportedImageError(f"a {image.mode} image with samples outside 0..65535")
    return array.astype(np.uint16)


def _deep_png(source, alpha: bool) -> np.ndarray:
    """A 16-bit colour or gray-and-alpha PNG file's samples as uint16 ``(H, W, planes)``, read
    by pypng (Pillow reads such files at 8 bits); its alpha (or transparency key) refused
    unless ``alpha``."""
    import png

    try:
        if isinstance(source, io.IOBase):
            source.seek(0)
            reader = png.Reader(file=source)
        else:
            reader = png.Reader(filename=os.fspath(source))
        width, height, rows, info = reader.asDirect()
        if info["alpha"] and not alpha:  # refused before its rows are decoded
            raise UnsupportedImageError(
                f"images with alpha ({source!r}) are not supported here: flatten them first"
            )
        array = np.vstack([np.asarray(row, np.uint16) for row in rows])
    except UnsupportedImageError:
        raise
    except (png.Error, OSError, ValueError) as err:
        raise UnsupportedImageError(f"cannot read the 16-bit PNG {source!r}: {err}") from err
    array = array.reshape(height, width, info["planes"])
    return array[:, :, 0] if info["planes"] == 1 else array


def _deep_tiff(source, alpha: bool) -> np.ndarray:
    """A 16-bit colour (RGB, or RGB and alpha) TIFF file's first image as uint16 ``(H, W, 3)``
    or ``(H, W, 4)``, read by tifffile (Pillow reads such files at 8 bits), turned upright as
    its Orientation tag says (as Pillow's TIFF loader turns the images it reads); its alpha
    refused unless ``alpha``."""
    import tifffile

    try:
        if isinstance(source, io.IOBase):
            source.seek(0)
        with tifffile.TiffFile(source) as tiff:
            page = tiff.pages[0]
            samples, extra = page.samplesperpixel, len(page.extrasamples)
            if page.photometric != tifffile.PHOTOMETRIC.RGB or page.dtype != np.uint16:
                raise UnsupportedImageError(
                    f"{source!r} is a 16-bit TIFF of {page.photometric.name} samples: "
                    "spikecodec reads 16-bit RGB (and RGB and alpha) TIFF files"
                )
            if samples - extra != 3 or extra > 1:
                raise UnsupportedImageError(
                    f"{source!r} has {samples} samples per pixel, {extra} of them extra: "
                    "spikecodec reads RGB and RGB with one alpha sample"
                )
            if extra and not alpha:  # refused before its samples are decoded
                raise UnsupportedImageError(
                    f"images with alpha ({source!r}) are not supported here: flatten them first"
                )
            array = page.asarray()
            orientation = page.tags.valueof(274, 1)
            separate = page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
    except UnsupportedImageError:
        raise
    except (tifffile.TiffFileError, OSError, ValueError, KeyError) as err:
        raise UnsupportedImageError(f"cannot read the 16-bit TIFF {source!r}: {err}") from err
    if separate:
        array = np.moveaxis(array, 0, -1)
    return np.ascontiguousarray(_UPRIGHT.get(orientation, lambda a: a)(array))


def _deep_file(image: Image.Image) -> bool:
    """Whether a file Pillow opened has 16-bit samples: its tiles say ``;16``, or a TIFF's
    BitsPerSample does (Pillow reads a planar 16-bit RGB TIFF as 8-bit bands)."""
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, (1,))
        if max(bits if isinstance(bits, tuple) else (bits,)) == 16:
            return True
    return any(";16" in str(tile.args) for tile in image.tile)


_DEEP_READERS = {"PNG": _deep_png, "TIFF": _deep_tiff}
"""The readers of the 16-bit files Pillow reads at 8 bits, by Pillow's format name."""


def image_info(image: Image.Image) -> dict[str, bytes]:
    """The ICC profile, EXIF and XMP of a PIL image (those it has), as bytes."""
    info: dict[str, bytes] = {}
    if image.info.get("icc_profile"):
        info["icc_profile"] = bytes(image.info["icc_profile"])
    exif = image.info.get("exif")
    if not exif and len(image.getexif()):  # e.g. TIFF, whose EXIF lives in its own tags
        exif = image.getexif().tobytes()
    if exif:
        info["exif"] = normal_exif(exif)
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if not xmp and hasattr(image, "tag_v2"):
        xmp = image.tag_v2.get(_XMP_TAG)
    if xmp:
        info["xmp"] = xmp.encode("utf-8") if isinstance(xmp, str) else bytes(xmp)
    return info


def normal_exif(exif) -> bytes:
    """EXIF bytes with the ``b"Exif\0\0"`` prefix (a TIFF block without it gets it)."""
    exif = exif.tobytes() if isinstance(exif, Image.Exif) else bytes(exif)
    return exif if exif.startswith(_EXIF_PREFIX) else _EXIF_PREFIX + exif


def _as_la_or_rgba(image: Image.Image) -> Image.Image:
    """An image with transparency as LA or RGBA (a palette's or a colour key's transparency
    made an alpha plane; premultiplied modes undone)."""
    if image.mode in ("LA", "La") or (image.mode in ("L", "1") and "transparency" in image.info):
        return image.convert("LA")
    return image.convert("RGBA")


def load_image(image, *, with_info: bool = False, deep: bool = False, alpha: bool = False):
    """An image as a uint8 array (H, W) or (H, W, 3): from an array, a PIL image, a file (a
    path or a binary file object) or the bytes of an image file (PNG, JPEG, ...).

    Palette, bilevel and CMYK images are converted (to RGB or L). Images with alpha (LA, RGBA,
    PA, or a palette or colour key with transparency) give, with ``alpha``, LA ``(H, W, 2)`` or
    RGBA ``(H, W, 4)`` arrays, the alpha last (as do such arrays); without, they are refused
    with :class:`UnsupportedImageError`, and so are 16-bit samples unless ``deep``: then uint16
    arrays, gray or RGB, Pillow's 16-bit gray images (``I;16``: 16-bit PNG and TIFF files) and
    16-bit colour or gray-and-alpha PNG files (read by pypng) and 16-bit RGB or RGB-and-alpha
    TIFF files (read by tifffile: Pillow reads both at 8 bits) give uint16 arrays. With
    ``with_info`` the result is ``(array, info)``, ``info`` the image's metadata (see the
    module docstring; empty for an array).
    """
    if isinstance(image, (bytes, bytearray, memoryview)):
        image = io.BytesIO(bytes(image))
    if isinstance(image, (str, os.PathLike, io.IOBase)):
        try:
            with Image.open(image) as im:
                sixteen = _deep_file(im)
                if sixteen and deep and im.format in _DEEP_READERS and im.mode not in _DEEP_MODES:
                    im.load()  # its metadata (a TIFF's orientation then applied and dropped)
                    array = _DEEP_READERS[im.format](image, alpha)
                    return (array, image_info(im)) if with_info else array
                if sixteen and not (deep and im.mode in _DEEP_MODES):
                    why = (
                        _NOT_DEEP_HERE
                        if deep is False
                        else f"{im.format} files of 16-bit {im.mode} are not read: pass their "
                        "uint16 array"
                    )
                    raise UnsupportedImageError(f"{image!r} has 16-bit samples: {why}")
                return load_image(im, with_info=with_info, deep=deep, alpha=alpha)
        except Image.DecompressionBombError as err:
            raise LimitError(f"cannot read {image!r}: {err}") from err
        except UnidentifiedImageError as err:
            raise UnsupportedImageError(
                f"cannot read an image from {image!r}: not a format Pillow identifies"
            ) from err
        except OSError as err:
            raise UnsupportedImageError(f"cannot read an image from {image!r}: {err}") from err
    if isinstance(image, Image.Image):
        image.load()  # first: a TIFF loader applies its orientation itself, and drops the tag
        info = image_info(image)
        if image.mode in _ALPHA_MODES or "transparency" in image.info:
            if not alpha:
                raise UnsupportedImageError(
                    f"images with alpha ({image.mode}) are not supported here: flatten them "
                    "first, e.g. image.convert('RGB')"
                )
            array = np.asarray(_as_la_or_rgba(image))
            return (array, info) if with_info else array
        if image.mode in _DEEP_MODES:
            if not deep:
                raise UnsupportedImageError(f"a {image.mode} image: {_NOT_DEEP_HERE}")
            array = _deep_gray(image)
            return (array, info) if with_info else array
        if image.mode in ("P", "CMYK", "YCbCr", "LAB", "HSV"):
            image = image.convert("RGB")
        elif image.mode == "1":
            image = image.convert("L")
        if image.mode not in ("L", "RGB"):
            raise UnsupportedImageError(
                f"image mode {image.mode!r} is not supported: spikecodec codes 8-bit "
                "grayscale (L) and RGB images"
            )
        array = np.asarray(image)
        return (array, info) if with_info else array
    array = np.asarray(image)
    if array.dtype == np.uint16 and not deep:
        raise UnsupportedImageError(f"a uint16 array: {_NOT_DEEP_HERE}")
    if array.dtype not in (np.uint8, np.uint16):
        raise UnsupportedImageError(
            f"image arrays must be uint8 or uint16, got dtype {array.dtype}"
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not alpha and array.ndim == 3 and array.shape[2] in (2, 4):
        raise UnsupportedImageError(
            f"an array with alpha {array.shape} is not supported here (encode carries alpha; "
            "the neurons code the colour image: drop the last channel)"
        )
    channels = (3, 2, 4) if alpha else (3,)
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in channels)):
        shapes = "(H, W), (H, W, 2), (H, W, 3) or (H, W, 4)" if alpha else "(H, W) or (H, W, 3)"
        raise UnsupportedImageError(f"image arrays must have shape {shapes}, got {array.shape}")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise UnsupportedImageError(f"the image is empty (shape {array.shape})")
    return (array, {}) if with_info else array


def _orientation_entry(exif: bytes) -> tuple[int, int, str] | None:
    """Where the orientation (tag 274, one SHORT) of an EXIF block's first IFD lies: ``(offset
    of its value in ``exif``, the value, byte order)``, or None if the IFD has no such tag;
    :class:`ValueError` if the block cannot be read. The TIFF structure is read here, bounds
    checked, because a hostile block makes Pillow's EXIF reader raise what it meets (and
    writing the block back with Pillow re-encodes every tag)."""
    base = len(_EXIF_PREFIX) if exif.startswith(_EXIF_PREFIX) else 0
    order = {b"II": "<", b"MM": ">"}.get(exif[base : base + 2])
    if order is None or len(exif) < base + 8:
        raise ValueError("not a TIFF header")
    (ifd,) = struct.unpack_from(order + "I", exif, base + 4)
    at = base + ifd
    if at + 2 > len(exif):
        raise ValueError("its first IFD lies past its end")
    (count,) = struct.unpack_from(order + "H", exif, at)
    if at + 2 + 12 * count > len(exif):
        raise ValueError("its first IFD runs past its end")
    for entry in range(at + 2, at + 2 + 12 * count, 12):
        tag, kind, n = struct.unpack_from(order + "HHI", exif, entry)
        if tag == _ORIENTATION_TAG:
            if kind != 3 or n != 1:
                raise ValueError("its orientation is not one SHORT")
            return entry + 8, struct.unpack_from(order + "H", exif, entry + 8)[0], order
    return None


_UPRIGHT = {  # EXIF orientation -> the array operation that undoes it (rows, columns)
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def orient(array: np.ndarray, info: dict[str, bytes]) -> tuple[np.ndarray, dict[str, bytes]]:
    """``array`` turned upright as its EXIF orientation (tag 274: 1-8, as TIFF 6.0 defines
    them) says, and ``info`` with that tag set to 1 (top-left) and every other byte of the
    block kept; both as they are without an orientation. An orientation that cannot be read or
    lies outside 1-8 leaves them as they are, with a :class:`SpikeCodecWarning`."""
    exif = info.get("exif")
    if not exif:
        return array, info
    try:
        entry = _orientation_entry(exif)
    except ValueError as err:
        message = f"unreadable EXIF block ({err}): the image is left as it is"
        warnings.warn(message, SpikeCodecWarning, stacklevel=3)
        return array, info
    if entry is None:
        return array, info
    at, orientation, order = entry
    if orientation == 1:
        return array, info
    if orientation not in _UPRIGHT:
        warnings.warn(
            f"invalid EXIF orientation {orientation}: the image is left as it is",
            SpikeCodecWarning,
            stacklevel=3,
        )
        return array, info
    upright = np.ascontiguousarray(_UPRIGHT[orientation](array))
    exif = exif[:at] + struct.pack(order + "H", 1) + exif[at + 2 :]
    return upright, {**info, "exif": exif}
