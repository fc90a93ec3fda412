"""The codec's spike trains as address events, for spiking-network tools.

:func:`to_events` lists every spike the codec's neurons emit for an image (or that a ``.spk``
stream carries) as an address-event record; :meth:`Events.to_dense` bins them in time into
spike-count rasters; :func:`save_events` / :func:`load_events` keep them in a ``.npz`` file;
``spikecodec spikes IN --out events.npz`` does it from the command line.

Neurons and addresses
---------------------
Every 8x8 DCT coefficient ``x`` of every colour plane (Y; then Co, Cg for RGB, 4:2:0) drives an
ON/OFF LIF pair: the ON neuron when ``x > 0``, the OFF neuron with ``-x`` when ``x < 0``. An
event's address is ``(plane, block_row, block_col, band)`` (``band`` the zigzag frequency index
0..63) and its ``polarity`` (+1 ON, -1 OFF); the signed spike counts are the codec's
(:func:`spikecodec.spike_counts`).

Spike times
-----------
In the codec every band ``f`` is quantized by one neuron of unit threshold fed ``|x|/theta_f``
(:func:`spikecodec.quantizer.unit_quantizer`): ``LIF(R, C, theta=1, bias=beta*C/T)``, whose
interspike delay is ``d = -tau*ln(1 - 1/(R*(|x|/theta_f + beta*C/T)))`` (ms, ``tau = R*C``).
A neuron with ``N``
spikes in the window fires at ``t_i = i*d`` for ``i = 1..N``, so every time lies in
``(0, window]`` and ``floor(window/d) == N`` holds exactly (where rounding puts the closed-form
``d`` one ulp on the wrong side of a count boundary, ``d`` is moved to the nearest delay
consistent with ``N``). What ``d`` is depends on the source (``Events.timing``):

- ``"input"`` (from an image): the exact delay of the neuron fed its coefficient ``x``; the
  window is ``T``. These are the spikes the neurons emit.
- ``"midpoint"`` (from a stream): a stream holds the counts, not ``x``. Each neuron gets the
  delay of the input at the midpoint of the cell its count identifies,
  ``(I_N(w) + I_{N+1}(w))/2`` in the unit-threshold domain (window ``w``): a delay in
  ``(w/(N+1), w/N]``, exact in count, approximate in phase. A whole stream gives ``w = T``;
  a stream cut short (or decoded ``until`` an earlier instant) knows each count at an instant
  ``T/2**level`` (:func:`spikecodec.decode_counts`), and the events are the spikes emitted by
  the latest instant every neuron has reached, ``w = T/2**L`` with ``L`` the largest level:
  counts ``N_w = N_{T/2**level} >> (L - level)``. A partly received time slice that refines
  only some neurons therefore adds nothing until the instant it completes.

Times from an image and from its stream have the same counts, addresses and polarities; only
the phases differ.

Tonic's layout
--------------
``to_events(..., format="tonic")`` (or :meth:`Events.to_tonic`) gives the same spikes as
:class:`TonicEvents`: a structured array of Tonic's dtype (:data:`TONIC_DTYPE`: ``x``, ``y``
int16, ``t`` int64 in microseconds, ``p`` bool) and its ``sensor_size = (width, height, 2)``,
which ``tonic.transforms.ToFrame`` and Tonic's other transforms take. Every plane's
coefficients are laid out as an image, the coefficient of band ``f`` of block ``(i, j)`` at

    x = x0[plane] + 8*j + u,    y = 8*i + v,    (v, u) = divmod(ZIGZAG[f], 8)

(``(v, u)`` the vertical and horizontal frequency, :data:`~spikecodec.tables.ZIGZAG`), the
planes side by side from ``x0 = 0`` (Y, then Co and Cg), each ``8 * blocks`` wide; ``p`` is
True for the ON neuron, False for the OFF one (Tonic's ON/OFF); ``t`` is the spike time
rounded to the nearest microsecond. The sensor is ``8 * sum(block columns)`` by ``8 * block
rows of Y`` pixels (a 4:2:0 chroma plane fills the upper half of its strip).

And back
--------
:func:`from_events` counts the spikes every neuron has emitted by an instant and reconstructs
the image from them as :func:`spikecodec.decode` does (:func:`spikecodec.codec.image_from_counts`).
The decoder reconstructs counts known at the instants ``T/2**j``; the counts are taken at the
latest such instant at or before the one asked for (by default the events' window). From a
whole stream's events this is exactly ``decode(stream)``, and ``decode(stream, until=2**-j)``
from them at ``until=2**-j``; from an image's, ``decode(encode(image))``. Tonic's whole
microseconds give the same counts over the whole window; at an earlier instant, a spike within
half a microsecond of it may be counted on the wrong side.
"""

