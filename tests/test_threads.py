"""The compiled kernels release the GIL: while one thread runs a long kernel, another thread's
Python code keeps running (so that threads can code images side by side)."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest

import spikecodec as sc
from spikecodec.quantizer import unit_quantizer
from spikecodec.transform import Synthesis, lapped_dct
from spikecodec.transform.colour import rgb_to_ycocg_420, ycocg420_to_rgb

NAMES = ["NeuroQuantizer.encode", "Synthesis", "lapped_dct", "rgb_to_ycocg_420", "ycocg420_to_rgb"]


@pytest.fixture(scope="module")
def kernels():
    """Each kernel's call on inputs large enough that it runs for a few milliseconds."""
    rng = np.random.default_rng(7)
    plane = rng.integers(0, 256, (2048, 4096), dtype=np.uint8)
    coeffs = lapped_dct(plane)
    rgb = rng.integers(0, 256, (1536, 2048, 3), dtype=np.uint8)
    ycocg = rgb_to_ycocg_420(rgb)
    values = coeffs / 8

    def synthesise():
        synthesis = Synthesis(coeffs.shape[:2], plane.shape, np.uint8)
        synthesis.feed(coeffs)
        return synthesis.image()

    return {
        "NeuroQuantizer.encode": lambda: unit_quantizer(1e4, 1.0, 100.0, 0.0).encode(values),
        "Synthesis": synthesise,
        "lapped_dct": lambda: lapped_dct(plane),
        "rgb_to_ycocg_420": lambda: rgb_to_ycocg_420(rgb),
        "ycocg420_to_rgb": lambda: ycocg420_to_rgb(*ycocg),
    }


def longest_pause(work) -> tuple[float, float]:
    """How long ``work`` took in another thread, and the longest the calling thread's Python
    loop waited between two of its steps meanwhile."""
    done = threading.Event()

    def run():
        work()
        done.set()

    steps = []
    worker = threading.Thread(target=run)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)  # Python code hands the GIL over within 0.1 ms
    try:
        start = time.perf_counter()
        worker.start()
        while not done.is_set():
            steps.append(time.perf_counter())
        worker.join()
        took = time.perf_counter() - start
    finally:
        sys.setswitchinterval(interval)
    gaps = np.diff([start, *steps])
    return took, float(gaps.max(initial=0.0))


@pytest.mark.parametrize("name", NAMES)
def test_a_kernel_lets_other_threads_run(kernels, name):
    # Holding the GIL, the kernel would stop the loop for its whole run (one C call, most of
    # the work), every time; released, the loop waits at most for the OS to schedule it,
    # which on a busy machine can take a few milliseconds now and then: the best of 3 runs.
    runs = [longest_pause(kernels[name]) for _ in range(3)]
    assert min(pause / took for took, pause in runs) < 0.2, (name, runs)


def test_decoding_lets_other_threads_run():
    rgb = np.random.default_rng(7).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    data = sc.encode(rgb, 90)
    took, pause = longest_pause(lambda: sc.decode(data))
    assert pause < 0.2 * took, (took, pause)
