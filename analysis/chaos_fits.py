"""The statistics of a propagation-of-chaos study: slopes, speed-up, alpha, anchors.

Given the output of :func:`analysis.chaos.run`, :func:`analyse` produces everything the
``bdprocess chaos`` report and summary show:

* ``fits``: for every model, method and error quantity, the exponent b of |err| ~ C n^b
  at each fit time, from one robust Bayesian regression per quantity
  (:func:`analysis.bayes.fit_power_law` with one slope per time). Propagation of chaos
  predicts b = -1/2 for test-function errors, W1 in 1-D and the energy distance.
* ``acceptance``: the issue's criterion, per test function, fit time and model: the 95%
  interval of b contains -1/2 and excludes -1 and 0.
* ``variance_scaling`` and ``gaussianity``: the CLT checks of :mod:`analysis.fluctuations`
  (slope of log Var against log n, Anderson-Darling p-values of sqrt(n)-scaled errors).
* ``anchors``: the exact t = 0 laws of the energy (:func:`analysis.fluctuations.check_anchors`).
* ``speedup``: the average exponential decay rates of the loss under GD and BD on the
  Gaussian mixture, with a posterior for their ratio (:func:`analysis.bayes.fit_decay_rates`)
  and the PDE's rates for reference.
* ``alpha_recovery``: the jump-rate constant recovered from an event log and the recorded
  potentials of a fresh exact simulation (:func:`recover_alpha`).
"""

import warnings

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bdprocess as bd
from models import linear

from . import bayes, fluctuations
from .chaos import LINEAR_SETUP, MODELS, quantities, time_index

DECAY_WINDOW = (0.0, 5.0)
"""Times of the loss-decay fit of :func:`speedup`."""


def slope_key(model: str, method: str, quantity: str, t: float) -> str:
    """The summary key ``"<model>/<method>/<quantity>/t=<t>"``."""
    return f"{model}/{method}/{quantity}/t={t:g}"


def fit_slopes(results: dict, fit_times, *, key, progress=None) -> tuple[dict, dict]:
    """One power-law fit per (model, method, quantity), one slope per fit time.

    Returns:
        (summary rows keyed by :func:`slope_key`, the :class:`analysis.bayes.Fit` objects
        keyed by ``"<model>/<method>/<quantity>"``).
    """
    rows, fits = {}, {}
    for model, per_method in results.items():
        for method, parts in per_method.items():
            particles = parts["particles"]
            ts = particles["time"].values
            idx = [time_index(ts, t) for t in fit_times]
            for quantity in quantities(particles):
                name = f"{model}/{method}/{quantity}"
                key, k = jr.split(key)
                err = particles[quantity].values[:, :, idx]
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", bayes.DiagnosticsWarning)
                    fit = bayes.fit_power_law(
                        particles["n"].values, err, times=np.asarray(fit_times), key=k
                    )
                for w in caught:  # re-issue, naming the quantity
                    warnings.warn(f"{name}: {w.message}", bayes.DiagnosticsWarning, 2)
                fits[name] = fit
                for t in fit_times:
                    s = fit.summary[f"slope[t={t:g}]"]
                    rows[slope_key(model, method, quantity, t)] = {
                        "slope_mean": s["mean"],
                        "slope_lo95": s["lo95"],
                        "slope_hi95": s["hi95"],
                        "rhat": fit.rhat,
                        "ess_bulk": fit.ess_bulk,
                        "divergences": fit.divergences,
                        "diagnostics_ok": fit.ok,
                    }
                if progress is not None:
                    progress(name)
    return rows, fits


def acceptance(rows: dict, fit_times) -> dict[str, dict]:
    """The criterion for test-function errors: -1/2 inside the 95% interval, -1 and 0 out.

    Returns:
        key -> ``{"ok", "contains_half", "excludes_zero", "excludes_one", "diagnostics_ok"}``
        for every test-function row at a fit time.
    """
    out = {}
    for k, row in rows.items():
        if "/test_function_" not in k:
            continue
        lo, hi = row["slope_lo95"], row["slope_hi95"]
        checks = {
            "contains_half": lo <= -0.5 <= hi,
            "excludes_zero": hi < 0.0,
            "excludes_one": lo > -1.0,
            "diagnostics_ok": bool(row["diagnostics_ok"]),
        }
        out[k] = {"ok": all(checks.values()), **checks}
    return out


def clt_checks(results: dict, fit_times) -> tuple[dict, dict]:
    """Variance scaling and Gaussianity of every quantity at every fit time."""
    variance, normality = {}, {}
    for model, per_method in results.items():
        for method, parts in per_method.items():
            particles = parts["particles"]
            for quantity in quantities(particles):
                for t in fit_times:
                    ns, err = fluctuations.at_time(particles, quantity, t)
                    k = slope_key(model, method, quantity, t)
                    v = fluctuations.variance_scaling(ns, err)
                    variance[k] = {x: v[x] for x in ("slope", "lo95", "hi95")} | {
                        "n_variance": v["n_variance"].tolist()
                    }
                    g = fluctuations.gaussianity(ns, err)
                    normality[k] = {
                        "anderson_darling": g["statistic"].tolist(),
                        "pvalue": g["pvalue"].tolist(),
                    }
    return variance, normality


def anchors(results: dict, models: dict) -> dict:
    """The t = 0 anchors per model (GD and BD share their initial draws: GD's are used)."""
    out = {}
    for model, per_method in results.items():
        particles = next(iter(per_method.values()))["particles"]
        energy0 = particles["energy"].values[:, :, time_index(particles["time"].values, 0.0)]
        out[model] = fluctuations.check_anchors(
            particles["n"].values, energy0, models[model]().anchors
        )
    return out


