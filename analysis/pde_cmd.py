"""``bdprocess pde``: solve the mean-field PDE of a model on a grid and write a result folder."""

import dataclasses
import datetime
import time
from pathlib import Path

import click
import numpy as np

from ._output import prepare_out_dir, write_json

MODELS = ("gaussian-mixture", "linear", "fixed-potential")
DEFAULT_GRID = {"gaussian-mixture": "128x128", "linear": "800", "fixed-potential": "600"}


def parse_grid(text: str, ndim: int) -> tuple[int, ...]:
    """'128x128' -> (128, 128); '800' -> (800,). Raises ValueError naming the text."""
    try:
        cells = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(
            f"--grid must look like 128x128 (2-D) or 800 (1-D), got {text!r}"
        ) from None
    if len(cells) != ndim:
        raise ValueError(f"--grid {text!r} has {len(cells)} axes; this model needs {ndim}")
    if min(cells) < 4:
        raise ValueError(f"--grid needs at least 4 cells per axis, got {text!r}")
    return cells


def build(model_name: str, grid_text: str | None, init: str):
    """(model, grid, rho0, axis names, exact-energy function or None) for a model name.

    The exact energy holds for clone rebirth without a quench only (the caller checks).
    """
    import bdprocess.meanfield as mf

    if model_name == "gaussian-mixture":
        from models import gaussian_mixture_grid as gmg

        grid = gmg.default_grid(parse_grid(grid_text or DEFAULT_GRID[model_name], 2))
        return gmg.GaussianMixtureGrid(), grid, gmg.initial_density(grid, init), ("y", "c"), None
    if init != "uniform":
        raise ValueError(f"--init {init!r} applies to the gaussian-mixture model only")
    if model_name == "linear":
        from models import linear

        grid = mf.Grid([-7.0], [9.0], parse_grid(grid_text or DEFAULT_GRID[model_name], 1))
        model = linear.LinearGrid(2.0)
        rho0 = model.initial_density(grid, m0=0.0, cov0=1.0)

        def exact(t, alpha, transport):
            if not transport:
                return None
            return linear.energy_path(t, m0=0.0, beta=2.0, cov0=1.0, alpha=alpha)

        return model, grid, rho0, ("theta",), exact
    from models import fixed_potential_grid as fpg

    grid = mf.Grid([-6.0], [6.0], parse_grid(grid_text or DEFAULT_GRID[model_name], 1))
    model = fpg.QuadraticGrid(1.0)
    model.check_grid(grid)  # before the result folder is created
    rho0 = grid.product_density([mf.normal_cdf(0.0, 1.0)])

    def exact(t, alpha, transport):
        from models import fixed_potential

        return fixed_potential.exact_energy(t, alpha=alpha, transport=transport)

    return model, grid, rho0, ("theta",), exact


@click.command()
@click.option(
    "--model",
    "model_name",
    type=click.Choice(MODELS),
    default="gaussian-mixture",
    show_default=True,
    help="Which model's mean-field PDE to solve.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(min=0.0),
    default=5.0,
    show_default=True,
    help="Birth-death rate alpha (0: pure gradient flow).",
)
@click.option(
    "--t1",
    type=click.FloatRange(min=0.0, min_open=True),
    default=10.0,
    show_default=True,
    help="Final time.",
)
@click.option(
    "--grid",
    "grid_text",
    default=None,
    help="Cells per axis: 128x128 for the Gaussian mixture (y x c), 800 for the "
    "1-D models. Default: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_GRID.items()),
)
@click.option(
    "--dt",
    type=click.FloatRange(min=0.0, min_open=True),
    default=0.05,
    show_default=True,
    help="Largest Strang step (the CFL bound may shorten it).",
)
@click.option(
    "--cfl",
    type=float,
    default=0.4,
    show_default=True,
    help="CFL number of each transport step, in (0, 0.5].",
)
@click.option(
    "--saves",
    type=click.IntRange(min=2),
    default=51,
    show_default=True,
    help="Number of evenly spaced save times from 0 to t1.",
)
@click.option(
    "--init",
    type=click.Choice(["uniform", "bad"]),
    default="uniform",
    show_default=True,
    help="Gaussian mixture: the paper's initial law.",
)
@click.option(
    "--rebirth",
    type=click.Choice(["clone", "prior"]),
    default="clone",
    show_default=True,
    help="Refill deaths by cloning or from the prior.",
)
@click.option("--no-transport", is_flag=True, help="Drop the transport term (pure birth-death).")
@click.option(
    "--quench-at",
    type=float,
    default=None,
    help="Switch birth-death off from this time on (the paper's final quench).",
)
@click.option("--x64", is_flag=True, help="Compute in float64 (slower, more accurate).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Result folder (default: results/pde-<model>-<date-time>).",
)
@click.option("--force", is_flag=True, help="Replace the --out folder if it is not empty.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar.")
def pde(
    model_name,
    alpha,
    t1,
    grid_text,
    dt,
    cfl,
    saves,
    init,
    rebirth,
    no_transport,
    quench_at,
    x64,
    out,
    force,
    progress,
):
    """Solve the mean-field PDE d_t rho = div(rho grad V) - alpha (V - Vbar) rho.

    Finite volumes (Carrillo-Chertock-Huang upwind flux, SSP-RK3) Strang-split with an
    exact reaction step (Rotskoff et al., ICML 2019). Writes summary.json
    {"model", "alpha", "t", "energy", "mass", "run"}, data.nc (densities and diagnostics
    per save time), density.png and energy.png.
    """
    import jax

    if not 0.0 < cfl <= 0.5:
        raise ValueError(f"--cfl must be in (0, 0.5] (the positivity bound), got {cfl}")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    with jax.enable_x64(x64):
        model, grid, rho0, names, exact = build(model_name, grid_text, init)
        out = prepare_out_dir(out or Path("results") / f"pde-{model_name}-{stamp}", force)
        click.echo(f"writing {out}/")
        start = time.perf_counter()
        sol = _solve(
            model,
            grid,
            rho0,
            alpha=alpha,
            t1=t1,
            dt=dt,
            cfl=cfl,
            saves=saves,
            rebirth=rebirth,
            transport=not no_transport,
            quench_at=quench_at,
            progress=progress,
        )
        runtime = time.perf_counter() - start
        sol = jax.tree.map(np.asarray, sol)
    ts = np.linspace(0.0, t1, saves)  # the save times, free of float32 rounding
    sol = dataclasses.replace(sol, ts=ts)
    # The closed forms assume cloning throughout (no rebirth from the prior, no quench).
    exact_applies = rebirth == "clone" and (quench_at is None or quench_at >= t1)
    exact_energy = exact(ts, alpha, not no_transport) if exact and exact_applies else None
    summary = {
        "model": model_name,
        "alpha": alpha,
        "t": ts,
        "energy": sol.energy,
        "mass": sol.mass,
        "run": {
            "grid": list(grid.shape),
            "box": [list(grid.lower), list(grid.upper)],
            "dt": dt,
            "cfl": cfl,
            "init": init if model_name == "gaussian-mixture" else "normal",
            "rebirth": rebirth,
            "transport": not no_transport,
            "quench_at": quench_at,
            "dtype": "float64" if x64 else "float32",
            "status": sol.message,
            "num_steps": int(sol.num_steps),
            "max_cfl": float(sol.max_cfl),
            "outflow": float(sol.outflow[-1]),
            "min_density": float(np.min(sol.min_density)),
            "runtime_s": runtime,
            "exact_energy": exact_energy,
        },
    }
    write_json(out / "summary.json", summary)
    _write_netcdf(out / "data.nc", sol, grid, names, summary)
    _figures(out, sol, grid, names, model_name, exact_energy)
    click.echo(
        f"{model_name}: E(0) = {sol.energy[0]:.4g}, E({ts[-1]:g}) = {sol.energy[-1]:.4g}, "
        f"{int(sol.num_steps)} steps in {runtime:.1f} s; status: {sol.message}"
    )
    if sol.outflow[-1] > 1e-3:
        click.echo(
            f"warning: mass {sol.outflow[-1]:.3g} pressed against the box; widen it", err=True
        )