from __future__ import annotations

import io
import json
import operator
import os
from dataclasses import asdict, dataclass, replace

import numpy as np

from ._io import write_atomic
from .codec import decode_counts, image_from_counts, plane_coefficients, spike_counts
from .errors import LimitError, ParameterError, SpikeCodecError
from .format.container import MAGIC, read_header
from .images import load_image
from .neuron import LIF
from .params import (
    ENCODE_OPTIONS,
    MAX_SLICES,
    Header,
    band_thresholds,
    block_grid,
    listening_instant,
    plane_shapes,
)
from .quantizer import unit_quantizer
from .tables import BLOCK, ZIGZAG

__all__ = [
    "DENSE_MAX_BYTES",
    "EVENT_DTYPE",
    "Events",
    "MAX_EVENTS",
    "TONIC_DTYPE",
    "TonicEvents",
    "from_events",
    "load_events",
    "neuron_records",
    "save_events",
    "sorted_records",
    "to_events",
]

EVENT_DTYPE = np.dtype(
    [
        ("t", "<f8"),
        ("plane", "u1"),
        ("block_row", "<u4"),
        ("block_col", "<u4"),
        ("band", "u1"),
        ("polarity", "i1"),
    ]
)
"""One spike: time ``t`` (ms), address ``(plane, block_row, block_col, band)``, ``polarity``."""

TONIC_DTYPE = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
"""Tonic's event dtype (``tonic.io.events_struct``): ``x``, ``y``, ``t`` (microseconds), ``p``."""

MAX_EVENTS = 50_000_000  # ~1 GB of records at 19 bytes each
DENSE_MAX_BYTES = 1 << 28  # 256 MiB of uint8 raster
FORMAT_NAME = "spikecodec-events"
FORMAT_VERSION = 3  # 1: the header's time slices were called "planes"; 2: no Tonic layout
_NCOEF = 64
_IMAGE_OPTIONS = frozenset(ENCODE_OPTIONS)
_STREAM_OPTIONS = frozenset({"until", "until_ms", "strict", "max_pixels"})
_FORMATS = ("codec", "tonic")
_SENSOR_MAX = np.iinfo(np.int16).max + 1  # Tonic's x and y are int16
_UNZIGZAG = np.argsort(ZIGZAG)  # raster index (v * 8 + u) -> zigzag band


