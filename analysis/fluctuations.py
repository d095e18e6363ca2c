"""Fluctuations of the particle system around its mean-field limit.

Propagation of chaos (REFERENCE.md section 5) says more than mu_n(t) -> mu_t: for a
smooth test function g, sqrt(n) (<g, mu_n(t)> - <g, mu_t>) converges in law to a centred
Gaussian whose variance sigma_g^2(t) does not depend on n (a central limit theorem for
the empirical measure), while the bias of the mean is O(1/n). This module turns the
per-replica errors of :mod:`analysis.chaos` into the three checks of that statement:

* :func:`gaussianity`: Anderson-Darling tests of the sqrt(n)-scaled deviations at each n
  (Stephens' p-values for a normal law with estimated mean and variance) and the points
  of their QQ plots;
* :func:`variance_scaling`: the slope of log Var(err) against log n, which the CLT puts
  at -1, fitted by weighted least squares with the chi-square standard error of each
  log-variance;
* :func:`check_anchors`: the exact t = 0 laws, a built-in self-check of the whole
  pipeline (initial draws, energy, bookkeeping): n i.i.d. draws from mu_0 give
  E[E(mu_n)] = E(mu_0) + b/n exactly and n Var E(mu_n) -> sigma^2 = Var_{mu_0} V.

All functions take plain arrays of shape (n, replica) at one save time, or an
:class:`xarray.Dataset` from :func:`analysis.chaos.run_model` via :func:`at_time`.
"""

import numpy as np
import scipy.stats as st
import xarray as xr

from .chaos import MIN_REPLICAS, time_index

ANCHOR_Z = 3.0
"""|Z| bound of the t = 0 checks (DSMTS's bound for means)."""


def at_time(particles: xr.Dataset, quantity: str, t: float) -> tuple[np.ndarray, np.ndarray]:
    """(ns, err): the errors of ``quantity`` at save time t, shape (n, replica)."""
    i = time_index(particles["time"].values, t)
    return np.asarray(particles["n"].values), np.asarray(particles[quantity].values[:, :, i])


def _check(ns, err) -> tuple[np.ndarray, np.ndarray]:
    ns = np.asarray(ns, dtype=float)
    err = np.asarray(err, dtype=float)
    if err.ndim != 2 or err.shape[0] != ns.shape[0]:
        raise ValueError(
            f"err must have shape (len(ns), replicas) = ({ns.shape[0]}, R), got {err.shape}"
        )
    if err.shape[1] < MIN_REPLICAS:
        raise ValueError(
            f"need at least {MIN_REPLICAS} replicas per n for variances and normality tests, "
            f"got {err.shape[1]}; raise --replicas"
        )
    if not np.all(np.isfinite(err)):
        raise ValueError("err has NaN or inf entries; the simulation or the PDE failed")
    return ns, err


def scaled_deviations(ns, err) -> np.ndarray:
    """sqrt(n) (err - mean over replicas): the fluctuations the CLT makes n-independent."""
    ns, err = _check(ns, err)
    return np.sqrt(ns)[:, None] * (err - err.mean(axis=1, keepdims=True))


def gaussianity(ns, err) -> dict[str, np.ndarray]:
    """Anderson-Darling normality of the sqrt(n)-scaled deviations at each n.

    Returns:
        ``{"n", "statistic", "pvalue", "sd"}`` per n (``sd``: the standard deviation of
        the scaled deviations, which the CLT makes flat in n), and the QQ-plot points
        ``"qq_theoretical"`` (normal quantiles, shape (R,)) and ``"qq_sample"`` (sorted
        standardised deviations, shape (n, R)).
    """
    ns, err = _check(ns, err)
    dev = scaled_deviations(ns, err)
    stats, pvalues = [], []
    for row in dev:
        res = st.anderson(row, dist="norm", method="interpolate")
        stats.append(res.statistic)
        pvalues.append(res.pvalue)
    sd = dev.std(axis=1, ddof=1)
    R = err.shape[1]
    return {
        "n": ns,
        "statistic": np.asarray(stats),
        "pvalue": np.asarray(pvalues),
        "sd": sd,
        "qq_theoretical": st.norm.ppf((np.arange(1, R + 1) - 0.5) / R),
        "qq_sample": np.sort(dev / sd[:, None], axis=1),
    }


