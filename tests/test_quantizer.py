"""The neuro-inspired quantizer: ON/OFF spike counts, reconstruction, step lengths, bit-planes.

Reference values are computed here from the formulas of NOTES.md with ``math``:
``I_k = theta/(R*(1 - exp(-T/(k*tau)))) - b``, ``l_k = I_{k+1} - I_k``, asymptote ``C*theta/T``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from spikecodec import LIF, NeuroQuantizer


def ref_threshold(R: float, C: float, theta: float, T: float, k: int, b: float = 0.0) -> float:
    return theta / (R * -math.expm1(-T / (k * R * C))) - b


# (R, C, theta, T, bias): large R (uniform), small R (non-uniform), biased, the seed's Fig. 2.
PARAMS = [
    (1e3, 1.0, 500.0, 50.0, 0.0),
    (1e3, 1.0, 500.0, 150.0, 0.0),
    (1e4, 1.0, 500.0, 100.0, 0.0),
    (1.0, 10.0, 5.0, 100.0, 0.0),
    (0.5, 2.0, 5.0, 10.0, 0.0),  # T/tau = 10: strongly non-uniform
    (1e4, 1.0, 50.0, 100.0, 0.15),  # beta = 0.3 bias
    (2.0, 10.0, 5.0, 100.0, 1.0),  # R*b < theta, small R
]
IDS = [f"R={p[0]:g},C={p[1]:g},theta={p[2]:g},T={p[3]:g},b={p[4]:g}" for p in PARAMS]


def make(R, C, theta, T, b=0.0) -> NeuroQuantizer:
    return NeuroQuantizer(LIF(R, C, theta, bias=b), T)


def laplacian_grid(nq: NeuroQuantizer, n: int, kmax: int = 60, seed: int = 0) -> np.ndarray:
    """``n`` signed values, Laplacian-like, reaching about count ``kmax``, plus every threshold
    ``+-I_k`` (k <= kmax) and its float neighbours: the hardest inputs for exactness."""
    rng = np.random.default_rng(seed)
    top = float(nq.thresholds(kmax))
    x = rng.laplace(0.0, top / 6, n)
    x = np.clip(x, -top, top)
    t = nq.thresholds(np.arange(1, kmax + 1))
    t = np.concatenate([t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf)])
    return np.concatenate([x, t, -t, [0.0, -0.0]])


# --------------------------------------------------------------------------------------------
# Strategies (domain T/tau <= 30: see tests/test_neuron.py for the collapsed-threshold bug)
# --------------------------------------------------------------------------------------------


@st.composite
def quantizers(draw):
    R = 10.0 ** draw(st.floats(-1.0, 5.0))
    C = 10.0 ** draw(st.floats(-2.0, 2.0))
    theta = 10.0 ** draw(st.floats(-2.0, 4.0))
    T = 10.0 ** draw(st.floats(-1.0, 4.0))
    assume(T / (R * C) <= 30.0)
    b = 0.0
    if draw(st.booleans()):
        b = draw(st.floats(0.0, 0.999)) * ref_threshold(R, C, theta, T, 1)
    return make(R, C, theta, T, b)


@st.composite
def values_for(draw, nq: NeuroQuantizer, at_thresholds: bool = True):
    """Signed values: thresholds and neighbours (optional), multiples of I_1, plain floats."""
    kinds = ["threshold", "multiple", "plain"] if at_thresholds else ["multiple", "plain"]
    kind = draw(st.sampled_from(kinds))
    sign = draw(st.sampled_from([1.0, -1.0]))
    if kind == "threshold":
        x = float(nq.thresholds(draw(st.integers(1, 2000))))
        steps = draw(st.integers(-2, 2))
        for _ in range(abs(steps)):
            x = math.nextafter(x, math.inf if steps > 0 else -math.inf)
        return sign * x
    if kind == "multiple":
        return sign * float(nq.thresholds(1)) * draw(st.floats(0.0, 500.0))
    x = draw(st.floats(-1e6, 1e6, allow_nan=False))
    # encode builds a threshold table up to the largest count (O(count) memory): keep it small.
    assume(int(nq.lif.count(abs(x), nq.T)) <= 100_000)
    return x


# --------------------------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------------------------


def test_docstring_example():
    nq = make(1e4, 1.0, 500.0, 100.0)
    assert nq.asymptotic_step == 5.0
    assert nq.encode([-12.0, 0.0, 3.0, 26.0]).tolist() == [-2, 0, 0, 5]


@pytest.mark.parametrize(("R", "C", "theta", "T", "b"), PARAMS, ids=IDS)
def test_encode_on_off_sign(R, C, theta, T, b):
    nq = make(R, C, theta, T, b)
    x = laplacian_grid(nq, 5000).reshape(-1, 1)
    k = nq.encode(x)
    assert k.dtype == np.int64 and k.shape == x.shape
    np.testing.assert_array_equal(nq.encode(-x), -k)  # OFF neuron mirrors the ON neuron
    assert np.all(k[x > 0] >= 0) and np.all(k[x < 0] <= 0)
    assert np.all(k[np.abs(x) < ref_threshold(R, C, theta, T, 1, b)] == 0)  # dead zone
    assert np.all(k[np.abs(x) >= ref_threshold(R, C, theta, T, 1, b)] != 0)
    np.testing.assert_array_equal(
        k.ravel(), np.sign(x.ravel()) * nq.lif.count(np.abs(x.ravel()), T)
    )


def test_encode_scalar_empty_and_growing_magnitudes():
    nq = make(1e3, 1.0, 500.0, 50.0)
    assert nq.encode(20.0).shape == () and int(nq.encode(20.0)) == 1
    assert nq.encode(np.zeros((0, 3))).shape == (0, 3)
    # The cached threshold table grows when larger magnitudes arrive.
    for top in (1.0, 50.0, 1e4, 1e6):
        x = np.linspace(-top, top, 1001)
        np.testing.assert_array_equal(nq.encode(x), np.sign(x) * nq.lif.count(np.abs(x), 50.0))
    assert int(nq.encode(1e6)) == int(nq.lif.count(1e6, 50.0)) > 50_000


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_encode_equals_signed_count(data):
    nq = data.draw(quantizers())
    x = np.array(data.draw(st.lists(values_for(nq), min_size=1, max_size=30)))
    expected = np.sign(x).astype(np.int64) * nq.lif.count(np.abs(x), nq.T)
    np.testing.assert_array_equal(nq.encode(x), expected)


# --------------------------------------------------------------------------------------------
# decode
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("R", "C", "theta", "T", "b"), PARAMS, ids=IDS)
def test_decode_lower_and_midpoint_values(R, C, theta, T, b):
    nq = make(R, C, theta, T, b)
    k = np.arange(-40, 41)
    edges = [ref_threshold(R, C, theta, T, abs(int(j)), b) if j else 0.0 for j in k]
    upper = [ref_threshold(R, C, theta, T, abs(int(j)) + 1, b) if j else 0.0 for j in k]
    sign = np.sign(k)
    lower = nq.decode(k, "lower")
    mid = nq.decode(k)  # the default is the midpoint
    np.testing.assert_allclose(lower, sign * np.array(edges), rtol=1e-13)
    np.testing.assert_allclose(mid, sign * (np.array(edges) + np.array(upper)) / 2, rtol=1e-13)
    np.testing.assert_array_equal(nq.decode(k, "midpoint"), mid)
    np.testing.assert_array_equal(nq.decode(k, 0.0), lower)
    assert lower[k == 0] == 0.0 and mid[k == 0] == 0.0
    # Decoding to the lower edge is exactly the threshold table.
    np.testing.assert_array_equal(
        nq.decode(np.arange(1, 41), "lower"), nq.thresholds(np.arange(1, 41))
    )


@pytest.mark.parametrize(("R", "C", "theta", "T", "b"), PARAMS, ids=IDS)
def test_decode_encode_round_trip(R, C, theta, T, b):
    nq = make(R, C, theta, T, b)
    k = np.arange(-500, 501)
    for point in ("lower", "midpoint", 0.2, 0.9):
        np.testing.assert_array_equal(nq.encode(nq.decode(k, point)), k)


def test_decode_offset_array_broadcasts():
    nq = make(1e3, 1.0, 500.0, 50.0)
    k = np.array([[1, -2, 3], [4, 0, -6]])
    delta = np.array([0.0, 0.25, 0.5])
    x = nq.decode(k, delta)
    assert x.shape == k.shape
    lo = nq.decode(k, "lower")
    hi = np.sign(k) * nq.thresholds(np.abs(k) + 1) * (k != 0)
    np.testing.assert_allclose(x, lo + delta * (hi - lo), rtol=1e-13)
    assert nq.decode(np.array([7], dtype=np.uint8)).tolist() == nq.decode([7]).tolist()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_decode_lies_in_the_cell(data):
    nq = data.draw(quantizers())
    x = np.array(data.draw(st.lists(values_for(nq), min_size=1, max_size=30)))
    k = nq.encode(x)
    m = np.abs(k)
    lo, hi = nq.thresholds(m), nq.thresholds(m + 1)
    for point in ("lower", "midpoint", data.draw(st.floats(0.0, 1.0 - 1e-9))):
        y = nq.decode(k, point)
        assert np.all(np.sign(y) == np.sign(k))
        assert np.all(y[k == 0] == 0.0)
        nz = k != 0
        assert np.all(lo[nz] <= np.abs(y[nz])) and np.all(np.abs(y[nz]) < hi[nz])
        np.testing.assert_array_equal(nq.encode(y), k)


def test_decode_offset_just_below_one_stays_in_cell():
    nq = make(1e3, 1.0, 500.0, 50.0)
    k = np.arange(1, 200)
    np.testing.assert_array_equal(nq.encode(nq.decode(k, 1.0 - 2.0**-53)), k)


# --------------------------------------------------------------------------------------------
# Step lengths and Proposition 1
# --------------------------------------------------------------------------------------------


def test_step_lengths_small_R_seed_figure_2():
    nq = make(1.0, 10.0, 5.0, 100.0)
    assert nq.asymptotic_step == pytest.approx(0.5, rel=1e-15)
    l = nq.step_lengths(200)
    assert l.shape == (200,)
    ref = [
        ref_threshold(1.0, 10.0, 5.0, 100.0, k + 1) - ref_threshold(1.0, 10.0, 5.0, 100.0, k)
        for k in range(1, 201)
    ]
    np.testing.assert_allclose(l, ref, rtol=1e-9)
    assert l[0] == pytest.approx(0.034, abs=5e-4)  # l_1
    assert l[9] == pytest.approx(0.46, abs=5e-3)  # l_10
    assert np.all(np.diff(l) > 0), "non-uniform: l_k grows with k"
    assert np.all(l < 0.5) and l[-1] == pytest.approx(0.5, rel=1e-3)


def test_step_lengths_large_R_is_uniform():
    nq = make(1e4, 10.0, 5.0, 100.0)
    l = nq.step_lengths(100)
    np.testing.assert_allclose(l, 0.5, rtol=1e-6)
    # and the dead zone is twice the step: I_1 = Delta + theta/(2R) + O(1/R^2)
    assert float(nq.thresholds(1)) == pytest.approx(0.5 + 5.0 / 2e4, rel=1e-6)


@settings(max_examples=200)
@given(
    logR=st.floats(-1.0, 5.0),
    logC=st.floats(-2.0, 2.0),
    theta=st.floats(0.01, 1e4),
    logT=st.floats(-1.0, 4.0),
    ratio=st.floats(1.01, 100.0),
)
def test_proposition_1_step_lengths_decrease_with_T(logR, logC, theta, logT, ratio):
    R, C, T1 = 10.0**logR, 10.0**logC, 10.0**logT
    T2 = T1 * ratio
    assume(T2 / (R * C) <= 30.0)
    l1 = make(R, C, theta, T1).step_lengths(50)
    l2 = make(R, C, theta, T2).step_lengths(50)
    assert np.all(l2 < l1)


def test_proposition_1_all_steps_vanish_as_T_grows():
    lif = LIF(1e4, 1.0, 500.0)
    Ts = [10.0, 100.0, 1e3, 1e4, 1e5]
    L = np.array([NeuroQuantizer(lif, T).step_lengths(30) for T in Ts])
    assert np.all(np.diff(L, axis=0) < 0)
    assert L[-1].max() < 1e-3 * L[0].min()


# --------------------------------------------------------------------------------------------
# Time is a bit-plane
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("R", "C", "theta", "T", "b"), PARAMS, ids=IDS)
def test_counts_at_dyadic_instants_exact(R, C, theta, T, b):
    """N_{T/2^j} == sign * (|N_T| >> j), exactly, on 10^5 values plus every threshold."""
    nq = make(R, C, theta, T, b)
    x = laplacian_grid(nq, 100_000, kmax=200, seed=1)
    k = nq.encode(x)
    assert np.abs(k).max() >= 150
    for j in range(0, 9):
        later = nq.counts_at(k, 2**j)
        np.testing.assert_array_equal(later, np.sign(k) * (np.abs(k) >> j))
        np.testing.assert_array_equal(later, nq.at(T / 2**j).encode(x), err_msg=f"j={j}")


@settings(max_examples=200, deadline=None)
@given(data=st.data(), a=st.integers(1, 64))
def test_counts_at_general_integer_divisor(data, a):
    """N_{T/a} == floor(N_T/a) for any integer a (values off the float thresholds: T/a is rounded
    unless a is dyadic, so an input exactly on a threshold may fall on either side)."""
    nq = data.draw(quantizers())
    x = np.array(data.draw(st.lists(values_for(nq, at_thresholds=False), min_size=1, max_size=30)))
    k = nq.encode(x)
    np.testing.assert_array_equal(nq.counts_at(k, a), nq.at(nq.T / a).encode(x))


def test_counts_at_values():
    nq = make(1e3, 1.0, 500.0, 50.0)
    k = np.array([-7, -6, -1, 0, 1, 5, 6, 7, 13])
    assert nq.counts_at(k, 1).tolist() == k.tolist()
    assert nq.counts_at(k, 2).tolist() == [-3, -3, 0, 0, 0, 2, 3, 3, 6]
    assert nq.counts_at(k, 3).tolist() == [-2, -2, 0, 0, 0, 1, 2, 2, 4]


def test_at_returns_the_quantizer_of_another_window():
    nq = make(1.0, 10.0, 5.0, 100.0, 0.0)
    for t in (25.0, 50.0, 100.0, 300.0):
        other = nq.at(t)
        assert isinstance(other, NeuroQuantizer)
        assert other.T == t and other.lif is nq.lif
        assert other.asymptotic_step == pytest.approx(10.0 * 5.0 / t)
        x = np.linspace(-40, 40, 2001)
        np.testing.assert_array_equal(other.encode(x), make(1.0, 10.0, 5.0, t).encode(x))
    # I_k at T/2 is I_{2k} at T, bit for bit.
    np.testing.assert_array_equal(
        nq.at(50.0).thresholds(np.arange(1, 50)), nq.thresholds(2 * np.arange(1, 50))
    )
    assert "T=100.0" in repr(nq)


# --------------------------------------------------------------------------------------------
# Invalid arguments
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [0.0, -1.0, math.nan, math.inf])
def test_invalid_window_raises(T):
    lif = LIF(1e3, 1.0, 500.0)
    with pytest.raises(ValueError, match="T must be a positive finite number"):
        NeuroQuantizer(lif, T)
    with pytest.raises(ValueError, match="T must be a positive finite number"):
        NeuroQuantizer(lif, 50.0).at(T)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="lif must be a spikecodec.LIF"):
        NeuroQuantizer("LIF", 50.0)
    nq = make(1e3, 1.0, 500.0, 50.0)
    for bad in ([1.0, math.nan], [math.inf], [-math.inf, 0.0]):
        with pytest.raises(ValueError, match="must be finite"):
            nq.encode(bad)
    with pytest.raises(ValueError, match="point must be 'lower', 'midpoint' or a number"):
        nq.decode([1, 2], "centroid")
    for delta in (-0.1, 1.0, 1.5, math.nan, [0.2, 1.0]):
        with pytest.raises(ValueError, match="offset must lie in"):
            nq.decode([1, 2], delta)
    with pytest.raises(ValueError, match="must be integers"):
        nq.decode([1.0, 2.0])
    for a in (0, -2):
        with pytest.raises(ValueError, match="integer >= 1"):
            nq.counts_at([1, 2], a)
    for kmax in (0, -1):
        with pytest.raises(ValueError, match="kmax must be >= 1"):
            nq.step_lengths(kmax)


def test_bias_firing_within_the_window_raises():
    # I_1 = theta/(R*(1 - exp(-T/tau))) - b <= 0: the neurons fire at rest within T.
    R, C, theta, T = 1e3, 1.0, 500.0, 50.0
    limit = ref_threshold(R, C, theta, T, 1)  # 10.25: R*b = 10250 >> theta is still silent
    assert NeuroQuantizer(LIF(R, C, theta, bias=0.99 * limit), T).thresholds(1) > 0
    with pytest.raises(ValueError, match="bias"):
        NeuroQuantizer(LIF(R, C, theta, bias=limit * 1.001), T)
    with pytest.raises(ValueError, match="bias"):
        NeuroQuantizer(LIF(R, C, theta, bias=0.99 * limit), T).at(2 * T)
