"""Brian2 as the independent check of the LIF neuron (NOTES.md, "Brian2 as the independent check").

One Brian2 ``NeuronGroup`` per time step ``dt`` holds the inputs of all three parameter sets
(per-neuron ``R``, ``tau = R*C``, ``theta``, ``I``), integrates ``tau du/dt = -u + R*I`` with the
``exact`` method, fires on ``u >= theta`` and resets ``u = 0``. The group runs 150 ms in three
50 ms pieces and the spike counts are read after 50, 100 and 150 ms, so each parameter set gets
its own window ``T`` from the same run. ``u``, ``R*I`` and ``theta`` are dimensionless; time is
in Brian2's ``ms``, the unit of :mod:`spikecodec.neuron`.

Asserted:
- Brian2's counts are ``floor((T/dt) / ceil(d/dt))``, computed here from ``d`` with ``math``;
- ``LIF.simulate`` reproduces Brian2's counts exactly, at every ``dt``;
- the closed form ``LIF.count`` agrees with Brian2 on a fraction of inputs that grows as ``dt``
  shrinks and reaches >= 99.5 % at ``dt = 0.001`` ms; every disagreement is an input just above
  a decision threshold ``I_k`` (relative distance < ``k*dt/(T - k*dt)``), where the closed form
  counts one spike more (at ``dt = 0.1`` ms and ``T = 50`` ms, up to two more near ``k = 30``,
  since the stepped neuron loses about ``k^2*dt/T`` spikes).

The numpy code-generation target is used. Measured for these 3000 neurons (runs of 1500, 15 000
and 150 000 steps for dt = 0.1, 0.01, 0.001 ms): numpy 0.4 + 1.1 + 4.5 s; Cython 0.5 + 0.6 +
2.7 s once compiled, but the first run compiles for ~7 s more (10.8 s in all on a fresh cache).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikecodec import LIF

b2 = pytest.importorskip("brian2")

# (R, C, theta, T): the seed's pixel-domain settings (large R) and Fig. 2's small-R neuron.
SETS = [(1e3, 1.0, 500.0, 50.0), (1e3, 1.0, 500.0, 150.0), (1.0, 10.0, 5.0, 100.0)]
SET_IDS = ["R=1e3,theta=500,T=50", "R=1e3,theta=500,T=150", "R=1,C=10,theta=5,T=100"]
N_PER_SET = 1000  # inputs per parameter set
KMAX = 30  # inputs span the counts 0..KMAX
WINDOWS = (50.0, 100.0, 150.0)  # read-out instants of the one Brian2 run, ms
DTS = (0.1, 0.01, 0.001)  # ms

# Brian2 2.9 uses pyparsing's deprecated camelCase names.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def ref_delay(R: float, C: float, theta: float, I: float) -> float:
    drive = R * I
    return -R * C * math.log1p(-theta / drive) if drive > theta else math.inf


def ref_threshold(R: float, C: float, theta: float, T: float, k: int) -> float:
    return theta / (R * -math.expm1(-T / (k * R * C)))


def set_inputs(R: float, C: float, theta: float, T: float) -> np.ndarray:
    """Evenly spaced inputs from 2 % below I_1 up to (not including) I_{31}."""
    lo, hi = 0.98 * ref_threshold(R, C, theta, T, 1), ref_threshold(R, C, theta, T, KMAX + 1)
    return np.linspace(lo, hi, N_PER_SET, endpoint=False)


INPUTS = [set_inputs(*p) for p in SETS]


def run_brian2(dt: float) -> dict[float, np.ndarray]:
    """Spike counts of all inputs of all sets after 50, 100 and 150 ms of one Brian2 run."""
    R = np.concatenate([np.full(N_PER_SET, p[0]) for p in SETS])
    C = np.concatenate([np.full(N_PER_SET, p[1]) for p in SETS])
    theta = np.concatenate([np.full(N_PER_SET, p[2]) for p in SETS])
    I = np.concatenate(INPUTS)
    eqs = """
    du/dt = (-u + R*I) / tau : 1
    R : 1 (constant)
    I : 1 (constant)
    theta : 1 (constant)
    tau : second (constant)
    nspikes : integer
    """
    previous = b2.prefs.codegen.target
    b2.prefs.codegen.target = "numpy"
    try:
        clock = b2.Clock(dt=dt * b2.ms)
        group = b2.NeuronGroup(
            I.size,
            eqs,
            threshold="u >= theta",
            reset="u = 0\nnspikes += 1",
            method="exact",
            clock=clock,
        )
        group.R, group.I, group.theta = R, I, theta
        group.tau = R * C * b2.ms
        net = b2.Network(group)
        counts, elapsed = {}, 0.0
        for T in WINDOWS:
            net.run((T - elapsed) * b2.ms, namespace={})
            elapsed = T
            # The run has made exactly T/dt steps (Brian2 counts steps as integers).
            assert round(float(net.t / b2.ms) / dt) == round(T / dt)
            counts[T] = np.asarray(group.nspikes[:], dtype=np.int64).copy()
    finally:
        b2.prefs.codegen.target = previous
    return counts


_CACHE: dict[float, dict[float, np.ndarray]] = {}


def brian2_counts(dt: float, s: int) -> np.ndarray:
    """Brian2's counts for parameter set ``s`` in its window, at step ``dt`` (cached per dt)."""
    if dt not in _CACHE:
        _CACHE[dt] = run_brian2(dt)
    T = SETS[s][3]
    return _CACHE[dt][T][s * N_PER_SET : (s + 1) * N_PER_SET]


