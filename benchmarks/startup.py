"""What one ``spikecodec encode`` or ``decode`` process costs, against a Pillow JPEG process.

Each command runs in ``--runs`` fresh processes, alternating with the reference (a Python
process that opens the same PNG and saves it as a JPEG at quality 75 with Pillow, i.e.
libjpeg-turbo), so that the machine's load falls on all alike; wall times are measured around
the whole process and the medians compared as ratios. Also timed once: what compiling the
kernels costs at install time (``setup.py build_ext --force`` into a temporary folder: Cython
to C, C to the extensions), which no run pays.

Usage (from the project directory)::

    python benchmarks/startup.py [--image kodim01.png] [--runs 9] [--out results/startup.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spikecodec.lab.bench.corpus import data_root

TARGET = 7.0  # a command process costs at most this many times the JPEG process


def timed(command: list[str]) -> float:
    """Wall seconds of a fresh process running ``command``."""
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default="kodim01.png", help="a Kodak image's file name")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--out", default="results/startup.json")
    args = parser.parse_args(argv)
    source = data_root() / "kodak" / args.image
    work = Path(tempfile.mkdtemp(prefix="spikecodec-startup-"))
    spk, png, jpg = work / "x.spk", work / "x.png", work / "x.jpg"
    cli = [sys.executable, "-m", "spikecodec.cli"]
    commands = {
        "pillow jpeg": [
            sys.executable,
            "-c",
            f"from PIL import Image; Image.open({str(source)!r}).save({str(jpg)!r}, quality=75)",
        ],
        "spikecodec encode": [*cli, "encode", str(source), str(spk), "--force", "--quiet"],
        "spikecodec decode": [*cli, "decode", str(spk), str(png), "--force"],
    }
    project = Path(__file__).resolve().parent.parent
    build = [sys.executable, "setup.py", "-q", "build_ext", "--force"]
    build += ["--build-lib", str(work / "lib"), "--build-temp", str(work / "temp")]
    start = time.perf_counter()
    subprocess.run(build, check=True, capture_output=True, cwd=project)
    install_compile = time.perf_counter() - start
    for name in commands:  # a first run of each fills the file caches
        timed(commands[name])
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            times[name].append(timed(command))
    medians = {name: statistics.median(t) for name, t in times.items()}
    reference = medians["pillow jpeg"]
    print(f"{source.name}, median of {args.runs} fresh processes each")
    print(f"{'process':24} {'s':>8} {'x pillow jpeg':>14}")
    for name, median in medians.items():
        print(f"{name:24} {median:8.3f} {median / reference:14.1f}")
    print(f"{'compiling the kernels':24} {install_compile:8.1f}  (once, at install)")
    ratios = {name: medians[name] / reference for name in commands if name != "pillow jpeg"}
    worst = max(ratios.values())
    verdict = "met" if worst <= TARGET else "NOT met"
    print(
        f"per-process cost: at most {worst:.1f}x a Pillow JPEG process "
        f"(target {TARGET:g}x): {verdict}"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "image": source.name,
        "runs": args.runs,
        "median_s": medians,
        "ratios": ratios,
        "install_compile_s": install_compile,
        "target": TARGET,
    }
    out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
