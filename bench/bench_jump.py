"""Exact jump simulation: events per second, and the price of exactness with a drift.

1. Linear birth-death (x0 = 100, birth 0.1, death 0.11, t = 0..50, 51 save times),
   10^4 trajectories, side by side in one process:
     * bdprocess: ``Direct`` as one vmapped, jitted ensemble (timed after a warm-up
       compile); jumps counted exactly by the per-reaction counters in sol.observables;
     * rebop (Rust SSA, one call per trajectory), when importable;
     * GillesPy2's compiled C++ SSA (``SSACSolver``; compilation not timed), when
       importable.
   rebop and GillesPy2 count jumps exactly through an extra species E produced by every
   reaction and consumed by none (mass-action propensities depend on the reactants only,
   so the process is unchanged); its final count is the number of jumps.
2. The paper's Gaussian mixture (alpha = 5, transport on, uniform init), n = 200 and 2000:
   ``Extrande`` (exact up to RK4; drift_dt 0.05, checked against 0.01 at n = 200 with
   the same keys) against ``Splitting(dt)`` for a ladder of dt, from the same initial
   populations. The equal-accuracy dt is the largest dt of the ladder at which the bias of
   the mean energy at t = 10 against Extrande (and that of every smaller dt) is within two
   Monte-Carlo standard errors of the paired differences, i.e. Splitting's bias is not
   resolved by an ensemble of that size; the table gives the wall time per trajectory.

Usage: python bench/bench_jump.py [--quick] [--trajectories 10000] [--repeat 3]
Writes bench/out/bench_jump.json. Timings share the CPU with whatever else runs.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bdprocess as bd
from models import gaussian_mixture as gm
from models import reactions as rx

X0, BIRTH, DEATH, T1 = 100, 0.1, 0.11, 50.0
ALPHA, T_ENERGY = 5.0, 10.0
LADDER = (0.2, 0.1, 0.05, 0.02, 0.01)
EXTRANDE_HORIZON = 0.1
OUT = Path(__file__).parent / "out" / "bench_jump.json"


def expected_jumps() -> float:
    """E[jumps on [0, T1]] per trajectory = (birth + death) int_0^T1 E[X(t)] dt."""
    r = BIRTH - DEATH
    return (BIRTH + DEATH) * X0 * np.expm1(r * T1) / r


def mean_check(final: np.ndarray) -> float:
    """Z score of the mean of X(T1) against the exact mean."""
    mean, var = rx.birth_death_moments(T1, X0, BIRTH, DEATH)
    return float(np.sqrt(final.size) * (final.mean() - mean) / np.sqrt(var))


# ---- 1. events per second ---------------------------------------------------------------


def bench_bdprocess(trajectories: int, repeat: int) -> dict:
    net, x0 = rx.birth_death(X0, BIRTH, DEATH)
    ts = jnp.linspace(0.0, T1, 51)

    @jax.jit
    def run(key):
        keys = jr.split(key, trajectories)
        return bd.ensemble(net, x0, keys=keys, t1=T1, solver=bd.Direct(), saveat=ts)

    jax.block_until_ready(run(jr.key(0)))  # compile
    best = None
    for i in range(repeat):
        start = time.perf_counter()
        sol = jax.block_until_ready(run(jr.key(i + 1)))
        wall = time.perf_counter() - start
        if best is None or wall < best[0]:
            best = (wall, sol)
    wall, sol = best
    assert np.all(np.asarray(sol.status._value) == bd.Status.successful._value)
    events = int(sum(np.asarray(sol.observables[k], np.int64).sum() for k in net.event_kinds))
    final = np.asarray(sol.observables["X"])[:, -1]
    return _row("bdprocess Direct (vmap, jit)", trajectories, events, wall, final, "counters")


def bench_rebop(trajectories: int) -> dict | str:
    try:
        import rebop
    except ImportError:
        return "rebop not importable (pip install 'bdprocess[bench]'): skipped"
    model = rebop.Gillespie()
    model.add_reaction(BIRTH, ["X"], ["X", "X", "E"])
    model.add_reaction(DEATH, ["X"], ["E"])
    model.run({"X": X0}, tmax=T1, nb_steps=50, rng=0)  # warm-up
    events, final = 0, np.empty(trajectories)
    start = time.perf_counter()
    for i in range(trajectories):
        ds = model.run({"X": X0}, tmax=T1, nb_steps=50, rng=i + 1)
        events += int(ds["E"].values[-1])
        final[i] = ds["X"].values[-1]
    wall = time.perf_counter() - start
    return _row("rebop (one call per trajectory)", trajectories, events, wall, final, "counter")


def bench_gillespy2(trajectories: int) -> dict | str:
    # GillesPy2 runs SCons as `python -m SCons` with the resolved base interpreter, which
    # misses a virtual environment's packages; the environment's `scons` script is found
    # first when its bin/ is on PATH.
    os.environ["PATH"] = f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    try:
        import gillespy2
    except ImportError:
        return "gillespy2 not importable (pip install 'bdprocess[bench]'): skipped"
    model = gillespy2.Model(name="birth_death")
    birth = gillespy2.Parameter(name="birth", expression=BIRTH)
    death = gillespy2.Parameter(name="death", expression=DEATH)
    model.add_parameter([birth, death])
    x = gillespy2.Species(name="X", initial_value=X0, mode="discrete")
    e = gillespy2.Species(name="E", initial_value=0, mode="discrete")
    model.add_species([x, e])
    model.add_reaction(
        gillespy2.Reaction(name="b", reactants={x: 1}, products={x: 2, e: 1}, rate=birth)
    )
    model.add_reaction(gillespy2.Reaction(name="d", reactants={x: 1}, products={e: 1}, rate=death))
    model.timespan(np.linspace(0.0, T1, 51))
    try:
        solver = gillespy2.SSACSolver(model=model)  # compiles the C++ solver
    except Exception as exc:  # a missing compiler or build tool
        return f"gillespy2 SSACSolver could not be built ({type(exc).__name__}): skipped"
    model.run(solver=solver, number_of_trajectories=10, seed=7)  # warm-up
    start = time.perf_counter()
    results = model.run(solver=solver, number_of_trajectories=trajectories, seed=11)
    wall = time.perf_counter() - start
    events = int(sum(int(r["E"][-1]) for r in results))
    final = np.array([r["X"][-1] for r in results], float)
    return _row("GillesPy2 SSACSolver (C++)", trajectories, events, wall, final, "counter")


def _row(name, trajectories, events, wall, final, counted) -> dict:
    return {
        "simulator": name,
        "trajectories": trajectories,
        "events": events,
        "events_per_trajectory": events / trajectories,
        "wall_s": wall,
        "events_per_s": events / wall,
        "z_mean_x_t1": mean_check(final),
        "events_counted_by": {
            "counters": "per-reaction counters (sol.observables)",
            "counter": "an extra product-only species E (exact count)",
        }[counted],
    }


# ---- 2. Extrande against Splitting at equal accuracy ------------------------------------


def energy_at_t(process, pops, solver, key, replicas):
    """Energies at T_ENERGY of ``replicas`` trajectories and the wall time (compiled)."""

    def run(t1):
        sol = bd.ensemble(
            process,
            pops,
            batched_state=True,
            keys=jr.split(key, replicas),
            t1=t1,
            solver=solver,
            saveat=jnp.asarray([t1]),
        )
        return jax.block_until_ready(sol)

    run(0.05)  # compile: t1 and the solver's knobs are dynamic
    start = time.perf_counter()
    sol = run(T_ENERGY)
    wall = time.perf_counter() - start
    ok = np.asarray(sol.status._value) == bd.Status.successful._value
    if not ok.all():
        raise RuntimeError(f"{type(solver).__name__} failed: {bd.Status[sol.status]}")
    stats = {k: int(np.asarray(v).sum()) for k, v in sol.stats.items() if k != "bad_channel"}
    return np.asarray(sol.observables["energy"], float)[:, 0], wall, stats


def bench_equal_accuracy(n: int, replicas: int, check_rk4: bool, seed: int = 0) -> dict:
    """Extrande (reference: horizon 0.1, drift_dt 0.05) against the Splitting ladder."""
    process = bd.BirthDeath(gm.GaussianMixture(), ALPHA)
    k_init, k_ex, k_sp = jr.split(jr.key(seed), 3)
    theta0 = jax.vmap(lambda k: gm.initial_positions(k, n))(jr.split(k_init, replicas))
    pops = jax.vmap(bd.Population.from_positions)(theta0)
    extrande = []
    for drift_dt in (0.05, 0.01) if check_rk4 else (0.05,):
        solver = bd.Extrande(EXTRANDE_HORIZON, drift_dt=drift_dt)
        e, wall, stats = energy_at_t(process, pops, solver, k_ex, replicas)
        extrande.append(
            {
                "horizon": EXTRANDE_HORIZON,
                "drift_dt": drift_dt,
                "mean_energy": e.mean(),
                "se": e.std(ddof=1) / np.sqrt(replicas),
                "wall_s_per_trajectory": wall / replicas,
                **stats,
                "energies": e,
            }
        )
    e_ex = extrande[0]["energies"]
    if check_rk4:
        # Same keys, so the same jumps up to the integrator: the path-wise difference is
        # the RK4 error's effect on the energy, to compare with the Monte-Carlo error.
        extrande[1]["max_abs_diff_to_drift_dt_0.05"] = np.abs(extrande[1]["energies"] - e_ex).max()
    ladder = []
    for dt in LADDER:
        e_sp, wall_sp, _ = energy_at_t(process, pops, bd.Splitting(dt), k_sp, replicas)
        diff = e_sp - e_ex
        bias, se = diff.mean(), diff.std(ddof=1) / np.sqrt(replicas)
        ladder.append(
            {
                "dt": dt,
                "mean_energy": e_sp.mean(),
                "bias": bias,
                "se": se,
                "within_mc": bool(abs(bias) <= 2 * se),
                "wall_s_per_trajectory": wall_sp / replicas,
            }
        )
    # The largest dt such that it and every smaller dt are within the Monte-Carlo error.
    pick = None
    for row in reversed(ladder):
        if not row["within_mc"]:
            break
        pick = row
    per = extrande[0]["wall_s_per_trajectory"]
    for row in extrande:
        row.pop("energies")
    return {
        "n": n,
        "replicas": replicas,
        "t": T_ENERGY,
        "extrande": extrande,
        "splitting": ladder,
        "equal_accuracy_dt": None if pick is None else pick["dt"],
        "cost_ratio_extrande_over_splitting": (
            None if pick is None else per / pick["wall_s_per_trajectory"]
        ),
    }


# ---- report -------------------------------------------------------------------------------


def print_jumps(rows) -> None:
    print(f"\n1. birth-death, x0={X0}, birth={BIRTH}, death={DEATH}, t=0..{T1:g}")
    print(f"   expected jumps per trajectory (exact mean): {expected_jumps():.1f}")
    print(
        f"{'simulator':<34} {'traj':>6} {'jumps/traj':>10} {'wall s':>8} {'jumps/s':>12} {'Z':>6}"
    )
    for row in rows:
        if isinstance(row, str):
            print(f"  {row}")
            continue
        print(
            f"{row['simulator']:<34} {row['trajectories']:6d} "
            f"{row['events_per_trajectory']:10.1f} {row['wall_s']:8.2f} "
            f"{row['events_per_s']:12.4g} {row['z_mean_x_t1']:6.2f}"
        )
    print("   Z: mean X(t1) against the exact mean (|Z| < 3 expected)")
    ours = next(r for r in rows if isinstance(r, dict) and r["simulator"].startswith("bd"))
    for row in rows:
        if isinstance(row, dict) and row is not ours:
            ratio = ours["events_per_s"] / row["events_per_s"]
            print(f"   bdprocess / {row['simulator'].split()[0]}: {ratio:.2f}x")


def print_accuracy(result) -> None:
    print(
        f"\n2. Gaussian mixture n={result['n']}, {result['replicas']} replicas (same initial "
        f"populations for every solver), mean energy at t={result['t']:g}"
    )
    for ex in result["extrande"]:
        line = (
            f"   Extrande(horizon {ex['horizon']:g}, drift_dt {ex['drift_dt']:g}): "
            f"E = {ex['mean_energy']:.4g} +- {ex['se']:.2g}, "
            f"{ex['wall_s_per_trajectory']:.3g} s/trajectory, {ex['proposals']} proposals, "
            f"{ex['bound_violations']} bound violations"
        )
        if "max_abs_diff_to_drift_dt_0.05" in ex:
            line += f"; same keys: max |dE| = {ex['max_abs_diff_to_drift_dt_0.05']:.2g}"
        print(line)
    print(f"   {'Splitting dt':>12} {'mean E':>10} {'bias':>10} {'+- 2 se':>10} {'s/traj':>8}")
    for row in result["splitting"]:
        mark = "" if row["within_mc"] else "  (bias resolved)"
        print(
            f"   {row['dt']:12g} {row['mean_energy']:10.4g} {row['bias']:10.2g} "
            f"{2 * row['se']:10.2g} {row['wall_s_per_trajectory']:8.3g}{mark}"
        )
    if result["equal_accuracy_dt"] is None:
        print("   no dt of the ladder is within the Monte-Carlo error")
    else:
        print(
            f"   equal accuracy: Splitting dt = {result['equal_accuracy_dt']:g}; Extrande "
            f"(drift_dt 0.05) costs {result['cost_ratio_extrande_over_splitting']:.1f}x its "
            "wall time per trajectory"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--trajectories", type=int, default=None, help="default 10^4")
    parser.add_argument("--repeat", type=int, default=3, help="bdprocess timings: best of")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    trajectories = args.trajectories or (1000 if args.quick else 10_000)
    # (n, replicas, also run Extrande with drift_dt 0.01 to check the RK4 error)
    sizes = ((200, 8, True),) if args.quick else ((200, 64, True), (2000, 8, False))
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}; float32"
    )
    rows = [
        bench_bdprocess(trajectories, args.repeat),
        bench_rebop(trajectories),
        bench_gillespy2(trajectories),
    ]
    print_jumps(rows)
    accuracy = []
    for n, replicas, check_rk4 in sizes:
        accuracy.append(bench_equal_accuracy(n, replicas, check_rk4))
        print_accuracy(accuracy[-1])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "jax": jax.__version__,
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "birth_death": {
            "x0": X0,
            "birth": BIRTH,
            "death": DEATH,
            "t1": T1,
            "expected_events_per_trajectory": expected_jumps(),
            "rows": [r for r in rows if isinstance(r, dict)],
            "skipped": [r for r in rows if isinstance(r, str)],
        },
        "extrande_vs_splitting": accuracy,
    }
    args.out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
