"""Encoding parameters and stream geometry: defaults, domains, and what follows from them.

One owner for what the encoder is told and what a decoder derives from the stream header:

- the encoding parameters (:data:`DEFAULTS`, :data:`ENCODE_OPTIONS`): ``quality`` 1..100 on
  libjpeg's scale, or the base threshold ``theta`` itself; the membrane ``R``, ``C`` and the
  window ``T`` (ms, ``tau = R*C`` in ms); the threshold ``table``; the bias current ``bias`` as
  a fraction ``beta`` of a step; the chroma planes' threshold factor ``chroma`` (or the
  ``tune`` that sets it) and their resolution ``subsampling``; ``lossless``, the reversible
  path whose thresholds are one integer step;
- their domains, checked with :class:`~spikecodec.ParameterError` on the way in
  (:func:`encoding_header`) and by the container on the way out (:func:`domain_error`);
- the :class:`Header` a stream starts with, and its geometry: the colour planes' shapes
  (:func:`plane_shapes`) and block grids (:func:`block_grid`), each band's threshold
  (:func:`band_thresholds`), and the instant each time slice completes (:func:`slice_instants`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from numbers import Integral, Real

import numpy as np

from .errors import ParameterError
from .tables import BLOCK, TABLES, quality_to_step, table_weights

__all__ = [
    "DEFAULTS",
    "DEFAULT_QUALITY",
    "DEPTHS",
    "ENCODE_OPTIONS",
    "MAX_SLICES",
    "MAX_STRIPES",
    "MODES",
    "PARAM_MAX",
    "PARAM_MIN",
    "PLANE_WEIGHTS",
    "RGB_TO_YCOCG",
    "SUBSAMPLINGS",
    "TUNES",
    "Header",
    "band_thresholds",
    "block_grid",
    "chroma_factor",
    "domain_error",
    "encoding_header",
    "flag",
    "listening_instant",
    "plane_shapes",
    "positive",
    "slice_instants",
    "stripe_limit",
    "stripe_rows",
    "whole",
]

DEFAULT_QUALITY = 75
TUNES = {"ssim": 2.0, "psnr": 1.0}
"""The chroma factor each ``tune`` stands for: ``psnr`` allocates the chroma thresholds for
PSNR over R, G and B; ``ssim`` (the default) codes chroma twice as coarse, for the luma's
structure (SSIM, MS-SSIM, the eye)."""
SUBSAMPLINGS = ("auto", "4:2:0", "4:4:4")
"""Chroma resolutions: half in each direction, full, or the encoder's choice per image."""
DEFAULTS = {
    "R": 1e4,
    "C": 1.0,
    "T": 100.0,
    "table": "mild",
    "bias": 0.4,
    "chroma": None,
    "tune": "ssim",
    "subsampling": "auto",
}
"""The encoder's defaults: ``R*C = 100*T``, the nearly uniform (little leak) regime; the chroma
factor from the tune."""
ENCODE_OPTIONS = ("quality", "theta", *DEFAULTS, "lossless")
"""The keyword parameters of :func:`spikecodec.encode` that set the neurons."""
MODES = ("L", "RGB")
"""Image modes."""
DEPTHS = (8, 16)
"""Bits per sample."""
LAPPED, FIRST_REVERSIBLE, REVERSIBLE = 0, 1, 2
"""How the samples are coded (the ``SAMPLES`` chunk's transform): the lapped DCT and YCoCg of
the lossy path; the reversible 5/3 wavelet and YCoCg-R with the DCT's context tables (the first
lossless streams, still read, no longer written); the reversible 5/3 wavelet with the wavelet's
own context tables (:data:`~spikecodec.entropy.contexts.GEOMETRIES`) and a reversible colour
transform among :data:`REVERSIBLE_COLOURS`."""
REVERSIBLE_COLOURS = ("YCoCg-R", "YCoCg-R/R", "YCoCg-R/B", "RCT", "RCT/R", "RCT/B")
"""The reversible colour transforms of a lossless RGB stream, by index: YCoCg-R and JPEG 2000's
RCT, each with green (no suffix), red (``/R``) or blue (``/B``) in green's place
(:func:`spikecodec.transform.colour.rgb_to_reversible`)."""
RGB_TO_YCOCG = np.array([[0.25, 0.5, 0.25], [0.5, 0.0, -0.5], [-0.25, 0.5, -0.25]])
"""The YCoCg matrix from (R, G, B) to (Y, Co - 128, Cg - 128): ``Y = (R + 2G + B)/4``,
``Co = (R - B)/2``, ``Cg = (2G - R - B)/4``, inverted by ``G = Y + Cg``, ``R = Y + Co - Cg``,
``B = Y - Co - Cg`` (the transform JPEG XR and the lossless path's reversible YCoCg-R use)."""
PLANE_WEIGHTS = (np.linalg.inv(RGB_TO_YCOCG) ** 2).sum(axis=0)
"""The squared error over R, G and B that a unit of squared error in Y, Co and Cg gives: the
squared column norms of the inverse colour matrix, 3, 2 and 3."""
MAX_SLICES = 31
"""Time slices at most: counts stay below ``2**31``, which the decoder holds in int32."""
MAX_STRIPES = 256
"""The most stripes a stream may have (:attr:`Header.stripes`): each decodes with models of its
own (133 kB), so that a hostile stream of many stripes costs at most 34 MB of them."""
PARAM_MIN = 1e-30
PARAM_MAX = 1e30
"""R, C, T (ms), theta and chroma lie in ``[PARAM_MIN, PARAM_MAX]``: far wider than any use, and
narrow enough that no threshold, step or reconstruction derived from them (products and
quotients of a few of them and of counts below ``2**MAX_SLICES``) overflows or divides by 0."""
_BOUNDED = ("R", "C", "T", "theta", "chroma")


