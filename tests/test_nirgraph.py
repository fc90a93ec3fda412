"""The encoder as a NIR graph: read back by nir, evaluated by NIR's own equations, and run by
a second simulator (snnTorch, through its NIR importer).

snnTorch is the independent check here as Brian2 is for the neuron (test_neuron_brian2.py):
its importer maps NIR's ``LIF`` to ``snntorch.Leaky`` with ``beta = 1 - dt/tau`` and threshold
``v_threshold * tau / (r * dt)`` for a fixed ``dt = 1e-4`` s; the runs here apply the same
formula at a finer ``dt`` and in float64. Its neuron steps ``mem = beta*mem + I``, fires when
``mem > threshold`` and resets to 0 at once, so a neuron fed a constant current fires every
``m`` steps, ``m`` the first step its potential exceeds the threshold, and counts
``floor(steps/m)``: where ``m*dt`` (the period rounded up to whole steps) crosses a whole
number of periods in ``T`` that ``d`` does not, it counts fewer spikes than the codec's exact
``floor(T/d)``. Every disagreement is asserted to be such a neuron.
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

import spikecodec as sc
from spikecodec import LimitError, ParameterError
from spikecodec.codec import image_from_counts
from spikecodec.nirgraph import POPULATIONS, events_from_spikes, to_nir
from spikecodec.params import band_thresholds
from spikecodec.transform import colour_planes, lapped_dct

nir = pytest.importorskip("nir", reason="the nir extra is not installed")


def _image(mode: str, shape=(16, 24), seed=0) -> np.ndarray:
    """A natural-looking small image: a smooth field with texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[: shape[0], : shape[1]]
    base = 128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0)
    channels = 1 if mode == "L" else 3
    img = base[..., None] + rng.normal(0, 18, (*shape, channels)) + np.arange(channels) * 20
    img = np.clip(img, 0, 255).astype(np.uint8)
    return img[..., 0] if mode == "L" else img


def _ordered_counts(counts: list[np.ndarray]) -> np.ndarray:
    """The codec's counts in the graph's neuron order: per plane, ON then OFF."""
    parts = []
    for k in counts:
        parts += [np.clip(k.ravel(), 0, None), np.clip(-k.ravel(), 0, None)]
    return np.concatenate(parts)


def _currents(graph, image: np.ndarray) -> np.ndarray:
    """The input current of every neuron: the graph's Affine nodes applied in order."""
    h = image.astype(np.float64).ravel()
    for name in ("colour", "dct"):
        if name in graph.nodes:
            h = graph.nodes[name].weight @ h + graph.nodes[name].bias
    return h


def _nir_counts(graph, current: np.ndarray) -> np.ndarray:
    """NIR's LIF, ``tau dv/dt = -v + r I`` with v_leak = v_reset = 0, solved for a constant
    current: period ``d = -tau ln(1 - v_thr/(r I))`` when ``r I > v_thr``, ``floor(T/d)``
    spikes in the window (graph metadata, seconds)."""
    lif = graph.nodes["neurons"]
    window = json.loads(graph.metadata["spikecodec"])["window"]
    drive = lif.r * current
    fires = drive > lif.v_threshold
    d = np.full(current.shape, np.inf)
    d[fires] = -lif.tau[fires] * np.log1p(-lif.v_threshold[fires] / drive[fires])
    return np.floor(window / d)


