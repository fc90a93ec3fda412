"""The rate–distortion and speed harness: reference codecs behind one interface, run on Dask
(the ``spikecodec bench`` command is :mod:`spikecodec.cli.bench`).

- :mod:`~spikecodec.lab.bench.codecs`: the codecs (spikecodec, jpeg, mozjpeg, jpeg2000, webp, avif,
  jpegxl) and their registry; the names most callers need are re-exported here;
- :mod:`~spikecodec.lab.bench.corpus`: the dev image corpus;
- :mod:`~spikecodec.lab.bench.run`: jobs (image x codec x setting), the Dask graph that measures
  them, the resumable CSV of rows;
- :mod:`~spikecodec.lab.bench.report`: averaged curves (CompressAI JSON), BD-rate tables, RD plots
  and the speed table;
- :mod:`~spikecodec.lab.bench.timing`: wall-clock timing for the benchmarks.

The re-exported names load :mod:`.codecs` (and the reference codecs' libraries) on first use, so
that importing :mod:`.corpus` (as the ``spikecodec`` parser does for its help) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what __getattr__ loads, for type checkers
    from .codecs import CODECS, Codec, PillowCodec, get_codec, register_codec  # noqa: F401

__all__ = ["CODECS", "Codec", "PillowCodec", "get_codec", "register_codec"]


def __getattr__(name: str):
    """Load :mod:`.codecs` when one of its re-exported names is first used (PEP 562)."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(".codecs", __name__), name)
    globals()[name] = value
    return value