@dataclass(frozen=True)
class Header:
    """What a decoder needs before the first time slice: image geometry and neurons.

    ``mode`` is ``"L"`` or ``"RGB"`` (YCoCg inside, the chroma at ``subsampling`` ``"4:2:0"``
    or ``"4:4:4"``), ``width`` and ``height`` in pixels; ``R``, ``C``, ``T`` (ms) the membrane
    and the window, ``theta`` the base threshold, ``bias`` the bias current as a fraction
    ``beta`` of a step, ``table`` the id of the threshold table
    (:data:`~spikecodec.tables.TABLES`), ``chroma`` the chroma planes' threshold factor (see
    :func:`band_thresholds`), ``slices`` the number of time slices (bit-planes of the counts);
    ``cut`` marks a cut stream, which may end before its last slice, inside one. ``depth`` is
    the bits per sample; ``transform`` how the samples are coded (:data:`LAPPED`,
    :data:`FIRST_REVERSIBLE`, :data:`REVERSIBLE`); a reversible one (:attr:`reversible`) makes a
    lossless stream: the integer transforms (:mod:`~spikecodec.transform.wavelet`, the colour
    transform ``colour``, an index of :data:`REVERSIBLE_COLOURS`) and one threshold ``theta``
    for every band and plane, so that the last slice's counts are the integer coefficients
    themselves. ``alpha`` says the image has an alpha plane (the stream's ALPHA chunk).
    ``stripes`` is the number of stripes, bands of block rows whose counts are coded
    independently, each slice holding one sub-stream of each (:func:`stripe_rows`, the
    stream's STRIPES chunk), and ``split`` says that an RGB stream codes each stripe's luma
    and chroma in two sub-streams: a decoder runs them at once on several cores.
    """

    mode: str
    width: int
    height: int
    R: float
    C: float
    T: float
    theta: float
    bias: float
    table: int
    chroma: float
    slices: int
    cut: bool = False
    subsampling: str = "4:2:0"
    depth: int = 8
    transform: int = LAPPED
    colour: int = 0
    alpha: bool = False
    stripes: int = 1
    split: bool = False

    @property
    def reversible(self) -> bool:
        """Whether the stream is lossless (a reversible ``transform``)."""
        return self.transform != LAPPED


def domain_error(name: str, value) -> str | None:
    """Why ``value`` lies outside the domain of the header field ``name``, or None."""
    if name in _BOUNDED:
        if not PARAM_MIN <= value <= PARAM_MAX:  # also False for NaN
            return f"{name} = {value!r} (the format allows {PARAM_MIN:g} to {PARAM_MAX:g})"
    elif name == "bias":
        if not 0 <= value < 1:
            return f"bias = {value!r} (must lie in [0, 1))"
    elif name == "table":
        if not 0 <= value < len(TABLES):
            return f"threshold table id {value}"
    elif name == "slices":
        if not 1 <= value <= MAX_SLICES:
            return f"number of time slices {value} (1 to {MAX_SLICES})"
    return None