def stepped_count(R: float, C: float, theta: float, I: float, T: float, dt: float) -> int:
    """The stepped model fires every ceil(d/dt) steps: floor((T/dt)/ceil(d/dt)) in T/dt steps."""
    d = ref_delay(R, C, theta, I)
    return 0 if math.isinf(d) else round(T / dt) // math.ceil(d / dt)


DT_PARAMS = [pytest.param(dt, id=f"dt={dt}") for dt in DTS]


def test_inputs_span_counts_0_to_30():
    for (R, C, theta, T), I in zip(SETS, INPUTS, strict=True):
        assert I.size >= 500
        assert set(LIF(R, C, theta).count(I, T).tolist()) == set(range(KMAX + 1))


@pytest.mark.parametrize("dt", DT_PARAMS)
@pytest.mark.parametrize("s", range(len(SETS)), ids=SET_IDS)
def test_brian2_counts_are_the_stepped_formula(s, dt):
    R, C, theta, T = SETS[s]
    I = INPUTS[s]
    got = brian2_counts(dt, s)
    # Leave out inputs whose delay lies within rounding of a whole number of steps.
    q = np.array([ref_delay(R, C, theta, x) / dt for x in I])
    keep = ~np.isfinite(q) | (np.abs(q - np.round(np.where(np.isfinite(q), q, 0))) > 1e-9)
    assert keep.sum() >= 0.99 * I.size
    expected = [stepped_count(R, C, theta, float(x), T, dt) for x in I[keep]]
    np.testing.assert_array_equal(got[keep], expected)


@pytest.mark.parametrize("dt", DT_PARAMS)
@pytest.mark.parametrize("s", range(len(SETS)), ids=SET_IDS)
def test_simulate_equals_brian2_exactly(s, dt):
    R, C, theta, T = SETS[s]
    sim = LIF(R, C, theta).simulate(INPUTS[s], T, dt).counts
    np.testing.assert_array_equal(sim, brian2_counts(dt, s))


@pytest.mark.parametrize("s", range(len(SETS)), ids=SET_IDS)
def test_closed_form_agrees_with_brian2_as_dt_shrinks(s):
    R, C, theta, T = SETS[s]
    I = INPUTS[s]
    exact = LIF(R, C, theta).count(I, T)
    fractions = []
    for dt in DTS:
        got = brian2_counts(dt, s)
        fractions.append(float(np.mean(got == exact)))
        bad = np.flatnonzero(got != exact)
        # The stepped neuron fires every ceil(d/dt)*dt in [d, d + dt): never more spikes than
        # the closed form, and at least floor(T/(d + dt)), i.e. about k^2*dt/T fewer at count k.
        d = np.array([ref_delay(R, C, theta, x) for x in I])
        assert np.all(got <= exact)
        assert np.all(got >= np.floor(T / (d + dt)))
        if KMAX * (KMAX + 1) * dt / T < 1:  # dt <= 0.01 here: at most one spike lost
            np.testing.assert_array_equal(exact[bad] - got[bad], 1)
        steps = round(T / dt)
        for i in bad:
            k = int(exact[i])
            I_k = ref_threshold(R, C, theta, T, k)
            rel = (I[i] - I_k) / I_k
            # A disagreement is an input just above I_k: its delay d > floor(N/k)*dt >=
            # T/k - dt, so (I - I_k)/I_k < k*dt/(T - k*dt) (I falls at most as fast as d rises).
            assert 0.0 <= rel < k * dt / (T - k * dt), (i, k, rel)
            # Precisely: below the input whose delay is floor(N/k) whole steps.
            J_k = theta / (R * -math.expm1(-(steps // k) * dt / (R * C)))
            assert I[i] < J_k * (1 + 1e-12)
    assert fractions[0] < fractions[1] < fractions[2], fractions
    assert fractions[2] >= 0.995, fractions