@dataclass(frozen=True, eq=False)
class Events:
    """Spike trains of the codec's neurons as address events.

    Attributes
    ----------
    records : numpy.ndarray
        Structured array of :data:`EVENT_DTYPE`, one record per spike, sorted by ``t`` then
        ``(plane, block_row, block_col, band)``: ``t`` float64 (ms, in ``(0, window]``),
        ``plane`` uint8 (0 = Y, 1 = Co, 2 = Cg), ``block_row``, ``block_col`` uint32 (the 8x8
        block, in that plane's block grid), ``band`` uint8 (zigzag frequency index 0..63),
        ``polarity`` int8 (+1 the ON neuron, -1 the OFF neuron).
    header : spikecodec.params.Header
        The stream header: image mode and size, ``R``, ``C``, ``T`` (ms), ``theta``, ``bias``
        (``beta``), threshold table, chroma factor.
    window : float
        The instant (ms) up to which the trains are listed: ``T``, or earlier for a stream cut
        short (see the module docstring).
    theta : numpy.ndarray
        ``(planes, 64)`` float64: the threshold ``theta_f`` of each plane's band ``f``
        (the unit-threshold neuron is fed ``|x|/theta_f``).
    timing : {"input", "midpoint", "simulated"}
        What the times are: the exact neurons fed the image's coefficients, neurons fed
        the midpoint of the input cell their count identifies (from a stream), or the ends
        of a simulator's time steps (:func:`spikecodec.nirgraph.events_from_spikes`).
    dense : tuple of numpy.ndarray, optional
        The rasters of :meth:`to_dense` when :func:`to_events` was asked for them.
    """

    records: np.ndarray
    header: Header
    window: float
    theta: np.ndarray
    timing: str
    dense: tuple[np.ndarray, ...] | None = None

    def __len__(self) -> int:
        return len(self.records)

    @property
    def T(self) -> float:
        """The codec's observation window (ms)."""
        return self.header.T

    @property
    def R(self) -> float:
        """Membrane resistance."""
        return self.header.R

    @property
    def C(self) -> float:
        """Membrane capacitance (``tau = R*C`` in ms)."""
        return self.header.C

    @property
    def mode(self) -> str:
        """The image mode, ``"L"`` or ``"RGB"``."""
        return self.header.mode

    @property
    def shape(self) -> tuple[int, ...]:
        """The image's array shape, ``(H, W)`` or ``(H, W, 3)``."""
        h, w = self.header.height, self.header.width
        return (h, w) if self.header.mode == "L" else (h, w, 3)

    @property
    def blocks(self) -> list[tuple[int, int]]:
        """The block grid ``(block_rows, block_cols)`` of each colour plane."""
        return [block_grid(shape) for shape in plane_shapes(self.header)]

    def counts(self) -> list[np.ndarray]:
        """Signed spike counts per plane, ``(block_rows, block_cols, 64)`` int64, from the
        events: ``+N`` for an ON neuron's ``N`` spikes, ``-N`` for an OFF neuron's."""
        return _signed_counts(self.records, self.blocks)

    def to_dense(
        self, time_steps: int, *, max_bytes: int = DENSE_MAX_BYTES
    ) -> tuple[np.ndarray, ...]:
        """Spike-count rasters binned in time, one per colour plane.

        Plane ``c`` gives a uint8 array of shape ``(time_steps, 2, block_rows, block_cols, 64)``:
        axis 1 is the polarity (0 the ON neurons, 1 the OFF neurons), the last axis the zigzag
        band. Step ``s`` counts the spikes with ``s*dt < t <= (s+1)*dt``, ``dt =
        window/time_steps`` ms (the convention of :meth:`spikecodec.LIF.simulate`: a spike
        belongs to the step it ends). Summed over time, ON minus OFF gives :meth:`counts`.

        Raises :class:`~spikecodec.LimitError` when the rasters would exceed ``max_bytes`` or
        a neuron fires more than 255 times within one step (use more steps).
        """
        if isinstance(time_steps, bool):
            raise ParameterError(f"time_steps must be a positive integer, got {time_steps!r}")
        try:
            time_steps = operator.index(time_steps)
        except TypeError:
            raise ParameterError(
                f"time_steps must be a positive integer, got {time_steps!r}"
            ) from None
        if time_steps < 1:
            raise ParameterError(f"time_steps must be a positive integer, got {time_steps!r}")
        shapes = [(time_steps, 2, by, bx, _NCOEF) for by, bx in self.blocks]
        size = sum(int(np.prod(shape, dtype=np.float64)) for shape in shapes)
        if size > max_bytes:
            raise LimitError(
                f"the dense rasters would take {size} bytes ({time_steps} steps), more than "
                f"the limit of {max_bytes}: use fewer time steps or raise max_bytes"
            )
        t = self.records["t"]
        step = np.ceil(t * (time_steps / self.window)).astype(np.int64) - 1
        step = np.clip(step, 0, time_steps - 1)
        out = []
        for c, shape in enumerate(shapes):
            at = self.records["plane"] == c
            r = self.records[at]
            index = np.ravel_multi_index(
                (
                    step[at],
                    (r["polarity"] < 0).astype(np.intp),
                    r["block_row"].astype(np.intp),
                    r["block_col"].astype(np.intp),
                    r["band"].astype(np.intp),
                ),
                shape,
            )
            cells, n = np.unique(index, return_counts=True)
            if n.size and n.max() > 255:
                raise LimitError(
                    f"a neuron fires {n.max()} times within one of {time_steps} time steps, "
                    "more than a uint8 raster holds: use more time steps"
                )
            raster = np.zeros(shape, np.uint8)
            raster.reshape(-1)[cells] = n
            out.append(raster)
        return tuple(out)

    def to_tonic(self) -> TonicEvents:
        """The same spikes in Tonic's layout (module docstring, "Tonic's layout")."""
        offsets, width, height = _sensor(self.header)
        r = self.records
        raster = ZIGZAG[r["band"]]
        plane = r["plane"].astype(np.int64)
        out = np.empty(len(r), TONIC_DTYPE)
        out["x"] = offsets[plane] + BLOCK * r["block_col"].astype(np.int64) + raster % BLOCK
        out["y"] = BLOCK * r["block_row"].astype(np.int64) + raster // BLOCK
        out["t"] = np.rint(r["t"] * 1000.0).astype(np.int64)
        out["p"] = r["polarity"] > 0
        return TonicEvents(out, (width, height, 2), self.header, self.window, self.timing)


