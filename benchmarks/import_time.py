"""What ``import spikecodec`` costs, against ``import numpy, PIL.Image``, in fresh processes.

Each statement runs in ``--runs`` fresh interpreters (alternating, so that the machine's load
falls on all alike); the time is measured inside the child around the statement alone, and the
medians are compared. Also timed: the first use of the codec (``spikecodec.encode``, which
loads the compiled kernels' modules) and reading a stream's header (``spikecodec.format``).

Usage (from the project directory)::

    python benchmarks/import_time.py [--runs 15] [--out results/import_time.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

STATEMENTS = {
    "numpy, PIL.Image": "import numpy, PIL.Image",
    "spikecodec": "import spikecodec",
    "spikecodec.format": "from spikecodec.format import container",
    "spikecodec + encode": "import spikecodec; spikecodec.encode",
}
REFERENCE = "numpy, PIL.Image"
TARGET = 2.0  # import spikecodec costs at most this many times the reference


def timed(statement: str) -> float:
    """Seconds a fresh interpreter takes to run ``statement``."""
    code = f"import time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--out", default="results/import_time.json")
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for _ in range(args.runs):
        for name, statement in STATEMENTS.items():
            times[name].append(timed(statement))
    medians = {name: statistics.median(t) for name, t in times.items()}
    reference = medians[REFERENCE]
    print(f"median of {args.runs} fresh processes each")
    print(f"{'statement':24} {'ms':>8} {'x ' + REFERENCE:>20}")
    for name, median in medians.items():
        print(f"{name:24} {1e3 * median:8.1f} {median / reference:20.2f}")
    ratio = medians["spikecodec"] / reference
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"import spikecodec: {ratio:.2f}x {REFERENCE} (target <= {TARGET:g}x): {verdict}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {"runs": args.runs, "median_s": medians, "ratio": ratio, "target": TARGET}
    out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
