"""The spike codec: ``encode(image) -> bytes`` and ``decode(bytes) -> image``.

Pipeline: colour (YCbCr 4:2:0 for RGB) -> 8x8 block DCT -> one ON/OFF LIF pair per
coefficient, band ``f`` with threshold ``theta_f = theta * W[f]`` and bias current
``b_f = beta*C*theta_f/T``, observed for ``T`` ms -> spike counts -> entropy-coded time slices
(:mod:`.entropy`) -> container (:mod:`.container`).

The membrane equation is linear in ``(I, b, theta)``: a neuron of threshold ``theta_f`` fed
``x`` fires exactly like one of threshold 1 fed ``x/theta_f``. Every band is therefore
quantized by one :class:`~spikecodec.NeuroQuantizer` with unit threshold on ``x/theta_f``.

Decoding reconstructs each count ``k`` known at the instant ``T/2^j`` inside its cell of that
window, ``[I_k(T/2^j), I_{k+1}(T/2^j)) = [I_{k 2^j}(T), I_{(k+1) 2^j}(T))``, at
``I + delta*(I' - I)``: the midpoint for DC, and for AC the centroid of a Laplacian whose
decay the decoder fits per band to the counts it has decoded (no side information): with
``r = sum(k-1)/sum(k)`` over the non-zero counts and ``a = -ln r``,
``delta = 1/a - r/(1-r)``.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
from PIL import Image, UnidentifiedImageError

from . import container
from .container import Header, PartialChunk
from .entropy import (
    Layout,
    PlaneState,
    decode_slices,
    encode_slices,
    iter_decode_slices,
    number_of_planes,
)
from .errors import (
    CorruptStreamError,
    LimitError,
    SpikeCodecError,
    SpikeCodecWarning,
    UnsupportedImageError,
)
from .neuron import LIF
from .quantizer import NeuroQuantizer
from .rangecoder import kernel, trailing_zeros
from .tables import TABLES, quality_to_step, table_weights
from .transform import Synthesis, block_dct, rgb_to_ycbcr_420, ycbcr420_to_rgb

__all__ = [
    "decode",
    "decode_counts",
    "decode_progressive",
    "encode",
    "load_image",
    "slice_instants",
    "spike_counts",
]

DEFAULT_QUALITY = 75
_EDGES = 1 << 20  # thresholds tabulated at most to dequantize; past them, computed per count
_SLAB = 1 << 15  # coefficients dequantized and inverse-transformed at a time
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


def _planes(image: np.ndarray) -> list[np.ndarray]:
    """The colour planes to code: Y only (the uint8 image), or Y and 4:2:0 Cb, Cr."""
    if image.ndim == 2:
        return [image]
    return list(rgb_to_ycbcr_420(image))


def _plane_shapes(header: Header) -> list[tuple[int, int]]:
    h, w = header.height, header.width
    if header.mode == "L":
        return [(h, w)]
    return [(h, w), ((h + 1) // 2, (w + 1) // 2), ((h + 1) // 2, (w + 1) // 2)]


def _unit_quantizer(header: Header) -> NeuroQuantizer:
    """The quantizer of unit threshold that every band shares on ``x/theta_f``."""
    lif = LIF(R=header.R, C=header.C, theta=1.0, bias=header.bias * header.C / header.T)
    return NeuroQuantizer(lif, header.T)


def _band_thresholds(header: Header, chroma: bool) -> np.ndarray:
    weights = table_weights(TABLES[header.table], chroma)
    return header.theta * weights * (header.chroma if chroma else 1.0)


def _layouts(header: Header) -> list[Layout]:
    return [
        Layout((-(-h // 8), -(-w // 8)), c > 0, _band_thresholds(header, c > 0))
        for c, (h, w) in enumerate(_plane_shapes(header))
    ]


def _check_param(name: str, value) -> None:
    """The container's domain of the header's float parameters (a stream must decode)."""
    if not container.PARAM_MIN <= float(value) <= container.PARAM_MAX:
        raise ValueError(
            f"{name} must lie in [{container.PARAM_MIN:g}, {container.PARAM_MAX:g}], got {value!r}"
        )


def spike_counts(
    image,
    quality: float | None = None,
    *,
    theta: float | None = None,
    R: float = 1e4,
    C: float = 1.0,
    T: float = 100.0,
    table: str = "mild",
    bias: float = 0.3,
    chroma: float = 1.0,
) -> tuple[Header, list[np.ndarray]]:
    """The neurons' signed spike counts of an image: what :func:`encode` codes.

    Returns the stream header and one ``(blocks_y, blocks_x, 64)`` int64 array per colour
    plane (Y, then Cb and Cr for RGB; bands in zigzag order). The parameters are those of
    :func:`encode`:

    Parameters
    ----------
    image : array_like, PIL.Image.Image, str or path
        uint8 (H, W) grayscale or (H, W, 3) RGB, or anything Pillow opens.
    quality : float, optional
        1..100 on libjpeg's scale (larger is better and bigger; default 75). Sets ``theta`` so
        that the base step ``C*theta/T`` follows :func:`~spikecodec.tables.quality_to_step`.
    theta : float, optional
        The base firing threshold, instead of ``quality`` (for experiments on the neurons).
    R, C, T : float
        Membrane resistance, capacitance and observation window in ms (``tau = R*C`` in ms).
        The default ``R*C = 100*T`` is the nearly uniform (little leak) regime.
    table : {"mild", "flat", "jpeg"}
        Per-frequency threshold table (see :mod:`spikecodec.tables`): mild (default), flat for
        mean squared error, JPEG's shape.
    bias : float
        Bias current of every neuron as a fraction ``beta`` of its step, ``b_f =
        beta*C*theta_f/T``: it narrows the dead zone. ``0 <= beta < 1``.
    chroma : float
        Threshold factor of the chroma planes (>= 1 codes them coarser).
    """
    if quality is not None and theta is not None:
        raise ValueError("give either quality or theta, not both")
    if table not in TABLES:
        raise ValueError(f"table must be one of {TABLES}, got {table!r}")
    if not 0 <= bias < 1:
        raise ValueError(f"bias must lie in [0, 1), got {bias!r}")
    if not (np.isfinite(chroma) and chroma > 0):
        raise ValueError(f"chroma must be a positive factor, got {chroma!r}")
    for name, value in (("R", R), ("C", C), ("T", T), ("chroma", chroma)):
        _check_param(name, value)
    array = load_image(image)
    if theta is None:
        step = quality_to_step(DEFAULT_QUALITY if quality is None else quality)
        theta = step * T / C
    _check_param("theta", theta)
    header = Header(
        mode="L" if array.ndim == 2 else "RGB",
        width=array.shape[1],
        height=array.shape[0],
        R=float(R),
        C=float(C),
        T=float(T),
        theta=float(theta),
        bias=float(np.float32(bias)),  # stored as float32: quantize with what is stored
        table=TABLES.index(table),
        chroma=float(np.float32(chroma)),
        planes=1,
    )
    quantizer = _unit_quantizer(header)
    pending, counts = _planes(array), []
    while pending:  # a plane is dropped once transformed, its coefficients once quantized
        thresholds = _band_thresholds(header, chroma=len(counts) > 0)
        counts.append(quantizer.encode(block_dct(pending.pop(0)), thresholds))
    planes = number_of_planes(counts)
    if planes > container.MAX_PLANES:
        raise SpikeCodecError(
            f"the counts need {planes} bit-planes, more than {container.MAX_PLANES}: "
            "raise theta or lower the quality"
        )
    return replace(header, planes=planes), counts


def encode(
    image,
    quality: float | None = None,
    *,
    target_bytes: int | None = None,
    target_bpp: float | None = None,
    target_psnr: float | None = None,
    **params,
) -> bytes:
    """Compress an image into a ``.spk`` byte string.

    The image and parameters are those of :func:`spike_counts` (``quality`` 1..100, or
    ``theta``, ``R``, ``C``, ``T``, ``table``, ``bias``, ``chroma``). A target, exactly
    ``target_bytes`` bytes, ``target_bpp`` bits per pixel (``floor(bpp*W*H/8)`` bytes) or the
    fewest bytes reaching ``target_psnr`` dB, is met by cutting a stream (a cut stream, format
    version 9): see :func:`spikecodec.ratecontrol.encode_to_target`.
    """
    if any(t is not None for t in (target_bytes, target_bpp, target_psnr)):
        from .ratecontrol import encode_to_target

        return encode_to_target(
            image,
            quality,
            target_bytes=target_bytes,
            target_bpp=target_bpp,
            target_psnr=target_psnr,
            **params,
        )
    header, counts = spike_counts(image, quality, **params)
    chunks = encode_slices(counts, _layouts(header), header.planes)
    return container.pack(header, chunks)


@kernel
def _nonzero(prefix, masks):
    """``masks[r]``: bit f set where ``prefix[r, f] != 0`` (64 bands)."""
    for r in range(prefix.shape[0]):
        m = np.int64(0)
        for f in range(prefix.shape[1]):
            m |= np.int64(prefix[r, f] != 0) << f
        masks[r] = m


@kernel
def _level_sums(prefix, level, masks, sums):
    """``sums[l, f] = (n, e)``: the number of non-zero counts ``k`` known at level ``l`` in band
    ``f`` and the sum of their ``k - 1`` (``masks``: :func:`_nonzero`). Returns the largest
    ``(k + 1) 2^l`` (0 if none)."""
    top = 0
    for r in range(prefix.shape[0]):
        m = masks[r]
        while m:
            f = trailing_zeros(m)
            m &= m - 1
            k, lv = np.int64(prefix[r, f]), level[r, f]
            sums[lv, f, 0] += 1
            sums[lv, f, 1] += k - 1
            top = max(top, (k + 1) << lv)
    return top


@kernel
def _dequantize(prefix, sign, level, masks, edges, delta, thresholds, out):
    """``out = sign * (lo + delta[l, f] * (hi - lo)) * theta_f`` where ``k != 0`` (``masks``:
    :func:`_nonzero`), with ``lo, hi = I_(k 2^l), I_((k+1) 2^l)`` from ``edges = I_1, I_2,
    ...``."""
    for r in range(prefix.shape[0]):
        m = masks[r]
        while m:
            f = trailing_zeros(m)
            m &= m - 1
            k, lv = np.int64(prefix[r, f]), level[r, f]
            lo, hi = edges[(k << lv) - 1], edges[((k + 1) << lv) - 1]
            out[r, f] = sign[r, f] * (lo + delta[lv, f] * (hi - lo)) * thresholds[f]


def _centroid_offsets(nonzero: np.ndarray, excess: np.ndarray) -> np.ndarray:
    """Reconstruction offsets ``delta`` per level and band from the number of non-zero decoded
    counts and the sum of their ``k - 1`` (Laplacian fit: ``r = (excess + 1/2) / (excess +
    nonzero + 1)``, ``a = -ln r``, ``delta = 1/a - r/(1 - r)``)."""
    r = (excess + 0.5) / (excess + nonzero + 1.0)
    a = -np.log(r)
    delta = 1.0 / a - r / (1.0 - r)
    delta[:, 0] = 0.5
    return np.clip(delta, 0.0, 0.5)


class _Dequantizer:
    """Coefficients from counts known at instants ``T/2^level`` (cells of window ``T``): each
    non-zero count ``k`` at level ``l`` lies in ``[I_(k 2^l), I_((k+1) 2^l))``, at the
    centroid offset of its band and level (fitted to all the counts of the plane), delivered a
    slab of block rows at a time."""

    def __init__(self, state: PlaneState, quantizer: NeuroQuantizer, thresholds: np.ndarray):
        self.prefix, self.sign, self.level = (
            a.reshape(-1, a.shape[-1]) for a in (state.prefix, state.sign, state.level)
        )
        self.quantizer, self.thresholds = quantizer, thresholds
        self.masks = np.empty(self.prefix.shape[0], np.int64)
        _nonzero(self.prefix, self.masks)
        sums = np.zeros((container.MAX_PLANES + 1, self.prefix.shape[1], 2), np.int64)
        top = _level_sums(self.prefix, self.level, self.masks, sums)
        self.delta = _centroid_offsets(sums[..., 0], sums[..., 1])
        self.edges = quantizer.thresholds(np.arange(1, top + 1)) if top <= _EDGES else None

    def into(self, rows: slice, out: np.ndarray) -> None:
        """The coefficients of blocks ``rows`` (in raster order) into ``out`` (zeros), shaped
        ``(n, 64)``."""
        prefix, sign, level = self.prefix[rows], self.sign[rows], self.level[rows]
        if self.edges is not None:
            args = (self.masks[rows], self.edges, self.delta, self.thresholds, out)
            _dequantize(prefix, sign, level, *args)
            return
        r, f = np.nonzero(prefix)  # counts past the edges: computed, not tabulated
        k, lv = prefix[r, f].astype(np.int64), level[r, f].astype(np.int64)
        lo, hi = self.quantizer.thresholds(k << lv), self.quantizer.thresholds((k + 1) << lv)
        out[r, f] = sign[r, f] * (lo + self.delta[lv, f] * (hi - lo)) * self.thresholds[f]


def _plane_image(dequantizer: _Dequantizer, blocks, shape, dtype) -> np.ndarray:
    """A colour plane from its counts: dequantized and inverse-transformed a slab of block rows
    at a time (``_SLAB`` coefficients), into ``dtype`` (uint8 or float)."""
    by, bx = blocks
    synthesis = Synthesis(blocks, shape, dtype)
    rows = max(1, _SLAB // (bx * 64))
    slab = np.empty((min(rows, by), bx, 64))
    for i in range(0, by, rows):
        part = slab[: min(rows, by - i)]
        part.fill(0.0)
        dequantizer.into(slice(i * bx, (i + len(part)) * bx), part.reshape(-1, 64))
        synthesis.feed(part)
    return synthesis.image()


def _open(data, max_pixels: int, strict: bool) -> tuple[Header, list[bytes], bytes]:
    """Header, intact chunks and partial last chunk of a stream. A damaged time slice ends the
    stream there with a :class:`SpikeCodecWarning` (or raises, with ``strict``)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SpikeCodecError(f"decode takes bytes, got {type(data).__name__}")
    try:
        return container.unpack(bytes(data), max_pixels)
    except CorruptStreamError as err:
        if strict or err.header is None:
            raise
        warnings.warn(
            f"{err}: decoding stops after the {len(err.chunks)} intact time slices",
            SpikeCodecWarning,
            stacklevel=3,
        )
        return err.header, err.chunks, b""


