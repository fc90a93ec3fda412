"""The spike codec: ``encode(image) -> bytes`` and ``decode(bytes) -> image``.

Pipeline: colour (YCoCg for RGB, chroma at 4:2:0 or 4:4:4, :mod:`.transform`) -> lapped 8x8
DCT (or, lossless, a reversible colour transform and the 5/3 wavelet) -> one ON/OFF LIF
pair per coefficient, band ``f`` with threshold ``theta_f = theta * W[f]`` and bias current
``b_f = beta*C*theta_f/T``, observed for ``T`` ms (every band quantized by the one
unit-threshold quantizer on ``x/theta_f``, :func:`~spikecodec.quantizer.unit_quantizer`) ->
spike counts -> entropy-coded time slices (:mod:`.entropy`) -> container (:mod:`.format`).
Decoding runs it backwards from whatever prefix of the stream it has, reconstructing each count
inside its cell (:mod:`.reconstruction`).

Lossless (``lossless=True``): the samples (level-shifted by 128, RGB at 4:4:4 through the
reversible colour transform of the six of :data:`~spikecodec.params.REVERSIBLE_COLOURS` whose
planes' wavelet coefficients cost the fewest bits on a quarter of the rows, estimated as
``log2(1 + |c|)`` plus a sign bit each) go through JPEG 2000's reversible 5/3 wavelet
(:mod:`.transform.wavelet`), whose blocks the coder codes with their own context tables,
and every
band's threshold is ``theta = T/C``, a step of one: with the default neurons (``R*C =
100*T``, ``bias`` 0.4) the cell of count ``k`` at the whole window is ``[k - 0.395, k +
0.605)``, so the counts are the integer coefficients themselves (checked: neurons for which
they are not are refused), the whole stream decodes exactly, and each earlier instant
``T/2**j`` gives the coefficients ``k >> j`` coarser, a lossy image like any cut stream's.

Alpha: an image with an alpha plane (LA, RGBA, a palette with transparency) is coded as its
colour image and, in the stream's ALPHA chunk, a grayscale stream of the alpha plane (lossless
by default, else at its own quality), ahead of the time slices: every instant of the stream
has the whole alpha plane. A fully opaque plane is dropped unless asked to keep it.

Stripes: an image of 16.8 megapixels or more is coded in stripes of at least 8.4 megapixels
(:data:`STRIPE_BLOCKS` luma blocks, :mod:`.entropy.stripes`), which the encoder and the
decoder run at once on ``threads`` cores (by default all those the process may use), the bytes
the same whatever their number; a smaller image is one stripe, its stream as it was before
stripes. Each stripe's models learn each slice's statistics afresh, which costs about 0.5 % of
the bytes for two stripes and 0.5 % more for each doubling, whatever their size (docs/design.md,
stripes): worth it where a decode takes long enough for the cores to matter. An RGB image of a
megapixel or more also codes its luma and its chroma apart (:data:`SPLIT_BLOCKS`): their
contexts are apart already, so this costs only the second stream's ends.

The chroma resolution is the encoder's choice per image (``subsampling="auto"``): both are
quantized and coded on a quarter of the image's rows, and the one of the lower cost
``J = D + lambda*R`` kept: ``D`` the chroma planes' squared error at full resolution weighted
as it counts over R, G and B (divided by the chroma factor squared, as the tune weighs it),
``R`` their bits, and ``lambda = w_Y Delta^2 ln2 / 6`` the slope of the luma's uniform
quantizer of step ``Delta = C*theta/T`` at high rate (``dD/dR = -2 ln2 D`` with ``D = w_Y
Delta^2 / 12`` per pixel): the choice that costs the whole image's rate-distortion least.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from . import ratecontrol
from .alpha import indexed_levels, level_indices, levels_of, split_alpha, with_alpha
from .entropy import (
    Layout,
    PlaneState,
    decode_stripes,
    encode_slices,
    encode_stripes,
    iter_decode_stripes,
    number_of_slices,
)
from .errors import (
    CorruptStreamError,
    ParameterError,
    SpikeCodecError,
    SpikeCodecWarning,
    TruncatedStreamError,
)
from .format import container
from .format.container import Header
from .images import load_image, normal_exif, orient
from .params import (
    DEFAULTS,
    MAX_SLICES,
    PLANE_WEIGHTS,
    REVERSIBLE,
    REVERSIBLE_COLOURS,
    SUBSAMPLINGS,
    band_thresholds,
    block_grid,
    encoding_header,
    flag,
    listening_instant,
    plane_shapes,
    quality_value,
    slice_instants,
    stripe_limit,
    whole,
)
from .quantizer import NeuroQuantizer, unit_quantizer
from .reconstruction import plane_image, reversible_plane
from .tables import BLOCK
from .transform import colour_image, colour_planes, lapped_dct
from .transform.colour import (
    YCOCG_TO_RGB,
    downsample_420,
    reversible_to_rgb,
    rgb_to_reversible,
    rgb_to_ycocg,
    upsample_420,
)
from .transform.wavelet import wavelet

__all__ = [
    "decode",
    "decode_counts",
    "decode_progressive",
    "encode",
    "image_from_counts",
    "plane_coefficients",
    "spike_counts",
]


STRIPE_BLOCKS = 1 << 17
"""The luma blocks of an automatic stripe at least (8.4 megapixels)."""
STRIPE_ROWS = 16
"""The luma block rows of an automatic stripe at least (128 pixel rows)."""


def _stripes(header: Header, stripes: int | None) -> int:
    """The stripes of a stream: ``stripes`` checked, or by default as many as hold
    :data:`STRIPE_BLOCKS` luma blocks and :data:`STRIPE_ROWS` rows each (at least one)."""
    most = stripe_limit(header)
    if stripes is None:
        rows, columns = block_grid((header.height, header.width))
        return max(1, min(most, rows * columns // STRIPE_BLOCKS, rows // STRIPE_ROWS))
    stripes = whole("stripes", stripes)
    if stripes > most:
        raise ParameterError(
            f"stripes must be at most {most} for this image (one block row of every plane each)"
        )
    return stripes


SPLIT_BLOCKS = 1 << 14
"""The luma blocks (a megapixel) from which an RGB stream codes its luma and chroma apart by
default."""


def _split(header: Header, split_chroma: bool | None) -> bool:
    """Whether an RGB stream codes luma and chroma apart: ``split_chroma`` checked, or by
    default from :data:`SPLIT_BLOCKS` luma blocks on (below, the second sub-stream's ends
    would cost a few tenths of a percent of the bytes)."""
    if split_chroma is None:
        rows, columns = block_grid((header.height, header.width))
        return header.mode == "RGB" and rows * columns >= SPLIT_BLOCKS
    split = flag("split_chroma", split_chroma)
    if split and header.mode != "RGB":
        raise ParameterError("split_chroma=True is for RGB images (a gray image has no chroma)")
    return split


def _threads(threads: int | None) -> int:
    """The threads to code with: ``threads`` checked, or every core this process may use."""
    if threads is None:
        if hasattr(os, "sched_getaffinity"):
            return max(1, len(os.sched_getaffinity(0)))
        return os.cpu_count() or 1
    return whole("threads", threads)


def _quantizer(header: Header) -> NeuroQuantizer:
    return unit_quantizer(header.R, header.C, header.T, header.bias)


def _layouts(header: Header) -> list[Layout]:
    geometry = int(header.transform == REVERSIBLE)  # the wavelet's context tables
    return [
        Layout(block_grid(shape), c > 0, band_thresholds(header, c), geometry)
        for c, shape in enumerate(plane_shapes(header))
    ]


def _chroma_cost(header: Header, quantizer, planes, counts) -> float:
    """``J = D + lambda*R`` of chroma ``counts`` coding the full-resolution ``planes`` (see the
    module docstring)."""
    layouts = _layouts(header)[1:]
    slices = number_of_slices(counts)
    bits = 8 * sum(map(len, encode_slices(counts, layouts, slices)))
    distortion = 0.0
    for c, (plane, k, layout) in enumerate(zip(planes, counts, layouts, strict=True), start=1):
        state = PlaneState.empty(layout, 0)
        state.prefix[...], state.sign[...] = np.abs(k), np.sign(k)
        shape = plane_shapes(header)[c]
        decoded = plane_image(state, quantizer, band_thresholds(header, c), shape, np.float64)
        if decoded.shape != plane.shape:
            decoded = upsample_420(decoded, plane.shape)
        weight = PLANE_WEIGHTS[c] / header.chroma**2
        distortion += weight * float(np.sum((plane - decoded) ** 2))
    step = header.C * header.theta / header.T
    return distortion + PLANE_WEIGHTS[0] * step**2 * math.log(2) / 6 * bits


_TRIAL_STRIPE, _TRIAL_PERIOD = 32, 128  # rows of the image a chroma resolution is tried on


def _trial_image(image: np.ndarray) -> np.ndarray:
    """The rows the chroma resolution is chosen on: all of a small image, else stripes of
    ``_TRIAL_STRIPE`` rows every ``_TRIAL_PERIOD`` (a quarter of the image)."""
    if image.shape[0] <= 2 * _TRIAL_PERIOD:
        return image
    starts = range(0, image.shape[0] - _TRIAL_STRIPE + 1, _TRIAL_PERIOD)
    return np.concatenate([image[i : i + _TRIAL_STRIPE] for i in starts])


def _subsampling(image: np.ndarray, header: Header, quantizer) -> str:
    """The chroma resolution of the lower cost ``J`` (module docstring), tried on
    :func:`_trial_image`."""
    _, cb, cr = rgb_to_ycocg(_trial_image(_on_8_bit_scale(image)))
    costs = {}
    for subsampling in SUBSAMPLINGS[1:]:
        h = replace(header, subsampling=subsampling, height=cb.shape[0])
        planes = [downsample_420(p) for p in (cb, cr)] if subsampling == "4:2:0" else [cb, cr]
        chroma = [
            quantizer.encode(lapped_dct(p), band_thresholds(h, c))
            for c, p in enumerate(planes, start=1)
        ]
        costs[subsampling] = _chroma_cost(h, quantizer, (cb, cr), chroma)
    return min(costs, key=costs.get)


def _coefficient_bits(coefficients: np.ndarray) -> float:
    """The bits a bit-plane coder spends on integer coefficients, estimated: ``log2(1 + |c|)``
    (each one's magnitude down to its last bit-plane) plus its sign if it is not 0."""
    magnitudes = np.abs(coefficients)
    return float(np.log2(1.0 + magnitudes).sum() + np.count_nonzero(magnitudes))


def _reversible_colour(image: np.ndarray, header: Header) -> int:
    """The reversible colour transform (an index of :data:`~spikecodec.params.REVERSIBLE_COLOURS`)
    whose wavelet coefficients cost the fewest bits (:func:`_coefficient_bits`) on
    :func:`_trial_image` (module docstring)."""
    trial = _trial_image(image)
    offset = 1 << (header.depth - 1)
    costs = []
    for colour in range(len(REVERSIBLE_COLOURS)):
        y, c1, c2 = rgb_to_reversible(trial, colour)
        costs.append(sum(_coefficient_bits(wavelet(p)) for p in (y - offset, c1, c2)))
    return int(np.argmin(costs))


def _on_8_bit_scale(array: np.ndarray) -> np.ndarray:
    """The samples a lossy stream codes: 8-bit ones as they are, 16-bit ones on the 8-bit scale
    (``x * 255/65535 = x / 257``, floats), so that a quality means the same at every depth."""
    return array / 257.0 if array.dtype == np.uint16 else array


def plane_coefficients(array: np.ndarray, header: Header) -> Iterator[np.ndarray]:
    """The coefficients each colour plane's neurons are fed, plane by plane (each plane dropped
    once transformed): the lapped DCT of the colour planes (16-bit samples on the 8-bit scale),
    or, for a reversible ``header``, the 5/3 wavelet of the planes of its reversible colour
    transform, luma level-shifted (integers)."""
    if header.reversible:
        offset = 1 << (header.depth - 1)
        if array.ndim == 2:
            yield wavelet(array.astype(np.int64) - offset)
            return
        y, c1, c2 = rgb_to_reversible(array, header.colour)
        pending = [y - offset, c1, c2]
        del y, c1, c2
        while pending:
            yield wavelet(pending.pop(0))
        return
    pending = colour_planes(_on_8_bit_scale(array), header.subsampling)
    while pending:
        yield lapped_dct(pending.pop(0))


def _counts_of(array: np.ndarray, header: Header, quantizer) -> list[np.ndarray]:
    """The signed counts of every plane, int32 (at most ``MAX_SLICES`` bit-planes, checked
    plane by plane); a lossless stream's must be its integer coefficients (module
    docstring)."""
    counts = []  # the plane index is len(counts): enumerate's cached tuple would hold coeffs
    for coeffs in plane_coefficients(array, header):
        plane = quantizer.encode(coeffs, band_thresholds(header, len(counts)))
        if header.reversible and not np.array_equal(plane, coeffs):
            raise ParameterError(
                "lossless=True needs neurons whose spike counts are the integers they are fed: "
                f"those of R={header.R:g}, C={header.C:g}, T={header.T:g}, "
                f"bias={float(header.bias):g} are not (keep R*C well above T and bias near "
                "0.4)"
            )
        del coeffs  # before the int32 copy: the peak stays the coefficients and their counts
        slices = number_of_slices([plane])
        if slices > MAX_SLICES:
            raise SpikeCodecError(
                f"the counts need {slices} bit-planes, more than {MAX_SLICES}: "
                "raise theta or lower the quality"
            )
        counts.append(plane.astype(np.int32))
    return counts


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
    chroma: float | None = DEFAULTS["chroma"],
    tune: str = DEFAULTS["tune"],
    subsampling: str = DEFAULTS["subsampling"],
    lossless: bool = False,
) -> tuple[Header, list[np.ndarray]]:
    """The neurons' signed spike counts of an image: what :func:`encode` codes.

    Returns the stream header and one ``(blocks_y, blocks_x, 64)`` int64 array per colour
    plane (Y, then Co and Cg for RGB; bands in zigzag order).

    Parameters
    ----------
    image : array_like, PIL.Image.Image, str or path
        uint8 (H, W) grayscale or (H, W, 3) RGB, or anything Pillow opens; uint16 too
        (16-bit arrays, ``I;16`` images, 16-bit PNG files and gray TIFF files).
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
    chroma : float, optional
        Threshold factor of the chroma planes: 1 allocates them for PSNR over R, G and B, 2
        codes them twice as coarse (see :func:`~spikecodec.params.chroma_factor`). Default:
        the tune's.
    tune : {"ssim", "psnr"}
        What the chroma allocation serves (:data:`~spikecodec.params.TUNES`): the luma's
        structure (``"ssim"``, the default: chroma 2) or PSNR over R, G and B (chroma 1).
    subsampling : {"auto", "4:2:0", "4:4:4"}
        The chroma resolution; ``"auto"`` (the default) chooses per image (module docstring).
    lossless : bool
        Code the image exactly (module docstring): the thresholds are then set (no
        ``quality``, ``theta``, ``table``, ``tune`` or ``chroma``), chroma at 4:4:4.

    Bad parameters raise :class:`~spikecodec.ParameterError`.
    """
    neurons = dict(R=R, C=C, T=T, table=table, bias=bias, chroma=chroma, tune=tune)
    header, counts = _spike_counts(
        image, quality, theta=theta, subsampling=subsampling, lossless=lossless, **neurons
    )
    return header, [c.astype(np.int64) for c in counts]


