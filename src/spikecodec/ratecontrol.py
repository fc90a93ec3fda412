"""Rate control by truncation: a stream cut to a byte count, a bit rate, an instant or a PSNR.

The stream is embedded (any prefix decodes), so a rate is reached exactly by cutting one:
:func:`truncate` cuts an existing stream (no re-encoding) into a cut stream, complete and
checked (:func:`spikecodec.format.container.cut_stream`), that decodes exactly
like the original's first ``n`` bytes. :func:`cut_to_target` (behind ``encode(image,
target_bytes=...)``, ``target_bpp=`` and ``target_psnr=``) chooses the stream to cut:

- ``quality`` or ``theta`` given: that stream.
- a byte budget ``n`` (``target_bpp`` gives ``n = floor(bpp*W*H/8)``): the coarsest stream (largest
  ``theta``, between qualities 1 and 100) of at least ``n`` bytes, cut to ``n``. Its length is
  nearly a power of ``theta``: a regula falsi on ``(log theta, log bytes)`` finds it within
  0.5 % in a few encodes. Cutting a stream just over the budget loses only a little of its last
  time slice (docs/design.md, "Rate control").
- ``target_psnr``: the coarsest stream whose whole reconstruction reaches the PSNR (the same
  search on ``(log theta, PSNR)``, within 0.02 dB), then its shortest prefix that still reaches
  it: a bisection over the slice ends, then over the bytes of the next slice. This is the
  fewest bytes of that stream if its PSNR never falls as bytes arrive (as measured for the
  codec); the PSNR is :func:`spikecodec.metrics.psnr` of the image against its decoding, i.e.
  of the luma for a grayscale image and over R, G and B for an RGB one.

Targets that are invalid, ambiguous or out of reach raise :class:`RateControlError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real

import numpy as np

from .errors import RateControlError
from .format import container
from .metrics import psnr
from .tables import quality_to_step

__all__ = ["cut_to_target", "truncate"]

_BYTES_RTOL = 0.005  # a budget's stream may be this much longer than the budget
_PSNR_TOL = 0.02  # dB above the target for the stream whose prefix is searched
_MAX_STEPS = 40


def _budget(pixels: int, n_bytes: int | None, bpp: float | None) -> int:
    """The byte count of a target given in bytes or in bits per pixel (``floor(bpp*pixels/8)``)."""
    if n_bytes is not None and bpp is not None:
        raise RateControlError("give a target in bytes or in bits per pixel, not both")
    if bpp is not None:
        if isinstance(bpp, bool) or not (isinstance(bpp, Real) and math.isfinite(bpp) and bpp > 0):
            raise RateControlError(f"the target bit rate must be a positive number, got {bpp!r}")
        n_bytes = math.floor(bpp * pixels / 8)
    elif isinstance(n_bytes, bool) or not isinstance(n_bytes, Integral):
        raise RateControlError(f"the target byte count must be an integer, got {n_bytes!r}")
    if n_bytes < container.HEADER_SIZE:
        raise RateControlError(
            f"a target of {n_bytes} bytes is smaller than the {container.HEADER_SIZE}-byte header"
        )
    return int(n_bytes)


def truncate(
    data: bytes,
    n_bytes: int | None = None,
    *,
    bpp: float | None = None,
    until: float | None = None,
) -> bytes:
    """Cut a stream to ``n_bytes``, to ``bpp`` bits per pixel, or to the instant ``until``.

    ``until`` is a fraction ``0 < until <= 1`` of the window ``T``: the result decodes to
    ``decode(data, until=until)``. The result is a cut stream that decodes
    with ``strict=True`` exactly like ``data[:n]``; a whole stream cut to its own length is
    returned unchanged. The stream may itself be cut or truncated, not damaged.
    """
    if sum(x is not None for x in (n_bytes, bpp, until)) != 1:
        raise RateControlError("give exactly one of n_bytes, bpp and until")
    stream = container.unpack(data)
    header = stream.header
    if until is not None:
        if isinstance(until, bool) or not (isinstance(until, Real) and 0 < until <= 1):
            raise RateControlError(f"until is a fraction of the window in (0, 1], got {until!r}")
        slices, partial = container.emitted_by(stream, until * header.T)
        n = stream.ends[len(slices) - 1] if slices else stream.first_slice
        n += container.CHUNK_HEAD_SIZE + len(partial) if partial else 0
    else:
        n = _budget(header.width * header.height, n_bytes, bpp)
        _fits(stream, n)
    if n > len(data):
        raise RateControlError(
            f"cannot cut a {len(data)}-byte stream to {n} bytes", best=float(len(data))
        )
    return container.cut_stream(data, n)


def _coarsest(
    stream: Callable[[float], bytes],
    value: Callable[[bytes], float],
    goal: float,
    finest: tuple[bytes, float],
    tol: float,
) -> bytes:
    """The stream of the largest ``x = log theta``, between the finest stream's (quality 100,
    given with its value, which reaches ``goal``) and quality 1's, whose ``value`` reaches
    ``goal``: Illinois regula falsi on a value nearly linear in ``x`` (bisection where it has no
    answer), until the stream found is within ``tol`` of the goal."""
    data, reached = finest
    x_fine = math.log(container.read_header(data).theta)
    x_coarse = x_fine + math.log(quality_to_step(1) / quality_to_step(100))
    coarse = stream(x_coarse)
    missed = value(coarse)
    if missed >= goal:
        return coarse
    excess, shortfall, side = reached - goal, missed - goal, 0  # Illinois-weighted
    over = excess  # what the stream in hand truly exceeds the goal by
    for _ in range(_MAX_STEPS):
        if over <= tol or x_coarse - x_fine < 1e-9:
            break
        x = (x_fine * shortfall - x_coarse * excess) / (shortfall - excess)
        if not x_fine < x < x_coarse:  # e.g. an infinite PSNR: bisect
            x = (x_fine + x_coarse) / 2
        candidate = stream(x)
        v = value(candidate) - goal
        if v >= 0:
            x_fine, data, excess, over = x, candidate, v, v
            shortfall, side = (shortfall / 2 if side > 0 else shortfall), 1
        else:
            x_coarse, shortfall = x, v
            excess, side = (excess / 2 if side < 0 else excess), -1
    return data


def _fits(stream: container.Stream, n: int) -> None:
    """Refuse a budget of fewer bytes than the header, alpha plane and metadata a cut keeps."""
    if n < stream.first_slice:
        raise RateControlError(
            f"a target of {n} bytes is smaller than the stream's {stream.first_slice} bytes of "
            + ("header, alpha and metadata" if stream.alpha else "header and metadata"),
            best=float(stream.first_slice),
        )


def _shortest_prefix(data: bytes, reaches: Callable[[int], bool]) -> int:
    """The fewest bytes ``n`` with ``reaches(n)``, for ``reaches(len(data))`` true and assumed
    non-decreasing in ``n``: a bisection over the slice ends, then over the next slice's bytes."""
    stream = container.unpack(data)
    ends = [stream.first_slice, *stream.ends, len(data)]
    # Invariant: the prefix of ends[hi] bytes reaches, that of ends[lo] does not (-1: none).
    lo, hi = -1, len(ends) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if reaches(ends[mid]) else (mid, hi)
    if hi == 0:
        return ends[0]
    lo, hi = ends[hi - 1], ends[hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if reaches(mid) else (mid, hi)
    return hi


def cut_to_target(
    image: np.ndarray,
    first: Callable[[], bytes],
    stream: Callable[[float], bytes] | None,
    decode: Callable[[bytes], np.ndarray],
    *,
    target_bytes: int | None = None,
    target_bpp: float | None = None,
    target_psnr: float | None = None,
) -> bytes:
    """A stream of ``image`` cut to exactly ``target_bytes`` bytes, to ``target_bpp``
    (``floor(bpp*W*H/8)`` bytes), or to the fewest bytes that reach ``target_psnr`` dB (see the
    module docstring for which stream is cut).

    ``first()`` gives the stream to cut when ``stream`` is None (a quality or theta given),
    else the finest one (quality 100) from which ``stream(theta)`` is searched; ``decode`` is
    the codec's.
    """
    if target_psnr is not None and (target_bytes is not None or target_bpp is not None):
        raise RateControlError("give one target: a rate (bytes or bpp) or a PSNR, not both")
    if target_psnr is not None and not (
        isinstance(target_psnr, Real)
        and not isinstance(target_psnr, bool)
        and math.isfinite(target_psnr)
        and target_psnr > 0
    ):
        raise RateControlError(
            f"target_psnr must be a positive finite number of dB, got {target_psnr!r}"
        )
    pixels = image.shape[0] * image.shape[1]
    n = None if target_psnr is not None else _budget(pixels, target_bytes, target_bpp)
    source = "quality 100" if stream is not None else "the quality or theta given"
    data = first()

    def search(x: float) -> bytes:
        return stream(math.exp(x))

    def fidelity(stream_bytes: bytes) -> float:
        return psnr(image, decode(stream_bytes))

    def log_size(stream_bytes: bytes) -> float:
        return math.log(len(stream_bytes))

    if n is not None:
        _fits(container.unpack(data), n)
        if len(data) < n:
            raise RateControlError(
                f"the target of {n} bytes exceeds the {len(data)}-byte stream of {source}",
                best=float(len(data)),
            )
        if stream is not None:
            data = _coarsest(
                search, log_size, math.log(n), (data, log_size(data)), math.log1p(_BYTES_RTOL)
            )
        return container.cut_stream(data, n)
    best = fidelity(data)
    if best < target_psnr:
        raise RateControlError(
            f"the target of {target_psnr:g} dB is out of reach: {source} gives {best:.2f} dB",
            best=best,
        )
    if stream is not None:
        data = _coarsest(search, fidelity, target_psnr, (data, best), _PSNR_TOL)
    prefix = _shortest_prefix(
        data, lambda m: fidelity(container.cut_stream(data, m)) >= target_psnr
    )
    return container.cut_stream(data, prefix)
