"""The LIF neuron against its closed-form formulas, computed independently here with ``math``.

Formulas (NOTES.md, "The LIF neuron"): ``tau = R*C``,
``d(I) = -tau*ln(1 - theta/(R*(I + b)))`` if ``R*(I + b) > theta`` else ``inf``,
``N_T(I) = floor(T/d(I))``, ``I_k = theta/(R*(1 - exp(-T/(k*tau)))) - b`` (``I_0 = -inf``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from spikecodec import LIF

# --------------------------------------------------------------------------------------------
# Independent reference formulas (scalar, math module only)
# --------------------------------------------------------------------------------------------


def ref_delay(R: float, C: float, theta: float, I: float, b: float = 0.0) -> float:
    drive = R * (I + b)
    if drive <= theta:
        return math.inf
    return -R * C * math.log1p(-theta / drive)


def ref_threshold(R: float, C: float, theta: float, T: float, k: int, b: float = 0.0) -> float:
    if k == 0:
        return -math.inf
    return theta / (R * -math.expm1(-T / (k * R * C))) - b


def ref_sim_count(R: float, C: float, theta: float, I: float, T: float, dt: float) -> int:
    """Count of the time-stepped model: the threshold is seen only at whole steps of ``dt``, so a
    neuron fires every ``m = ceil(d/dt)`` steps and ``floor(N/m)`` times in ``N = T/dt`` steps."""
    d = ref_delay(R, C, theta, I)
    if math.isinf(d):
        return 0
    steps = round(T / dt)
    return steps // math.ceil(d / dt)


# The two regimes of NOTES.md: large R (uniform quantizer) and small R (non-uniform).
PARAMS = [
    (1e3, 1.0, 500.0, 50.0),
    (1e3, 1.0, 500.0, 150.0),
    (1.0, 10.0, 5.0, 100.0),
    (1e4, 1.0, 500.0, 100.0),
]


def inputs_spanning(lif: LIF, T: float, kmax: int, n: int, seed: int = 0) -> np.ndarray:
    """``n`` random inputs from a little below ``I_1`` to ``I_{kmax+1}``, plus the centre of every
    cell ``1..kmax`` (so that every count ``0..kmax`` occurs; some cells are narrow)."""
    edges = [ref_threshold(lif.R, lif.C, lif.theta, T, k, lif.bias) for k in range(1, kmax + 2)]
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    rand = np.random.default_rng(seed).uniform(0.95 * edges[0], edges[-1], max(n - kmax, 0))
    return np.sort(np.concatenate([rand, centres]))


# --------------------------------------------------------------------------------------------
# Known values
# --------------------------------------------------------------------------------------------


def test_delay_known_values():
    lif = LIF(R=1e3, C=1.0, theta=500.0)
    # theta/(R*I) = 500/20000 = 1/40: d = 1000*ln(40/39) = 25.318 ms
    assert lif.delay(20.0) == pytest.approx(1000.0 * math.log(20.0 / (20.0 - 0.5)), rel=1e-14)
    assert lif.delay(20.0) == pytest.approx(25.3178, abs=1e-4)
    # theta/(R*I) = 1/20: d = 1000*ln(20/19) = 51.29 ms
    assert lif.delay(10.0) == pytest.approx(1000.0 * math.log(20.0 / 19.0), rel=1e-14)
    I = np.array([0.6, 1.0, 10.0, 20.0, 100.0, 1e4])
    expected = [ref_delay(1e3, 1.0, 500.0, x) for x in I]
    np.testing.assert_allclose(lif.delay(I), expected, rtol=1e-13)
    small_r = LIF(R=1.0, C=10.0, theta=5.0)
    I = np.array([5.001, 5.5, 7.0, 20.0])
    np.testing.assert_allclose(small_r.delay(I), [ref_delay(1.0, 10.0, 5.0, x) for x in I], 1e-13)


def test_count_known_values():
    lif = LIF(R=1e3, C=1.0, theta=500.0)
    # d(20) = 25.318 ms: 1 spike in 50 ms, 3 in 100 ms, 5 in 150 ms; d(10) = 51.3 ms > 50 ms.
    assert int(lif.count(20.0, T=50.0)) == 1
    assert int(lif.count(20.0, T=100.0)) == 3
    assert int(lif.count(20.0, T=150.0)) == 5
    assert int(lif.count(10.0, T=50.0)) == 0
    assert int(lif.count(10.0, T=60.0)) == 1
    for R, C, theta, T in PARAMS:
        lif = LIF(R, C, theta)
        I = inputs_spanning(lif, T, 30, 500)
        expected = [math.floor(T / ref_delay(R, C, theta, x)) for x in I]
        got = lif.count(I, T)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, expected)
        assert set(got.tolist()) == set(range(31))


def test_threshold_known_values():
    lif = LIF(R=1e3, C=1.0, theta=500.0)
    # I_1 at T = 50: 0.5/(1 - exp(-0.05)) = 10.2521
    assert float(lif.threshold(1, 50.0)) == pytest.approx(0.5 / (1 - math.exp(-0.05)), rel=1e-14)
    assert float(lif.threshold(1, 50.0)) == pytest.approx(10.2521, abs=1e-4)
    assert float(lif.threshold(0, 50.0)) == -math.inf  # I_0 = -inf: every input has N >= 0
    for R, C, theta, T in PARAMS:
        lif = LIF(R, C, theta)
        k = np.arange(0, 200)
        expected = [ref_threshold(R, C, theta, T, int(j)) for j in k]
        np.testing.assert_allclose(lif.threshold(k, T), expected, rtol=1e-13)
        # The thresholds are the inputs whose delay is exactly T/k.
        for j in (1, 2, 7, 30):
            assert ref_delay(R, C, theta, expected[j]) == pytest.approx(T / j, rel=1e-9)


def test_delay_is_inf_when_silent():
    lif = LIF(R=1e3, C=1.0, theta=500.0)
    I = np.array([-5.0, 0.0, 0.1, 0.5, np.nextafter(0.5, 0.0)])  # R*I <= theta
    assert np.all(np.isinf(lif.delay(I)))
    assert np.all(lif.delay(I) > 0)
    assert np.all(lif.count(I, 1e4) == 0)
    assert np.isfinite(lif.delay(0.5000001))


def test_tau_and_repr():
    lif = LIF(R=2.0, C=3.0, theta=5.0, bias=0.25)
    assert lif.tau == 6.0
    assert "R=2.0" in repr(lif) and "bias=0.25" in repr(lif)


# --------------------------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------------------------

# The domain: R in [0.1, 1e5] as asked, C in [0.01, 100], theta in [1e-2, 1e4], T in [0.1, 1e4]
# ms, with T/tau up to 1e3: beyond T/tau ~ 37, exp(-T/(k*tau)) < 2**-53 and the first
# thresholds collapse onto the least firing input (see test_collapsed_thresholds_*).
MAX_T_OVER_TAU = 1e3


@st.composite
def lif_params(draw, bias: bool = False):
    R = 10.0 ** draw(st.floats(-1.0, 5.0))
    C = 10.0 ** draw(st.floats(-2.0, 2.0))
    theta = 10.0 ** draw(st.floats(-2.0, 4.0))
    T = 10.0 ** draw(st.floats(-1.0, 4.0))
    assume(T / (R * C) <= MAX_T_OVER_TAU)
    # Any bias leaving the neuron silent at rest within T (I_1 > 0), also beyond R*b = theta.
    b = draw(st.floats(0.0, 0.999)) * ref_threshold(R, C, theta, T, 1) if bias else 0.0
    return R, C, theta, T, b


@st.composite
def inputs_for(draw, R, C, theta, T, b):
    """Inputs that stress the decisions: thresholds and their float neighbours, multiples of I_1,
    and plain floats."""
    lif = LIF(R, C, theta, bias=b)
    kind = draw(st.sampled_from(["threshold", "multiple", "plain"]))
    if kind == "threshold":
        k = draw(st.integers(1, 2000))
        I = float(lif.threshold(k, T))
        steps = draw(st.integers(-2, 2))
        for _ in range(abs(steps)):
            I = math.nextafter(I, math.inf if steps > 0 else -math.inf)
        return I
    if kind == "multiple":
        return float(lif.threshold(1, T)) * draw(st.floats(0.0, 1000.0))
    return draw(st.floats(-1e6, 1e6, allow_nan=False))


@settings(max_examples=300)
@given(data=st.data())
def test_count_consistent_with_thresholds(data):
    """threshold(count(I)) <= I < threshold(count(I) + 1), with and without bias."""
    R, C, theta, T, b = data.draw(lif_params(bias=data.draw(st.booleans())))
    lif = LIF(R, C, theta, bias=b)
    I = np.array(data.draw(st.lists(inputs_for(R, C, theta, T, b), min_size=1, max_size=20)))
    n = lif.count(I, T)
    pos = I > 0
    assert np.all(n[~pos] == 0)
    assert np.all(lif.threshold(n[pos], T) <= I[pos])
    assert np.all(I[pos] < lif.threshold(n[pos] + 1, T))


@settings(max_examples=300)
@given(data=st.data())
def test_count_monotone_in_input(data):
    R, C, theta, T, b = data.draw(lif_params(bias=data.draw(st.booleans())))
    lif = LIF(R, C, theta, bias=b)
    I = np.sort(data.draw(st.lists(inputs_for(R, C, theta, T, b), min_size=2, max_size=30)))
    n = lif.count(I, T)
    assert np.all(np.diff(n) >= 0)


@settings(max_examples=200)
@given(data=st.data())
def test_count_matches_floor_T_over_d_away_from_thresholds(data):
    """Away from decision thresholds the corrected count is the plain formula floor(T/d)."""
    R, C, theta, T, _ = data.draw(lif_params())
    I = float(ref_threshold(R, C, theta, T, 1)) * data.draw(st.floats(0.5, 300.0))
    d = ref_delay(R, C, theta, I)
    q = T / d
    assume(abs(q - round(q)) > 1e-6 * max(q, 1.0))
    # ... and away from them as thresholds say too: just above a threshold whose exp(-T/tau)
    # is tiny, 1 - theta/(R*I) cancels and floor(T/d) itself is off.
    near = (ref_threshold(R, C, theta, T, k) for k in (math.floor(q), math.floor(q) + 1) if k)
    assume(all(abs(I - t) > 1e-9 * I for t in near))
    assert int(LIF(R, C, theta).count(I, T)) == math.floor(q)


@pytest.mark.parametrize("R", [1e4, 1e5, 1e6])
@pytest.mark.parametrize("k", [1, 2, 5, 10, 30, 100])
def test_large_R_limit_is_uniform(R, k):
    """I_k -> k*C*theta/T; relative error x/2 <= err <= x/2 + x^2/12, x = T/(k*tau)."""
    C, theta, T = 1.0, 500.0, 100.0
    lif = LIF(R, C, theta)
    x = T / (k * R * C)
    rel = float(lif.threshold(k, T)) / (k * C * theta / T) - 1.0
    assert x / 2 - 1e-12 <= rel <= x / 2 + x * x / 12 + 1e-12
    assert rel <= T / (2 * k * R * C) * 1.01


def test_spike_times():
    for R, C, theta, T in PARAMS:
        lif = LIF(R, C, theta)
        I = inputs_spanning(lif, T, 30, 300, seed=1).reshape(20, 15)
        ev = lif.spike_times(I, T)
        counts = lif.count(I, T)
        assert ev.counts.shape == I.shape
        np.testing.assert_array_equal(ev.counts, counts)
        np.testing.assert_array_equal(np.bincount(ev.neuron, minlength=I.size), counts.ravel())
        assert np.all(np.diff(ev.time) >= 0), "events must be sorted by time"
        assert np.all(ev.time > 0) and np.all(ev.time <= T * (1 + 1e-12))
        for i, x in enumerate(I.ravel()):
            t = ev.time[ev.neuron == i]
            d = ref_delay(R, C, theta, float(x))
            np.testing.assert_allclose(t, d * np.arange(1, t.size + 1), rtol=1e-12)


def test_spike_times_of_silent_inputs_is_empty():
    ev = LIF(1e3, 1.0, 500.0).spike_times([0.0, 0.3, -7.0], 100.0)
    assert ev.neuron.size == 0 and ev.time.size == 0
    np.testing.assert_array_equal(ev.counts, [0, 0, 0])


# --------------------------------------------------------------------------------------------
# Bias current
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("R", "C", "theta", "T"), PARAMS)
@pytest.mark.parametrize("beta", [0.3, 0.5])
def test_bias_shifts_thresholds(R, C, theta, T, beta):
    b = beta * C * theta / T  # the NOTES' bias current (R*b may exceed theta when T < tau)
    plain, biased = LIF(R, C, theta), LIF(R, C, theta, bias=b)
    k = np.arange(1, 100)
    np.testing.assert_allclose(biased.threshold(k, T), plain.threshold(k, T) - b, rtol=1e-13)
    np.testing.assert_allclose(
        biased.threshold(k, T), [ref_threshold(R, C, theta, T, int(j), b) for j in k], rtol=1e-13
    )
    assert float(biased.threshold(1, T)) > 0.0, "silent at rest within T: a dead zone remains"
    I = inputs_spanning(plain, T, 30, 400, seed=2)
    np.testing.assert_allclose(biased.delay(I), [ref_delay(R, C, theta, x, b) for x in I], 1e-12)
    np.testing.assert_allclose(biased.delay(I - b), plain.delay(I), rtol=1e-10)
    expected = [math.floor(T / ref_delay(R, C, theta, x, b)) for x in I]
    np.testing.assert_array_equal(biased.count(I, T), expected)
    assert np.all(biased.count(I, T) >= plain.count(I, T))
    assert int(biased.count(0.0, T)) == 0


def test_bias_beyond_theta_over_R_fires_at_rest():
    # R*b = 6 > theta = 5: a zero input fires every d(0) = -10*ln(1 - 5/6) = 17.92 ms.
    lif = LIF(R=10.0, C=1.0, theta=5.0, bias=0.6)
    assert float(lif.delay(0.0)) == pytest.approx(10.0 * math.log(6.0), rel=1e-13)
    assert int(lif.count(0.0, 100.0)) == 5
    assert int(lif.count(0.0, 17.0)) == 0  # still silent within a 17 ms window


@pytest.mark.parametrize("bias", [-0.1, math.nan, math.inf, -math.inf])
def test_bias_negative_or_not_finite_raises(bias):
    with pytest.raises(ValueError, match="bias must be a non-negative finite current"):
        LIF(R=10.0, C=1.0, theta=5.0, bias=bias)


# --------------------------------------------------------------------------------------------
# Invalid parameters
# --------------------------------------------------------------------------------------------

BAD = [0.0, -1.0, -0.0, math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("name", ["R", "C", "theta"])
def test_invalid_neuron_parameters_raise(name, value):
    kwargs = {"R": 1e3, "C": 1.0, "theta": 500.0, name: value}
    with pytest.raises(ValueError, match=f"{name} must be a positive finite number"):
        LIF(**kwargs)


@pytest.mark.parametrize("value", BAD)
def test_invalid_window_raises(value):
    lif = LIF(1e3, 1.0, 500.0)
    for call in (
        lambda: lif.count(20.0, value),
        lambda: lif.threshold(3, value),
        lambda: lif.spike_times([20.0], value),
        lambda: lif.simulate([20.0], value, 0.1),
    ):
        with pytest.raises(ValueError, match="T must be a positive finite number"):
            call()


@pytest.mark.parametrize("value", BAD)
def test_invalid_dt_raises(value):
    with pytest.raises(ValueError, match="dt must be a positive finite number"):
        LIF(1e3, 1.0, 500.0).simulate([20.0], 50.0, value)


def test_dt_longer_than_window_raises():
    with pytest.raises(ValueError, match="longer than the window"):
        LIF(1e3, 1.0, 500.0).simulate([20.0], 50.0, 200.0)


def test_nan_input_and_negative_count_raise():
    lif = LIF(1e3, 1.0, 500.0)
    with pytest.raises(ValueError, match="must be finite"):
        lif.count([1.0, math.nan], 50.0)
    with pytest.raises(ValueError, match="non-negative"):
        lif.threshold([1, -1], 50.0)


# --------------------------------------------------------------------------------------------
# The time-stepped simulation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("R", "C", "theta", "T"), PARAMS)
@pytest.mark.parametrize("dt", [0.1, 0.05, 0.01])
def test_simulate_matches_stepped_closed_form(R, C, theta, T, dt):
    lif = LIF(R, C, theta)
    I = inputs_spanning(lif, T, 30, 300, seed=3)
    # Leave out inputs whose delay is within rounding of a whole number of steps.
    q = np.array([ref_delay(R, C, theta, x) / dt for x in I])
    q = np.where(np.isfinite(q), q, 0.5)  # silent inputs: keep
    I = I[np.abs(q - np.round(q)) > 1e-9]
    ev = lif.simulate(I, T, dt)
    expected = [ref_sim_count(R, C, theta, float(x), T, dt) for x in I]
    np.testing.assert_array_equal(ev.counts, expected)
    np.testing.assert_array_equal(np.bincount(ev.neuron, minlength=I.size), ev.counts)
    # Neuron i fires at the ends of steps m, 2m, ..., m = ceil(d/dt).
    for i in (0, I.size // 3, I.size // 2, I.size - 1):
        t = np.sort(ev.time[ev.neuron == i])
        if t.size:
            m = math.ceil(ref_delay(R, C, theta, float(I[i])) / dt)
            np.testing.assert_allclose(t, dt * m * np.arange(1, t.size + 1), rtol=1e-12)


def test_simulate_converges_to_closed_form():
    R, C, theta, T = 1e3, 1.0, 500.0, 50.0
    lif = LIF(R, C, theta)
    I = inputs_spanning(lif, T, 30, 400, seed=4).reshape(20, 20)
    exact = lif.count(I, T)
    d = np.array([ref_delay(R, C, theta, x) for x in I.ravel()]).reshape(I.shape)
    fractions = []
    for dt in (0.1, 0.01, 0.001):
        sim = lif.simulate(I, T, dt).counts
        assert sim.shape == I.shape
        # The stepped neuron fires every ceil(d/dt)*dt ms, in [d, d + dt): never more spikes than
        # the closed form, and at least floor(T/(d + dt)).
        assert np.all(sim <= exact)
        assert np.all(sim >= np.floor(T / (d + dt)))
        if dt <= 0.01:  # k^2*dt/T < 1 for k <= 30: at most one spike lost
            assert np.all(exact - sim <= 1)
        fractions.append(float(np.mean(sim == exact)))
    assert fractions[0] < fractions[1] < fractions[2]
    assert fractions[2] >= 0.99, fractions


def test_simulate_with_bias_and_silent_inputs():
    lif = LIF(1e3, 1.0, 500.0, bias=0.2)
    I = np.array([0.0, 0.1, 20.0])
    sim = lif.simulate(I, 100.0, 0.01).counts
    assert sim[0] == 0 and sim[1] == 0
    d = ref_delay(1e3, 1.0, 500.0, 20.0, 0.2)
    assert sim[2] == 10000 // math.ceil(d / 0.01)


# --------------------------------------------------------------------------------------------
# T/tau beyond ~37: the first thresholds collapse onto the least firing input
# --------------------------------------------------------------------------------------------


def test_collapsed_thresholds_count_consistent():
    # R=1, C=1, T=100: T/tau = 100, so exp(-T/(k*tau)) < 2**-53 for k = 1, 2 and I_1 = I_2 = 5.0.
    lif = LIF(R=1.0, C=1.0, theta=5.0)
    I, T = 5.0, 100.0
    n = int(lif.count(I, T))
    assert float(lif.threshold(n, T)) <= I < float(lif.threshold(n + 1, T))


def test_collapsed_thresholds_silent_input_counts_zero():
    # R*I == theta exactly: silent (delay inf), but T/tau = 1000 rounds I_1 to theta/R = 0.5.
    lif = LIF(R=1e3, C=1.0, theta=500.0)
    assert math.isinf(float(lif.delay(0.5)))
    assert int(lif.count(0.5, 1e6)) == 0


def test_collapsed_thresholds_silent_input_has_no_spike():
    lif = LIF(R=1.0, C=1.0, theta=5.0)
    assert math.isinf(float(lif.delay(5.0)))  # R*I == theta: silent
    ev = lif.spike_times(5.0, 40.0)
    assert int(ev.counts) == 0 and ev.time.size == 0


def test_step_length_against_the_thresholds_and_high_precision():
    """l_k equals the difference of thresholds where that is accurate, and mpmath's exact value
    where the difference cancels (T >> k*tau)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 400  # the reference subtracts numbers that agree to ~300 digits
    for R in (1.0, 1e3, 1e4):
        lif = LIF(R=R, C=10.0, theta=5.0)
        for T in (10.0, 100.0, 200.0, 2000.0):
            k = np.arange(1, 31)
            exact = [
                mpmath.mpf(5.0)
                / R
                * (
                    1 / -mpmath.expm1(-T / ((j + 1) * lif.tau))
                    - 1 / -mpmath.expm1(-T / (j * lif.tau))
                )
                for j in k
            ]
            np.testing.assert_allclose(lif.step_length(k, T), [float(e) for e in exact], rtol=1e-12)
            if T / lif.tau < 1:
                diff = np.diff(lif.threshold(np.arange(1, 32), T))
                np.testing.assert_allclose(lif.step_length(k, T), diff, rtol=1e-9)