def _spike_counts(
    image, quality, *, theta, R, C, T, table, bias, chroma, tune, subsampling, lossless
) -> tuple[Header, list[np.ndarray]]:
    """:func:`spike_counts` with int32 counts, what the coder takes (half the memory of int64:
    a stream's counts stay below ``2**MAX_SLICES``)."""
    array = load_image(image, deep=True)
    if not isinstance(subsampling, str) or subsampling not in SUBSAMPLINGS:
        raise ParameterError(
            f"subsampling must be one of {', '.join(SUBSAMPLINGS)}, got {subsampling!r}"
        )
    if subsampling == "auto":
        subsampling = "4:4:4" if flag("lossless", lossless) and array.ndim == 3 else "4:2:0"
        choose = array.ndim == 3 and not lossless
    else:
        choose = False
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
        tune=tune,
        subsampling=subsampling,
        lossless=lossless,
        depth=16 if array.dtype == np.uint16 else 8,
    )
    quantizer = _quantizer(header)
    if choose:
        header = replace(header, subsampling=_subsampling(array, header, quantizer))
    if header.reversible and array.ndim == 3:
        header = replace(header, colour=_reversible_colour(array, header))
    counts = _counts_of(array, header, quantizer)
    return replace(header, slices=number_of_slices(counts)), counts


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
    chroma: float | None = DEFAULTS["chroma"],
    tune: str = DEFAULTS["tune"],
    subsampling: str = DEFAULTS["subsampling"],
    lossless: bool = False,
    target_bytes: int | None = None,
    target_bpp: float | None = None,
    target_psnr: float | None = None,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    xmp: bytes | str | None = None,
    strip: bool = False,
    alpha_quality: float | None = None,
    keep_alpha: bool = False,
    stripes: int | None = None,
    split_chroma: bool | None = None,
    threads: int | None = None,
) -> bytes:
    """Compress an image into a ``.spk`` byte string.

    The image (an array, a PIL image, a path, a file object or an image file's bytes) and the
    neurons' parameters are those of :func:`spike_counts` (``quality`` 1..100, or ``theta``;
    ``R``, ``C``, ``T``, ``table``, ``bias``, ``chroma``, ``tune``, ``subsampling``;
    ``lossless``). A target, exactly ``target_bytes`` bytes, ``target_bpp`` bits per pixel
    (``floor(bpp*W*H/8)`` bytes) or the fewest bytes reaching ``target_psnr`` dB, is met by
    cutting a stream (a cut stream): that of ``quality``, ``theta`` or ``lossless`` when given,
    else the coarsest that reaches the target (see :mod:`spikecodec.ratecontrol`).

    The stream carries the image's ICC profile, EXIF and XMP (read from a PIL image or file;
    ``icc_profile``, ``exif`` and ``xmp`` set or replace them; EXIF orientation is kept as
    metadata, not applied); ``strip=True`` carries none.

    An image with alpha (LA, RGBA, PA, a palette or colour key with transparency; an ``(H, W,
    2)`` or ``(H, W, 4)`` array) carries its alpha plane: lossless, or at ``alpha_quality``
    (1..100); a fully opaque one is dropped unless ``keep_alpha``. The whole alpha plane comes
    before the time slices (a cut keeps it) and counts in a target's bytes; ``target_psnr`` is
    that of the colour image.

    ``stripes`` sets the number of independently coded stripes (by default one per 8.4
    megapixels, see the module docstring) and ``split_chroma`` whether an RGB image codes its
    luma and chroma apart (by default from a megapixel on), all coded on ``threads`` threads (by
    default every core); the bytes do not depend on ``threads``.
    """
    array, info = load_image(image, with_info=True, deep=True, alpha=True)
    metadata = _metadata(
        info, icc_profile=icc_profile, exif=exif, xmp=xmp, strip=flag("strip", strip)
    )
    if alpha_quality is not None:
        alpha_quality = quality_value("alpha_quality", alpha_quality)
    array, alpha = split_alpha(array, flag("keep_alpha", keep_alpha))
    threads = _threads(threads)
    if alpha is not None:
        alpha = _alpha_chunk(alpha, alpha_quality, threads)
    neurons = dict(R=R, C=C, T=T, table=table, bias=bias, chroma=chroma, tune=tune)
    neurons.update(subsampling=subsampling, lossless=lossless)

    def stream(quality=None, theta=None) -> bytes:
        header, counts = _spike_counts(array, quality, theta=theta, **neurons)
        header = replace(
            header, stripes=_stripes(header, stripes), split=_split(header, split_chroma)
        )
        layouts = _layouts(header)
        parts = encode_stripes(
            counts, layouts, header.slices, header.stripes, header.split, threads
        )
        del counts
        slices = [container.join_stripes(p) for p in parts]
        return container.pack(header, slices, metadata, alpha=alpha)

    if target_bytes is None and target_bpp is None and target_psnr is None:
        return stream(quality, theta)
    fixed = quality is not None or theta is not None or lossless is True
    return ratecontrol.cut_to_target(
        array,
        lambda: stream(quality, theta) if fixed else stream(100),
        None if fixed else lambda theta: stream(theta=theta),
        lambda data: _colour(data, threads),
        target_bytes=target_bytes,
        target_bpp=target_bpp,
        target_psnr=target_psnr,
    )


