"""``bdprocess chaos``: propagation of chaos against the PDE, with fluctuations and fits."""

import dataclasses
import datetime
import time
from pathlib import Path

import click

from ._output import prepare_out_dir, write_json


def _sizes(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise ValueError(
            f"--ns must be comma-separated integers like 64,128,256, got {text!r}"
        ) from None


@click.command()
@click.option("--quick", is_flag=True, help="n = 32..512, 32 replicas: about 5 minutes on 2 cores.")
@click.option(
    "--out",
    type=click.Path(file_okay=True, dir_okay=True, path_type=Path),
    default=None,
    help="Result folder (default: results/chaos-<date-time>). An existing non-empty "
    "folder is only replaced with --force.",
)
@click.option("--force", is_flag=True, help="Replace the --out folder if it is not empty.")
@click.option(
    "--ns",
    default=None,
    help="Population sizes, comma-separated, at least 3 spanning a factor 4 "
    "(default 64,128,...,4096; --quick 32,...,512).",
)
@click.option("--replicas", type=int, default=None, help="Replicas per n (default 32; at least 8).")
@click.option(
    "--models",
    "model_names",
    multiple=True,
    type=click.Choice(["gaussian_mixture", "linear"]),
    help="Which models (repeat the option; default both).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Master PRNG seed.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bars.")
def chaos(quick, out, force, ns, replicas, model_names, seed, progress):
    """Check propagation of chaos: particle ensembles at several n against the PDE.

    For the paper's Gaussian mixture (alpha = 5) and the linear model (alpha = 1), under
    gradient descent and birth-death, simulates R replicas at each n from the PDE's
    initial law and measures, at 21 times in [0, 5], the loss gap, test-function errors,
    the 1-D Wasserstein distance and (2-D) the energy distance against the PDE. Then fits
    error ~ C n^b with numpyro (propagation of chaos predicts b = -1/2), checks the
    sqrt(n)-scaled fluctuations for Gaussianity and n^-1 variance, checks the exact t = 0
    laws, fits the loss decay of GD against BD, and recovers alpha from an event log.

    Writes report.html, summary.json, data.nc (dims n, replica, time per model and
    method) and posteriors/*.nc (arviz DataTrees). The full study takes about 15 minutes
    on a 2-core CPU; --quick about 5.
    """
    from . import chaos as study
    from .chaos_fits import analyse
    from .chaos_report import write_report

    start = time.perf_counter()
    settings = study.QUICK if quick else study.Settings()
    changes = {"seed": seed}
    if ns is not None:
        changes["ns"] = _sizes(ns)
    if replicas is not None:
        changes["replicas"] = replicas
    if model_names:
        changes["models"] = tuple(dict.fromkeys(model_names))
    settings = dataclasses.replace(settings, **changes)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = prepare_out_dir(out or Path("results") / f"chaos-{stamp}", force)
    click.echo(f"writing {out}/")

    results = study.run(settings, progress=progress)
    clock = time.perf_counter()
    summary, fits = analyse(
        results,
        settings.fit_times,
        seed=seed,
        alpha_replicas=8 if quick else 32,
        progress=(lambda name: click.echo(f"  fitted {name}")) if progress else None,
    )
    seconds = _timings(results)
    seconds["fitting"] = time.perf_counter() - clock
    summary = {
        "experiment": "chaos",
        "settings": dataclasses.asdict(settings),
        **summary,
        "seconds": seconds,
    }
    study.to_datatree(results).to_netcdf(out / "data.nc", engine="h5netcdf")
    (out / "posteriors").mkdir()
    for name, fit in fits.items():
        fit.to_netcdf(out / "posteriors" / f"{name.replace('/', '__')}.nc")
    seconds["total"] = time.perf_counter() - start
    write_json(out / "summary.json", summary)
    write_report(out, results, summary, fits, settings)
    for line in headlines(summary):
        click.echo(line)
    click.echo(f"done in {time.perf_counter() - start:.1f} s; open {out / 'report.html'}")


def _timings(results: dict) -> dict[str, float]:
    seconds = {"pde": 0.0, "simulation": 0.0, "errors": 0.0}
    for per_method in results.values():
        for parts in per_method.values():
            for k in seconds:
                seconds[k] += float(parts["particles"].attrs[f"seconds_{k}"])
    return seconds


def headlines(summary: dict) -> list[str]:
    """One line per headline check of a chaos summary."""
    acc = summary["acceptance"]
    passed = sum(a["ok"] for a in acc.values())
    lines = [f"test-function slopes: {passed}/{len(acc)} intervals contain -1/2 and exclude -1, 0"]
    for model, a in summary["anchors"].items():
        lines.append(f"t = 0 anchors ({model}): {'hold' if a['ok'] else 'FAIL'}")
    if summary["speedup"] is not None:
        s = summary["speedup"]["speedup"]
        lines.append(
            f"BD/GD loss-decay speed-up (gaussian_mixture): {s['mean']:.3g} "
            f"[{s['lo95']:.3g}, {s['hi95']:.3g}], PDE {summary['speedup']['pde_speedup']:.3g}"
        )
    r = summary["alpha_recovery"]
    lines.append(
        f"alpha recovered from the event log: {r['mean']:.3g} [{r['lo95']:.3g}, {r['hi95']:.3g}]"
        f" (true {r['true']:g}, {r['events']} events)"
    )
    s = summary["seconds"]
    lines.append(
        "time: "
        + ", ".join(f"{k} {s[k]:.0f} s" for k in ("pde", "simulation", "errors", "fitting"))
    )
    return lines
