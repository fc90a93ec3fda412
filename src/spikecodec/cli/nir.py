"""``spikecodec nir IN --out enc.nir``: the encoder of an image, up to its neurons, as a NIR
graph (:mod:`spikecodec.nirgraph`), written with ``nir.write`` (HDF5)."""

from __future__ import annotations

import argparse
import io

from ..params import DEFAULT_QUALITY
from . import output

__all__ = ["add_parser"]


def run(args: argparse.Namespace) -> None:
    """Write the NIR graph of the encoder of ``args.input``."""
    from ..nirgraph import nir_package, to_nir

    nir = nir_package()

    output.check_output(args.out, ".nir", force=args.force)
    options = {"quality": args.quality}
    if args.subsampling is not None:
        options["subsampling"] = args.subsampling
    graph = to_nir(args.input, threshold=args.threshold, **options)
    buf = io.BytesIO()
    nir.write(buf, graph)
    output.write_output(args.out, buf.getvalue(), force=args.force)
    lif = graph.nodes["neurons"]
    output.say(
        args,
        f"{args.out}: {len(graph.nodes)} nodes, {lif.tau.size} LIF neurons "
        f"({args.threshold} thresholds), {len(buf.getvalue())} bytes",
    )


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``spikecodec nir`` to the command's subparsers."""
    p = subparsers.add_parser(
        "nir", help="write the encoder of a (small) image as a NIR graph (needs the nir extra)"
    )
    p.add_argument("input", help="the image (its size and mode fix the graph)")
    p.add_argument("--out", required=True, help="the .nir file to write (HDF5)")
    p.add_argument(
        "-q", "--quality", type=float, default=DEFAULT_QUALITY,
        help=f"1..100 (default {DEFAULT_QUALITY})",
    )  # fmt: skip
    p.add_argument(
        "--threshold",
        choices=("band", "unit"),
        default="band",
        help="each band's threshold, or 1 with scaled weights (one threshold, for snnTorch)",
    )
    p.add_argument("--subsampling", choices=("auto", "4:2:0", "4:4:4"), help="chroma resolution")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    output.add_verbosity(p)
    p.set_defaults(run=run)
    return p