def _alpha_chunk(alpha: np.ndarray, quality: float | None, threads: int) -> container.Alpha:
    """The ALPHA chunk of an alpha plane: a stream of it at ``quality``, or lossless: then
    also through its level table when it has few levels and that stream is shorter
    (:mod:`spikecodec.alpha`)."""
    if quality is not None:
        return container.Alpha(encode(alpha, quality, strip=True, threads=threads))
    plain = container.Alpha(encode(alpha, lossless=True, strip=True, threads=threads))
    levels = levels_of(alpha)
    if levels is None:
        return plain
    indexed = encode(level_indices(alpha, levels), lossless=True, strip=True, threads=threads)
    indexed = container.Alpha(indexed, tuple(int(v) for v in levels))
    depth = 8 * alpha.dtype.itemsize
    return min(plain, indexed, key=lambda chunk: len(chunk.payload(depth)))


def _metadata(info: dict, *, strip: bool, **given) -> dict[str, bytes]:
    """The metadata a stream carries: the input's ``info``, what is ``given`` instead, or none
    with ``strip``."""
    given = {key: value for key, value in given.items() if value is not None}
    if strip:
        if given:
            raise ParameterError(f"strip=True drops metadata: do not give {', '.join(given)}")
        return {}
    metadata = dict(info)
    for key, value in given.items():
        if isinstance(value, str) and key == "xmp":
            value = value.encode("utf-8")
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise ParameterError(f"{key} must be bytes, got {type(value).__name__}")
        metadata[key] = normal_exif(value) if key == "exif" else bytes(value)
    return {key: value for key, value in metadata.items() if value}