def _layouts_of(header: Header) -> list[Layout]:
    try:
        _unit_quantizer(header)
        return _layouts(header)
    except (ValueError, IndexError, ArithmeticError) as err:
        raise SpikeCodecError(f"invalid neuron parameters in the header: {err}") from err


def slice_instants(header: Header) -> np.ndarray:
    """The instant (ms) each time slice completes: ``T / 2**(P-1-s)`` for slice ``s``."""
    return header.T / np.exp2(np.arange(header.planes - 1, -1, -1))


def _cut(header: Header, chunks: list[bytes], partial: bytes, until_ms: float):
    """Keep what the neurons have emitted by ``until_ms``: the slices complete by then, and of
    the next one the share of its bytes that its time span has elapsed."""
    if not until_ms > 0:
        raise ValueError(f"the decoding instant must be positive, got {until_ms!r} ms")
    instants = slice_instants(header)
    done = int(np.searchsorted(instants, until_ms, side="right"))
    if done >= len(chunks) and not (done == len(chunks) and partial):
        return chunks, partial
    start = instants[done - 1] if done else 0.0
    share = (until_ms - start) / (instants[done] - start)
    nxt, declared = (
        (chunks[done], len(chunks[done])) if done < len(chunks) else (partial, partial.declared)
    )
    return chunks[:done], PartialChunk(nxt[: int(share * declared)], declared)