@dataclass(frozen=True, eq=False)
class TonicEvents:
    """The codec's spikes in Tonic's layout (see the module docstring).

    Attributes
    ----------
    events : numpy.ndarray
        Structured array of :data:`TONIC_DTYPE` (``x``, ``y``, ``t`` in microseconds, ``p``
        True for ON), sorted by time: ``tonic.transforms.ToFrame(sensor_size)(events)``.
    sensor_size : tuple of int
        ``(width, height, 2)``, as Tonic's transforms take it.
    header, window, timing
        As in :class:`Events` (``window`` in ms).
    """

    events: np.ndarray
    sensor_size: tuple[int, int, int]
    header: Header
    window: float
    timing: str

    def __len__(self) -> int:
        return len(self.events)


def _sensor(header: Header) -> tuple[np.ndarray, int, int]:
    """The x offset of each plane, and the sensor's width and height, in Tonic's layout."""
    grids = [block_grid(shape) for shape in plane_shapes(header)]
    widths = np.array([BLOCK * bx for _, bx in grids], np.int64)
    offsets = np.concatenate([[0], np.cumsum(widths)[:-1]])
    width, height = int(widths.sum()), BLOCK * grids[0][0]
    if max(width, height) > _SENSOR_MAX:
        raise LimitError(
            f"Tonic's int16 coordinates cannot address a {width}x{height} coefficient sensor"
        )
    return offsets, width, height


def _signed_counts(records: np.ndarray, blocks: list[tuple[int, int]]) -> list[np.ndarray]:
    """ON minus OFF spikes of every neuron, ``(block_rows, block_cols, 64)`` per plane."""
    out = []
    for c, (by, bx) in enumerate(blocks):
        r = records[records["plane"] == c]
        flat = _flat_address(r, bx)
        signed = np.bincount(flat, r["polarity"].astype(np.float64), by * bx * _NCOEF)
        out.append(np.rint(signed).astype(np.int64).reshape(by, bx, _NCOEF))
    return out