@pytest.mark.parametrize("threshold", ["band", "unit"])
@pytest.mark.parametrize(
    "mode, shape, subsampling",
    [("L", (16, 24), "auto"), ("L", (13, 19), "auto"), ("RGB", (16, 16), "4:2:0"),
     ("RGB", (9, 14), "4:2:0"), ("RGB", (16, 8), "4:4:4")],
)  # fmt: skip
def test_the_graph_spikes_as_the_codec_counts(mode, shape, subsampling, threshold, tmp_path):
    image = _image(mode, shape)
    graph = to_nir(image, quality=75, threshold=threshold, subsampling=subsampling)
    path = tmp_path / "enc.nir"
    nir.write(path, graph)
    back = nir.read(path)
    assert set(back.nodes) == {"input", "dct", "neurons", "output"} | (
        {"colour"} if mode == "RGB" else set()
    )
    for name in ("dct", "neurons"):
        for field in ("weight", "bias", "tau", "r", "v_leak", "v_threshold", "v_reset"):
            if hasattr(graph.nodes[name], field):
                np.testing.assert_array_equal(
                    getattr(back.nodes[name], field), getattr(graph.nodes[name], field)
                )
    header, counts = sc.spike_counts(image, quality=75, subsampling=subsampling)
    facts = json.loads(back.metadata["spikecodec"])
    assert facts["header"]["theta"] == header.theta and facts["window"] == header.T / 1000
    assert [p["name"] for p in facts["populations"]] == list(POPULATIONS[: 2 * len(counts)])
    lif = back.nodes["neurons"]
    np.testing.assert_allclose(lif.tau, header.R * header.C / 1000)
    assert np.all(lif.r == header.R) and not lif.v_leak.any() and not lif.v_reset.any()
    got, want = _nir_counts(back, _currents(back, image)), _ordered_counts(counts)
    # Equal but for ties within float rounding of a decision threshold.
    assert np.mean(got == want) >= 0.998
    assert np.all(np.abs(got - want) <= 1)


def test_the_dct_node_is_the_codecs_lapped_dct_over_band_thresholds():
    image = _image("L", (24, 16), seed=3)
    header, _ = sc.spike_counts(image, quality=60)
    graph = to_nir(image, quality=60, threshold="unit")
    current = _currents(graph, image)
    theta = band_thresholds(header, 0)
    coefficients = (lapped_dct(image) / theta).ravel()
    b = header.bias * header.C / header.T
    n = coefficients.size
    np.testing.assert_allclose(current[:n], coefficients + b, atol=1e-9)
    np.testing.assert_allclose(current[n:], -coefficients + b, atol=1e-9)
    band = to_nir(image, quality=60, threshold="band")
    scaled = _currents(band, image) / band.nodes["neurons"].v_threshold
    np.testing.assert_allclose(scaled, current, atol=1e-9)


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4"])
@pytest.mark.parametrize("shape", [(8, 8), (9, 13), (16, 22)])
def test_the_colour_node_gives_the_codecs_colour_planes(shape, subsampling):
    image = _image("RGB", shape, seed=5)
    graph = to_nir(image, quality=75, subsampling=subsampling)
    node = graph.nodes["colour"]
    planes = node.weight @ image.astype(np.float64).ravel() + node.bias
    want = np.concatenate([p.ravel() for p in colour_planes(image, subsampling)])
    np.testing.assert_allclose(planes, want, atol=1e-9)


def test_bad_arguments_are_refused():
    image = _image("L")
    with pytest.raises(ParameterError, match="threshold"):
        to_nir(image, threshold="both")
    with pytest.raises(ParameterError, match="max_weights"):
        to_nir(image, max_weights=0)
    with pytest.raises(ParameterError, match="quality"):
        to_nir(image, quality=0)
    with pytest.raises(LimitError, match="weights"):
        to_nir(image, max_weights=1000)
    graph = to_nir(image)
    n = sum(p["count"] for p in json.loads(graph.metadata["spikecodec"])["populations"])
    with pytest.raises(ParameterError, match="shape"):
        events_from_spikes(graph, np.zeros((10, n - 1)), 1e-4)
    with pytest.raises(ParameterError, match="whole"):
        events_from_spikes(graph, np.full((10, n), 0.5), 1e-4)
    with pytest.raises(ParameterError, match="dt"):
        events_from_spikes(graph, np.zeros((10, n)), 0.0)


def test_spikes_of_the_graph_decode_to_the_codecs_image():
    """The exact neurons' spikes (NIR's LIF solved in closed form) as a simulator's raster,
    back through events_from_spikes and from_events: the image decode gives."""
    image = _image("RGB", (16, 16), seed=2)
    graph = to_nir(image, quality=70, subsampling="4:2:0", threshold="unit")
    window = json.loads(graph.metadata["spikecodec"])["window"]
    counts = _nir_counts(graph, _currents(graph, image)).astype(np.int64)
    steps, dt = 1000, window / 1000
    raster = np.zeros((steps, counts.size), np.int64)
    raster[-1] = counts  # every spike in the last step: the counts of the window
    events = events_from_spikes(graph, raster, dt)
    stream = sc.encode(image, quality=70, subsampling="4:2:0")
    assert events.window == sc.decode_counts(stream)[0].T
    np.testing.assert_array_equal(sc.from_events(events), sc.decode(stream))


