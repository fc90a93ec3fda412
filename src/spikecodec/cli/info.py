"""``spikecodec info IN``: describe a ``.spk`` file (reads it without loading the codec)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..format import container
from ..params import FIRST_REVERSIBLE, REVERSIBLE_COLOURS, block_grid, slice_instants
from ..tables import TABLES

__all__ = ["add_parser"]


def run(args: argparse.Namespace) -> None:
    """Run the command as parsed (errors propagate: :func:`spikecodec.cli.main` reports them)."""
    data = Path(args.input).read_bytes()
    stream = container.unpack(data)
    header, chunks, partial = stream.header, stream.slices, stream.partial
    print(f"file        {args.input} ({len(data)} bytes)")
    colour = header.mode + (f" {header.subsampling}" if header.mode == "RGB" else "")
    colour += " with alpha" if header.alpha else ""
    print(f"image       {header.width}x{header.height} {colour}")
    print(f"bpp         {8 * len(data) / (header.width * header.height):.4f}")
    print(f"neurons     R={header.R:g} C={header.C:g} tau={header.R * header.C:g} ms")
    print(f"window      T={header.T:g} ms, theta={header.theta:g}, bias={header.bias:g} (beta)")
    if header.reversible:
        colour = REVERSIBLE_COLOURS[header.colour] if header.mode == "RGB" else "gray"
        contexts = "DCT context tables, " if header.transform == FIRST_REVERSIBLE else ""
        print(
            f"samples     {header.depth} bits, lossless (5/3 wavelet, {colour}; "
            f"{contexts}step 1 at T)"
        )
    else:
        if header.depth != 8:
            print(f"samples     {header.depth} bits, lossy (coded on the 8-bit scale)")
        print(f"table       {TABLES[header.table]} (chroma x{header.chroma:g})")
    if stream.alpha is not None:
        inner = container.unpack(stream.alpha.stream).header
        how = "lossless" if inner.reversible else f"lossy, theta={inner.theta:g}"
        table = f", {len(stream.alpha.levels)} levels" if stream.alpha.levels else ""
        print(f"alpha       {how}{table} ({len(stream.alpha.stream)} bytes)")
    print(f"time slices {header.slices} ({len(chunks)} complete)")
    if header.stripes > 1 or header.split:
        rows = block_grid((header.height, header.width))[0] / header.stripes
        apart = ", luma and chroma apart" if header.split else ""
        print(f"stripes     {header.stripes} (about {rows:.1f} block rows each){apart}")
    if header.cut:
        where = f"inside slice {len(chunks)}" if partial.declared else "at a slice end"
        print(f"cut         on purpose {where} (a cut stream)")
    if stream.size > len(data):
        print(f"truncated   {len(data)} of {stream.size} bytes")
    print(f"chunks      {len(stream.chunks) + 1}")
    fields = container.HEADER_SIZE - len(container.MAGIC) - container.CHUNK_HEAD_SIZE
    print(f"  HEADER    at {len(container.MAGIC):8d}  {fields:8d} bytes")
    instants = iter(slice_instants(header))
    for name, offset, length, present in stream.chunks:
        size = f"{present:8d} bytes" + (f" of {length}" if present < length else "")
        what = f"until t = {next(instants):9.4f} ms" if name == "SLICE" else ""
        print(f"  {name:8}  at {offset:8d}  {size}  {what}".rstrip())


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``spikecodec info`` to the command\'s subparsers."""
    p = subparsers.add_parser("info", help="describe a .spk file")
    p.add_argument("input")
    p.set_defaults(run=run)
    return p
