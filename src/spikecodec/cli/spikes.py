"""``spikecodec spikes IN --out events.npz [--format tonic]``: the spikes of an image or stream
as address events, in the codec's layout or Tonic's (:mod:`spikecodec.events`)."""

from __future__ import annotations

import argparse
from pathlib import Path

import spikecodec as sc

from ..errors import ParameterError
from ..format.container import MAGIC
from ..params import DEFAULT_QUALITY
from . import output

__all__ = ["add_parser"]


def run(args: argparse.Namespace) -> None:
    """``spikecodec spikes IN --out events.npz``: export the spikes of an image or stream."""
    source, out = Path(args.input), Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"{out} exists (use --force to overwrite it)")
    if args.time_steps is not None and not args.dense:
        raise ParameterError("--time-steps applies with --dense")
    if args.dense and args.format == "tonic":
        raise ParameterError("--dense rasters come with --format codec only")
    with open(source, "rb") as f:
        is_stream = f.read(len(MAGIC)) == MAGIC
    options: dict = {}
    if args.quality is not None:
        if is_stream:
            raise ParameterError(f"{source} is a spike stream: its quality is fixed, drop -q")
        options["quality"] = args.quality
    if args.until is not None:
        if not is_stream:
            raise ParameterError("--until applies to a .spk stream, not an image")
        options["until"] = args.until
    events = sc.to_events(
        source, dense=args.dense, time_steps=args.time_steps, format=args.format, **options
    )
    sc.save_events(events, out, overwrite=args.force)
    kind = "stream" if is_stream else "image"
    output.say(
        args,
        f"{out}: {len(events)} spikes of the {kind} {source} "
        f"({events.header.mode} {events.header.width}x{events.header.height}, "
        f"window {events.window:g} ms, timing {events.timing}"
        + (f", Tonic sensor {events.sensor_size})" if args.format == "tonic" else ")"),
    )


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``spikecodec spikes`` to the command\'s subparsers."""
    p = subparsers.add_parser("spikes", help="export the neurons' spikes (address events) as .npz")
    p.add_argument("input", help="an image, or a .spk stream (recognized by its magic bytes)")
    p.add_argument("--out", required=True, help="the .npz file to write")
    p.add_argument(
        "-q", "--quality", type=float, help=f"1..100 for an image (default {DEFAULT_QUALITY})"
    )
    p.add_argument(
        "--until", type=float, help="for a stream: listen up to this fraction of T (0..1]"
    )
    p.add_argument(
        "--format",
        choices=("codec", "tonic"),
        default="codec",
        help="the codec's addresses (t in ms) or Tonic's x, y, t (us), p (default codec)",
    )
    p.add_argument("--dense", action="store_true", help="also store time-binned rasters")
    p.add_argument("--time-steps", type=int, help="number of time bins of --dense")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    output.add_verbosity(p)
    p.set_defaults(run=run)
    return p