def _open(data, max_pixels: int, strict: bool) -> container.Stream:
    """A stream read by :func:`~spikecodec.format.container.unpack`. A damaged time slice ends
    the stream there, a damaged metadata chunk is dropped, and a stream shorter than it declares
    (cut short by accident: a cut stream made by :func:`~spikecodec.truncate` is complete)
    decodes what it holds, each with a :class:`SpikeCodecWarning` (or raises, with
    ``strict``)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParameterError(f"decode takes bytes, got {type(data).__name__}")
    flag("strict", strict)
    whole("max_pixels", max_pixels)
    try:
        stream = container.unpack(bytes(data), max_pixels)
    except CorruptStreamError as err:
        if strict or err.header is None:
            raise
        warnings.warn(
            f"{err}: decoding stops after the {len(err.chunks)} intact time slices",
            SpikeCodecWarning,
            stacklevel=3,
        )
        return container.Stream(err.header, slices=err.chunks, alpha=err.alpha)
    if stream.damaged:
        message = f"damaged metadata chunk(s) {', '.join(stream.damaged)}"
        if strict:
            raise CorruptStreamError(message, stream.slices, stream.header, stream.alpha)
        warnings.warn(f"{message}: dropped", SpikeCodecWarning, stacklevel=3)
    if len(data) < stream.size:
        message = f"the stream is truncated: {len(data)} of the {stream.size} bytes it declares"
        if strict:
            raise TruncatedStreamError(message)
        warnings.warn(f"{message}; decoding what is there", SpikeCodecWarning, stacklevel=3)
    return stream


def _stream_layouts(header: Header) -> list[Layout]:
    """The layouts of a stream read from outside (its parameters checked to work)."""
    try:
        _quantizer(header)
        return _layouts(header)
    except (ValueError, IndexError, ArithmeticError) as err:
        raise SpikeCodecError(f"invalid neuron parameters in the header: {err}") from err


def _planes(header: Header, states: list[PlaneState], make, release: bool) -> list[np.ndarray]:
    """Each colour plane, ``make(state, c, shape)`` of its state; with ``release`` each state is
    taken out of ``states`` as soon as its plane is made (the list is then left empty), so
    that a decoder never holds every plane's counts and every finished plane at once: its peak
    is the planes made and the states still to go (docs/design.md, memory)."""
    planes = []
    for c, shape in enumerate(plane_shapes(header)):
        planes.append(make(states.pop(0) if release else states[c], c, shape))
    return planes


def _reversible_image(
    header: Header, states: list[PlaneState], release: bool = False
) -> np.ndarray:
    """The image of a lossless stream's counts: exact once every count is whole, else the
    linear inverses' image, rounded and clipped (``release``: as :func:`_planes`)."""
    quantizer = _quantizer(header)

    def make(st: PlaneState, c: int, shape) -> np.ndarray:
        return reversible_plane(st, quantizer, band_thresholds(header, c), shape)

    planes = _planes(header, states, make, release)
    planes[0] = planes[0] + (1 << (header.depth - 1))
    image = planes[0] if header.mode == "L" else reversible_to_rgb(*planes, header.colour)
    if image.dtype.kind == "f":
        image = np.rint(image)
    dtype = np.uint16 if header.depth > 8 else np.uint8
    return np.clip(image, 0, (1 << header.depth) - 1).astype(dtype)


