"""``bdprocess simulate``: an ensemble of one model with one solver, as a result folder.

The ensemble is one vmapped :func:`bdprocess.ensemble` call (``throw=False``); the folder
holds summary.json (mean and variance of every observable per save time), data.nc (every
trajectory), a figure against the exact moments where they are known, and report.html.
"""

import contextlib
import dataclasses
import json
import time
from pathlib import Path

import click
import numpy as np

from . import _params
from ._output import prepare_out_dir, write_json

REACTIONS = ("birth_death", "immigration_death", "dimerisation", "batch_immigration")
PARTICLES = ("fixed_potential", "gaussian_mixture")
MODELS = REACTIONS + PARTICLES
SOLVERS = ("direct", "extrande", "tau-leap", "adaptive-tau", "splitting")

PARAMS: dict[str, _params.ParamSpec] = {
    # The reaction networks' defaults are those of models/reactions.py (DSMTS).
    "birth_death": {"x0": (int, 100), "birth": (float, 0.1), "death": (float, 0.11)},
    "immigration_death": {"x0": (int, 0), "immigration": (float, 1.0), "death": (float, 0.1)},
    "dimerisation": {"p0": (int, 100), "k1": (float, 0.001), "k2": (float, 0.01)},
    "batch_immigration": {
        "x0": (int, 0),
        "batch": (int, 5),
        "immigration": (float, 1.0),
        "death": (float, 0.1),
    },
    "fixed_potential": {
        "n": (int, 1000),
        "alpha": (float, 1.0),
        "curvature": (float, 1.0),
        "dim": (int, 1),
        "var0": (float, 1.0),
        "transport": (bool, False),
    },
    "gaussian_mixture": {
        "n": (int, 200),
        "init": (str, "uniform"),
        "alpha": (float, 5.0),
        "rebirth": (str, "clone"),
        "centred": (bool, True),
        "transport": (bool, True),
    },
}
"""Model -> parameter name -> (type, default)."""

RUN_DEFAULTS = {"reactions": (50.0, 1.0, 1000), "fixed_potential": (2.0, 0.1, 16)}
RUN_DEFAULTS["gaussian_mixture"] = (10.0, 0.1, 8)
"""Model family -> default (t1, save_every, trajectories)."""

OPTIONS = {
    "tau": (("tau-leap",), "the fixed leap of tau-leap"),
    "eps": (("adaptive-tau",), "the accuracy of adaptive-tau"),
    "dt": (("splitting", "extrande"), "the step of splitting or extrande's drift sub-step"),
    "horizon": (("extrande",), "extrande's look-ahead window"),
    "safety": (("extrande",), "extrande's bound factor"),
}
"""Solver option -> (the solvers it applies to, what it sets)."""

DIMERISATION_EXACT_MAX_P0 = 1000
"""Exact dimerisation moments (a dense master equation of size p0 / 2) up to this p0."""


def _family(model: str) -> str:
    return "reactions" if model in REACTIONS else model


@dataclasses.dataclass(frozen=True)
class Model:
    """A model ready to simulate: the process, its initial state(s) and what to record."""

    process: object
    state0: object
    batched: bool  # state0 has one initial state per trajectory
    drift: bool  # the process moves between jumps
    observables: tuple[str, ...]  # summarised observables


def build_model(model: str, p: dict, key, trajectories: int) -> Model:
    """The process and initial state(s) of ``model`` with parameters ``p``.

    Particle models draw one independent initial population per trajectory (from
    ``key``), so ensemble moments are those of the process started from i.i.d. particles.

    Raises:
        ValueError: a parameter value the model rejects (its message names it).
    """
    import jax
    import jax.random as jr

    import bdprocess as bd

    if model in REACTIONS:
        from models import reactions as rx

        for name, value in p.items():
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"--param {name} must be finite and >= 0, got {value}")
        net, x0 = rx.MODELS[model](**p)
        return Model(net, x0, False, False, net.species)
    if p["n"] < 2:
        raise ValueError(f"--param n must be >= 2, got n={p['n']}")
    keys = jr.split(key, trajectories)
    if model == "fixed_potential":
        from models import fixed_potential as fp

        process, _ = fp.make(key, **p)  # checks dim, var0 and alpha

        def draw(k):
            return fp.initial_positions(k, p["n"], p["dim"], p["var0"])
    else:
        from models import gaussian_mixture as gm

        for name, allowed in (("init", gm.INITS), ("rebirth", ("clone", "prior"))):
            if p[name] not in allowed:
                raise ValueError(
                    f"--param {name} must be one of {', '.join(allowed)}, got {p[name]!r}"
                )
        process = bd.BirthDeath(
            gm.GaussianMixture(),
            p["alpha"],
            rebirth=p["rebirth"],
            centred=p["centred"],
            transport=p["transport"],
        )

        def draw(k):
            return gm.initial_positions(k, p["n"], p["init"])

    state0 = jax.vmap(bd.Population.from_positions)(jax.vmap(draw)(keys))
    return Model(process, state0, True, p["transport"], ("energy", "vbar"))


