"""The spike codec: ``encode(image) -> bytes`` and ``decode(bytes) -> image``.

Pipeline: colour (YCbCr 4:2:0 for RGB, :mod:`.transform`) -> lapped 8x8 DCT -> one ON/OFF LIF
pair per coefficient, band ``f`` with threshold ``theta_f = theta * W[f]`` and bias current
``b_f = beta*C*theta_f/T``, observed for ``T`` ms (every band quantized by the one
unit-threshold quantizer on ``x/theta_f``, :func:`~spikecodec.quantizer.unit_quantizer`) ->
spike counts -> entropy-coded time slices (:mod:`.entropy`) -> container (:mod:`.format`).
Decoding runs it backwards from whatever prefix of the stream it has, reconstructing each count
inside its cell (:mod:`.reconstruction`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from . import ratecontrol
from .entropy import (
    Layout,
    PlaneState,
    decode_slices,
    encode_slices,
    iter_decode_slices,
    number_of_slices,
)
from .errors import CorruptStreamError, ParameterError, SpikeCodecError, SpikeCodecWarning
from .format import container
from .format.container import Header
from .images import load_image
from .params import (
    DEFAULTS,
    MAX_SLICES,
    band_thresholds,
    block_grid,
    encoding_header,
    plane_shapes,
    slice_instants,
)
from .quantizer import NeuroQuantizer, unit_quantizer
from .reconstruction import plane_image
from .transform import colour_planes, lapped_dct, ycbcr420_to_rgb

__all__ = ["decode", "decode_counts", "decode_progressive", "encode", "spike_counts"]


def _quantizer(header: Header) -> NeuroQuantizer:
    return unit_quantizer(header.R, header.C, header.T, header.bias)


def _layouts(header: Header) -> list[Layout]:
    return [
        Layout(block_grid(shape), c > 0, band_thresholds(header, c > 0))
        for c, shape in enumerate(plane_shapes(header))
    ]


def spike_counts(
    image,
    quality: float | None = None,
    *,
    theta: float | None = None,
    R: float = DEFAULTS["R"],
    C: float = DEFAULTS["C"],
    T: float = DEFAULTS["T"],
    table: str = DEFAULTS["table"],
    bias: float = DEFAULTS["bias"],
    chroma: float = DEFAULTS["chroma"],
) -> tuple[Header, list[np.ndarray]]:
    """The neurons' signed spike counts of an image: what :func:`encode` codes.

    Returns the stream header and one ``(blocks_y, blocks_x, 64)`` int64 array per colour
    plane (Y, then Cb and Cr for RGB; bands in zigzag order).

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

    Bad parameters raise :class:`~spikecodec.ParameterError`.
    """
    array = load_image(image)
    header = encoding_header(
        "L" if array.ndim == 2 else "RGB",
        array.shape[1],
        array.shape[0],
        quality,
        theta=theta,
        R=R,
        C=C,
        T=T,
        table=table,
        bias=bias,
        chroma=chroma,
    )
    quantizer = _quantizer(header)
    pending, counts = colour_planes(array), []
    while pending:  # a plane is dropped once transformed, its coefficients once quantized
        thresholds = band_thresholds(header, chroma=len(counts) > 0)
        counts.append(quantizer.encode(lapped_dct(pending.pop(0)), thresholds))
    slices = number_of_slices(counts)
    if slices > MAX_SLICES:
        raise SpikeCodecError(
            f"the counts need {slices} bit-planes, more than {MAX_SLICES}: "
            "raise theta or lower the quality"
        )
    return replace(header, slices=slices), counts


def encode(
    image,
    quality: float | None = None,
    *,
    theta: float | None = None,
    R: float = DEFAULTS["R"],
    C: float = DEFAULTS["C"],
    T: float = DEFAULTS["T"],
    table: str = DEFAULTS["table"],
    bias: float = DEFAULTS["bias"],
    chroma: float = DEFAULTS["chroma"],
    target_bytes: int | None = None,
    target_bpp: float | None = None,
    target_psnr: float | None = None,
) -> bytes:
    """Compress an image into a ``.spk`` byte string.

    The image and the neurons' parameters are those of :func:`spike_counts` (``quality``
    1..100, or ``theta``; ``R``, ``C``, ``T``, ``table``, ``bias``, ``chroma``). A target,
    exactly ``target_bytes`` bytes, ``target_bpp`` bits per pixel (``floor(bpp*W*H/8)``
    bytes) or the fewest bytes reaching ``target_psnr`` dB, is met by cutting a stream (a cut
    stream, format version 9): that of ``quality`` or ``theta`` when given, else the coarsest
    that reaches the target (see :mod:`spikecodec.ratecontrol`).
    """
    array = load_image(image)
    neurons = dict(R=R, C=C, T=T, table=table, bias=bias, chroma=chroma)

    def stream(quality=None, theta=None) -> bytes:
        header, counts = spike_counts(array, quality, theta=theta, **neurons)
        return container.pack(header, encode_slices(counts, _layouts(header), header.slices))

    if target_bytes is None and target_bpp is None and target_psnr is None:
        return stream(quality, theta)
    fixed = quality is not None or theta is not None
    return ratecontrol.cut_to_target(
        array,
        lambda: stream(quality, theta) if fixed else stream(100),
        None if fixed else lambda theta: stream(theta=theta),
        decode,
        target_bytes=target_bytes,
        target_bpp=target_bpp,
        target_psnr=target_psnr,
    )


def _open(data, max_pixels: int, strict: bool) -> tuple[Header, list[bytes], bytes]:
    """Header, intact chunks and partial last chunk of a stream. A damaged time slice ends the
    stream there with a :class:`SpikeCodecWarning` (or raises, with ``strict``)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParameterError(f"decode takes bytes, got {type(data).__name__}")
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


def _stream_layouts(header: Header) -> list[Layout]:
    """The layouts of a stream read from outside (its parameters checked to work)."""
    try:
        _quantizer(header)
        return _layouts(header)
    except (ValueError, IndexError, ArithmeticError) as err:
        raise SpikeCodecError(f"invalid neuron parameters in the header: {err}") from err


def _image(header: Header, states: list[PlaneState]) -> np.ndarray:
    quantizer = _quantizer(header)
    dtype = np.uint8 if header.mode == "L" else np.float64
    planes = [
        plane_image(st, quantizer, band_thresholds(header, c > 0), shape, dtype)
        for c, (st, shape) in enumerate(zip(states, plane_shapes(header), strict=True))
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
        raise ParameterError("give until (a fraction of T) or until_ms, not both")
    if until is not None:
        if not 0 < until <= 1:
            raise ParameterError(f"until is a fraction of the window in (0, 1], got {until!r}")
        until_ms = until * header.T
    if until_ms is not None:
        if not until_ms > 0:
            raise ParameterError(f"the decoding instant must be positive, got {until_ms!r} ms")
        chunks, partial = container.emitted_by(header, chunks, partial, until_ms)
    return header, decode_slices(_stream_layouts(header), header.slices, chunks, partial)


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
        iter_decode_slices(_stream_layouts(header), header.slices, chunks, partial)
    ):
        t = instants[s]
        if s == payloads - 1 and partial:
            start = instants[s - 1] if s else 0.0
            t = start + (t - start) * len(partial) / partial.declared
        yield float(t), _image(header, states)