def neuron_records(
    t: np.ndarray, plane: int, neuron: np.ndarray, block_cols: int, polarity
) -> np.ndarray:
    """Records of spikes at ``t`` (ms) of the neurons ``neuron`` of a plane, each the index
    ``(block_row * block_cols + block_col) * 64 + band`` of the codec's count order."""
    rec = np.empty(len(neuron), EVENT_DTYPE)
    rec["t"] = t
    rec["plane"] = plane
    rec["band"] = neuron % _NCOEF
    rec["block_col"] = (neuron // _NCOEF) % block_cols
    rec["block_row"] = neuron // (_NCOEF * block_cols)
    rec["polarity"] = polarity
    return rec


def sorted_records(parts: list[np.ndarray]) -> np.ndarray:
    """The records of ``parts`` in one array, by time then address."""
    records = np.concatenate(parts) if parts else np.zeros(0, EVENT_DTYPE)
    order = np.lexsort(
        (
            records["band"],
            records["block_col"],
            records["block_row"],
            records["plane"],
            records["t"],
        )
    )
    return records[order]


def _flat_address(records: np.ndarray, block_cols: int) -> np.ndarray:
    row = records["block_row"].astype(np.int64)
    col = records["block_col"].astype(np.int64)
    return (row * block_cols + col) * _NCOEF + records["band"].astype(np.int64)


def _consistent_delays(d: np.ndarray, n: np.ndarray, window: float) -> np.ndarray:
    """``d`` moved, where rounding put it across a count boundary, to the nearest delay with
    ``floor(window/d) == n`` (``n >= 1``)."""
    d = np.array(d, dtype=np.float64)
    with np.errstate(divide="ignore", over="ignore"):
        q = np.floor(window / d)
    short, long = q > n, q < n
    d[short] = window / (n[short] + 1.0)
    d[long] = window / n[long]
    for _ in range(16):
        with np.errstate(divide="ignore", over="ignore"):
            q = np.floor(window / d)
        short, long = q > n, q < n
        if not (short.any() or long.any()):
            return d
        d[short] = np.nextafter(d[short], np.inf)
        d[long] = np.nextafter(d[long], 0.0)
    raise SpikeCodecError("no delay is consistent with the spike counts (numerical failure)")


def _trains(counts: list[np.ndarray], delays: list[np.ndarray], window: float) -> np.ndarray:
    """Records of the spikes ``i*d``, ``i = 1..|k|``, of every neuron, sorted."""
    parts = []
    for c, (k, d) in enumerate(zip(counts, delays, strict=True)):
        n = np.abs(k).ravel()
        neuron = np.repeat(np.arange(n.size), n)
        rank = np.arange(neuron.size) - np.repeat(np.cumsum(n) - n, n) + 1
        t = np.minimum(rank * d.ravel()[neuron], window)
        parts.append(neuron_records(t, c, neuron, k.shape[1], np.sign(k.ravel()[neuron])))
    return sorted_records(parts)


def _unit_neuron(header: Header) -> LIF:
    """The unit-threshold neuron every band shares on ``|x|/theta_f``."""
    return unit_quantizer(header.R, header.C, header.T, header.bias).lif


def _delays_for(magnitudes: np.ndarray, n: np.ndarray, lif: LIF, window: float) -> np.ndarray:
    d = np.full(n.shape, np.inf)
    fires = n > 0
    d[fires] = _consistent_delays(lif.delay(magnitudes[fires]), n[fires], window)
    return d


def _check_total(counts: list[np.ndarray], max_events: int) -> None:
    total = sum(int(np.abs(k).sum()) for k in counts)
    if total > max_events:
        raise LimitError(
            f"the neurons emit {total} spikes, more than max_events = {max_events}: lower the "
            "quality or raise max_events"
        )


def _image_events(image, options: dict, max_events: int) -> Events:
    array = load_image(image, deep=True)
    header, counts = spike_counts(array, **options)
    _check_total(counts, max_events)
    quantizer = unit_quantizer(header.R, header.C, header.T, header.bias)
    lif = quantizer.lif
    thetas, delays = [], []
    for c, (coeffs, k) in enumerate(zip(plane_coefficients(array, header), counts, strict=True)):
        theta = band_thresholds(header, c)
        x = coeffs / theta
        if not np.array_equal(quantizer.encode(x), k):  # the codec's pipeline changed under us
            raise SpikeCodecError("internal error: the coefficients do not give the counts")
        thetas.append(theta)
        delays.append(_delays_for(np.abs(x), np.abs(k), lif, header.T))
    records = _trains(counts, delays, header.T)
    return Events(records, header, header.T, np.array(thetas), "input")


def _stream_events(data: bytes, options: dict, max_events: int) -> Events:
    header, states = decode_counts(data, **options)
    top = max(int(st.level.max()) for st in states)
    window = header.T / 2.0**top
    counts = [_at_level(st, top) for st in states]
    _check_total(counts, max_events)
    lif = _unit_neuron(header)
    thetas, delays = [], []
    for c, k in enumerate(counts):
        thetas.append(band_thresholds(header, c))
        n = np.abs(k)
        fires = n > 0
        mid = np.zeros(n.shape)
        lo, hi = lif.threshold(n[fires], window), lif.threshold(n[fires] + 1, window)
        mid[fires] = lo + 0.5 * (hi - lo)
        delays.append(_delays_for(mid, n, lif, window))
    records = _trains(counts, delays, window)
    return Events(records, header, window, np.array(thetas), "midpoint")


def _at_level(state, level: int) -> np.ndarray:
    """Signed counts at the instant ``T/2**level`` (``level`` >= every known level)."""
    shift = (level - state.level.astype(np.int64)).clip(min=0)
    return state.sign.astype(np.int64) * (state.prefix >> shift)


def _as_stream(source) -> tuple[bytes | None, object]:
    """``(stream bytes, None)`` when ``source`` is a spike stream (by magic), else
    ``(None, image source)``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if data.startswith(MAGIC):
            return data, None
        return None, io.BytesIO(data)
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as f:
                if f.read(len(MAGIC)) == MAGIC:
                    return MAGIC + f.read(), None
        except OSError:
            pass  # load_image reports it as an unreadable image
        return None, source
    if isinstance(source, io.IOBase):
        data = source.read()
        if data.startswith(MAGIC):
            return data, None
        return None, io.BytesIO(data)
    return None, source


def to_events(
    data_or_image,
    *,
    dense: bool = False,
    time_steps: int | None = None,
    max_events: int = MAX_EVENTS,
    max_dense_bytes: int = DENSE_MAX_BYTES,
    format: str = "codec",
    **options,
) -> Events | TonicEvents:
    """The spikes of the codec's neurons for an image, or carried by a ``.spk`` stream.

    Parameters
    ----------
    data_or_image : bytes, array_like, PIL.Image.Image, str, path or file
        A spike stream (recognized by its magic bytes, whatever the file name) or an image as
        :func:`spikecodec.load_image` takes it.
    dense : bool
        Also bin the events into rasters (:meth:`Events.to_dense`), kept in ``Events.dense``.
    time_steps : int
        Number of time steps of the rasters (required with ``dense``).
    max_events : int
        Refuse (:class:`~spikecodec.LimitError`) to list more spikes than this.
    max_dense_bytes : int
        Refuse rasters larger than this (see :meth:`Events.to_dense`).
    format : {"codec", "tonic"}
        :class:`Events` (the codec's addresses, times in ms) or :class:`TonicEvents` (Tonic's
        ``x, y, t, p`` and sensor size, module docstring); rasters only with ``"codec"``.
    **options
        For an image, :func:`spikecodec.encode`'s parameters (``quality``, ``theta``, ``R``,
        ``C``, ``T``, ``table``, ``bias``, ``chroma``); for a stream,
        :func:`spikecodec.decode_counts`'s (``until``, ``until_ms``, ``strict``,
        ``max_pixels``). The times' meaning in each case is in the module docstring.

    Examples
    --------
    >>> import numpy as np, spikecodec.events as ev
    >>> image = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (16, 1))
    >>> events = ev.to_events(image, quality=50)
    >>> bool(np.all((events.records["t"] > 0) & (events.records["t"] <= events.T)))
    True
    """
    if not isinstance(format, str) or format not in _FORMATS:
        raise ParameterError(f"format must be one of {', '.join(_FORMATS)}, got {format!r}")
    if dense and format != "codec":
        raise ParameterError("dense rasters come with format='codec' only")
    if dense and time_steps is None:
        raise ParameterError("dense rasters need time_steps (the number of time bins)")
    if not dense and time_steps is not None:
        raise ParameterError("time_steps only applies with dense=True")
    stream, image = _as_stream(data_or_image)
    allowed, kind = (
        (_STREAM_OPTIONS, "a stream") if stream is not None else (_IMAGE_OPTIONS, "an image")
    )
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ParameterError(
            f"option(s) {', '.join(unknown)} do not apply to {kind}; it takes "
            f"{', '.join(sorted(allowed))}"
        )
    if stream is not None:
        events = _stream_events(stream, options, max_events)
    else:
        events = _image_events(image, options, max_events)
    if dense:
        events = replace(events, dense=events.to_dense(time_steps, max_bytes=max_dense_bytes))
    return events.to_tonic() if format == "tonic" else events


def _records_from_tonic(events: np.ndarray, header: Header) -> np.ndarray:
    """Tonic-layout events back to the codec's records (times in ms)."""
    offsets, width, height = _sensor(header)
    x, y = events["x"].astype(np.int64), events["y"].astype(np.int64)
    if np.any((x < 0) | (x >= width) | (y < 0) | (y >= height)):
        raise ParameterError(f"event coordinates outside the {width}x{height} sensor")
    plane = np.searchsorted(offsets, x, side="right") - 1
    col = x - offsets[plane]
    rec = np.empty(len(events), EVENT_DTYPE)
    rec["t"] = events["t"].astype(np.float64) / 1000.0
    rec["plane"] = plane
    rec["block_row"], rec["block_col"] = y // BLOCK, col // BLOCK
    rec["band"] = _UNZIGZAG[(y % BLOCK) * BLOCK + col % BLOCK]
    rec["polarity"] = np.where(events["p"].astype(bool), 1, -1)
    return rec


