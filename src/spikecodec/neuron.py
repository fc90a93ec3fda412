"""The leaky integrate-and-fire (LIF) neuron, in closed form and as a time-stepped simulation.

Units: time in milliseconds (ms), so ``tau = R*C`` is in ms; the input current ``I``, the
membrane potential ``u`` and the threshold ``theta`` are in consistent arbitrary units
(``R*I`` has the units of ``theta``).

The membrane obeys ``I(t) = u(t)/R + C du/dt``. From rest (``u = 0``) under a constant input
``I`` (plus an optional constant bias current ``b``) the potential is
``u(t) = R*(I + b)*(1 - exp(-t/tau))``; a spike is emitted when ``u`` reaches ``theta`` and
``u`` resets to 0. Hence the interspike delay

    d(I) = -tau * ln(1 - theta / (R*(I + b)))      if R*(I + b) > theta, else +inf,

spike times ``d, 2d, 3d, ...`` and the count in a window ``[0, T]``, ``N(I) = floor(T/d(I))``.
The decision thresholds ``N(I) = k  <=>  I_k <= I < I_{k+1}`` are

    I_k = theta / (R * (1 - exp(-T/(k*tau)))) - b      (k >= 1),   I_0 = -inf.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .errors import ParameterError
from .params import positive

__all__ = ["LIF", "SpikeEvents"]


def _positive_array(name: str, value: ArrayLike) -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(value) & (value > 0)):
        raise ParameterError(f"{name} must be a positive finite number, got {value!r}")
    return value


@dataclass(frozen=True)
class SpikeEvents:
    """Spikes as address events: ``neuron[i]`` fired at ``time[i]`` (ms), sorted by time.

    ``neuron`` is the flat index into the input array; ``counts`` has the input's shape.
    """

    neuron: np.ndarray
    time: np.ndarray
    counts: np.ndarray


class LIF:
    """A leaky integrate-and-fire neuron (vectorized over numpy arrays of inputs).

    Parameters
    ----------
    R : float
        Membrane resistance (> 0).
    C : float
        Membrane capacitance (> 0); the time constant ``tau = R*C`` is in ms.
    theta : float
        Firing threshold of the membrane potential (> 0).
    bias : float, optional
        A constant non-negative current added to every input (default 0). With
        ``R*bias > theta`` the neuron fires at rest, after ``d(0)`` ms; a quantizer needs it
        silent at rest within its window (see :class:`~spikecodec.NeuroQuantizer`).

    Examples
    --------
    >>> lif = LIF(R=1e3, C=1.0, theta=500.0)
    >>> int(lif.count(10.0, T=50.0))  # d = -1000*ln(0.95) = 51.3 ms > 50 ms: silent
    0
    >>> int(lif.count(20.0, T=50.0))  # d = 1000*ln(40/39) = 25.3 ms
    1
    """

    def __init__(self, R: float, C: float, theta: float, bias: float = 0.0):
        self.R = positive("R", R)
        self.C = positive("C", C)
        self.theta = positive("theta", theta)
        bias = float(bias)
        if not np.isfinite(bias) or bias < 0:
            raise ParameterError(f"bias must be a non-negative finite current, got {bias!r}")
        self.bias = bias

    @property
    def tau(self) -> float:
        """Membrane time constant ``tau = R*C`` in ms."""
        return self.R * self.C

    def __repr__(self) -> str:
        return f"LIF(R={self.R!r}, C={self.C!r}, theta={self.theta!r}, bias={self.bias!r})"

    def delay(self, I: ArrayLike) -> np.ndarray:
        """Interspike delay in ms, ``d = -tau*ln(1 - theta/(R*(I+b)))``; ``inf`` when silent."""
        drive = self.R * (np.asarray(I, dtype=np.float64) + self.bias)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = -self.tau * np.log1p(-self.theta / drive)
        return np.where(drive > self.theta, d, np.inf)

    def threshold(self, k: ArrayLike, T: float) -> np.ndarray:
        """Decision thresholds ``I_k = theta/(R*(1 - exp(-T/(k*tau)))) - b`` (``I_0 = -inf``).

        ``count(I, T) == k`` exactly when ``threshold(k, T) <= I < threshold(k+1, T)``;
        ``k`` and ``T`` broadcast.
        """
        T = _positive_array("T", T)
        k = np.asarray(k)
        if np.any(k < 0):
            raise ParameterError("spike counts k must be non-negative")
        kf = np.maximum(k, 1).astype(np.float64)
        I_k = self.theta / (self.R * -np.expm1(-T / (kf * self.tau))) - self.bias
        # Where exp(-T/(k*tau)) underflows the precision, I_k rounds onto theta/R - b, an input
        # that never fires: keep every threshold at the least current that does fire.
        return np.where(k == 0, -np.inf, np.maximum(I_k, self._least_firing_input))

    def step_length(self, k: ArrayLike, T: ArrayLike) -> np.ndarray:
        """Cell widths ``l_k = I_{k+1} - I_k`` (``k >= 1``), broadcasting ``k`` and ``T``.

        Evaluated as ``(theta/R) * (a_{k+1} - a_k) / ((1 - a_k)(1 - a_{k+1}))`` with
        ``a_k = exp(-T/(k*tau))`` and ``a_{k+1} - a_k = a_k * expm1(T/(k(k+1)tau))``, which keeps
        full relative precision where subtracting two nearly equal thresholds would cancel
        (``T >> k*tau``).
        """
        k = np.asarray(k, dtype=np.float64)
        T = _positive_array("T", T)
        if np.any(k < 1):
            raise ParameterError("step lengths are defined for counts k >= 1")
        x, y = T / (k * self.tau), T / ((k + 1.0) * self.tau)
        rise = np.exp(-x) * np.expm1(T / (k * (k + 1.0) * self.tau))
        return self.theta / self.R * rise / (np.expm1(-x) * np.expm1(-y))

    @property
    def _least_firing_input(self) -> float:
        """The smallest float input with ``R*(I + b) > theta``."""

        def fires(current: float) -> bool:
            return self.R * (current + self.bias) > self.theta

        lo = self.theta / self.R - self.bias
        if fires(lo):
            return float(lo)
        # Stepping one float at a time can take ~1e15 steps when theta/R and bias nearly cancel:
        # double a step until the input fires, then bisect down to the first float that fires.
        step = np.spacing(max(abs(lo), abs(self.bias), self.theta / self.R))
        while not fires(lo + step):
            step *= 2
        hi = lo + step
        while (mid := lo + (hi - lo) / 2) not in (lo, hi):
            lo, hi = (lo, mid) if fires(mid) else (mid, hi)
        return float(hi)

    def count(self, I: ArrayLike, T: float) -> np.ndarray:
        """Spike count in ``[0, T]``, ``N = floor(T/d(I))`` (int64).

        Where rounding puts the closed form on the wrong side of a threshold, the count is
        searched among the thresholds instead, so that ``count`` and ``threshold`` define
        exactly the same cells.
        """
        T = positive("T", T)
        I = np.asarray(I, dtype=np.float64)
        if not np.all(np.isfinite(I)):
            raise ParameterError("input currents must be finite")
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            n = np.floor(T / self.delay(I))
        n = np.atleast_1d(np.clip(n, 0, np.iinfo(np.int64).max // 4).astype(np.int64))
        flat = np.atleast_1d(I)
        off = ~((self.threshold(n, T) <= flat) & (flat < self.threshold(n + 1, T)))
        if off.any():
            n[off] = self._search_count(flat[off], T)
        return n.reshape(I.shape)

    def _search_count(self, I: np.ndarray, T: float) -> np.ndarray:
        """The largest ``k`` with ``threshold(k, T) <= I``, by doubling then bisection."""
        lo = np.zeros(I.shape, np.int64)  # threshold(0) = -inf
        hi = np.ones(I.shape, np.int64)
        while not np.all(above := self.threshold(hi, T) > I):
            lo, hi = np.where(above, lo, hi), np.where(above, hi, 2 * hi)
        while np.any(hi - lo > 1):
            mid = (lo + hi) // 2
            below = self.threshold(mid, T) <= I
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return lo

    def spike_times(self, I: ArrayLike, T: float) -> SpikeEvents:
        """All spikes in ``[0, T]`` of neurons fed the constant inputs ``I``: ``d, 2d, 3d, ...``."""
        I = np.asarray(I, dtype=np.float64)
        counts = self.count(I, T)
        flat = counts.ravel()
        neuron = np.repeat(np.arange(flat.size), flat)
        rank = np.arange(neuron.size) - np.repeat(np.cumsum(flat) - flat, flat) + 1
        time = rank * self.delay(I).ravel()[neuron]
        order = np.argsort(time, kind="stable")
        return SpikeEvents(neuron=neuron[order], time=time[order], counts=counts)

    def simulate(self, I: ArrayLike, T: float, dt: float) -> SpikeEvents:
        """Time-stepped simulation of ``I = u/R + C du/dt`` over ``round(T/dt)`` steps of ``dt`` ms.

        Each step integrates the membrane exactly under the constant input,
        ``u <- u*exp(-dt/tau) + R*(I+b)*(1 - exp(-dt/tau))``, then compares ``u`` with ``theta``
        and resets to 0 the neurons that reached it (the threshold is only seen at whole steps).
        Spike times are the ends of those steps. Vectorized over neurons, looping over steps.
        """
        T, dt = positive("T", T), positive("dt", dt)
        I = np.asarray(I, dtype=np.float64)
        steps = int(round(T / dt))
        if steps < 1:
            raise ParameterError(f"dt = {dt} ms is longer than the window T = {T} ms")
        decay = np.exp(-dt / self.tau)
        gain = self.R * (I.ravel() + self.bias) * -np.expm1(-dt / self.tau)
        u = np.zeros_like(gain)
        counts = np.zeros(gain.shape, dtype=np.int64)
        neurons, times = [], []
        for step in range(1, steps + 1):
            u *= decay
            u += gain
            fired = np.flatnonzero(u >= self.theta)
            if fired.size:
                u[fired] = 0.0
                counts[fired] += 1
                neurons.append(fired)
                times.append(np.full(fired.size, step * dt))
        neuron = np.concatenate(neurons) if neurons else np.zeros(0, dtype=np.int64)
        time = np.concatenate(times) if times else np.zeros(0)
        return SpikeEvents(neuron=neuron, time=time, counts=counts.reshape(I.shape))
