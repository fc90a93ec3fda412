"""Reference codecs behind one small interface, for the rate–distortion and speed harness.

Every codec is a subclass of :class:`Codec` with a ``name``, a default sweep of ``settings``
and two methods, ``encode(image, setting) -> bytes`` and ``decode(data) -> image``; the rate is
always the whole file (``8 * len(data) / (H * W)`` bits per pixel). Codecs register themselves
in :data:`CODECS` by name with :func:`register_codec`; :func:`get_codec` makes one by name::

    codec = get_codec("jpeg2000")
    for setting in codec.settings:
        result = codec.run(image, setting)   # {"bpp": ..., "psnr": ..., "ssim": ..., ...}

Codecs that Pillow provides are a :class:`PillowCodec` subclass that names the Pillow format
and turns a setting into ``Image.save`` options; anything else (spikecodec itself, command-line
encoders) subclasses :class:`Codec` directly. Implemented: ``jpeg`` (libjpeg-turbo),
``jpeg2000`` (OpenJPEG) and ``spikecodec`` (this library). Room is left for ``mozjpeg``,
``webp``, ``avif`` and ``jpegxl``, e.g.::

    @register_codec
    class WebP(PillowCodec):
        name = "webp"
        format = "WEBP"
        feature = "webp"
        settings = [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95]

        def save_options(self, image, setting):
            return {"quality": int(setting), "method": 6}
"""

from __future__ import annotations

import io
import time
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
from PIL import Image, features

from ..metrics import bpp, psnr, ssim

__all__ = [
    "CODECS",
    "JPEG",
    "Codec",
    "JPEG2000",
    "PillowCodec",
    "SpikeCodec",
    "get_codec",
    "register_codec",
]


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got dtype {image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"image must have shape (H, W) or (H, W, 3), got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image must not be empty, got shape {image.shape}")
    return np.ascontiguousarray(image)