def _records(events, header) -> tuple[np.ndarray, Header, float | None, bool]:
    """``(records, header, window, tonic)`` of what :func:`from_events` is given: ``tonic``
    when the times are Tonic's whole microseconds."""
    if isinstance(events, Events):
        return events.records, events.header, events.window, False
    if isinstance(events, TonicEvents):
        records = _records_from_tonic(events.events, events.header)
        return records, events.header, events.window, True
    if isinstance(header, (bytes, bytearray, memoryview)):
        header = read_header(bytes(header))
    if not isinstance(header, Header):
        raise ParameterError(
            "events given as an array need the header: a spikecodec Header or the stream "
            f"(bytes) whose header to use, got {type(header).__name__}"
        )
    names = set(getattr(getattr(events, "dtype", None), "names", None) or ())
    if names >= set(EVENT_DTYPE.names):
        records = np.empty(len(events), EVENT_DTYPE)
        for name in EVENT_DTYPE.names:
            records[name] = events[name]
        if not np.all(np.isin(events["polarity"], (-1, 1))):
            raise ParameterError("event polarities must be +1 (ON) or -1 (OFF)")
        return records, header, None, False
    if names >= {"x", "y", "t", "p"}:
        return _records_from_tonic(events, header), header, None, True
    raise ParameterError(
        "events must be Events, TonicEvents or a structured array with the fields of "
        "EVENT_DTYPE or Tonic's x, y, t, p"
    )