def variance_scaling(ns, err) -> dict[str, float | np.ndarray]:
    """Slope of log Var(err) against log n (the CLT predicts -1) with a 95% interval.

    Var is the variance over replicas (about their mean: the O(1/n) bias is not
    fluctuation). For Gaussian errors the sampling variance of log S^2 is 2 / (R - 1), so
    the slope is a weighted least-squares fit with known noise, and its standard error is
    exact up to that Gaussian approximation.

    Returns:
        ``{"slope", "lo95", "hi95", "intercept", "n", "variance", "n_variance"}``.
    """
    ns, err = _check(ns, err)
    if ns.shape[0] < 3:
        raise ValueError(f"need at least 3 sizes n for a slope, got {ns.shape[0]}")
    var = err.var(axis=1, ddof=1)
    if np.any(var <= 0):
        raise ValueError("an n has zero variance over replicas: nothing fluctuates")
    x, y = np.log(ns), np.log(var)
    xc = x - x.mean()
    slope = float(np.sum(xc * y) / np.sum(xc**2))
    se = float(np.sqrt(2.0 / (err.shape[1] - 1) / np.sum(xc**2)))
    return {
        "slope": slope,
        "lo95": slope - 1.96 * se,
        "hi95": slope + 1.96 * se,
        "intercept": float(y.mean() - slope * x.mean()),
        "n": ns,
        "variance": var,
        "n_variance": ns * var,
    }


def check_anchors(ns, energy0, anchors) -> dict[str, list | bool | float]:
    """The exact t = 0 laws of E(mu_n) for i.i.d. initial draws (REFERENCE.md section 5).

    From the R replicas' energies E(mu_n) at t = 0 at each n:

    * bias, exact at every n: Z = (mean(n (E_n - E_0)) - b) / SE with SE the Monte-Carlo
      standard error of that mean; passes when |Z| < :data:`ANCHOR_Z` at every n;
    * variance, exact only as n -> infinity: n Var E(mu_n) = sigma^2 + c/n + O(1/n^2)
      (E is a V-statistic of order 2), so v_n = n S_n^2 (S_n^2 about the exact mean
      E_0 + b/n) is regressed on 1/n by weighted least squares (Var v_n ~ 2 v_n^2 / R, the
      chi-square approximation) and the intercept is compared with sigma^2:
      Z = (intercept - sigma^2) / SE, passes when |Z| < :data:`ANCHOR_Z`. With one n only,
      v_n itself is compared (no 1/n correction).

    Args:
        ns: sizes, shape (N,).
        energy0: E(mu_n) at t = 0, shape (N, R).
        anchors: ``{"energy": E_0, "bias": b, "variance": sigma^2}`` from the model
            (e.g. :func:`models.gaussian_mixture.initial_anchors`).

    Returns:
        ``{"n", "bias", "bias_scaled_mean", "bias_z", "variance", "n_variance",
        "variance_limit", "variance_limit_se", "variance_z", "ok"}``.
    """
    ns, e = _check(ns, energy0)
    R = e.shape[1]
    scaled = ns[:, None] * (e - anchors["energy"])
    mean = scaled.mean(axis=1)
    z = (mean - anchors["bias"]) / (scaled.std(axis=1, ddof=1) / np.sqrt(R))
    exact_mean = anchors["energy"] + anchors["bias"] / ns
    v = ns * np.mean((e - exact_mean[:, None]) ** 2, axis=1)
    weights = R / (2.0 * v**2)
    if ns.shape[0] == 1:
        limit, se = float(v[0]), float(np.sqrt(1.0 / weights[0]))
    else:
        design = np.stack([np.ones_like(ns), 1.0 / ns], axis=1)
        cov = np.linalg.inv(design.T @ (weights[:, None] * design))
        limit = float((cov @ design.T @ (weights * v))[0])
        se = float(np.sqrt(cov[0, 0]))
    z_var = (limit - anchors["variance"]) / se
    return {
        "n": ns.astype(int).tolist(),
        "bias": float(anchors["bias"]),
        "bias_scaled_mean": mean.tolist(),
        "bias_z": z.tolist(),
        "variance": float(anchors["variance"]),
        "n_variance": v.tolist(),
        "variance_limit": limit,
        "variance_limit_se": se,
        "variance_z": float(z_var),
        "ok": bool(np.all(np.abs(z) < ANCHOR_Z) and abs(z_var) < ANCHOR_Z),
    }