class Codec(ABC):
    """A reference image codec: one setting in, a whole file out, and back.

    Subclasses set the class attributes and implement :meth:`encode` and :meth:`decode`.

    Attributes
    ----------
    name : str
        The registry key (lower case, e.g. ``"jpeg"``).
    settings : list
        The default parameter sweep, in increasing rate order (what a setting means is the
        codec's own: a quality factor, a target rate in bpp, ...).
    setting_name : str
        What a setting is, for tables and plots (e.g. ``"quality"``, ``"target_bpp"``).
    """

    name: ClassVar[str]
    settings: ClassVar[list]
    setting_name: ClassVar[str] = "setting"

    @classmethod
    def available(cls) -> bool:
        """Whether this codec can run here (its library is present)."""
        return True

    @abstractmethod
    def encode(self, image: np.ndarray, setting: Any) -> bytes:
        """Compress ``image`` (uint8, ``(H, W)`` or ``(H, W, 3)``) to the bytes of a file."""

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Decompress a file made by :meth:`encode` to a uint8 image of the original shape."""

    def run(self, image: np.ndarray, setting: Any) -> dict[str, float]:
        """Encode and decode once and measure: the harness's unit of work.

        Returns
        -------
        dict
            ``bytes`` (file size), ``bpp`` (``8*bytes/(H*W)``), ``psnr`` (dB, all samples),
            ``ssim`` (on luma), ``encoding_time`` and ``decoding_time`` (seconds, wall clock).
        """
        image = _check_image(image)
        t0 = time.perf_counter()
        data = self.encode(image, setting)
        t1 = time.perf_counter()
        decoded = self.decode(data)
        t2 = time.perf_counter()
        return {
            "bytes": len(data),
            "bpp": bpp(len(data), image.shape),
            "psnr": psnr(image, decoded),
            "ssim": ssim(image, decoded),
            "encoding_time": t1 - t0,
            "decoding_time": t2 - t1,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


CODECS: dict[str, type[Codec]] = {}
"""The codec registry: name -> :class:`Codec` subclass."""


def register_codec(cls: type[Codec]) -> type[Codec]:
    """Class decorator: add a :class:`Codec` subclass to :data:`CODECS` under ``cls.name``."""
    if not (isinstance(cls, type) and issubclass(cls, Codec)):
        raise TypeError(f"only Codec subclasses can be registered, got {cls!r}")
    if cls.name in CODECS and CODECS[cls.name] is not cls:
        raise ValueError(f"a codec named {cls.name!r} is already registered")
    CODECS[cls.name] = cls
    return cls


def get_codec(name: str) -> Codec:
    """A new instance of the codec registered as ``name``.

    Raises
    ------
    ValueError
        If no codec of that name is registered, or its library is missing here.
    """
    try:
        cls = CODECS[name]
    except KeyError:
        raise ValueError(f"unknown codec {name!r}; known: {sorted(CODECS)}") from None
    if not cls.available():
        raise ValueError(f"codec {name!r} is not available: its library is missing")
    return cls()


class PillowCodec(Codec):
    """A codec that Pillow reads and writes: subclasses name the format and the save options.

    Attributes
    ----------
    format : str
        Pillow's format name for ``Image.save`` / ``Image.open`` (e.g. ``"JPEG"``).
    feature : str
        The :mod:`PIL.features` name of the library behind it, checked by :meth:`available`.
    """

    format: ClassVar[str]
    feature: ClassVar[str]

    @classmethod
    def available(cls) -> bool:
        return bool(features.check(cls.feature))

    @abstractmethod
    def save_options(self, image: np.ndarray, setting: Any) -> dict[str, Any]:
        """The keyword arguments of ``Image.save`` for this image and setting."""

    def encode(self, image: np.ndarray, setting: Any) -> bytes:
        image = _check_image(image)
        options = self.save_options(image, setting)
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format=self.format, **options)
        return buffer.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        """Decode with Pillow (only this codec's format is tried; Pillow's errors propagate)."""
        with Image.open(io.BytesIO(data), formats=[self.format]) as im:
            if im.mode not in ("L", "RGB"):
                im = im.convert("RGB")
            return np.array(im)


@register_codec
class JPEG(PillowCodec):
    """Baseline JPEG with libjpeg-turbo through Pillow, Huffman tables optimized.

    ``Image.save(format="JPEG", quality=q, optimize=True, subsampling="4:2:0")``: the IJG
    quality factor ``q`` (1–100) scales the standard quantization tables; RGB images are coded
    as YCbCr with 4:2:0 chroma subsampling (Pillow's default, stated explicitly); grayscale
    images as one component. The file is a JFIF file, headers included.

    The default sweep, q = 5…95 in 15 steps, spans 0.12–3.0 bpp on average over the luma of the
    24 Kodak images (0.06–4.6 bpp per image).
    """

    name = "jpeg"
    format = "JPEG"
    feature = "jpg"
    setting_name = "quality"
    settings = [5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95]

    def save_options(self, image: np.ndarray, setting: Any) -> dict[str, Any]:
        quality = int(setting)
        if quality != setting or not 1 <= quality <= 100:
            raise ValueError(f"JPEG quality must be an integer in [1, 100], got {setting!r}")
        return {"quality": quality, "optimize": True, "subsampling": "4:2:0"}


@register_codec
class JPEG2000(PillowCodec):
    """JPEG 2000 with OpenJPEG through Pillow: irreversible 9/7 wavelet, rate-controlled.

    The setting is a target rate in bits per pixel, turned into OpenJPEG's compression ratio
    ``ratio = 8 * channels / target_bpp`` (raw bits per pixel over target) for a single quality
    layer: ``Image.save(format="JPEG2000", irreversible=True, quality_mode="rates",
    quality_layers=[ratio], no_jp2=True)``. OpenJPEG's rate allocation counts the codestream's
    own headers, so the whole file lands on the target: on the luma of the 24 Kodak images at
    most 0.35 % above it, and at most 2 % below from 0.3 to 2.5 bpp (up to 4 % below at
    0.1–0.25 bpp, 6 % at 3 bpp, where OpenJPEG stops short on some images).

    The file is a raw J2K codestream (``no_jp2=True``), not a JP2 file: the JP2 box wrapper adds
    about 85 bytes of boxes and no information.

    RGB images are coded with the irreversible colour transform (``mct=1``, RGB -> YCbCr). Pillow
    leaves it off by default (``mct=0``), which codes R, G and B independently and costs
    3–7 dB of PSNR at equal rate (kodim01, 0.5–2 bpp).

    Other parameters are OpenJPEG's defaults: 64x64 code blocks, LRCP progression, one tile and
    5 decomposition levels (Pillow uses fewer on images smaller than 32 pixels a side).

    The default sweep spans 0.1–3 bpp.
    """

    name = "jpeg2000"
    format = "JPEG2000"
    feature = "jpg_2000"
    setting_name = "target_bpp"
    settings = [0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0]

    def save_options(self, image: np.ndarray, setting: Any) -> dict[str, Any]:
        channels = 1 if image.ndim == 2 else image.shape[2]
        raw_bpp = 8.0 * channels
        target = float(setting)
        if not (np.isfinite(target) and 0.0 < target < raw_bpp):
            raise ValueError(
                f"JPEG 2000 target bpp must be in (0, {raw_bpp:g}) for {channels} channel(s), "
                f"got {setting!r}"
            )
        return {
            "irreversible": True,
            "quality_mode": "rates",
            "quality_layers": [raw_bpp / target],
            "mct": 1 if channels == 3 else 0,
            "no_jp2": True,
        }


@register_codec
class SpikeCodec(Codec):
    """spikecodec itself, through its public API: ``spikecodec.encode(image, quality=q)`` and
    ``spikecodec.decode(data)``, with every other parameter at the library's default.

    The setting is the quality factor ``q`` (1–100, libjpeg's scale). The file is the whole
    ``.spk`` byte string, container header included. The API is looked up at each call, so the
    harness always measures the library as it is now.

    The default sweep, q = 5…95 in 13 steps, spanned 0.08–3.7 bpp on average over the luma of
    the 24 Kodak images when it was chosen (q = 10: 0.19, q = 90: 2.7 bpp); the codec's rate at
    a given quality changes as the codec does.
    """

    name = "spikecodec"
    setting_name = "quality"
    settings = [5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 85, 90, 95]

    def encode(self, image: np.ndarray, setting: Any) -> bytes:
        import spikecodec

        return spikecodec.encode(_check_image(image), quality=setting)

    def decode(self, data: bytes) -> np.ndarray:
        import spikecodec

        return spikecodec.decode(data)
