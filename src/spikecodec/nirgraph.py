"""The encoder's neurons as a NIR graph (the Neuromorphic Intermediate Representation), and
the spikes of a simulator that runs it back as events.

:func:`to_nir` writes what the codec does to an image, up to its spikes, as a
:class:`nir.NIRGraph` that NIR's consumers (snnTorch, Norse, Sinabs, Rockpool, Lava-DL, ...)
run; ``nir.write(path, graph)`` keeps it (``spikecodec nir IN --out enc.nir``).
:func:`events_from_spikes` turns what such a simulator's populations emit into
:class:`~spikecodec.events.Events`, which :func:`spikecodec.from_events` decodes.

The graph
---------
For an image of ``n`` samples (``H*W``, or ``H*W*3`` for RGB, values 0..255 in C order: row,
column, channel):

``input`` (``Input``, ``(n,)``) -> ``colour`` (RGB only, ``Affine``: the YCoCg planes one
after the other, Y, Co, Cg, each in C order, the chroma averaged over 2x2 pixels at 4:2:0 with
the last row or column replicated) -> ``dct`` (``Affine``: the lapped 8x8 DCT of every plane,
level shift included, once with the sign of the ON neurons and once with the OFF neurons',
plus the bias current) -> ``neurons`` (``LIF``) -> ``output``.

The neurons are the populations of :data:`POPULATIONS` one after the other (``y.on``,
``y.off``, then ``co.on``, ``co.off``, ``cg.on``, ``cg.off``; ``graph.metadata`` gives each
one's ``start`` and ``count``), and in a population neuron ``i`` is the coefficient
``(block_row, block_col, band)`` with ``i = (block_row * block_cols + block_col) * 64 + band``
(zigzag band), the order of :func:`spikecodec.spike_counts`. (One population node and one
output, since NIR's edges carry whole vectors and its consumers take one output.) The weights
are the codec's own transform applied to unit impulses (exact, dense): a graph holds about
``2 n**2`` weights for a gray image and ``6.75 n**2`` for RGB at 4:2:0, so it is built for small
images (``max_weights``).

Parameters, NIR to the codec
----------------------------
NIR's LIF is ``tau dv/dt = (v_leak - v) + r I``, a spike when ``v > v_threshold``, then
``v = v_reset``; the codec's is ``C du/dt = I - u/R`` with a spike when ``u`` reaches
``theta_f`` and reset to 0 (:class:`spikecodec.LIF`). So ``tau = R*C`` (in seconds: NIR's
consumers take times in seconds, the codec's are ms), ``r = R``, ``v_leak = 0``, ``v_reset =
0``; the input current is the coefficient (``I = +x`` ON, ``-x`` OFF, the ``Affine``'s
weights) plus the bias current ``b_f = beta*C*theta_f/T`` (its bias). With
``threshold="band"`` ``v_threshold = theta_f``, each band's threshold; ``threshold="unit"``
gives the same dynamics scaled by ``1/theta_f`` (``v_threshold = 1``, weights and bias divided
by ``theta_f``: :func:`~spikecodec.quantizer.unit_quantizer`), for consumers that take one
threshold per population (snnTorch's importer). The window ``T`` and the graph's other facts
are in ``graph.metadata`` (``window`` in s, the stream ``header``). Where a consumer differs:
it steps time by ``dt`` (snnTorch's importer: 0.1 ms) where the codec's spike times are exact,
so a neuron whose ``T/d`` lies within about ``N*dt/d`` of a whole number may fire once more
or less; NIR compares ``v > v_threshold`` where the codec fires on reaching it (the same
except on the crossing instant).
"""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np

from .codec import spike_counts
from .errors import LimitError, ParameterError
from .events import Events, neuron_records, sorted_records
from .images import load_image
from .params import (
    RGB_TO_YCOCG,
    Header,
    band_thresholds,
    block_grid,
    plane_shapes,
    positive,
    whole,
)
from .transform import lapped_dct

__all__ = [
    "MAX_WEIGHTS",
    "POPULATIONS",
    "THRESHOLDS",
    "events_from_spikes",
    "nir_package",
    "to_nir",
]

MAX_WEIGHTS = 1 << 24
"""Weights a graph holds at most by default (128 MiB of float64)."""
THRESHOLDS = ("band", "unit")
PLANES = ("y", "co", "cg")
POPULATIONS = tuple(f"{p}.{s}" for p in PLANES for s in ("on", "off"))
"""The neuron populations in the graph's order (gray images have the first two)."""
_NCOEF = 64