def _solve(
    model, grid, rho0, *, alpha, t1, dt, cfl, saves, rebirth, transport, quench_at, progress
):
    import math

    import bdprocess as bd
    import bdprocess.meanfield as mf

    kwargs = dict(
        grid=grid,
        t1=t1,
        dt=dt,
        alpha=alpha,
        cfl=cfl,
        rebirth=rebirth,
        transport=transport,
        saveat=np.linspace(0.0, t1, saves),
        throw=False,
        reaction_until=math.inf if quench_at is None else quench_at,
    )
    if not progress:
        return mf.solve(model, rho0, **kwargs)
    with bd.progress_bar(t1, desc="pde"):
        return mf.solve(model, rho0, progress=True, **kwargs)


def _write_netcdf(path, sol, grid, names, summary) -> None:
    import xarray as xr

    coords = {"t": sol.ts} | {name: np.asarray(grid.centres(k)) for k, name in enumerate(names)}
    per_time = (
        "energy",
        "mass",
        "vbar",
        "transport_dissipation",
        "reaction_dissipation",
        "outflow",
        "min_density",
    )
    data = {name: ("t", np.asarray(getattr(sol, name))) for name in per_time}
    data["density"] = (("t", *names), np.asarray(sol.density))
    attrs = {k: str(v) for k, v in summary["run"].items() if k != "exact_energy"}
    attrs |= {"model": summary["model"], "alpha": summary["alpha"]}
    xr.Dataset(data, coords=coords, attrs=attrs).to_netcdf(path, engine="h5netcdf")


def _figures(out, sol, grid, names, model_name, exact_energy) -> None:
    from ._report import plt, save_figure

    ts = np.asarray(sol.ts)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy(ts, np.maximum(sol.energy, 1e-300), label="PDE")
    if exact_energy is not None:
        ax.semilogy(ts, exact_energy, "k--", lw=1, label="exact")
    ax.set_xlabel("t")
    ax.set_ylabel("energy E[rho_t]")
    ax.set_title(f"{model_name}: energy")
    ax.legend()
    save_figure(fig, out / "energy.png")

    picks = np.unique(np.linspace(0, len(ts) - 1, 4).round().astype(int))
    if grid.ndim == 1:
        fig, ax = plt.subplots(figsize=(6, 4))
        x = np.asarray(grid.centres(0))
        for i in picks:
            ax.plot(x, sol.density[i], label=f"t = {ts[i]:.3g}")
        ax.set_xlabel(names[0])
        ax.set_ylabel("density")
        ax.legend()
    else:
        fig, axes = plt.subplots(1, len(picks), figsize=(3.2 * len(picks), 3.2), sharey=True)
        extent = (grid.lower[0], grid.upper[0], grid.lower[1], grid.upper[1])
        for ax, i in zip(np.atleast_1d(axes), picks, strict=True):
            ax.imshow(
                np.asarray(sol.density[i]).T,
                origin="lower",
                extent=extent,
                aspect="auto",
                cmap="magma",
            )
            ax.set_title(f"t = {ts[i]:.3g}")
            ax.set_xlabel(names[0])
        np.atleast_1d(axes)[0].set_ylabel(names[1])
    fig.suptitle(f"{model_name}: density snapshots", y=1.04)
    save_figure(fig, out / "density.png")