def _deep_image(header: Header, planes: list[np.ndarray]) -> np.ndarray:
    """The 16-bit image of a lossy stream's float planes (on the 8-bit scale): YCoCg to RGB
    unrounded, then ``rint(clip(v, 0, 255) * 257)``."""
    if header.mode == "RGB":
        y, co, cg = planes
        if header.subsampling == "4:2:0":
            co, cg = (upsample_420(p, y.shape) for p in (co, cg))
        image = np.stack([y, co - 128.0, cg - 128.0], axis=-1) @ YCOCG_TO_RGB.T
    else:
        image = planes[0]
    return np.rint(np.clip(image, 0.0, 255.0) * 257.0).astype(np.uint16)


def _image(
    header: Header, states: list[PlaneState], release: bool = False, threads: int = 1
) -> np.ndarray:
    """The image of the planes' counts (``release``: the states are taken out of ``states`` as
    they are used, :func:`_planes`; the colour conversion on up to ``threads`` threads)."""
    if header.reversible:
        return _reversible_image(header, states, release)
    quantizer = _quantizer(header)
    dtype = np.uint8 if header.mode == "L" and header.depth == 8 else np.float64

    def make(st: PlaneState, c: int, shape) -> np.ndarray:
        return plane_image(st, quantizer, band_thresholds(header, c), shape, dtype)

    planes = _planes(header, states, make, release)
    if header.depth > 8:
        return _deep_image(header, planes)
    return colour_image(planes, header.subsampling, threads)


