"""``spikecodec warmup``: compile the codec's kernels ahead of the first real run.

The transforms' kernels are numba functions cached on disk (:mod:`spikecodec._jit`; the
others are Cython, compiled at install): the first process to run one on a machine compiles it
(tens of seconds for the whole codec), every later process loads it. ``warmup`` runs every
kernel once, on small gray and RGB images through each path of the codec (4:2:0 and 4:4:4
chroma, whole, cut and ``until=`` decoding, progressive decoding and spike events), so that no
later command waits. The commands that run kernels say on standard
error, in one line, when they are about to compile (:func:`compiling_notice`).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from . import output

__all__ = ["add_parser", "compiling_notice", "kernels_cached"]

_PACKAGE = Path(__file__).resolve().parent.parent
_PROBE = "transform/lapped.py"  # numba kernels that every lossy encode and decode runs


def kernels_cached() -> bool:
    """Whether numba's cache holds the kernels of this copy of the package (an index file of
    :mod:`spikecodec.transform.lapped` newer than its source, in the package's ``__pycache__`` or
    under ``$NUMBA_CACHE_DIR``), read without importing numba."""
    source = _PACKAGE / _PROBE
    stem = source.stem
    places = [source.parent / "__pycache__"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        places.append(Path(os.environ["NUMBA_CACHE_DIR"]))
    mtime = source.stat().st_mtime
    return any(
        index.stat().st_mtime >= mtime
        for place in places
        if place.is_dir()
        for index in place.rglob(f"{stem}.*.nbi")
    )


def compiling_notice(args: argparse.Namespace) -> None:
    """One line on standard error when the kernels are about to be compiled (unless
    ``--quiet``)."""
    if not kernels_cached():
        output.say(
            args,
            "spikecodec: compiling the codec's kernels once on this machine (about 20-60 s; "
            "`spikecodec warmup` does it ahead)",
        )


def run(args: argparse.Namespace) -> None:
    """Run the command as parsed: every kernel once, and the time it took."""
    import numpy as np

    from .. import codec, events

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (24, 40), dtype=np.uint8)
    rgb = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    for image, subsamplings in ((gray, ("4:2:0",)), (rgb, ("4:2:0", "4:4:4"))):
        for subsampling in subsamplings:
            stream = codec.encode(image, subsampling=subsampling, target_bytes=400)
            codec.decode(stream)
            codec.decode(stream, until=0.3)
            list(codec.decode_progressive(stream))
            events.to_events(stream)
    codec.encode(rgb)  # subsampling chosen by the encoder's trial
    cached = "from the cache" if kernels_cached() else "not cached (read-only package?)"
    output.say(args, f"spikecodec: kernels ready in {time.perf_counter() - start:.1f} s, {cached}")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``spikecodec warmup`` to the command's subparsers."""
    p = subparsers.add_parser("warmup", help="compile the codec's kernels ahead of use")
    output.add_verbosity(p)
    p.set_defaults(run=run)
    return p