def speedup(results: dict, *, key) -> tuple[dict, bayes.Fit] | tuple[None, None]:
    """GD against BD on the Gaussian mixture: average loss-decay rates at the largest n.

    The rates are those of log E(t) = a - k t over :data:`DECAY_WINDOW` (an average
    exponential rate: the decay is not exactly exponential), per method, with a posterior
    for k_bd / k_gd (:func:`analysis.bayes.fit_decay_rates`). The mean-field reference is
    the least-squares rate of the PDE's log energy over the same times. (The linear model's
    exact rates 2 and 2 (1 + alpha S0) would be a sharper check, but its GD particle losses
    are exactly exponential, with no noise for a regression to describe.)
    """
    if "gaussian_mixture" not in results:
        return None, None
    per_method = results["gaussian_mixture"]
    gd, bd_ = per_method["gd"]["particles"], per_method["bd"]["particles"]
    t = gd["time"].values
    fit = bayes.fit_decay_rates(
        t, gd["energy"].values[-1], bd_["energy"].values[-1], window=DECAY_WINDOW, key=key
    )
    keep = (t >= DECAY_WINDOW[0]) & (t <= DECAY_WINDOW[1])
    pde_rates = {
        m: float(-np.polyfit(t[keep], np.log(per_method[m]["pde"]["energy"].values[keep]), 1)[0])
        for m in ("gd", "bd")
    }
    row = {
        "model": "gaussian_mixture",
        "n": int(gd["n"].values[-1]),
        "window": list(DECAY_WINDOW),
        "pde_rates": pde_rates,
        "pde_speedup": pde_rates["bd"] / pde_rates["gd"],
        **fit.summary,
        **fit.diagnostics,
    }
    return row, fit


def recover_alpha(
    *, alpha: float = 1.0, n: int = 256, replicas: int = 8, t1: float = 2.0, key
) -> tuple[dict, bayes.Fit]:
    """Recover alpha from the event log of an exact simulation: a self-check of the engine.

    Runs centred clone birth-death on the linear model with :class:`bdprocess.Extrande`,
    records sum_i |V_i - Vbar| (the total jump rate over alpha) every 0.01 time units,
    counts the logged jumps per interval (:func:`analysis.bayes.event_counts`), integrates
    the recorded intensity (:func:`analysis.bayes.exposure`) and fits K_k ~ Poisson(alpha
    L_k) (:func:`analysis.bayes.fit_jump_rate`). The interval should cover the declared
    alpha; the trapezoid rule's error is far below the Poisson noise at this save step.
    """
    potential = linear.Linear(LINEAR_SETUP["beta"])
    process = bd.BirthDeath(potential, alpha)
    k_init, k_run, k_fit = jr.split(key, 3)
    theta0 = jax.vmap(
        lambda k: linear.initial_positions(k, n, m0=LINEAR_SETUP["m0"], cov0=LINEAR_SETUP["cov0"])
    )(jr.split(k_init, replicas))
    ts = np.round(np.arange(0.0, t1 + 1e-9, 0.01), 10)

    def intensity(t, state, args):
        V = potential.potentials(state.theta)
        return jnp.sum(jnp.abs(V - jnp.mean(V)))

    sol = bd.ensemble(
        process,
        jax.vmap(bd.Population.from_positions)(theta0),
        batched_state=True,
        keys=jr.split(k_run, replicas),
        t1=t1,
        solver=bd.Extrande(horizon=0.05, drift_dt=0.01),
        saveat=ts,
        observables={"intensity": intensity},
        max_events=64 * n,
    )
    status = np.asarray(sol.status._value)
    if np.any(status != bd.Status.successful._value):
        first = int(np.argmax(status != bd.Status.successful._value))
        raise RuntimeError(
            f"alpha recovery: replica {first} failed: {bd.Status[sol.status[first]]}"
        )
    counts = bayes.event_counts(np.asarray(sol.event_log.time), ts)
    exposure = bayes.exposure(ts, np.asarray(sol.observables["intensity"]))
    fit = bayes.fit_jump_rate(counts, exposure, key=k_fit)
    s = fit.summary["alpha"]
    row = {
        "true": float(alpha),
        "mean": s["mean"],
        "lo95": s["lo95"],
        "hi95": s["hi95"],
        "events": int(counts.sum()),
        "covered": bool(s["lo95"] <= alpha <= s["hi95"]),
        "setting": {
            "model": "linear",
            "n": n,
            "replicas": replicas,
            "t1": t1,
            "solver": "Extrande",
        },
        **fit.diagnostics,
    }
    return row, fit


def analyse(results: dict, fit_times, *, seed: int = 0, alpha_replicas: int = 8, progress=None):
    """Every statistic of the study (see the module docstring).

    Returns:
        (summary dict with keys ``fits``, ``acceptance``, ``variance_scaling``,
        ``gaussianity``, ``anchors``, ``speedup``, ``alpha_recovery``; and the posterior
        :class:`analysis.bayes.Fit` objects by name).
    """
    k_slopes, k_speed, k_alpha = jr.split(jr.fold_in(jr.key(seed), 0xC4A05), 3)
    rows, fits = fit_slopes(results, fit_times, key=k_slopes, progress=progress)
    variance, normality = clt_checks(results, fit_times)
    speed, speed_fit = speedup(results, key=k_speed)
    if speed_fit is not None:
        fits["speedup"] = speed_fit
    alpha_row, alpha_fit = recover_alpha(replicas=alpha_replicas, key=k_alpha)
    fits["alpha_recovery"] = alpha_fit
    summary = {
        "fits": rows,
        "acceptance": acceptance(rows, fit_times),
        "variance_scaling": variance,
        "gaussianity": normality,
        "anchors": anchors(results, MODELS),
        "speedup": speed,
        "alpha_recovery": alpha_row,
    }
    return summary, fits
