"""Shared test helpers: where the image corpus lives.

The corpus root is ``$SPIKECODEC_DATA``, else ``shared/data`` beside the project root. Tests that
need it skip cleanly when it is missing; the bundled samples
(:func:`spikecodec.figures.load_sample`) are always available.

- ``data_root()``: the corpus root (may not exist).
- fixture ``data_dir``: the corpus root, skipping the test when it is missing.
- fixture ``corpus_path``: parametrized over every PNG of the corpus (one skipped case when
  there is none).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from PIL import Image

from spikecodec.figures import load_sample

# No per-example deadline (shared machines are noisy); in CI the examples are derandomized so
# that a run is reproducible.
settings.register_profile("spikecodec", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "spikecodec")

DATA_ENV = "SPIKECODEC_DATA"
CORPUS_FOLDERS = ("kodak", "set12", "bsd68")


def data_root() -> Path:
    """The image corpus root: ``$SPIKECODEC_DATA`` or ``../shared/data`` beside the project."""
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def corpus_files() -> list[Path]:
    """Every PNG of the corpus folders, sorted; empty when the corpus is missing."""
    root = data_root()
    return [p for folder in CORPUS_FOLDERS for p in sorted((root / folder).glob("*.png"))]


@pytest.fixture
def data_dir() -> Path:
    root = data_root()
    if not root.is_dir():
        pytest.skip(f"image corpus not found at {root} (set {DATA_ENV})")
    return root


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "corpus_path" not in metafunc.fixturenames:
        return
    files = corpus_files()
    if files:
        ids = [f"{p.parent.name}/{p.name}" for p in files]
        metafunc.parametrize("corpus_path", files, ids=ids)
    else:
        skip = pytest.mark.skip(reason=f"image corpus not found at {data_root()} (set {DATA_ENV})")
        metafunc.parametrize("corpus_path", [pytest.param(None, marks=skip)], ids=["no-corpus"])


# A small real image, gray and RGB (a crop of a bundled sample).


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return load_sample()[:40, :56]


@pytest.fixture(scope="module")
def gray(rgb) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"))


@pytest.fixture(scope="module", params=["gray", "rgb"])
def image(request, rgb, gray) -> np.ndarray:
    return {"gray": gray, "rgb": rgb}[request.param]