def nir_package():
    """The package ``nir``, or an ImportError that says which extra brings it."""
    try:
        import nir
    except ImportError as err:  # an optional extra
        raise ImportError(
            "spikecodec.to_nir needs the package nir: pip install 'spikecodec[nir]'"
        ) from err
    return nir


def _down(n: int) -> np.ndarray:
    """The 1-D 4:2:0 average, ``(ceil(n/2), n)``: pairs of samples, the last one repeated."""
    m = np.zeros(((n + 1) // 2, n))
    for i in range(m.shape[0]):
        m[i, 2 * i] += 0.5
        m[i, min(2 * i + 1, n - 1)] += 0.5
    return m


def _colour(header: Header, plane: int) -> tuple[np.ndarray, np.ndarray]:
    """``(weight, bias)``: the RGB pixels (C order, ``3*H*W``) -> one colour plane."""
    h, w = header.height, header.width
    row = RGB_TO_YCOCG[plane]
    offset = 128.0 if plane else 0.0
    if header.subsampling == "4:2:0" and plane:
        spatial = np.kron(_down(h), _down(w))
    else:
        spatial = np.eye(h * w)
    weight = np.einsum("ij,k->ijk", spatial, row).reshape(spatial.shape[0], 3 * h * w)
    return weight, np.full(spatial.shape[0], offset)


def _dct(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(weight, bias)``: a plane (C order) -> its lapped DCT coefficients (the codec's
    :func:`~spikecodec.transform.lapped_dct` on unit impulses over a level of 128, exact)."""
    h, w = shape
    weight = np.empty((int(np.prod(block_grid(shape))) * _NCOEF, h * w))
    impulse = np.full(shape, 128.0)
    for p in range(h * w):
        impulse.flat[p] = 129.0
        weight[:, p] = lapped_dct(impulse).ravel()
        impulse.flat[p] = 128.0
    return weight, lapped_dct(np.zeros(shape)).ravel()


def _size(header: Header) -> int:
    """Weights of the graph of ``header``'s geometry."""
    n = header.width * header.height * (1 if header.mode == "L" else 3)
    shapes = plane_shapes(header)
    samples = sum(h * w for h, w in shapes)
    coefs = sum(int(np.prod(block_grid(shape))) * _NCOEF for shape in shapes)
    return 2 * coefs * samples + (samples * n if header.mode == "RGB" else 0)


def _populations(header: Header) -> list[dict]:
    """Each population's plane, polarity, first neuron and size, in the graph's order."""
    out, start = [], 0
    for c, shape in enumerate(plane_shapes(header)):
        count = int(np.prod(block_grid(shape))) * _NCOEF
        for polarity in ("on", "off"):
            name = f"{PLANES[c]}.{polarity}"
            out.append(
                {"name": name, "plane": c, "polarity": polarity, "start": start, "count": count}
            )
            start += count
    return out


def to_nir(image, *, threshold: str = "band", max_weights: int = MAX_WEIGHTS, **options):
    """The codec's encoder for ``image``, up to its ON and OFF neurons, as a NIR graph.

    Parameters
    ----------
    image : array_like, PIL.Image.Image, str or path
        The image (as :func:`spikecodec.encode` takes it): its size, mode and, with
        ``subsampling="auto"``, its chroma resolution fix the graph.
    threshold : {"band", "unit"}
        ``v_threshold = theta_f`` per band, or 1 with weights and bias scaled by
        ``1/theta_f`` (module docstring).
    max_weights : int
        Refuse (:class:`~spikecodec.LimitError`) a graph with more weights.
    **options
        :func:`spikecodec.encode`'s neuron parameters (``quality``, ``theta``, ``R``, ``C``,
        ``T``, ``table``, ``bias``, ``chroma``, ``tune``, ``subsampling``).

    Returns
    -------
    nir.NIRGraph
        Nodes and conventions in the module docstring; ``graph.metadata["spikecodec"]`` is a
        JSON string: the stream ``header``, the ``window`` in s, the ``threshold`` form and the
        ``populations``.
    """
    nir = nir_package()
    if not isinstance(threshold, str) or threshold not in THRESHOLDS:
        raise ParameterError(f"threshold must be one of {', '.join(THRESHOLDS)}, got {threshold!r}")
    whole("max_weights", max_weights)
    if options.get("lossless") is True:
        raise ParameterError(
            "lossless=True has no NIR graph: its wavelet rounds at every lifting step, which no "
            "Affine node holds (the graph is the lossy encoder's)"
        )
    array = load_image(image)
    header, _ = spike_counts(array, **options)
    if _size(header) > max_weights:
        raise LimitError(
            f"the graph of a {header.width}x{header.height} {header.mode} image holds "
            f"{_size(header)} weights, more than max_weights = {max_weights}: use a smaller image"
        )
    shapes = plane_shapes(header)
    columns = np.cumsum([0] + [h * w for h, w in shapes])
    weight = np.zeros((sum(p["count"] for p in _populations(header)), columns[-1]))
    bias, v_threshold, row = np.empty(len(weight)), np.empty(len(weight)), 0
    for c, shape in enumerate(shapes):
        dct, offset = _dct(shape)
        theta = np.tile(band_thresholds(header, c), len(offset) // _NCOEF)
        scale = 1.0 / theta if threshold == "unit" else np.ones_like(theta)
        current = header.bias * header.C / header.T * theta * scale  # b_f, scaled
        for sign in (1.0, -1.0):  # the ON neurons, then the OFF ones
            rows = slice(row, row + len(offset))
            weight[rows, columns[c] : columns[c + 1]] = sign * scale[:, None] * dct
            bias[rows] = sign * scale * offset + current
            v_threshold[rows] = 1.0 if threshold == "unit" else theta
            row += len(offset)
    nodes = {"input": nir.Input(input_type={"input": np.array([array.size])})}
    source = "input"
    if header.mode == "RGB":
        parts = [_colour(header, c) for c in range(3)]
        nodes["colour"] = nir.Affine(
            np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        )
        source = "colour"
    nodes["dct"] = nir.Affine(weight, bias)
    count = len(weight)
    nodes["neurons"] = nir.LIF(
        tau=np.full(count, header.R * header.C / 1000.0),
        r=np.full(count, header.R),
        v_leak=np.zeros(count),
        v_threshold=v_threshold,
        v_reset=np.zeros(count),
    )
    nodes["output"] = nir.Output(output_type={"output": np.array([count])})
    edges = [(source, "dct"), ("dct", "neurons"), ("neurons", "output")]
    if source != "input":
        edges.insert(0, ("input", source))
    facts = {
        "header": asdict(header),
        "window": header.T / 1000.0,
        "threshold": threshold,
        "populations": _populations(header),
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"spikecodec": json.dumps(facts)})


def _graph_header(graph) -> Header:
    try:
        facts = json.loads(graph.metadata["spikecodec"])
        return Header(**facts["header"])
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise ParameterError(f"not a graph written by spikecodec.to_nir: {err}") from err


def events_from_spikes(graph, spikes, dt: float) -> Events:
    """The spikes a simulator's neurons emitted when it ran :func:`to_nir`'s ``graph``, as
    :class:`~spikecodec.events.Events` (which :func:`spikecodec.from_events` decodes).

    Parameters
    ----------
    graph : nir.NIRGraph
        The graph the simulator ran (``nir.read`` gives it back from a file).
    spikes : array_like
        ``(steps, neurons)``: the spikes each neuron of the ``neurons`` node emitted in each
        time step (0 or 1, or counts).
    dt : float
        The simulator's time step in seconds; a spike of step ``s`` is given the instant
        ``(s + 1)*dt``, the end of its step (the convention of
        :meth:`spikecodec.events.Events.to_dense`), and the events' window is ``steps*dt``
        (``T`` when that is ``T`` up to rounding).
    """
    header = _graph_header(graph)
    dt_ms = 1000.0 * positive("dt", dt)
    raster = np.asarray(spikes)
    populations = _populations(header)
    total = sum(p["count"] for p in populations)
    if raster.ndim != 2 or raster.shape[1] != total or not np.issubdtype(raster.dtype, np.number):
        raise ParameterError(
            f"spikes must be numbers of shape (steps, {total}), got {raster.shape}"
        )
    if np.any(raster < 0) or np.any(raster != np.round(raster)):
        raise ParameterError("spikes must be whole numbers of spikes per step")
    parts = []
    for pop in populations:
        block = raster[:, pop["start"] : pop["start"] + pop["count"]]
        step, neuron = np.nonzero(block)
        repeat = block[step, neuron].astype(np.int64)
        bx = block_grid(plane_shapes(header)[pop["plane"]])[1]
        t = np.repeat((step + 1) * dt_ms, repeat)
        polarity = 1 if pop["polarity"] == "on" else -1
        parts.append(neuron_records(t, pop["plane"], np.repeat(neuron, repeat), bx, polarity))
    theta = np.array([band_thresholds(header, c) for c in range(len(plane_shapes(header)))])
    window = raster.shape[0] * dt_ms
    if abs(window - header.T) <= 1e-9 * header.T:  # T/dt steps, up to rounding
        window = header.T
    return Events(sorted_records(parts), header, window, theta, "simulated")