def image_from_counts(header: Header, counts: list[np.ndarray], level: int = 0) -> np.ndarray:
    """The image that signed spike counts give, reconstructed as :func:`decode` does.

    ``counts`` holds one ``(blocks_y, blocks_x, 64)`` integer array per colour plane of
    ``header`` (zigzag bands, ``+N`` for an ON neuron's ``N`` spikes, ``-N`` for an OFF
    neuron's), the counts at the instant ``T / 2**level``: what :func:`spike_counts` returns at
    ``level = 0``, or a stream's counts :func:`decode_counts` at a dyadic instant. Counts that
    do not fit the header raise :class:`~spikecodec.ParameterError`.
    """
    level = whole("level", level, least=0)
    if level >= MAX_SLICES:
        raise ParameterError(f"level must be below {MAX_SLICES}, got {level}")
    layouts = _stream_layouts(header)
    if not isinstance(counts, (list, tuple)) or len(counts) != len(layouts):
        raise ParameterError(f"counts must be a list of {len(layouts)} arrays, one per plane")
    states = []
    for c, (k, layout) in enumerate(zip(counts, layouts, strict=True)):
        k = np.asarray(k)
        shape = (*layout.blocks, BLOCK * BLOCK)
        if k.shape != shape or not np.issubdtype(k.dtype, np.integer):
            raise ParameterError(
                f"the counts of plane {c} must be integers of shape {shape}, got {k.dtype} "
                f"{k.shape}"
            )
        if k.size and int(np.abs(k.astype(np.int64)).max()) >= 1 << (MAX_SLICES - level):
            raise ParameterError(
                f"the counts of plane {c} reach 2**{MAX_SLICES - level} spikes by T/2**{level}: "
                "more than a stream holds"
            )
        state = PlaneState.empty(layout, level)
        state.prefix[...], state.sign[...] = np.abs(k), np.sign(k)
        states.append(state)
    return _image(header, states, release=True)


