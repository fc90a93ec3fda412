"""Speed of the closed-form quantizer against simulating the same neurons in time.

The closed form (``NeuroQuantizer.encode`` + ``decode``) quantizes a 768x512 array; the same
393 216 LIF neurons are then simulated for the window ``T`` at ``dt`` by Brian2 (``exact``
integration, threshold ``u >= theta``, reset ``u = 0``) and by ``LIF.simulate``. Speeds are in
megapixels (= million neurons) per second for the whole window; ratios are closed-form speed /
simulator speed, per neuron. A simulator run for a shorter window than ``T`` is scaled per
neuron-step to the full window, and the table says so.

    python benchmarks/quantizer_speed.py [--repeats 7] [--window-ms 100] [--dt-ms 0.01]
        [--cython-sim-ms 100] [--numpy-sim-ms 10] [--simulate-sim-ms 100]

Data: the luma of a Kodak image under ``$SPIKECODEC_DATA/kodak`` (default ``../shared/data``
beside the repository) and Laplacian DCT-coefficient-like values (seeded). Writes
``results/quantizer_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from spikecodec import LIF, NeuroQuantizer

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(
    os.environ.get("SPIKECODEC_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
SHAPE = (512, 768)  # 393 216 values, a Kodak frame


def load_luma(name: str) -> tuple[np.ndarray, str]:
    path = DATA_ROOT / "kodak" / f"{name}.png"
    if path.is_file():
        from PIL import Image

        with Image.open(path) as im:
            y = np.asarray(im.convert("L"), dtype=np.float64)
        if y.shape == SHAPE[::-1]:
            y = y.T.copy()
        return y, f"kodak/{name}.png luma"
    rng = np.random.default_rng(1)
    return np.clip(rng.normal(128, 50, SHAPE), 0, 255).round(), "synthetic luma (no Kodak data)"


def best_of(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def time_closed_form(x: np.ndarray, lif: LIF, T: float, repeats: int) -> dict:
    nq = NeuroQuantizer(lif, T)
    k = nq.encode(x)  # warm-up: builds the threshold table
    nq.decode(k)
    t_enc = best_of(lambda: nq.encode(x), repeats)
    t_dec = best_of(lambda: nq.decode(k), repeats)
    t_cnt = best_of(lambda: lif.count(np.abs(x), T), repeats)
    mp = x.size / 1e6
    return {
        "encode_s": t_enc,
        "decode_s": t_dec,
        "encode_MPps": mp / t_enc,
        "decode_MPps": mp / t_dec,
        "encode_decode_MPps": mp / (t_enc + t_dec),
        "lif_count_MPps": mp / t_cnt,
        "max_abs_count": int(np.abs(k).max()),
    }


def run_brian2(I: np.ndarray, lif: LIF, sim_ms: float, dt: float, target: str) -> dict:
    import brian2 as b2

    b2.prefs.codegen.target = target
    start = time.perf_counter()
    eqs = """
    du/dt = (-u + R*I) / tau : 1
    R : 1 (constant)
    I : 1 (constant)
    theta : 1 (constant)
    tau : second (constant)
    nspikes : integer
    """
    group = b2.NeuronGroup(
        I.size,
        eqs,
        threshold="u >= theta",
        reset="u = 0\nnspikes += 1",
        method="exact",
        clock=b2.Clock(dt=dt * b2.ms),
    )
    group.R, group.I, group.theta = lif.R, I.ravel(), lif.theta
    group.tau = lif.tau * b2.ms
    net = b2.Network(group)
    net.run(dt * b2.ms, namespace={})  # one step: code generation (and Cython compilation)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    net.run((sim_ms - dt) * b2.ms, namespace={})
    run = time.perf_counter() - start
    steps = round(sim_ms / dt) - 1
    return {
        "setup_s": setup,
        "run_s": run,
        "steps_timed": steps,
        "counts": np.asarray(group.nspikes[:], dtype=np.int64).reshape(I.shape),
    }


def run_simulate(I: np.ndarray, lif: LIF, sim_ms: float, dt: float) -> dict:
    start = time.perf_counter()
    counts = lif.simulate(I, sim_ms, dt).counts
    return {
        "setup_s": 0.0,
        "run_s": time.perf_counter() - start,
        "steps_timed": round(sim_ms / dt),
        "counts": counts,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--image", default="kodim01")
    ap.add_argument("--window-ms", type=float, default=100.0, help="the window T")
    ap.add_argument("--dt-ms", type=float, default=0.01)
    ap.add_argument("--cython-sim-ms", type=float, default=100.0, help="0 skips")
    ap.add_argument("--numpy-sim-ms", type=float, default=10.0, help="0 skips")
    ap.add_argument("--simulate-sim-ms", type=float, default=100.0, help="0 skips")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "quantizer_speed.json")
    args = ap.parse_args()
    T, dt = args.window_ms, args.dt_ms

    luma, luma_name = load_luma(args.image)
    rng = np.random.default_rng(0)
    coeffs = rng.laplace(0.0, 20.0, SHAPE)  # DCT-AC-like
    assert luma.size == coeffs.size == 393216

    # Closed form: (label, data, neuron).
    pixel_lif = LIF(R=1e3, C=1.0, theta=500.0)
    cases = [
        (f"{luma_name}, R=1e3 C=1 theta=500", luma, pixel_lif),
        ("Laplacian(20) coefficients, R=1e4 C=1 theta=500", coeffs, LIF(R=1e4, C=1.0, theta=500.0)),
        ("Laplacian(20) coefficients, R=1 C=10 theta=5", coeffs, LIF(R=1.0, C=10.0, theta=5.0)),
    ]
    closed = []
    for label, x, lif in cases:
        r = time_closed_form(x, lif, T, args.repeats)
        r["case"] = label
        closed.append(r)

    # Simulators on the luma with the pixel neuron.
    sims = []
    plan = [
        (
            "Brian2 (cython)",
            args.cython_sim_ms,
            lambda ms: run_brian2(luma, pixel_lif, ms, dt, "cython"),
        ),
        (
            "Brian2 (numpy)",
            args.numpy_sim_ms,
            lambda ms: run_brian2(luma, pixel_lif, ms, dt, "numpy"),
        ),
        ("LIF.simulate", args.simulate_sim_ms, lambda ms: run_simulate(luma, pixel_lif, ms, dt)),
    ]
    for name, sim_ms, fn in plan:
        if sim_ms <= 0:
            continue
        try:
            r = fn(sim_ms)
        except Exception as exc:  # e.g. no compiler for Cython, or no Brian2
            print(f"{name}: skipped ({type(exc).__name__}: {exc})")
            continue
        full_steps = round(T / dt)
        per_step = r["run_s"] / r["steps_timed"]
        r.update(
            name=name,
            sim_ms=sim_ms,
            scaled=sim_ms < T,
            ns_per_neuron_step=per_step / luma.size * 1e9,
            window_s=per_step * full_steps,
            window_MPps=luma.size / 1e6 / (per_step * full_steps),
        )
        sims.append(r)
    # The simulators must agree with each other exactly when they ran the same window.
    for a in sims:
        for b in sims:
            if a is not b and a["sim_ms"] == b["sim_ms"]:
                assert np.array_equal(a["counts"], b["counts"]), (a["name"], b["name"])
    for r in sims:
        exact = pixel_lif.count(luma, r["sim_ms"])
        r["closed_form_agreement"] = float(np.mean(r.pop("counts") == exact))

    # ---- table ----
    pix = closed[0]
    print(
        f"NeuroQuantizer speed, {SHAPE[1]}x{SHAPE[0]} = {luma.size} values, T = {T:g} ms, "
        f"best of {args.repeats} (time.perf_counter)"
    )
    print(
        f"{'closed form':<58} {'encode':>9} {'decode':>9} {'enc+dec':>9} {'LIF.count':>10}"
        f" {'max|k|':>7}"
    )
    for r in closed:
        print(
            f"{r['case']:<58} {r['encode_MPps']:>6.1f} MP/s {r['decode_MPps']:>6.1f} MP/s"
            f" {r['encode_decode_MPps']:>6.1f} MP/s {r['lif_count_MPps']:>6.1f} MP/s"
            f" {r['max_abs_count']:>6d}"
        )
    print()
    print(
        f"Simulating the same {luma.size} neurons ({luma_name}, R=1e3 C=1 theta=500) for "
        f"T = {T:g} ms at dt = {dt:g} ms ({round(T / dt)} steps)"
    )
    print(
        f"{'simulator':<18} {'simulated':>10} {'setup':>8} {'ns/neuron/step':>15} "
        f"{'T-window':>10} {'MP/s':>9} {'encode/sim':>11} {'enc+dec/sim':>12} {'=closed':>8}"
    )
    for r in sims:
        sim = f"{r['sim_ms']:g} ms" + (" *" if r["scaled"] else "")
        print(
            f"{r['name']:<18} {sim:>10} {r['setup_s']:>7.2f}s {r['ns_per_neuron_step']:>15.2f} "
            f"{r['window_s']:>9.2f}s {r['window_MPps']:>9.4f} "
            f"{pix['encode_MPps'] / r['window_MPps']:>10.0f}x "
            f"{pix['encode_decode_MPps'] / r['window_MPps']:>11.0f}x "
            f"{100 * r['closed_form_agreement']:>7.2f}%"
        )
    if any(r["scaled"] for r in sims):
        print(
            f"* run for a shorter window and scaled per neuron-step to T = {T:g} ms "
            f"({round(T / dt)} steps)"
        )
    print(
        "ratios: closed-form speed (first row: encode; encode+decode) / simulator speed, per "
        "neuron for the whole window; '=closed': simulator counts equal to LIF.count at the "
        "simulated window; setup: code generation/compilation, not in the speed"
    )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "shape": list(SHAPE),
        "T_ms": T,
        "dt_ms": dt,
        "repeats": args.repeats,
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "closed_form": closed,
        "simulators": sims,
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