def build_solver(name: str, options: dict, model: str, drift: bool):
    """The solver for ``--solver name``; ``options`` maps tau, eps, dt, horizon, safety to
    a value or None (not given).

    Raises:
        click.UsageError: an option that does not apply to this solver or model, or a
            solver that cannot run this model.
    """
    import bdprocess as bd

    for option, value in options.items():
        solvers, what = OPTIONS[option]
        if value is not None and name not in solvers:
            raise click.UsageError(
                f"--{option} ({what}) does not apply to --solver {name}; "
                f"it applies to {' and '.join(solvers)}"
            )
    if name in ("direct", "adaptive-tau") and drift:
        raise click.UsageError(
            f"--solver {name} needs a pure-jump model, but {model} moves between jumps "
            "(transport=true); use extrande (exact) or splitting, or --param transport=false"
        )
    if name == "direct":
        return bd.Direct()
    if name == "extrande":
        kwargs = {}
        if options["dt"] is not None:
            if not drift:
                raise click.UsageError(
                    f"--dt sets extrande's drift sub-step, but {model} has no drift here"
                )
            kwargs["drift_dt"] = options["dt"]
        if options["safety"] is not None:
            kwargs["safety"] = options["safety"]
        horizon = 0.1 if options["horizon"] is None else options["horizon"]
        return bd.Extrande(horizon, **kwargs)
    if name == "tau-leap":
        if options["tau"] is None:
            raise click.UsageError(
                "--solver tau-leap needs --tau (its fixed leap); adaptive-tau chooses the "
                "leap itself"
            )
        return bd.TauLeap(options["tau"])
    if name == "adaptive-tau":
        return bd.AdaptiveTauLeap(0.03 if options["eps"] is None else options["eps"])
    return bd.Splitting(0.01 if options["dt"] is None else options["dt"])


def solver_settings(solver) -> dict:
    """The solver's knobs as floats (for the summary)."""
    fields = sorted(f.name for f in dataclasses.fields(solver))
    return {name: float(f"{float(getattr(solver, name)):.7g}") for name in fields}


def exact_moments(model: str, p: dict, ts: np.ndarray) -> tuple[dict, str] | None:
    """(observable -> (mean, variance or None), label) where the model has an answer.

    Reaction networks: their exact moments (models/reactions.py). The fixed-potential
    model: the mean-field limit of its energy (exact as n -> infinity, no variance).
    """
    from models import reactions as rx

    if model == "birth_death":
        return {"X": rx.birth_death_moments(ts, **p)}, "exact"
    if model == "immigration_death":
        return {"X": rx.immigration_death_moments(ts, **p)}, "exact"
    if model == "batch_immigration":
        return {"X": rx.batch_immigration_moments(ts, **p)}, "exact"
    if model == "dimerisation":
        if p["p0"] > DIMERISATION_EXACT_MAX_P0:
            return None
        mean, var = rx.dimerisation_moments(ts, **p)
        # P + 2 P2 = p0 is conserved.
        return {"P": (mean, var), "P2": ((p["p0"] - mean) / 2, var / 4)}, "exact"
    if model == "fixed_potential":
        from models import fixed_potential as fp

        kw = {k: p[k] for k in ("alpha", "curvature", "var0", "dim", "transport")}
        energy = fp.exact_energy(ts, **kw)
        return {"energy": (energy, None), "vbar": (energy, None)}, "mean-field limit"
    return None


