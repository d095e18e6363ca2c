"""``bdprocess genealogy``: genealogies of a neutral Moran population or of the paper's
Gaussian-mixture birth-death run, with coalescence times, surviving founders and figures."""

import functools
import math
import time
from collections.abc import Callable
from pathlib import Path

import click
import jax.random as jr
import numpy as np

import bdprocess as bd

from . import _params
from . import genealogy as gen
from ._output import prepare_out_dir, write_json
from ._report import Report, save_figure

MODELS = ("moran", "gaussian_mixture")

# name -> (type, default); a default of None is derived from the others.
PARAMS = {
    "moran": {"n": (int, 50), "rate": (float, 1.0), "t1": (float, None), "saves": (int, 101)},
    "gaussian_mixture": {
        "n": (int, 200),
        "alpha": (float, 5.0),
        "dt": (float, 0.01),
        "t1": (float, 30.0),
        "init": (str, "uniform"),
        "rebirth": (str, "clone"),
        "centred": (bool, True),
        "transport": (bool, True),
        "saves": (int, 101),
    },
}
TREE_MAX_N = 100
"""The first trajectory's tree is drawn when n is at most this."""


def parse_params(model: str, pairs: tuple[str, ...]) -> dict:
    """``KEY=VALUE`` strings -> typed parameters of ``model`` (defaults filled in)."""
    params = _params.parse_params(PARAMS[model], pairs, model=model)
    if params["n"] < 2:
        raise click.UsageError(f"--param n must be >= 2, got n={params['n']}")
    if params["saves"] < 2:
        raise click.UsageError(f"--param saves must be >= 2, got {params['saves']}")
    if model == "moran" and params["t1"] is None:
        # 10 n / rate: about ten times E[TMRCA] = (n-1)^2 / (rate n); P(not coalesced) is
        # below 1e-6 for every n (the last merger alone is Exp(2 rate / (n - 1))).
        params["t1"] = 10.0 * params["n"] / params["rate"]
    if not params["t1"] > 0:
        raise click.UsageError(f"--param t1 must be positive, got {params['t1']}")
    return params


@click.command()
@click.option(
    "--model",
    type=click.Choice(MODELS),
    default="moran",
    show_default=True,
    help="moran: neutral Moran population, simulated exactly (Direct). gaussian_mixture: "
    "the paper's birth-death run (Splitting).",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Model parameter, repeatable. moran: n (50), rate (1), t1 (10 n / rate), saves "
    "(101). gaussian_mixture: n (200), alpha (5), dt (0.01), t1 (30), init (uniform|bad), "
    "rebirth (clone|prior), centred (true), transport (true), saves (101).",
)
@click.option(
    "--trajectories",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Independent trajectories.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=True, dir_okay=True, path_type=Path),
    help="Result folder (summary.json, GraphML of the first trajectory, figures, report).",
)
@click.option("--force", is_flag=True, help="Replace the --out folder if it is not empty.")
@click.option(
    "--max-events",
    type=click.IntRange(min=1),
    default=None,
    help="Event-log capacity per trajectory (default: never overflows in practice).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Master PRNG seed.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar.")