def _counts(stream: container.Stream, until, until_ms, threads: int) -> list[PlaneState]:
    """The counts of a stream read, up to the instant asked for, on ``threads`` threads."""
    header = stream.header
    instant = listening_instant(header.T, until, until_ms)
    slices, partial = stream.slices, stream.partial
    if instant is not None:
        slices, partial = container.emitted_by(stream, instant)
    payloads = container.stripe_payloads(slices, partial, container.substream_count(header))
    return decode_stripes(_stream_layouts(header), header.slices, payloads, header.split, threads)


def decode_counts(
    data: bytes,
    *,
    until: float | None = None,
    until_ms: float | None = None,
    strict: bool = False,
    max_pixels: int = container.MAX_IMAGE_PIXELS,
    threads: int | None = None,
) -> tuple[Header, list[PlaneState]]:
    """The spike counts a stream carries, as far as it reaches (or up to ``until``): the header
    and one :class:`~spikecodec.entropy.PlaneState` per colour plane (``state.counts()`` are
    the counts at the instants ``T/2**state.level``). Parameters as in :func:`decode`."""
    threads = _threads(threads)
    stream = _open(data, max_pixels, strict)
    return stream.header, _counts(stream, until, until_ms, threads)


def _colour(data: bytes, threads: int) -> np.ndarray:
    """The colour image of a whole stream (without its alpha plane): what rate control
    measures."""
    stream = _open(data, container.MAX_IMAGE_PIXELS, False)
    return _image(stream.header, _counts(stream, None, None, threads), threads=threads)