def save_times(t1: float, save_every: float) -> np.ndarray:
    """0, save_every, ..., t1.

    Raises:
        click.UsageError: t1 is not a whole multiple of save_every.
    """
    k = t1 / save_every
    if abs(k - round(k)) > 1e-6 * max(k, 1.0) or round(k) < 1:
        raise click.UsageError(
            f"--t1 {t1:g} must be a whole multiple (>= 1) of --save-every {save_every:g}"
        )
    return np.linspace(0.0, t1, round(k) + 1)


def _positive(help_text: str):
    return dict(type=click.FloatRange(min=0.0, min_open=True), default=None, help=help_text)


@click.command()
@click.option(
    "--model",
    type=click.Choice(MODELS),
    default="birth_death",
    show_default=True,
    help="Reaction networks (birth_death, immigration_death, dimerisation, "
    "batch_immigration; exact moments known) or particle models (fixed_potential: "
    "non-interacting particles in U = curvature |theta|^2 / 2; gaussian_mixture: the "
    "paper's 1-D regression).",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Model parameter, repeatable. "
    + " ".join(f"{m}: {_params.describe(s)}." for m, s in PARAMS.items()),
)
@click.option(
    "--solver",
    "solver_name",
    type=click.Choice(SOLVERS),
    default="direct",
    show_default=True,
    help="direct: Gillespie, exact for pure-jump models. extrande: exact thinning, also "
    "with a drift. tau-leap: fixed leaps (needs --tau). adaptive-tau: leaps bounding the "
    "relative change of every rate by --eps (pure-jump). splitting: the paper's scheme "
    "(Euler drift step, then jumps), step --dt. See docs/guides/choosing_a_solver.md.",
)
@click.option("--tau", **_positive("tau-leap: the fixed leap (required with tau-leap)."))
@click.option("--eps", **_positive("adaptive-tau: relative rate change per leap [0.03]."))
@click.option(
    "--dt",
    **_positive(
        "splitting: the time step [0.01]; extrande: the largest RK4 drift sub-step [0.01]."
    ),
)
@click.option("--horizon", **_positive("extrande: look-ahead window of the rate bound [0.1]."))
@click.option(
    "--safety",
    type=click.FloatRange(min=1.0),
    default=None,
    help="extrande: factor (>= 1) on the estimated part of the rate bound [2].",
)
@click.option(
    "--trajectories",
    type=click.IntRange(min=1),
    default=None,
    help="Independent trajectories (one vmapped ensemble). Default: 1000 for reaction "
    "networks, 16 for fixed_potential, 8 for gaussian_mixture.",
)
@click.option(
    "--t1",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="Final time. Default: 50 for reaction networks, 2 for fixed_potential, 10 for "
    "gaussian_mixture.",
)
@click.option(
    "--save-every",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="Spacing of the save times 0, H, ..., t1 (t1 must be a multiple). Default: 1 for "
    "reaction networks, 0.1 for particle models.",
)
@click.option(
    "--max-steps",
    type=click.IntRange(min=1),
    default=10_000_000,
    show_default=True,
    help="Solver steps allowed per trajectory; a trajectory that needs more stops with "
    "status max_steps_reached.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Master PRNG seed.")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Result folder (summary.json, data.nc, observables.png, report.html); "
    "never overwritten unless --force.",
)
@click.option("--force", is_flag=True, help="Replace the --out folder if it is not empty.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar.")
def simulate(
    model,
    params,
    solver_name,
    tau,
    eps,
    dt,
    horizon,
    safety,
    trajectories,
    t1,
    save_every,
    max_steps,
    seed,
    out,
    force,
    progress,
):
    """Simulate an ensemble of one model with one solver.

    Writes summary.json {"model", "solver", "trajectories", "t", "observables": {name:
    {"mean", "var"}}, "events_total", "status", ...}: one observable per species for
    reaction networks (X; P and P2 for dimerisation), energy and vbar for particle models;
    "var" is the sample variance over trajectories; "status" is "success" or the message
    of the first failing trajectory (for a negative or NaN rate it names the channel,
    also in run.bad_channel). Also data.nc (every trajectory: observables and jump
    counts per save interval), observables.png (mean +- one standard deviation, with the
    exact moments where known) and report.html.
    """
    import jax
    import jax.numpy as jnp
    import jax.random as jr

    import bdprocess as bd

    p = _params.parse_params(PARAMS[model], params, model=model)
    d_t1, d_every, d_traj = RUN_DEFAULTS[_family(model)]
    t1 = d_t1 if t1 is None else t1
    save_every = d_every if save_every is None else save_every
    trajectories = d_traj if trajectories is None else trajectories
    ts = save_times(t1, save_every)
    k_init, k_run = jr.split(jr.key(seed))
    built = build_model(model, p, k_init, trajectories)
    options = {"tau": tau, "eps": eps, "dt": dt, "horizon": horizon, "safety": safety}
    solver = build_solver(solver_name, options, model, built.drift)
    out = prepare_out_dir(out, force)
    click.echo(f"writing {out}/")

    bar = bd.progress_bar(t1, desc=f"{model}/{solver_name}") if progress else None
    start = time.perf_counter()
    with bar or contextlib.nullcontext():
        sol = bd.ensemble(
            built.process,
            built.state0,
            keys=jr.split(k_run, trajectories),
            batched_state=built.batched,
            t1=t1,
            solver=solver,
            saveat=jnp.asarray(ts),
            max_steps=max_steps,
            throw=False,
            progress=progress,
        )
        obs = {k: np.asarray(v) for k, v in jax.block_until_ready(sol.observables).items()}
    wall = time.perf_counter() - start

    codes = np.asarray(sol.status._value)
    failed = codes != bd.Status.successful._value
    # code -> message of every status that occurred (from its first trajectory)
    messages = {}
    for c in np.unique(codes):
        first = int(np.argmax(codes == c))
        messages[int(c)] = bd.Status[jax.tree.map(lambda v, i=first: v[i], sol.status)]
    status = messages[int(codes[np.argmax(failed)])] if failed.any() else "success"
    bad_channel = None  # the first failing trajectory's bad channel, for a bad_rate status
    if failed.any() and codes[np.argmax(failed)] == bd.Status.bad_rate._value:
        bad_channel = int(np.asarray(sol.stats["bad_channel"])[np.argmax(failed)])
        status = f"{status} (first bad channel: {bad_channel})"
    kinds = tuple(built.process.event_kinds)
    events_total = int(sum(obs[k].astype(np.int64).sum() for k in kinds))
    stats = {k: np.asarray(v) for k, v in sol.stats.items() if k != "bad_channel"}
    exact = exact_moments(model, p, ts)

    summary = {
        "model": model,
        "solver": solver_name,
        "trajectories": trajectories,
        "t": ts,
        "observables": {name: _moments(obs[name]) for name in built.observables},
        "events_total": events_total,
        "status": status,
        "params": p,
        "solver_settings": solver_settings(solver),
        "run": {
            "seed": seed,
            "failed_trajectories": int(failed.sum()),
            "bad_channel": bad_channel,
            "wall_s": wall,
            "num_steps_total": int(np.asarray(sol.num_steps).astype(np.int64).sum()),
            "events_by_kind": {k: int(obs[k].astype(np.int64).sum()) for k in kinds},
            "solver_stats": {k: int(v.astype(np.int64).sum()) for k, v in stats.items()},
        },
    }
    if exact is not None:
        moments, label = exact
        summary["exact"] = {
            "label": label,
            "observables": {k: {"mean": m, "var": v} for k, (m, v) in moments.items()},
        }
    write_json(out / "summary.json", summary)
    run = (codes, messages, np.asarray(sol.num_steps), stats)
    _write_netcdf(out / "data.nc", obs, ts, run, summary)
    _report(out, summary, obs, built.observables, exact)
    click.echo(
        f"{model} with {solver_name}: {trajectories} trajectories to t1 = {t1:g}, "
        f"{events_total} jumps in {wall:.1f} s; status: {status}"
    )
    if failed.any():
        click.echo(
            f"warning: {int(failed.sum())} of {trajectories} trajectories did not succeed; "
            f"the first says: {status}",
            err=True,
        )