def _instant_level(header: Header, window_ms: float) -> int:
    """The level ``j`` of the latest instant ``T/2**j`` at or before ``window_ms``."""
    j = 0
    while j < MAX_SLICES and header.T / 2.0**j > window_ms:
        j += 1
    if j == MAX_SLICES:
        raise ParameterError(
            f"the instant {window_ms!r} ms is before T/2**{MAX_SLICES - 1}: no count is known"
        )
    return j


def from_events(
    events, header=None, *, until: float | None = None, until_ms: float | None = None
) -> np.ndarray:
    """The image that spikes give: their counts by an instant, reconstructed as
    :func:`spikecodec.decode` does (see the module docstring, "And back").

    Parameters
    ----------
    events : Events, TonicEvents or numpy.ndarray
        The spikes: from :func:`to_events`, or a structured array with the fields of
        :data:`EVENT_DTYPE` (times in ms) or Tonic's ``x, y, t, p`` (microseconds, the layout of
        the module docstring), from a file, a simulator or a network.
    header : Header or bytes, optional
        For an array: the stream header that fixes the geometry and the neurons
        (``Events.header``, or a ``.spk`` stream whose header to read).
    until, until_ms : float, optional
        The instant to listen up to, as a fraction of ``T`` in ``(0, 1]`` or in ms. Default:
        the events' window (``T`` for an array). The counts are taken at the latest instant
        ``T/2**j`` at or before it.

    Returns
    -------
    numpy.ndarray
        uint8, ``(H, W)`` or ``(H, W, 3)``.

    Examples
    --------
    >>> import numpy as np, spikecodec as sc
    >>> image = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (16, 1))
    >>> stream = sc.encode(image, quality=50)
    >>> bool(np.array_equal(sc.from_events(sc.to_events(stream)), sc.decode(stream)))
    True
    """
    records, header, window, tonic = _records(events, header)
    asked = listening_instant(header.T, until, until_ms)
    window = window if asked is None else asked
    level = _instant_level(header, header.T if window is None else window)
    instant = header.T / 2.0**level
    t = records["t"]
    if not np.all(np.isfinite(t)):
        raise ParameterError("event times must be finite")
    if tonic:  # compared in whole microseconds, as Tonic's times were rounded
        emitted = records[np.rint(t * 1000.0) <= np.rint(instant * 1000.0)]
    else:
        emitted = records[t <= instant]
    grids = [block_grid(shape) for shape in plane_shapes(header)]
    plane = emitted["plane"].astype(np.int64)
    for c, (by, bx) in enumerate(grids):
        at = plane == c
        if np.any(emitted["block_row"][at] >= by) or np.any(emitted["block_col"][at] >= bx):
            raise ParameterError(f"event addresses outside plane {c}'s {by}x{bx} blocks")
    if np.any(plane >= len(grids)) or np.any(emitted["band"] >= _NCOEF):
        raise ParameterError("event addresses outside the image's planes or 64 bands")
    return image_from_counts(header, _signed_counts(emitted, grids), level)