def _image(header: Header, states: list[PlaneState]) -> np.ndarray:
    quantizer = _unit_quantizer(header)
    dtype = np.uint8 if header.mode == "L" else np.float64
    planes = [
        _plane_image(
            _Dequantizer(st, quantizer, _band_thresholds(header, c > 0)),
            st.prefix.shape[:2],
            shape,
            dtype,
        )
        for c, (st, shape) in enumerate(zip(states, _plane_shapes(header), strict=True))
    ]
    return ycbcr420_to_rgb(*planes) if header.mode == "RGB" else planes[0]


def decode_counts(
    data: bytes,
    *,
    until: float | None = None,
    until_ms: float | None = None,
    strict: bool = False,
    max_pixels: int = container.MAX_IMAGE_PIXELS,
) -> tuple[Header, list[PlaneState]]:
    """The spike counts a stream carries, as far as it reaches (or up to ``until``): the header
    and one :class:`~spikecodec.entropy.PlaneState` per colour plane (``state.counts()`` are
    the counts at the instants ``T/2**state.level``). Parameters as in :func:`decode`."""
    header, chunks, partial = _open(data, max_pixels, strict)
    if until is not None and until_ms is not None:
        raise ValueError("give until (a fraction of T) or until_ms, not both")
    if until is not None:
        if not 0 < until <= 1:
            raise ValueError(f"until is a fraction of the window in (0, 1], got {until!r}")
        until_ms = until * header.T
    if until_ms is not None:
        chunks, partial = _cut(header, chunks, partial, until_ms)
    return header, decode_slices(_layouts_of(header), header.planes, chunks, partial)


