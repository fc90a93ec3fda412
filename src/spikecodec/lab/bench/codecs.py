"""Reference codecs behind one small interface, for the rate–distortion and speed harness.

Every codec is a subclass of :class:`Codec` with a ``name``, a default sweep of ``settings``
and two methods, ``encode(image, setting) -> bytes`` and ``decode(data) -> image``; the rate is
always the whole file (``8 * len(data) / (H * W)`` bits per pixel). Codecs register themselves
in :data:`CODECS` by name with :func:`register_codec`; :func:`get_codec` makes one by name::

    codec = get_codec("jpeg2000")
    for setting in codec.settings:
        result = codec.run(image, setting)   # {"bpp": ..., "psnr": ..., "ssim": ..., ...}

Codecs that Pillow provides are a :class:`PillowCodec` subclass that names the Pillow format
and turns a setting into ``Image.save`` options; anything else (spikecodec itself, other
bindings) subclasses :class:`Codec` directly. Implemented:

- ``spikecodec``: this library (setting: quality 1–100); ``spikecodec-psnr``: with
  ``tune="psnr"``;
- ``jpeg``: libjpeg-turbo through Pillow, optimized Huffman tables (quality 1–100);
- ``mozjpeg``: mozjpeg through libvips (pyvips + pyvips-binary), cjpeg's tools (quality 1–100);
- ``jpeg2000``: OpenJPEG through Pillow, rate mode (target bpp);
- ``webp``: libwebp through Pillow, ``method=6`` (quality 0–100);
- ``avif``: libavif through Pillow (or pillow-avif-plugin), speed 6 (quality 0–100);
- ``jpegxl``: libjxl through imagecodecs, effort 7 (quality 0–99).

A codec whose library is missing reports itself unavailable (:meth:`Codec.available`);
:meth:`Codec.version` names the libraries behind it and their versions (the bench cache keys
its rows by it). Encoders that can use several threads are given one, so that results and
timings do not depend on the machine's cores.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import io
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import PIL
from PIL import Image, ImageFile, features

from ...metrics import bpp, luma, ms_ssim, psnr, ssim

__all__ = [
    "AVIF",
    "CODECS",
    "JPEG",
    "JPEG2000",
    "Codec",
    "JPEGXL",
    "MozJPEG",
    "PillowCodec",
    "SpikeCodec",
    "SpikeCodecPSNR",
    "WebP",
    "get_codec",
    "load_truncated",
    "pillow_decode_or_none",
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


def _quality(setting: Any, codec: str, lo: int = 1, hi: int = 100) -> int:
    quality = int(setting)
    if quality != setting or not lo <= quality <= hi:
        raise ValueError(f"{codec} quality must be an integer in [{lo}, {hi}], got {setting!r}")
    return quality


def _pillow_decode(data: bytes, format: str) -> np.ndarray:
    """Decode with Pillow, trying only ``format``; ``L`` and ``RGB`` as they are, else RGB."""
    with Image.open(io.BytesIO(data), formats=[format]) as im:
        if im.mode not in ("L", "RGB"):
            im = im.convert("RGB")
        return np.array(im)


_truncated_lock = threading.Lock()


@contextmanager
def load_truncated() -> Iterator[None]:
    """Let Pillow decode truncated files (``ImageFile.LOAD_TRUNCATED_IMAGES = True``) inside the
    context only; the previous value is restored on exit, also on error."""
    with _truncated_lock:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def pillow_decode_or_none(data: bytes, format: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """Pillow's decode of ``data`` in ``format`` as L or RGB (as ``shape`` says), or None when
    it fails or gives another shape (a file cut short, say)."""
    try:
        with Image.open(io.BytesIO(data), formats=[format]) as im:
            im.load()
            decoded = np.asarray(im.convert("RGB" if len(shape) == 3 else "L"))
    except (OSError, ValueError, SyntaxError):  # UnidentifiedImageError is an OSError
        return None
    return decoded if decoded.shape == shape else None


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "n/a"


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

    @classmethod
    def version(cls) -> str:
        """The libraries behind this codec and their versions (e.g. ``"libwebp 1.6.0; ..."``)."""
        return ""

    @abstractmethod
    def encode(self, image: np.ndarray, setting: Any) -> bytes:
        """Compress ``image`` (uint8, ``(H, W)`` or ``(H, W, 3)``) to the bytes of a file."""

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Decompress a file made by :meth:`encode` to a uint8 image of the original shape.

        A format without a grayscale mode (WebP) decodes a grayscale image to RGB.
        """

    def run(self, image: np.ndarray, setting: Any) -> dict[str, float]:
        """Encode and decode once and measure: the harness's unit of work.

        A grayscale image that the format returns as RGB (WebP) is compared with the luma of
        the decoded image.

        Returns
        -------
        dict
            ``bytes`` (file size), ``bpp`` (``8*bytes/(H*W)``), ``psnr`` (dB, all samples),
            ``psnr_y`` (dB, on luma; equal to ``psnr`` for a grayscale image), ``ssim`` and
            ``ms_ssim`` (on luma), ``encoding_time`` and ``decoding_time`` (seconds, wall
            clock, one run each).
        """
        image = _check_image(image)
        t0 = time.perf_counter()
        data = self.encode(image, setting)
        t1 = time.perf_counter()
        decoded = self.decode(data)
        t2 = time.perf_counter()
        if image.ndim == 2 and decoded.ndim == 3:
            decoded = luma(decoded)
        y_image, y_decoded = (image, decoded) if image.ndim == 2 else (luma(image), luma(decoded))
        return {
            "bytes": len(data),
            "bpp": bpp(len(data), image.shape),
            "psnr": psnr(image, decoded),
            "psnr_y": psnr(y_image, y_decoded),
            "ssim": ssim(y_image, y_decoded),
            "ms_ssim": ms_ssim(y_image, y_decoded),
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
    library : (str, str) or None
        The library's name and the :mod:`PIL.features` name that gives its version, for
        :meth:`version` (default: ``feature`` for both).
    """

    format: ClassVar[str]
    feature: ClassVar[str]
    library: ClassVar[tuple[str, str] | None] = None

    @classmethod
    def available(cls) -> bool:
        return bool(features.check(cls.feature))

    @classmethod
    def version(cls) -> str:
        name, feature = cls.library or (cls.feature, cls.feature)
        return f"{name} {features.version(feature)}; Pillow {PIL.__version__}"

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
        return _pillow_decode(data, self.format)


@register_codec
class JPEG(PillowCodec):
    """Baseline JPEG with libjpeg-turbo through Pillow, Huffman tables optimized.

    ``Image.save(format="JPEG", quality=q, optimize=True, subsampling="4:2:0")``: the IJG
    quality factor ``q`` (1–100) scales the standard quantization tables; RGB images are coded
    as YCbCr with 4:2:0 chroma subsampling (Pillow's default, stated explicitly); grayscale
    images as one component. The file is a JFIF file, headers included.

    The default sweep, q = 5…95 in 15 steps, spans 0.12–3.0 bpp on average over the luma of the
    24 Kodak images (0.06–4.6 bpp per image).

    ``JPEG(progressive=True)`` writes progressive JPEG (spectral selection and successive
    approximation scans, libjpeg's default script), the embedded JPEG a stream cut short is
    compared with (:mod:`spikecodec.lab.progressive`).
    """

    name = "jpeg"
    format = "JPEG"
    feature = "jpg"
    library = ("libjpeg-turbo", "libjpeg_turbo")
    setting_name = "quality"
    settings = [5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95]

    def __init__(self, progressive: bool = False):
        self.progressive = progressive

    def save_options(self, image: np.ndarray, setting: Any) -> dict[str, Any]:
        quality = _quality(setting, "JPEG")
        options = {"quality": quality, "optimize": True, "subsampling": "4:2:0"}
        if self.progressive:
            options["progressive"] = True
        return options

    def fit(self, image: np.ndarray, max_bytes: int) -> bytes:
        """The file of the highest quality that takes at most ``max_bytes`` (quality 1's if
        none does): a bisection over the quality, the file's size growing with it."""
        lo, hi, best = 1, 100, self.encode(image, 1)
        while lo <= hi:
            q = (lo + hi) // 2
            data = self.encode(image, q)
            if len(data) <= max_bytes:
                best, lo = data, q + 1
            else:
                hi = q - 1
        return best


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
    library = ("OpenJPEG", "jpg_2000")
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
        return self._layers_options(image, [raw_bpp / target])

    @staticmethod
    def _layers_options(image: np.ndarray, ratios: Sequence[float]) -> dict[str, Any]:
        return {
            "irreversible": True,
            "quality_mode": "rates",
            "quality_layers": [float(r) for r in ratios],
            "mct": 1 if image.ndim == 3 else 0,
            "no_jp2": True,
        }

    def layered(self, image: np.ndarray, ratios: Sequence[float]) -> bytes:
        """A codestream with one quality layer per compression ratio of ``ratios`` (raw bits
        over coded bits, coarsest first), LRCP: JPEG 2000's embedded stream."""
        buffer = io.BytesIO()
        options = self._layers_options(_check_image(image), ratios)
        Image.fromarray(image).save(buffer, format=self.format, **options)
        return buffer.getvalue()

    @classmethod
    @functools.cache
    def decodes_truncated(cls) -> bool:
        """Whether Pillow/OpenJPEG here decodes a codestream cut short (probed once).

        A two-layer codestream of a small test image is cut between its layers and decoded
        without ``LOAD_TRUNCATED_IMAGES`` (with it, Pillow hides the failure and returns a
        blank image). True only if that succeeds with a plausible PSNR. (Pillow 13 with
        OpenJPEG 2.5 does not: OpenJPEG runs in strict mode.)
        """
        y, x = np.mgrid[0:64, 0:64]
        probe = (128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0)).astype(np.uint8)
        one, two = cls().layered(probe, [40.0]), cls().layered(probe, [40.0, 4.0])
        decoded = pillow_decode_or_none(two[: (len(one) + len(two)) // 2], cls.format, probe.shape)
        return decoded is not None and psnr(probe, decoded) > 15.0


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
    options: ClassVar[dict[str, Any]] = {}

    @classmethod
    def version(cls) -> str:
        """``spikecodec <version>+<hash>``: the hash (SHA-256, 12 hex digits) of the package's
        source files outside ``lab/`` and ``cli/``, so that any change to the codec gives a new
        version."""
        import spikecodec

        return (
            f"spikecodec {spikecodec.__version__}+{_source_hash(Path(spikecodec.__file__).parent)}"
        )

    def encode(self, image: np.ndarray, setting: Any) -> bytes:
        import spikecodec

        return spikecodec.encode(_check_image(image), quality=setting, **self.options)

    def decode(self, data: bytes) -> np.ndarray:
        import spikecodec

        return spikecodec.decode(data)


@register_codec
class SpikeCodecPSNR(SpikeCodec):
    """spikecodec tuned for PSNR over R, G and B: ``spikecodec.encode(image, quality=q,
    tune="psnr")`` (the chroma planes' thresholds allocated for that metric; the same stream as
    the default for a grayscale image)."""

    name = "spikecodec-psnr"
    options: ClassVar[dict[str, Any]] = {"tune": "psnr"}


@functools.cache
def _source_hash(package: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] not in ("lab", "cli"):
            digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@functools.cache
def _vips():
    """:mod:`pyvips` if it loads and its libvips writes JPEG with mozjpeg, else None.

    mozjpeg is recognized by what it does: trellis quantization changes the file, where a
    libvips built on libjpeg-turbo ignores the option.
    """
    try:
        import pyvips
    except (ImportError, OSError):
        return None
    noise = np.random.default_rng(0).integers(0, 256, (16, 16), dtype=np.uint8)
    probe = pyvips.Image.new_from_array(noise)
    plain = probe.jpegsave_buffer(Q=75, keep=0)
    if probe.jpegsave_buffer(Q=75, keep=0, trellis_quant=True) == plain:
        return None
    pyvips.concurrency_set(1)
    return pyvips


@register_codec
class MozJPEG(Codec):
    """Progressive JPEG with mozjpeg's compression tools, through libvips (pyvips).

    The wheel of ``pyvips-binary`` bundles a libvips linked with mozjpeg (no PyPI package
    binds mozjpeg's encoder otherwise: imagecodecs' wheels are built without it, and
    ``mozjpeg-lossless-optimization`` only rewrites existing JPEG files losslessly). The
    options are those of mozjpeg's ``cjpeg`` defaults as libvips exposes them:
    ``jpegsave_buffer(Q=q, optimize_coding=True, interlace=True, trellis_quant=True,
    overshoot_deringing=True, optimize_scans=True, quant_table=3, subsample_mode="on")``: the
    quality factor ``q`` scales mozjpeg's default quantization table (3, tuned by
    N. Robidoux), coefficients are chosen by trellis quantization, scans are progressive with
    optimized splits; RGB images are coded as YCbCr 4:2:0 at every quality (like ``jpeg``),
    grayscale images as one component. Decoding is Pillow's (libjpeg-turbo; mozjpeg decodes
    the same way). Unavailable (:meth:`available` is False) when pyvips cannot load libvips or
    its libvips uses libjpeg-turbo rather than mozjpeg.
    """

    name = "mozjpeg"
    setting_name = "quality"
    settings = [5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95]

    @classmethod
    def available(cls) -> bool:
        return _vips() is not None

    @classmethod
    def version(cls) -> str:
        pyvips = _vips()
        libvips = ".".join(str(pyvips.version(i)) for i in range(3)) if pyvips else "n/a"
        return f"mozjpeg; libvips {libvips}; pyvips-binary {_package_version('pyvips-binary')}"

    def encode(self, image: np.ndarray, setting: Any) -> bytes:
        pyvips = _vips()
        if pyvips is None:
            raise ValueError("mozjpeg is not available: install pyvips and pyvips-binary")
        return pyvips.Image.new_from_array(_check_image(image)).jpegsave_buffer(
            Q=_quality(setting, "mozjpeg"),
            optimize_coding=True,
            interlace=True,
            trellis_quant=True,
            overshoot_deringing=True,
            optimize_scans=True,
            quant_table=3,
            subsample_mode="on",
            keep=0,
        )

    def decode(self, data: bytes) -> np.ndarray:
        return _pillow_decode(data, "JPEG")


@register_codec
class WebP(PillowCodec):
    """Lossy WebP (VP8) with libwebp through Pillow, slowest and best method.

    ``Image.save(format="WEBP", quality=q, method=6)``: ``q`` (0–100) sets the quantizer,
    ``method=6`` spends the most effort; the colour is YUV 4:2:0. WebP has no grayscale mode: a
    grayscale image is coded as RGB with equal channels and decodes to RGB (the harness compares
    its luma). The file is a RIFF WebP file.
    """

    name = "webp"
    format = "WEBP"
    feature = "webp"
    library = ("libwebp", "webp")
    setting_name = "quality"
    settings = [5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95]

    def save_options(self, image: np.ndarray, setting: Any) -> dict[str, Any]:
        return {"quality": _quality(setting, "WebP", 0), "method": 6}


@functools.cache
def _pillow_avif() -> bool:
    """Whether Pillow codes AVIF: by itself (recent wheels) or with pillow-avif-plugin."""
    if features.check("avif"):
        return True
    try:
        import pillow_avif  # noqa: F401  (registers the AVIF format with Pillow)
    except ImportError:
        return False
    return True


@register_codec
class AVIF(PillowCodec):
    """AVIF (AV1 intra) with libavif through Pillow.

    ``Image.save(format="AVIF", quality=q, speed=6, subsampling=s, max_threads=1)``: ``q``
    (0–100) sets the quantizer, ``speed=6`` is libavif's default trade-off (0 slowest, 10
    fastest); RGB images are coded as YUV 4:2:0 (``s="4:2:0"``), grayscale images as 4:0:0
    (``s="4:0:0"``: luma only, decoded as grayscale). Recent
    Pillow wheels code AVIF themselves (``PIL.features.check("avif")``); with a Pillow that does
    not, ``pillow-avif-plugin`` (same options) is used if installed.
    """

    name = "avif"
    format = "AVIF"
    feature = "avif"
    library = ("libavif", "avif")
    setting_name = "quality"
    settings = [5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95]

    @classmethod
    def available(cls) -> bool:
        return _pillow_avif()

    @classmethod
    def version(cls) -> str:
        if features.check("avif"):
            return super().version()
        return f"pillow-avif-plugin {_package_version('pillow-avif-plugin')}"

    def save_options(self, image: np.ndarray, setting: Any) -> dict[str, Any]:
        _pillow_avif()
        quality = _quality(setting, "AVIF", 0)
        subsampling = "4:0:0" if image.ndim == 2 else "4:2:0"
        return {"quality": quality, "speed": 6, "subsampling": subsampling, "max_threads": 1}

    def decode(self, data: bytes) -> np.ndarray:
        _pillow_avif()
        return super().decode(data)


@register_codec
class JPEGXL(Codec):
    """Lossy JPEG XL (VarDCT) with libjxl through imagecodecs, effort 7.

    ``imagecodecs.jpegxl_encode(image, level=q, effort=7, numthreads=1)``: the quality ``q``
    (0–99) becomes libjxl's Butteraugli distance (``JxlEncoderDistanceFromQuality``: q = 90 is
    distance 1.0); effort 7 is libjxl's default (``cjxl -e 7``). Grayscale images are coded as
    one channel. The file is a bare JPEG XL codestream.
    """

    name = "jpegxl"
    setting_name = "quality"
    settings = [5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95]

    @classmethod
    def available(cls) -> bool:
        try:
            import imagecodecs
        except ImportError:
            return False
        return bool(imagecodecs.JPEGXL.available)

    @classmethod
    def version(cls) -> str:
        import imagecodecs

        return f"{imagecodecs.jpegxl_version()}; imagecodecs {imagecodecs.__version__}"

    def encode(self, image: np.ndarray, setting: Any) -> bytes:
        import imagecodecs

        quality = _quality(setting, "JPEG XL", 0, 99)
        return imagecodecs.jpegxl_encode(_check_image(image), level=quality, effort=7, numthreads=1)

    def decode(self, data: bytes) -> np.ndarray:
        import imagecodecs

        return imagecodecs.jpegxl_decode(data, numthreads=1)