def _moments(x: np.ndarray) -> dict:
    x = x.astype(float)
    var = x.var(axis=0, ddof=1) if x.shape[0] > 1 else np.full(x.shape[1], np.nan)
    return {"mean": x.mean(axis=0), "var": var}


def _write_netcdf(path, obs, ts, run, summary) -> None:
    import xarray as xr

    codes, messages, num_steps, stats = run
    dims = ("trajectory", "time")
    data = {name: (dims, v) for name, v in obs.items() if name in summary["observables"]}
    for kind in summary["run"]["events_by_kind"]:
        data[f"events_{kind}"] = (dims, obs[kind])
    data["status"] = ("trajectory", codes.astype(np.int32))
    data["num_steps"] = ("trajectory", num_steps.astype(np.int64))
    for name, v in stats.items():
        data[f"solver_{name}"] = ("trajectory", v.astype(np.int64))
    attrs = {
        "model": summary["model"],
        "solver": summary["solver"],
        "params": json.dumps(summary["params"]),
        "solver_settings": json.dumps(summary["solver_settings"]),
        "status_summary": summary["status"],
        "status_messages": json.dumps({str(c): m for c, m in messages.items()}),
        "events_note": "events_<kind>: jumps of that kind in the interval ending at each save "
        "time (from t = 0 for the first)",
    }
    coords = {"trajectory": np.arange(codes.shape[0]), "time": ts}
    xr.Dataset(data, coords=coords, attrs=attrs).to_netcdf(path, engine="h5netcdf")