# -- snnTorch, the second simulator -------------------------------------------------------


def _snntorch_run(graph, image: np.ndarray, dt: float) -> np.ndarray:
    """Spike counts of snnTorch running ``graph`` (its NIR importer) for the window at step
    ``dt`` (s), in float64: the importer's Leaky with beta and threshold at this ``dt``."""
    torch = pytest.importorskip("torch", reason="the snn extra is not installed")
    importer = pytest.importorskip("snntorch.import_nir", reason="the snn extra is not installed")
    with contextlib.redirect_stdout(io.StringIO()):  # the importer prints its scaling
        net = importer.import_from_nir(graph).double()
    lif = graph.nodes["neurons"]
    tau, r, v_thr = (float(np.unique(getattr(lif, f))[0]) for f in ("tau", "r", "v_threshold"))
    leaky = net.neurons
    leaky.beta = torch.tensor(1.0 - dt / tau, dtype=torch.float64)
    leaky.threshold = torch.tensor(v_thr * tau / (r * dt), dtype=torch.float64)
    window = json.loads(graph.metadata["spikecodec"])["window"]
    steps = round(window / dt)
    x = torch.tensor(image.astype(np.float64).ravel()[None])
    total = torch.zeros(lif.tau.shape, dtype=torch.float64)
    state = None
    with torch.no_grad():
        for _ in range(steps):
            out, state = net(x, state)
            total += out[0]
    return total.numpy().astype(np.int64), steps


def _stepped_counts(graph, current: np.ndarray, dt: float, steps: int) -> np.ndarray:
    """``floor(steps/m)``, ``m`` the first step where the Euler potential
    ``r I (1 - (1 - dt/tau)**m)`` exceeds the threshold (module docstring)."""
    lif = graph.nodes["neurons"]
    drive = lif.r * current
    a = 1.0 - dt / lif.tau
    fires = drive > lif.v_threshold
    m = np.full(current.shape, np.inf)
    m[fires] = np.floor(np.log1p(-lif.v_threshold[fires] / drive[fires]) / np.log(a[fires])) + 1
    return np.where(np.isfinite(m), np.floor(steps / np.where(np.isfinite(m), m, 1)), 0)


@pytest.mark.parametrize(
    "mode, shape, dt", [("L", (16, 24), 1e-5), ("RGB", (16, 16), 1e-5), ("L", (16, 24), 1e-4)]
)
def test_snntorch_counts_the_codecs_spikes(mode, shape, dt):
    image = _image(mode, shape, seed=1)
    graph = to_nir(image, quality=75, threshold="unit", subsampling="4:2:0")
    header, counts = sc.spike_counts(image, quality=75, subsampling="4:2:0")
    want = _ordered_counts(counts)
    got, steps = _snntorch_run(graph, image, dt)
    agree = np.mean(got == want)
    assert agree >= (0.99 if dt <= 1e-5 else 0.98), agree
    # Every disagreement is the time step: snnTorch counts what its stepped neuron gives.
    bad = got != want
    current = _currents(graph, image)
    np.testing.assert_array_equal(got[bad], _stepped_counts(graph, current, dt, steps)[bad])
    assert np.all(got[bad] < want[bad])
    # And its spikes decode, through events_from_spikes, to the image of its counts.
    raster = np.zeros((steps, got.size), np.int64)
    raster[-1] = got
    image_back = sc.from_events(events_from_spikes(graph, raster, dt))
    signed = []
    for pop in json.loads(graph.metadata["spikecodec"])["populations"][::2]:
        n = pop["count"]
        on, off = got[pop["start"] : pop["start"] + n], got[pop["start"] + n : pop["start"] + 2 * n]
        signed.append((on - off).reshape(counts[pop["plane"]].shape))
    np.testing.assert_array_equal(image_back, image_from_counts(header, signed))