def _number(name: str, value) -> float:
    """``value`` as a float, refusing what is not a real number (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ParameterError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


def _real(name: str, value) -> float:
    """``value`` as a finite float."""
    value = _number(name, value)
    if not math.isfinite(value):
        raise ParameterError(f"{name} must be finite, got {value!r}")
    return value


def quality_value(name: str, value) -> float:
    """``value`` as a quality on libjpeg's scale, ``1 <= value <= 100``."""
    value = _real(name, value)
    if not 1 <= value <= 100:
        raise ParameterError(f"{name} must lie in 1..100, got {value!r}")
    return value


def positive(name: str, value) -> float:
    """``value`` as a float if it is a positive finite real number, else
    :class:`ParameterError`."""
    value = _number(name, value)
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(f"{name} must be a positive finite number, got {value!r}")
    return value


def listening_instant(T: float, until, until_ms) -> float | None:
    """The instant (ms) to listen up to: ``until`` (a fraction of the window ``T`` in
    ``(0, 1]``) or ``until_ms``, at most one of them; None if neither. Bad values raise
    :class:`ParameterError`."""
    if until is not None and until_ms is not None:
        raise ParameterError("give until (a fraction of T) or until_ms, not both")
    if until is not None:
        if not positive("until", until) <= 1:
            raise ParameterError(f"until is a fraction of the window in (0, 1], got {until!r}")
        return until * T
    return None if until_ms is None else positive("until_ms", until_ms)