def _report(out, summary, obs, names, exact) -> None:
    from models import reactions as rx

    from ._report import Report, plt, save_figure

    ts = np.asarray(summary["t"])
    model, solver = summary["model"], summary["solver"]
    run = summary["run"]
    report = Report(f"simulate: {model} with {solver}")
    report.paragraph(
        f"{summary['trajectories']} trajectories to t1 = {ts[-1]:g} (save every "
        f"{ts[1] - ts[0]:g}), one vmapped ensemble; parameters "
        + ", ".join(f"{k}={v}" for k, v in summary["params"].items())
        + "; solver "
        + (", ".join(f"{k}={v:g}" for k, v in summary["solver_settings"].items()) or "defaults")
        + "."
    )
    rows = [
        ["status", summary["status"]],
        ["failed trajectories", f"{run['failed_trajectories']} / {summary['trajectories']}"],
        ["jumps in all", summary["events_total"]],
        *[[f"jumps: {k}", v] for k, v in run["events_by_kind"].items()],
        ["solver steps in all", run["num_steps_total"]],
        *[[f"solver: {k}", v] for k, v in run["solver_stats"].items()],
        ["wall time (s), compilation included", run["wall_s"]],
    ]
    report.table(["quantity", "value"], rows)

    scores = []
    if exact is not None and exact[1] == "exact":
        moments = exact[0]
        report.heading("Against the exact moments")
        for name in names:
            mean, var = moments[name]
            z, y = rx.dsmts_scores(obs[name], mean, var)
            if np.all(np.isnan(z)):
                continue
            scores.append((name, float(np.nanmax(np.abs(z))), float(np.nanmax(np.abs(y)))))
        report.table(["species", "max |Z| over t", "max |Y| over t"], [list(s) for s in scores])
        ok = all(z < 3 and y < 5 for _, z, y in scores)
        report.verdict(
            "DSMTS scores (Evans, Gillespie, Wilkinson 2008): "
            + ("|Z| < 3 and |Y| < 5 at every save time" if ok else "outside |Z| < 3, |Y| < 5")
            + ". Exact solvers should pass; leaping solvers carry an O(step) bias that "
            "enough trajectories reveal.",
            ok,
        )

    fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        mom = summary["observables"][name]
        mean = np.asarray(mom["mean"], float)
        sd = np.sqrt(np.nan_to_num(np.asarray(mom["var"], float)))
        ax.plot(ts, mean, color="C0", label=f"{solver}: mean")
        ax.fill_between(ts, mean - sd, mean + sd, color="C0", alpha=0.25, label="+- 1 sd")
        if exact is not None and name in exact[0]:
            e_mean, e_var = exact[0][name]
            ax.plot(ts, e_mean, "k--", lw=1, label=f"{exact[1]}: mean")
            if e_var is not None:
                e_sd = np.sqrt(e_var)
                ax.plot(ts, e_mean + e_sd, "k:", lw=1, label=f"{exact[1]}: +- 1 sd")
                ax.plot(ts, e_mean - e_sd, "k:", lw=1)
        if name == "energy" and np.all(mean - sd > 0):
            ax.set_yscale("log")
        ax.set_xlabel("t")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.suptitle(f"{model} with {solver}, {summary['trajectories']} trajectories", y=1.02)
    report.figure(fig, "Mean over trajectories with a band of one standard deviation.")
    save_figure(fig, out / "observables.png")
    report.save(out / "report.html")