def genealogy(model, params, trajectories, out, force, max_events, seed, progress):
    """Genealogies of neurons: who descends from whom, read from the event log.

    Writes summary.json ({"model", "n", "trajectories", "tmrca": one value per trajectory
    (null if not yet coalesced), "pairwise_coalescence": one value per trajectory for the
    occupants of slots 0 and 1 at the end, "founders_surviving": {"t", "mean"}}),
    genealogy_0.graphml, lineages.png, tree.png (n <= 100), founders.png
    (gaussian_mixture) and report.html.
    """
    p = parse_params(model, params)
    out = prepare_out_dir(out, force)
    start = time.perf_counter()
    keys = jr.split(jr.key(seed), trajectories)
    ts = np.linspace(0.0, p["t1"], p["saves"])
    if model == "moran":
        from models import moran

        process, state0 = moran.Moran(p["rate"]), moran.initial_state(p["n"])
        solver = bd.Direct()
        mean = p["n"] * p["rate"] * p["t1"]
        capacity = max_events or int(mean + 8 * math.sqrt(mean) + 16)
    else:
        from models import gaussian_mixture as gm

        if p["rebirth"] not in ("clone", "prior"):
            raise click.UsageError(f"--param rebirth must be clone or prior, got {p['rebirth']!r}")
        theta0 = gm.initial_positions(jr.key(seed + 1), p["n"], p["init"])
        state0 = bd.Population.from_positions(theta0)
        process = bd.BirthDeath(
            gm.GaussianMixture(),
            p["alpha"],
            centred=p["centred"],
            rebirth=p["rebirth"],
            transport=p["transport"],
        )
        solver = bd.Splitting(p["dt"])
        # at most n jumps per step: this capacity cannot overflow
        capacity = max_events or p["n"] * (math.ceil(p["t1"] / p["dt"]) + 1)
    click.echo(f"writing {out}/")
    genealogies, _ = gen.simulate_genealogies(
        process,
        state0,
        keys=keys,
        t1=p["t1"],
        solver=solver,
        saveat=ts,
        max_events=capacity,
        progress=progress,
    )

    tmrca = [g.tmrca() for g in genealogies]
    pair = [g.coalescence_time(*g.alive_at()[:2]) for g in genealogies]
    founders = np.mean([g.founders_surviving(ts) for g in genealogies], axis=0)
    summary = {
        "model": model,
        "n": p["n"],
        "trajectories": trajectories,
        "tmrca": tmrca,
        "pairwise_coalescence": pair,
        "founders_surviving": {"t": ts, "mean": founders},
    }
    write_json(out / "summary.json", summary)
    first = genealogies[0]
    first.write_graphml(out / "genealogy_0.graphml")

    report = Report(f"Genealogies: {model}, n = {p['n']}")
    report.paragraph(
        f"{trajectories} trajectories to t1 = {p['t1']:g}; parameters "
        + ", ".join(f"{k}={v}" for k, v in p.items())
        + f". {sum(g.num_events for g in genealogies)} jumps in all."
    )
    done = [x for x in tmrca if x is not None]
    rows: list[list] = [["coalesced trajectories", f"{len(done)} / {trajectories}"]]
    if done:
        rows.append(["mean TMRCA (coalesced)", float(np.mean(done))])
    done_pair = [x for x in pair if x is not None]
    if done_pair:
        rows.append(["mean pairwise coalescence (slots 0, 1)", float(np.mean(done_pair))])
    theory: Callable | None = None
    if model == "moran":
        from models import moran

        rows.append(["theory: E[TMRCA] = (n-1)^2 / (rate n)", moran.tmrca_mean(p["n"], p["rate"])])
        rows.append(
            [
                "theory: E[pairwise] = (n-1) / (2 rate)",
                1 / moran.pair_coalescence_rate(p["n"], p["rate"]),
            ]
        )

        theory = functools.partial(moran.expected_lineages, n=p["n"], rate=p["rate"])
    report.table(["quantity", "value"], rows)
    fig = gen.lineages_through_time_figure(genealogies, theory=theory)
    report.figure(
        fig,
        "Left: ancestral lineages of the final population back in time. "
        "Right: founders with living descendants.",
    )
    save_figure(fig, out / "lineages.png")
    if p["n"] <= TREE_MAX_N:
        # from a little before the first trajectory's most recent common ancestor
        back = tmrca[0] if tmrca[0] is not None else p["t1"]
        fig = gen.tree_figure(first, t_from=max(0.0, p["t1"] - 1.25 * back), max_individuals=10**6)
        report.figure(fig, "The first trajectory's genealogy in slot-time coordinates.")
        save_figure(fig, out / "tree.png")
    if model == "gaussian_mixture":
        fig, text = gen.founder_survival_figure(first, np.asarray(state0.theta))
        report.heading("Which founders' lineages survive")
        report.figure(fig, "Founders at their initial (y, c), sized by living descendants.")
        report.paragraph(text)
        save_figure(fig, out / "founders.png")
    report.save(out / "report.html")
    click.echo(
        f"coalesced {len(done)}/{trajectories}"
        + (f", mean TMRCA {np.mean(done):.4g}" if done else "")
        + f"; done in {time.perf_counter() - start:.1f} s"
    )