def flag(name: str, value) -> bool:
    """``value`` if it is a bool, else :class:`ParameterError`."""
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def whole(name: str, value, least: int = 1) -> int:
    """``value`` as an int if it is an integer (not a bool) of at least ``least``, else
    :class:`ParameterError`."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < least:
        raise ParameterError(
            f"{name} must be an integer of at least {least}, got {type(value).__name__} {value!r}"
        )
    return int(value)


def _checked(name: str, value) -> float:
    value = _real(name, value)
    problem = domain_error(name, value)
    if problem is not None:
        raise ParameterError(f"invalid {problem}")
    return value


def encoding_header(
    mode: str,
    width: int,
    height: int,
    quality=None,
    *,
    theta=None,
    R=DEFAULTS["R"],
    C=DEFAULTS["C"],
    T=DEFAULTS["T"],
    table=DEFAULTS["table"],
    bias=DEFAULTS["bias"],
    chroma=DEFAULTS["chroma"],
    tune=DEFAULTS["tune"],
    subsampling="4:2:0",
    lossless=False,
    depth=8,
) -> Header:
    """The header of a stream encoding an image of ``mode`` and size with these parameters
    (those of :func:`spikecodec.encode`), every one checked (:class:`ParameterError`).

    ``quality`` sets ``theta`` so that the base step ``C*theta/T`` is
    :func:`~spikecodec.tables.quality_to_step` (default quality
    :data:`DEFAULT_QUALITY`); ``chroma`` is the ``tune``'s (:data:`TUNES`) unless given;
    ``bias`` and ``chroma`` are rounded to the float32 the header stores, so that the encoder
    quantizes with what the decoder reads. ``subsampling`` is a resolution (the caller decides
    ``"auto"``); ``slices`` is 1 until the counts are known.

    ``lossless=True`` makes a reversible stream: ``theta = T/C``, so that every band's step
    ``C*theta/T`` is one integer (neither ``quality``, ``theta``, ``chroma`` nor another
    ``table`` or ``tune`` then apply, and are refused), RGB at 4:4:4. ``depth`` is the bits
    per sample, 8 or 16 (a lossy 16-bit stream codes its samples on the 8-bit scale, so that a
    quality means the same at both depths: :func:`spikecodec.codec.plane_coefficients`).
    """
    if depth not in DEPTHS:
        raise ParameterError(f"depth must be one of {', '.join(map(str, DEPTHS))}, got {depth!r}")
    if quality is not None and theta is not None:
        raise ParameterError("give either quality or theta, not both")
    if flag("lossless", lossless):
        given = [name for name, v in (("quality", quality), ("theta", theta)) if v is not None]
        given += [] if chroma is None else ["chroma"]
        for name, value in (("table", table), ("tune", tune)):
            if not (isinstance(value, str) and value == DEFAULTS[name]):
                given.append(name)
        if mode == "RGB" and subsampling != "4:4:4":
            given.append("subsampling")
        if given:
            raise ParameterError(
                "lossless=True sets the thresholds (one integer step for every band) and codes "
                f"chroma at 4:4:4: do not give {', '.join(given)}"
            )
    R, C, T = (_checked(name, v) for name, v in (("R", R), ("C", C), ("T", T)))
    if not isinstance(table, str) or table not in TABLES:
        raise ParameterError(f"table must be one of {', '.join(TABLES)}, got {table!r}")
    if not isinstance(tune, str) or tune not in TUNES:
        raise ParameterError(f"tune must be one of {', '.join(TUNES)}, got {tune!r}")
    if subsampling not in SUBSAMPLINGS[1:]:
        raise ParameterError(
            f"subsampling must be one of {', '.join(SUBSAMPLINGS)}, got {subsampling!r}"
        )
    bias = _checked("bias", np.float32(_real("bias", bias)))
    chroma = TUNES[tune] if chroma is None else chroma
    chroma = _checked("chroma", np.float32(_real("chroma", chroma)))
    if lossless:
        theta = T / C
    if theta is None:
        step = quality_to_step(_real("quality", DEFAULT_QUALITY if quality is None else quality))
        theta = step * T / C
    theta = _checked("theta", theta)
    table = TABLES.index(table)
    if lossless:
        table, chroma = TABLES.index("flat"), 1.0
    header = Header(mode, width, height, R, C, T, theta, bias, table, chroma, 1, False, subsampling)
    return replace(header, transform=REVERSIBLE if lossless else LAPPED, depth=depth)


def block_grid(shape: tuple[int, int]) -> tuple[int, int]:
    """The 8x8 blocks ``(rows, columns)`` covering a plane of ``shape`` pixels (padded)."""
    return -(-shape[0] // BLOCK), -(-shape[1] // BLOCK)


def plane_shapes(header: Header) -> list[tuple[int, int]]:
    """The colour planes' shapes: Y, then for RGB Co and Cg (halved at 4:2:0)."""
    h, w = header.height, header.width
    if header.mode == "L":
        return [(h, w)]
    chroma = ((h + 1) // 2, (w + 1) // 2) if header.subsampling == "4:2:0" else (h, w)
    return [(h, w), chroma, chroma]


def stripe_limit(header: Header) -> int:
    """The most stripes a stream of ``header`` may have: one block row of every colour plane
    each (the fewest rows of any plane), and at most :data:`MAX_STRIPES`."""
    return min(MAX_STRIPES, *(block_grid(shape)[0] for shape in plane_shapes(header)))


def stripe_rows(rows: int, stripes: int) -> list[tuple[int, int]]:
    """The block rows ``[start, stop)`` of each of ``stripes`` stripes of a plane of ``rows``
    block rows: stripe ``k`` starts at ``floor(k * rows / stripes)``."""
    bounds = [k * rows // stripes for k in range(stripes + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def chroma_factor(header: Header, plane: int) -> float:
    """The threshold factor of chroma plane 1 (Co) or 2 (Cg) over luma's:
    ``chroma * sqrt(w_Y / (a * w_c))``, ``w`` the :data:`PLANE_WEIGHTS` and ``a`` the pixels
    a chroma sample covers (4 at 4:2:0, 1 at 4:4:4). With ``chroma = 1`` every plane's errors
    cost PSNR over R, G and B alike per bit (equal slopes of a uniform quantizer at high rate:
    steps in inverse proportion to the square root of each sample's weight): Co 0.61 and Cg
    0.5 times luma's steps at 4:2:0, 1.22 and 1 at 4:4:4."""
    area = 4.0 if header.subsampling == "4:2:0" else 1.0
    return header.chroma * float(np.sqrt(PLANE_WEIGHTS[0] / (area * PLANE_WEIGHTS[plane])))


def band_thresholds(header: Header, plane: int) -> np.ndarray:
    """The 64 thresholds ``theta_f = theta * W[f]`` (zigzag order) of colour plane ``plane``
    (0 luma, 1 Co, 2 Cg), a chroma plane's table also times :func:`chroma_factor`; of a
    reversible stream, ``theta`` for every band of every plane."""
    if header.reversible:
        return np.full(BLOCK * BLOCK, header.theta)
    weights = table_weights(TABLES[header.table], plane > 0)
    return header.theta * weights * (chroma_factor(header, plane) if plane else 1.0)


def slice_instants(header: Header) -> np.ndarray:
    """The instant (ms) each time slice completes: ``T / 2**(S-1-s)`` for slice ``s`` of
    ``S``."""
    return header.T / np.exp2(np.arange(header.slices - 1, -1, -1))
