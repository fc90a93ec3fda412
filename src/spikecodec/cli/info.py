"""``spikecodec info IN``: describe a ``.spk`` file (reads it without loading the codec)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..format import container
from ..params import slice_instants
from ..tables import TABLES

__all__ = ["add_parser"]


def run(args: argparse.Namespace) -> None:
    """Run the command as parsed (errors propagate: :func:`spikecodec.cli.main` reports them)."""
    data = Path(args.input).read_bytes()
    header, chunks, partial = container.unpack(data)
    print(f"file        {args.input} ({len(data)} bytes)")
    print(f"image       {header.width}x{header.height} {header.mode}")
    print(f"bpp         {8 * len(data) / (header.width * header.height):.4f}")
    print(f"neurons     R={header.R:g} C={header.C:g} tau={header.R * header.C:g} ms")
    print(f"window      T={header.T:g} ms, theta={header.theta:g}, bias={header.bias:g} (beta)")
    print(f"table       {TABLES[header.table]} (chroma x{header.chroma:g})")
    print(f"time slices {header.slices} ({len(chunks)} complete)")
    if header.cut:
        where = f"inside slice {len(chunks)}" if partial.declared else "at a slice end"
        print(f"cut         on purpose {where} (format version {container.CUT_VERSION})")
    for s, (chunk, t) in enumerate(zip(chunks, slice_instants(header))):
        print(f"  slice {s:2d}  until t = {t:9.4f} ms  {len(chunk):8d} bytes")
    if partial:
        print(f"  partial slice: {len(partial)} bytes of {partial.declared} (slice {len(chunks)})")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``spikecodec info`` to the command\'s subparsers."""
    p = subparsers.add_parser("info", help="describe a .spk file")
    p.add_argument("input")
    p.set_defaults(run=run)
    return p
