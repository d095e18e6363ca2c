"""``bdprocess reproduce``: the paper's experiments as one command each."""

import dataclasses
import datetime
import time
from pathlib import Path

import click

from ._output import prepare_out_dir, write_json

EXPERIMENTS = ("gaussian-mixture", "teacher-student")


@click.command()
@click.option(
    "--experiment",
    type=click.Choice(EXPERIMENTS),
    default="gaussian-mixture",
    show_default=True,
    help="Which of the paper's experiments to reproduce.",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Independent runs per method, simulated as one vmapped ensemble.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=True, dir_okay=True, path_type=Path),
    default=None,
    help="Result folder (default: results/<experiment>-<date-time>). "
    "An existing non-empty folder is only replaced with --force.",
)
@click.option("--force", is_flag=True, help="Replace the --out folder if it is not empty.")
@click.option(
    "--quick",
    is_flag=True,
    help="A shorter run for a first look (gaussian-mixture: 2 seeds, T = 15 and 60).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Master PRNG seed.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bars.")
def reproduce(experiment, seeds, out, force, quick, seed, progress):
    """Reproduce one of the paper's experiments and write a result folder.

    The folder holds summary.json (headline numbers, fixed schema), data.nc (every
    trajectory, netCDF), PNG figures and a self-contained report.html.

    gaussian-mixture (default; about 2 minutes on a 2-core CPU): gradient descent,
    birth-death with cloning and birth-death with the prior, from the full-support and the
    "bad" initialisation, n = 200, dt = 0.01, alpha = 5 (Rotskoff et al., ICML 2019, 4.1).

    teacher-student: SGD with and without birth-death on a planted ReLU teacher in
    d = 50, with an alpha sweep (section 4.2).
    """
    start = time.perf_counter()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = prepare_out_dir(out or Path("results") / f"{experiment}-{stamp}", force)
    click.echo(f"writing {out}/")
    if experiment == "gaussian-mixture":
        summary = _gaussian_mixture(
            out, seeds=seeds, quick=quick, seed=seed, progress=progress, start=start
        )
    else:
        from .teacher_student import run_experiment

        summary = run_experiment(out, seeds=seeds, quick=quick, progress=progress, seed=seed)
    for line in _headlines(summary):
        click.echo(line)
    click.echo(f"done in {time.perf_counter() - start:.1f} s; open {out / 'report.html'}")


def _gaussian_mixture(out: Path, *, seeds, quick, seed, progress, start) -> dict:
    from . import gm_experiment, gm_report

    settings = gm_experiment.Settings(seeds=seeds, seed=seed)
    if quick:
        settings = dataclasses.replace(
            settings, seeds=min(seeds, 2), horizons=(("uniform", 15.0), ("bad", 60.0))
        )
    results = gm_experiment.run(settings, progress=progress)
    summary = gm_experiment.summarize(results, settings)
    write_json(out / "summary.json", summary)
    _write_netcdf(out / "data.nc", results)
    gm_report.write(out, results, summary, settings, time.perf_counter() - start)
    return summary


def _write_netcdf(path: Path, results) -> None:
    import xarray as xr

    tree = xr.DataTree.from_dict({f"/{init}": ds for init, ds in results.items()})
    tree.to_netcdf(path, engine="h5netcdf")


def _headlines(summary: dict) -> list[str]:
    lines = []
    for name, check in summary.get("outcome", {}).items():
        verdict = "reproduced" if check.get("holds") else "NOT reproduced"
        numbers = ", ".join(f"{k} {v:.3g}" for k, v in check.items() if isinstance(v, float))
        lines.append(f"{name}: {verdict} ({numbers})")
    return lines
