"""Shared test helpers: where the image corpus lives, and small real images.

The corpus root is :func:`spikecodec.lab.bench.corpus.data_root` (``$SPIKECODEC_DATA``, else
``../shared/data`` from the current directory). Tests that need it skip cleanly when it is
missing; the bundled samples (:func:`spikecodec.data.load_sample`) are always available.

- fixture ``data_dir``: the corpus root, skipping the test when it is missing;
- fixture ``corpus_path``: parametrized over every PNG of the corpus (one skipped case when
  there is none);
- fixtures ``rgb``, ``gray`` and ``image`` (both): a crop of a bundled sample.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from PIL import Image

from spikecodec.data import load_sample
from spikecodec.lab.bench.corpus import DATA_ENV, corpus_paths, data_root

# No per-example deadline (shared machines are noisy); in CI the examples are derandomized so
# that a run is reproducible.
settings.register_profile("spikecodec", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "spikecodec")


def _corpus_root() -> Path | None:
    try:
        return data_root()
    except FileNotFoundError:
        return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = _corpus_root()
    if root is None:
        pytest.skip(f"image corpus not found (set {DATA_ENV})")
    return root


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "corpus_path" not in metafunc.fixturenames:
        return
    try:
        files = [path for _, path in corpus_paths()]
    except FileNotFoundError:
        files = []
    if files:
        ids = [f"{p.parent.name}/{p.name}" for p in files]
        metafunc.parametrize("corpus_path", files, ids=ids)
    else:
        skip = pytest.mark.skip(reason=f"image corpus not found (set {DATA_ENV})")
        metafunc.parametrize("corpus_path", [pytest.param(None, marks=skip)], ids=["no-corpus"])


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return load_sample()[:40, :56]


@pytest.fixture(scope="module")
def gray(rgb) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"))


@pytest.fixture(scope="module", params=["gray", "rgb"])
def image(request, rgb, gray) -> np.ndarray:
    return {"gray": gray, "rgb": rgb}[request.param]