def decode(
    data: bytes,
    *,
    until: float | None = None,
    until_ms: float | None = None,
    strict: bool = False,
    max_pixels: int = container.MAX_IMAGE_PIXELS,
) -> np.ndarray:
    """Decompress a ``.spk`` byte string into a uint8 array (H, W) or (H, W, 3).

    Parameters
    ----------
    data : bytes
        The stream, whole or cut short anywhere past its header: a cut stream decodes to the
        image of the latest instant it reaches.
    until, until_ms : float, optional
        Listen to the neurons only up to this instant, as a fraction ``0 < until <= 1`` of the
        window ``T`` or in ms: the image the spikes emitted by then give. At a dyadic instant
        ``T/2**j`` these are exactly the counts of a window ``T/2**j``; in between, the share
        of the next time slice's bytes that its time span has elapsed.
    strict : bool
        Raise :class:`CorruptStreamError` on a damaged time slice instead of warning and
        stopping at the last intact one.
    max_pixels : int
        Refuse streams declaring more pixels (:class:`LimitError`).
    """
    return _image(
        *decode_counts(data, until=until, until_ms=until_ms, strict=strict, max_pixels=max_pixels)
    )


def decode_progressive(
    data: bytes, *, strict: bool = False, max_pixels: int = container.MAX_IMAGE_PIXELS
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(t, image)`` after each time slice the stream holds: ``t`` in ms is the instant
    the slice completes (for a partial last slice, the instant its bytes reach)."""
    header, chunks, partial = _open(data, max_pixels, strict)
    instants = slice_instants(header)
    payloads = len(chunks) + bool(partial)
    for s, states in enumerate(
        iter_decode_slices(_layouts_of(header), header.planes, chunks, partial)
    ):
        t = instants[s]
        if s == payloads - 1 and partial:
            start = instants[s - 1] if s else 0.0
            t = start + (t - start) * len(partial) / partial.declared
        yield float(t), _image(header, states)