def save_events(events: Events | TonicEvents, path, *, overwrite: bool = True) -> None:
    """Write events to a ``.npz`` file (compressed), atomically for a path.

    Format (``numpy.load(path, allow_pickle=False)`` reads it without spikecodec):

    - ``meta``: a JSON string: ``format`` (``"spikecodec-events"``), ``version`` (3),
      ``layout`` (``"codec"`` or ``"tonic"``), ``header`` (the stream header's fields:
      ``mode``, ``width``, ``height``, ``R``, ``C``, ``T`` in ms, ``theta``, ``bias``,
      ``table``, ``chroma``, ``slices``, ...), ``window`` (ms), ``timing`` (``"input"`` or
      ``"midpoint"``), ``shape`` (the image's array shape), ``blocks`` (each plane's block
      grid) and ``time_steps`` (or null);
    - the codec's layout: ``records``, the structured array of :data:`EVENT_DTYPE` (``t`` ms,
      ``plane``, ``block_row``, ``block_col``, ``band``, ``polarity``), sorted by time then
      address; ``theta``, ``(planes, 64)`` float64, the threshold of each plane's band;
      ``dense_0``, ``dense_1``, ...: the rasters of :meth:`Events.to_dense`, when present;
    - Tonic's layout: ``events``, the structured array of :data:`TONIC_DTYPE` (``x``, ``y``,
      ``t`` in microseconds, ``p``), and ``sensor_size``, ``(width, height, 2)``.

    ``path`` may also be a writable binary file object. An existing path is replaced only
    with ``overwrite`` (else :class:`FileExistsError`).
    """
    tonic = isinstance(events, TonicEvents)
    h = events.header
    shape = (h.height, h.width) if h.mode == "L" else (h.height, h.width, 3)
    dense = None if tonic else events.dense
    meta = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "layout": "tonic" if tonic else "codec",
        "header": asdict(h),
        "window": events.window,
        "timing": events.timing,
        "shape": list(shape),
        "blocks": [list(block_grid(s)) for s in plane_shapes(h)],
        "time_steps": None if dense is None else int(dense[0].shape[0]),
    }
    arrays = {"meta": np.array(json.dumps(meta))}
    if tonic:
        arrays["events"] = events.events
        arrays["sensor_size"] = np.array(events.sensor_size, np.int64)
    else:
        arrays["records"], arrays["theta"] = events.records, events.theta
        for c, raster in enumerate(dense or ()):
            arrays[f"dense_{c}"] = raster
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    if hasattr(path, "write"):
        path.write(buf.getvalue())
        return
    write_atomic(path, buf.getvalue(), force=overwrite)


def load_events(path) -> Events | TonicEvents:
    """Read events written by :func:`save_events` (a path or a binary file object), in the
    layout they were written in.

    Raises :class:`~spikecodec.SpikeCodecError` when the file is not such an events file.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"][()]))
            if meta.get("format") != FORMAT_NAME:
                raise SpikeCodecError(f"{path!r} is not a spikecodec events file")
            version = meta.get("version")
            if version not in range(1, FORMAT_VERSION + 1):
                raise SpikeCodecError(
                    f"unsupported events format version {version!r} (this reads 1 to "
                    f"{FORMAT_VERSION})"
                )
            fields = dict(meta["header"])
            if version == 1:
                fields["slices"] = fields.pop("planes")
            header = Header(**fields)
            window, timing = float(meta["window"]), str(meta["timing"])
            if meta.get("layout", "codec") == "tonic":
                events = npz["events"]
                if events.dtype != TONIC_DTYPE:
                    raise SpikeCodecError(f"unexpected Tonic event type {events.dtype}")
                size = tuple(int(v) for v in npz["sensor_size"])
                return TonicEvents(events, size, header, window, timing)
            records = npz["records"]
            if records.dtype != EVENT_DTYPE:
                raise SpikeCodecError(f"unexpected event record type {records.dtype}")
            theta = npz["theta"]
            planes = len(plane_shapes(header))
            dense = None
            if meta.get("time_steps") is not None:
                dense = tuple(npz[f"dense_{c}"] for c in range(planes))
    except SpikeCodecError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError) as err:
        raise SpikeCodecError(f"cannot read events from {path!r}: {err}") from err
    return Events(records, header, window, theta, timing, dense)