def _alpha(stream: container.Stream, max_pixels: int, threads: int) -> np.ndarray | None:
    """The alpha plane of a stream read (its ALPHA chunk's stream, checked whole), or None."""
    if stream.alpha is None:
        return None
    samples = decode(stream.alpha.stream, strict=True, max_pixels=max_pixels, threads=threads)
    return indexed_levels(samples, stream.alpha.levels) if stream.alpha.levels else samples


def decode(
    data: bytes,
    *,
    until: float | None = None,
    until_ms: float | None = None,
    strict: bool = False,
    max_pixels: int = container.MAX_IMAGE_PIXELS,
    with_info: bool = False,
    auto_orient: bool = False,
    threads: int | None = None,
):
    """Decompress a ``.spk`` byte string into a uint8 array (H, W) or (H, W, 3), or, for an
    image with alpha, (H, W, 2) or (H, W, 4) with the alpha plane last (whole at every instant);
    uint16 for a 16-bit stream.

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
        Raise :class:`CorruptStreamError` on a damaged time slice or metadata chunk, and
        :class:`TruncatedStreamError` on a stream shorter than it declares, instead of warning
        and decoding what is intact.
    max_pixels : int
        Refuse streams declaring more pixels (:class:`LimitError`).
    with_info : bool
        Return ``(image, info)``: ``info`` the stream's metadata as a dict like Pillow's
        ``Image.info`` (``"icc_profile"``, ``"exif"``, ``"xmp"``: bytes, those present).
    auto_orient : bool
        Turn the image upright as its EXIF orientation says (the EXIF returned then says 1).
    threads : int, optional
        Decode a stream's stripes on this many threads (by default every core this process
        may use); the image does not depend on it.
    """
    flag("with_info", with_info)
    flag("auto_orient", auto_orient)
    threads = _threads(threads)
    stream = _open(data, max_pixels, strict)
    states = _counts(stream, until, until_ms, threads)
    image = _image(stream.header, states, release=True, threads=threads)
    alpha = _alpha(stream, max_pixels, threads)
    if alpha is not None:
        image = with_alpha(image, alpha)
    info = dict(stream.metadata)
    if auto_orient:
        image, info = orient(image, info)
    return (image, info) if with_info else image


def decode_progressive(
    data: bytes,
    *,
    strict: bool = False,
    max_pixels: int = container.MAX_IMAGE_PIXELS,
    threads: int | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(t, image)`` after each time slice the stream holds: ``t`` in ms is the instant
    the slice completes (for a partial last slice, the instant its bytes reach). Parameters as
    in :func:`decode`."""
    threads = _threads(threads)
    stream = _open(data, max_pixels, strict)
    header, partial = stream.header, stream.partial
    alpha = _alpha(stream, max_pixels, threads)
    instants = slice_instants(header)
    payloads = len(stream.slices) + bool(partial)
    layouts = _stream_layouts(header)
    parts = container.stripe_payloads(stream.slices, partial, container.substream_count(header))
    decoded = iter_decode_stripes(layouts, header.slices, parts, header.split, threads)
    for s, states in enumerate(decoded):
        t = instants[s]
        if s == payloads - 1 and partial:
            start = instants[s - 1] if s else 0.0
            t = start + (t - start) * len(partial) / partial.declared
        image = _image(header, states, threads=threads)
        yield float(t), image if alpha is None else with_alpha(image, alpha)
