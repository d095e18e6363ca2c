"""Bayesian fits with numpyro and arviz: convergence exponents, decay rates and jump rates.

Three small models, each sampled with NUTS (:class:`numpyro.infer.NUTS`) and returned as a
:class:`Fit`, whose ``tree`` is an arviz :class:`xarray.DataTree` (groups ``posterior``,
``sample_stats``, ``observed_data`` where the model has an observed site, and
``constant_data``), with posterior summaries of the headline parameters and the sampler
diagnostics:

* :func:`fit_power_law`: log|err| = a + b log n with Student-t noise, optionally with one
  slope per save time, pooled or unpooled. Propagation of chaos predicts b = -1/2 for
  test-function errors and W1 in 1-D (REFERENCE.md section 5).
* :func:`fit_decay_rates`: the average exponential decay rate of the loss under gradient
  descent and birth-death (per-replica rates, pooled by a robust model), and a posterior
  for the speed-up k_bd / k_gd (1 + alpha S0 in the linear model of REFERENCE.md section 5).
* :func:`fit_jump_rate`: the jumps of the centred birth-death process form an inhomogeneous
  Poisson process of intensity alpha * sum_i |V_i - Vbar|, so event counts K_k in intervals
  of exposure L_k = int sum_i |V_i - Vbar| dt are Poisson(alpha L_k); the posterior for
  alpha checks that the simulator fires at the declared rate. :func:`event_counts` and
  :func:`exposure` turn an event log and recorded potentials into K_k and L_k.

Every fit goes through one gate: max R-hat <= 1.01, min bulk ESS >= 400 over every posterior
variable, and no divergent transition (Vehtari, Gelman, Simpson, Carpenter, Buerkner,
"Rank-normalization, folding, and localization: an improved R-hat", Bayesian Analysis 2021).
A fit that fails it still returns, with ``Fit.ok`` False, after a
:class:`DiagnosticsWarning` that names the failed checks and what to change.

Inputs are plain NumPy arrays (any array-like); every function validates them and raises a
``ValueError`` naming the problem rather than fitting data that cannot support a fit. The
models run in float32 (JAX's default): data are centred and scaled before sampling, and the
Poisson likelihood is written in terms of its sufficient statistics, so no sum of large
terms loses precision. Each fit takes a few seconds on a CPU, most of it compilation: the
data enter the compiled sampler as arguments (``jit_model_args``), so with JAX's persistent
compilation cache a refit of data of the same shape does not recompile.
"""

import contextlib
import dataclasses
import functools
import os
import warnings
from collections.abc import Callable, Mapping

import arviz as az
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import xarray as xr
from numpyro.infer import MCMC, NUTS

RHAT_MAX = 1.01
"""Largest R-hat (rank-normalised split R-hat, arviz's default) that passes the gate."""
ESS_MIN = 400
"""Smallest bulk effective sample size that passes the gate."""
NU_PRIOR = (2.0, 0.1)
"""Gamma(shape, rate) prior of the Student-t degrees of freedom (mean 20): the prior of
Juarez and Steel, "Model-based clustering of non-Gaussian panel data based on skew-t
distributions", J. Bus. Econ. Stat. 2010, also recommended by the Stan prior-choice notes."""
POWER_LAW_MIN_RANGE = 4.0
"""Smallest ratio max(n) / min(n) that :func:`fit_power_law` accepts."""


class DiagnosticsWarning(UserWarning):
    """A fit failed its diagnostics gate (R-hat, bulk ESS or divergences)."""


@dataclasses.dataclass(frozen=True)
class Fit:
    """A posterior sample and what to report about it.

    Attributes:
        model: which model was fitted (``"power_law"``, ``"decay_rates"``, ``"jump_rate"``).
        tree: the arviz DataTree: ``posterior`` (every sampled and derived variable, dims
            ``chain``, ``draw`` and the model's own), ``sample_stats`` (``diverging`` and the
            other NUTS statistics), ``observed_data`` (the data of observed sites, as
            transformed for the model, e.g. log|err|) and ``constant_data`` (the inputs).
        summary: headline parameter -> ``{"mean", "lo95", "hi95"}``: the posterior mean and
            the 2.5% and 97.5% quantiles (an equal-tailed 95% credible interval).
        rhat: max rank-normalised split R-hat over every posterior variable and element.
        ess_bulk: min bulk effective sample size over the same.
        divergences: number of divergent transitions after warmup, all chains together.
        ok: ``rhat <= RHAT_MAX``, ``ess_bulk >= ESS_MIN`` and no divergence (NaN diagnostics
            fail).
    """

    model: str
    tree: xr.DataTree
    summary: dict[str, dict[str, float]]
    rhat: float
    ess_bulk: float
    divergences: int
    ok: bool

    @property
    def diagnostics(self) -> dict[str, float | int | bool]:
        """``{"rhat", "ess_bulk", "divergences", "ok"}`` as plain Python numbers."""
        return {
            "rhat": self.rhat,
            "ess_bulk": self.ess_bulk,
            "divergences": self.divergences,
            "ok": self.ok,
        }

    def draws(self, name: str) -> np.ndarray:
        """The posterior draws of variable ``name``, chains stacked: shape (draws, ...)."""
        da = self.tree["posterior"][name]
        values = np.asarray(da.values)
        return values.reshape((-1,) + values.shape[2:])

    def to_netcdf(self, path: str | os.PathLike) -> None:
        """Write the DataTree (with the summary and diagnostics as root attributes) to a
        netCDF4 file with the h5netcdf engine; read it back with
        ``xarray.open_datatree(path, engine="h5netcdf")``."""
        self.tree.to_netcdf(path, engine="h5netcdf")


# ---- shared machinery ---------------------------------------------------------------------


def _sampler_args(num_warmup, num_samples, num_chains, target_accept_prob) -> None:
    for name, value, least in (
        ("num_warmup", num_warmup, 1),
        ("num_samples", num_samples, 4),
        ("num_chains", num_chains, 2),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
            raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
    if not 0 < target_accept_prob < 1:
        raise ValueError(f"target_accept_prob must lie in (0, 1), got {target_accept_prob}")


def _fit(
    name: str,
    model: Callable,
    data: Mapping[str, np.ndarray],
    headline: Mapping[str, tuple[str, tuple[int, ...]]],
    *,
    coords: Mapping[str, np.ndarray],
    dims: Mapping[str, list[str]],
    constant_data: Mapping[str, np.ndarray],
    key,
    num_warmup: int,
    num_samples: int,
    num_chains: int,
    target_accept_prob: float,
    progress_bar: bool,
) -> Fit:
    """Sample ``model(**data)`` with NUTS, convert, summarise and apply the gate.

    ``headline`` maps a summary label to (posterior variable, index into its own dims).
    """
    _sampler_args(num_warmup, num_samples, num_chains, target_accept_prob)
    mcmc = MCMC(
        NUTS(model, target_accept_prob=target_accept_prob),
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=num_chains,
        chain_method="sequential",
        progress_bar=progress_bar,
        jit_model_args=True,
    )
    # The data are arguments of the compiled sampler (jit_model_args), not constants in it:
    # data of the same shapes reuse one compilation (and JAX's persistent cache finds it).
    mcmc.run(key, **{k: jnp.asarray(v) for k, v in data.items()})
    tree = az.from_numpyro(
        mcmc, coords=dict(coords), dims=dict(dims), constant_data=dict(constant_data)
    )
    posterior = tree["posterior"].to_dataset()
    summary = {}
    for label, (var, index) in headline.items():
        values = np.asarray(posterior[var].values)
        summary[label] = _interval(values.reshape((-1,) + values.shape[2:])[(slice(None),) + index])
    # Stuck chains (zero within-chain variance) make arviz divide by zero: R-hat is then
    # inf or NaN, which the gate reports, rather than a RuntimeWarning that pre-empts it.
    with np.errstate(divide="ignore", invalid="ignore"):
        rhat = _extreme(az.rhat(posterior), np.max)
        ess = _extreme(az.ess(posterior, method="bulk"), np.min)
    divergences = int(np.asarray(tree["sample_stats"]["diverging"].values).sum())
    ok = bool(rhat <= RHAT_MAX and ess >= ESS_MIN and divergences == 0)
    tree.attrs.update(model=name, rhat=rhat, ess_bulk=ess, divergences=divergences, ok=int(ok))
    tree.attrs["summary"] = repr(summary)
    if not ok:
        # stacklevel 3: the user's call of fit_*.
        warnings.warn(_gate_message(name, rhat, ess, divergences), DiagnosticsWarning, 3)
    return Fit(name, tree, summary, rhat, ess, divergences, ok)


def _interval(values: np.ndarray) -> dict[str, float]:
    lo, hi = np.quantile(values, [0.025, 0.975])
    return {"mean": float(np.mean(values)), "lo95": float(lo), "hi95": float(hi)}


def _extreme(ds: xr.Dataset, reduce) -> float:
    """max / min over every variable and element; NaN if any is NaN (a NaN fails the gate)."""
    values = np.concatenate([np.asarray(ds[v].values, float).ravel() for v in ds.data_vars])
    return float(np.nan if np.any(np.isnan(values)) else reduce(values))


def _gate_message(name, rhat, ess, divergences) -> str:
    failed, advice = [], []
    if not rhat <= RHAT_MAX:
        failed.append(f"max R-hat {rhat:.4g} > {RHAT_MAX}")
        advice.append("more num_warmup and num_samples (the chains have not mixed)")
    if not ess >= ESS_MIN:
        failed.append(f"min bulk ESS {ess:.4g} < {ESS_MIN}")
        advice.append("more num_samples or num_chains")
    if divergences:
        failed.append(f"{divergences} divergent transitions")
        advice.append("a higher target_accept_prob (e.g. 0.95) and more num_warmup")
    return (
        f"{name} fit failed its diagnostics gate: {'; '.join(failed)}. Its posterior "
        f"summaries are not reliable; rerun with {'; '.join(advice)}."
    )


def _finite(name: str, x, ndim: tuple[int, ...] | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if ndim is not None and x.ndim not in ndim:
        allowed = " or ".join(map(str, ndim))
        raise ValueError(f"{name} must have {allowed} dimension(s), got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    bad = ~np.isfinite(x)
    if np.any(bad):
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} has {int(bad.sum())} non-finite entries (NaN or inf), the first at "
            f"index {first}; drop or repair them before fitting"
        )
    return x


def _plate(timed: bool, size: int):
    return numpyro.plate("time", size) if timed else contextlib.nullcontext()


# ---- (a) power laws -----------------------------------------------------------------------


def _power_law_model(x, time, y_shift, xbar, y=None, *, timed: bool, hierarchical: bool):
    """log|err| = y_shift[t] + a_c[t] + b[t] (log n - xbar) + sigma[t] StudentT(nu[t])."""
    T = y_shift.shape[0]
    take = (lambda v: v[time]) if timed else (lambda v: v)
    shift = y_shift if timed else y_shift[0]
    with _plate(timed, T):
        a_c = numpyro.sample("intercept_c", dist.Normal(0.0, 10.0))
        sigma = numpyro.sample("sigma", dist.HalfNormal(2.0))
        nu = numpyro.sample("nu", dist.Gamma(*NU_PRIOR))
    if hierarchical:
        b_mu = numpyro.sample("slope_mu", dist.Normal(0.0, 2.0))
        b_sd = numpyro.sample("slope_sd", dist.HalfNormal(0.5))
        with _plate(timed, T):
            z = numpyro.sample("slope_z", dist.Normal(0.0, 1.0))
        b = numpyro.deterministic("slope", b_mu + b_sd * z)
    else:
        with _plate(timed, T):
            b = numpyro.sample("slope", dist.Normal(0.0, 2.0))
    numpyro.deterministic("intercept", shift + a_c - b * xbar)
    loc = take(shift + a_c) + take(b) * x
    with numpyro.plate("obs", x.shape[0]):
        numpyro.sample("log_abs_err", dist.StudentT(take(nu), loc, take(sigma)), obs=y)


def fit_power_law(
    n,
    err,
    *,
    times=None,
    hierarchical: bool = False,
    key,
    num_warmup: int = 500,
    num_samples: int = 1000,
    num_chains: int = 4,
    target_accept_prob: float = 0.9,
    progress_bar: bool = False,
) -> Fit:
    """Posterior of the exponent b in |err| ~ C n^b: robust regression of log|err| on log n.

    Model, for every error err_i at n_i (and at save time t_i when ``times`` is given)::

        log|err_i| = a_t + b_t log n_i + sigma_t eps_i,   eps_i ~ StudentT(nu_t),
        b_t ~ Normal(0, 2),  sigma_t ~ HalfNormal(2),  nu_t ~ Gamma(2, 0.1),

    and a_t ~ Normal(m_t, 10) at the centre of the data (m_t the mean of log|err| at time t,
    log n at its mean), i.e. a weak prior on the intercept in the data's own units. The
    Gamma(2, 0.1) prior on the degrees of freedom is Juarez and Steel's (2010). With
    ``hierarchical=True`` the slopes are partially pooled across times,
    b_t = b_mu + b_sd z_t, z_t ~ Normal(0, 1), b_mu ~ Normal(0, 2), b_sd ~ HalfNormal(0.5)
    (non-centred); without, each time has its own independent regression (sampled
    jointly). Partial pooling needs several times to say anything about b_sd: with two or
    three times whose slopes are equal and each well determined, the sampler meets the
    b_sd -> 0 funnel and reports divergences (the gate then fails, measured 2-24
    divergences on synthetic data with 3 times). Prefer the independent fit there; the
    chaos study uses it.

    When to use: per-replica errors of a quantity that fluctuates like n^b, e.g. the
    propagation-of-chaos law b = -1/2 for test-function errors <g, mu_n> - <g, mu_t> and
    for W1 in 1-D (REFERENCE.md section 5). Errors at fixed n that are i.i.d. sigma_n Z give
    log|err| = log sigma_n + log|Z|, whose left tail is long (|Z| near 0); the Student-t
    likelihood (Lange, Little and Taylor, "Robust statistical modeling using the t
    distribution", JASA 1989) keeps those points from dragging the fit, and since the law
    of log|Z| is the same at every n, the intercept absorbs its location and the slope is
    that of sigma_n. Signed errors are fine (the absolute value is taken). Regress
    fluctuations, not a bias: a mean error of order 1/n is buried under n^{-1/2} noise.

    Args:
        n: particle numbers, shape (N,): the n of each leading row of ``err``. Repeats are
            allowed; rows with the same n are pooled as replicas.
        err: errors, shape (N, ...) without ``times`` and (N, ..., T) with: the first axis
            matches ``n``, the middle axes are replicas (an xarray array with dims
            (n, replica, time) passes as ``da.values``).
        times: save times, shape (T,), along the last axis of ``err``; None for one fit.
        hierarchical: pool the slopes across times (needs ``times``).
        key: a JAX PRNG key.
        num_warmup, num_samples, num_chains: NUTS settings (chains run sequentially).
        target_accept_prob: the NUTS step-size adaptation target.
        progress_bar: show numpyro's progress bar.

    Returns:
        A :class:`Fit` whose summary holds ``slope`` and ``intercept`` (without ``times``),
        or ``slope[t=<t>]`` and ``intercept[t=<t>]`` for every save time (``<t>`` formatted
        with ``g``) plus ``slope_mu`` when hierarchical. ``intercept`` is log C, at log n = 0.
        In the posterior, ``slope`` and ``intercept`` have dim ``time`` (coordinate: the
        times) when ``times`` is given; ``observed_data`` holds ``log_abs_err`` and
        ``constant_data`` the ``n`` and ``time`` of each observation.

    Raises:
        ValueError: mismatched shapes; NaN or inf in ``n``, ``err`` or ``times``; an exactly
            zero error (log|err| = -inf); non-positive n; fewer than 3 distinct n; fewer than
            2 errors at some n; max(n) / min(n) < 4, a range too small for a fit; repeated
            times; ``hierarchical`` without ``times``; bad sampler settings.
    """
    n = _finite("n", n, ndim=(1,))
    err = _finite("err", err)
    if err.ndim < 1 or err.shape[0] != n.shape[0]:
        raise ValueError(
            f"err must have a leading axis of len(n) = {n.shape[0]}, got shape {err.shape}"
        )
    if np.any(n <= 0):
        raise ValueError(f"n must be positive, got {n[n <= 0][:5]}")
    timed = times is not None
    if timed:
        times = _finite("times", times, ndim=(1,))
        if err.ndim < 2 or err.shape[-1] != times.shape[0]:
            raise ValueError(
                f"with {times.shape[0]} times err must have shape (len(n), ..., "
                f"{times.shape[0]}) with the times last, got {err.shape}"
            )
        if np.unique(times).shape[0] != times.shape[0]:
            raise ValueError(f"times must be distinct, got {times}")
    else:
        if hierarchical:
            raise ValueError("hierarchical=True pools slopes across times: pass times")
        err = err[..., None]
    zeros = err == 0
    if np.any(zeros):
        first = tuple(int(i) for i in np.argwhere(zeros)[0])
        raise ValueError(
            f"err has {int(zeros.sum())} exact zeros (the first at index {first}, "
            f"n = {n[first[0]]:g}) where log|err| = -inf. A zero usually means a discrete "
            "quantity or a replica compared with itself; drop those replicas explicitly or "
            "fit a continuous quantity"
        )
    distinct = np.unique(n)
    if distinct.shape[0] < 3:
        raise ValueError(
            f"need at least 3 distinct n for a power-law fit, got {distinct.shape[0]}: {distinct}"
        )
    if distinct[-1] / distinct[0] < POWER_LAW_MIN_RANGE:
        raise ValueError(
            f"n spans only a factor {distinct[-1] / distinct[0]:.3g} ({distinct[0]:g} to "
            f"{distinct[-1]:g}): too small for a fit; use at least a factor "
            f"{POWER_LAW_MIN_RANGE:g} (e.g. a geometric grid 2^6 .. 2^12)"
        )
    per_row = int(np.prod(err.shape[1:-1]))
    replicas = {float(v): int(np.sum(n == v)) * per_row for v in distinct}
    if min(replicas.values()) < 2:
        raise ValueError(f"need at least 2 replicas per n, got {replicas} (n: count)")

    T = err.shape[-1]
    shape = err.shape
    n_obs = np.broadcast_to(n.reshape((-1,) + (1,) * (err.ndim - 1)), shape).ravel()
    t_obs = np.broadcast_to(np.arange(T), shape).ravel()
    y = np.log(np.abs(err)).ravel()
    x = np.log(n_obs)
    xbar = np.mean(x)
    y_shift = np.array([np.mean(y[t_obs == t]) for t in range(T)])
    data = {
        "x": (x - xbar).astype(np.float32),
        "time": t_obs.astype(np.int32),
        "y_shift": y_shift.astype(np.float32),
        "xbar": np.float32(xbar),
        "y": y.astype(np.float32),
    }
    if timed:
        labels = [f"[t={t:g}]" for t in times]
        headline = {
            f"{v}{lab}": (v, (i,)) for i, lab in enumerate(labels) for v in ("slope", "intercept")
        }
        if hierarchical:
            headline["slope_mu"] = ("slope_mu", ())
        per_time = ("intercept_c", "sigma", "nu", "slope", "slope_z", "intercept")
        dims = {v: ["time"] for v in per_time}
        coords = {"time": times}
    else:
        headline = {"slope": ("slope", ()), "intercept": ("intercept", ())}
        dims, coords = {}, {}
    dims.update(log_abs_err=["obs"], n=["obs"], time_index=["obs"])
    model = functools.partial(_power_law_model, timed=timed, hierarchical=hierarchical)
    return _fit(
        "power_law",
        model,
        data,
        headline,
        coords=coords,
        dims=dims,
        constant_data={"n": n_obs, "time_index": t_obs},
        key=key,
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=num_chains,
        target_accept_prob=target_accept_prob,
        progress_bar=progress_bar,
    )


# ---- (b) decay rates ----------------------------------------------------------------------

METHODS = ("gd", "bd")
"""Method order along the ``method`` dim of :func:`fit_decay_rates`."""


def _decay_model(rate_obs, method, scale):
    """Per-replica rates r ~ StudentT(nu[m], k[m], s[m]) in units of ``scale``."""
    with numpyro.plate("method", 2):
        k = numpyro.sample("rate_std", dist.Normal(0.0, 5.0))
        s = numpyro.sample("rate_sd_std", dist.HalfNormal(1.0))
        nu = numpyro.sample("nu", dist.Gamma(*NU_PRIOR))
    rate = numpyro.deterministic("rate", k * scale)
    numpyro.deterministic("rate_sd", s * scale)
    numpyro.deterministic("speedup", rate[1] / rate[0])
    with numpyro.plate("obs", rate_obs.shape[0]):
        numpyro.sample(
            "replica_rate", dist.StudentT(nu[method], k[method], s[method]), obs=rate_obs
        )


def replica_rates(t, loss) -> np.ndarray:
    """Least-squares decay rate of each replica: -(slope of log loss against t), shape (R,)."""
    tc = t - np.mean(t)
    y = np.log(loss)
    return -np.sum((y - y.mean(axis=1, keepdims=True)) * tc, axis=1) / np.sum(tc**2)


def fit_decay_rates(
    t,
    loss_gd,
    loss_bd,
    *,
    window: tuple[float, float] | None = None,
    key,
    num_warmup: int = 500,
    num_samples: int = 1000,
    num_chains: int = 4,
    target_accept_prob: float = 0.9,
    progress_bar: bool = False,
) -> Fit:
    """Loss decay of gradient descent against birth-death: mean rates and their ratio.

    Two stages. First each replica's average exponential decay rate over the window,
    r = -(least-squares slope of log E(t) against t) (:func:`replica_rates`): a replica's
    curve is smooth, so its points are not independent noise around a line, and the
    replica, not the save time, is the unit of replication. Then, for method m in
    (gd, bd)::

        r_{m,i} ~ StudentT(nu_m, k_m, s_m),  k_m ~ Normal(0, 5),  s_m ~ HalfNormal(1),
        nu_m ~ Gamma(2, 0.1)

    in units of the pooled scale of the rates, so k_m is the population-mean rate of
    method m (per unit of ``t``), s_m the spread of the replicas' rates, and ``speedup`` =
    k_bd / k_gd is derived. The Student-t keeps a few atypical replicas from dragging k_m.

    When to use: GD against BD on the same initial draws over a window where the loss
    decays roughly exponentially (e.g. the paper's Gaussian mixture, t in [0, 5]; in the
    mean-field linear model of REFERENCE.md section 5 the rates are 2 and 2 (1 + alpha S0)).
    Choose the window before the loss reaches its floor at finite n. A rate near zero for
    gradient descent makes the ratio unstable; report the rates themselves then.

    Args:
        t: save times, shape (T,), strictly increasing.
        loss_gd, loss_bd: positive losses E(t), shape (replicas, T) each (replica numbers
            may differ); their logarithm is fitted.
        window: (t_lo, t_hi): fit only the times in [t_lo, t_hi]; None for all.
        key, num_warmup, num_samples, num_chains, target_accept_prob, progress_bar: as for
            :func:`fit_power_law`.

    Returns:
        A :class:`Fit` with summaries ``k_gd``, ``k_bd`` and ``speedup``; the posterior
        variables ``rate`` (dim ``method`` = ("gd", "bd")), ``rate_sd`` (the spread of the
        replica rates) and ``speedup``; ``observed_data`` holds the replica rates.

    Raises:
        ValueError: shapes that do not match ``t``; non-finite or non-positive losses in the
            window; t not strictly increasing; fewer than 3 times in the window; fewer than
            2 replicas of a method; rates that do not vary at all; bad sampler settings.
    """
    t = _finite("t", t, ndim=(1,))
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"t must be strictly increasing, got {t}")
    keep = np.ones(t.shape, bool) if window is None else (t >= window[0]) & (t <= window[1])
    losses = []
    for name, loss in (("loss_gd", loss_gd), ("loss_bd", loss_bd)):
        loss = _finite(name, loss, ndim=(2,))
        if loss.shape[1] != t.shape[0]:
            raise ValueError(f"{name} must have shape (replicas, {t.shape[0]}), got {loss.shape}")
        loss = loss[:, keep]  # only the window must be positive: its log is fitted
        if np.any(loss <= 0):
            raise ValueError(
                f"{name} must be positive in the window (its log is fitted), got min {loss.min()}"
            )
        if loss.shape[0] < 2:
            raise ValueError(f"{name} needs at least 2 replicas, got {loss.shape[0]}")
        losses.append(loss)
    t = t[keep]
    if t.shape[0] < 3:
        raise ValueError(f"need at least 3 save times in the window {window}, got {t}")
    rates = [replica_rates(t, loss) for loss in losses]
    pooled = np.concatenate(rates)
    scale = float(np.sqrt(np.mean(pooled**2)))
    if not scale > 0 or not np.std(pooled) > 0:
        raise ValueError("the replicas' decay rates do not vary at all: there is nothing to fit")
    data = {
        "rate_obs": (pooled / scale).astype(np.float32),
        "method": np.repeat([0, 1], [r.shape[0] for r in rates]).astype(np.int32),
        "scale": np.float32(scale),
    }
    headline = {"k_gd": ("rate", (0,)), "k_bd": ("rate", (1,)), "speedup": ("speedup", ())}
    dims = {v: ["method"] for v in ("rate_std", "rate_sd_std", "nu", "rate", "rate_sd")}
    dims.update(replica_rate=["obs"], t=["time"])
    dims.update(log_loss_gd=["replica_gd", "time"], log_loss_bd=["replica_bd", "time"])
    return _fit(
        "decay_rates",
        _decay_model,
        data,
        headline,
        coords={"method": np.asarray(METHODS), "time": t},
        dims=dims,
        constant_data={
            "t": t,
            "log_loss_gd": np.log(losses[0]),
            "log_loss_bd": np.log(losses[1]),
        },
        key=key,
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=num_chains,
        target_accept_prob=target_accept_prob,
        progress_bar=progress_bar,
    )


# ---- (c) jump rates -----------------------------------------------------------------------

ALPHA_PRIOR = (0.0, 2.0)
"""LogNormal(mu, sigma) prior of alpha in :func:`fit_jump_rate` (median 1, 95% in
[0.02, 50])."""


def _jump_model(total_count, total_exposure):
    """alpha ~ LogNormal(ALPHA_PRIOR); sum_k K_k ~ Poisson(alpha sum_k L_k).

    alpha = ref e^z with ref = m / L, m = max(K, 1), and z = w / sqrt(m), so that w is about
    N(0, 1) a posteriori; the log-likelihood K log alpha - alpha L is, up to a constant,
    K z - m expm1(z), exact in float32 for any number of events.
    """
    m = jnp.maximum(total_count, 1.0)
    ref = m / total_exposure
    root = jnp.sqrt(m)
    mu, sd = ALPHA_PRIOR
    w = numpyro.sample("w", dist.Normal((mu - jnp.log(ref)) * root, sd * root))
    z = w / root
    numpyro.factor("poisson", total_count * z - m * jnp.expm1(z))
    numpyro.deterministic("alpha", ref * jnp.exp(z))


def fit_jump_rate(
    counts,
    exposure,
    *,
    key,
    num_warmup: int = 500,
    num_samples: int = 1000,
    num_chains: int = 4,
    target_accept_prob: float = 0.9,
    progress_bar: bool = False,
) -> Fit:
    """Posterior of the jump-rate constant alpha from event counts and their exposures.

    Model: K_k ~ Poisson(alpha L_k) independently over intervals k, alpha ~ LogNormal(0, 2).
    For the centred birth-death process (:class:`bdprocess.BirthDeath`) particle i dies at
    rate alpha max(V_i - Vbar, 0) and gives birth at rate alpha max(Vbar - V_i, 0), so the
    jumps form an inhomogeneous Poisson process (a Cox process, the intensity depending on
    the past) of intensity alpha sum_i |V_i - Vbar|; given the path, the count in an
    interval is Poisson with mean alpha times the exposure L_k = int_k sum_i |V_i - Vbar| dt,
    and the likelihood of alpha is that of independent Poisson counts. A posterior that
    misses the declared alpha means the simulator does not fire at its declared rates.

    The likelihood depends on the data only through sum_k K_k and sum_k L_k, and is
    evaluated in that form (see ``_jump_model``), so that it is exact in float32; the counts
    and exposures are kept in ``constant_data``.

    When to use: after a run with ``max_events`` set and an observable recording
    sum_i |V_i - Vbar| on a save grid fine enough for the trapezoid rule
    (:func:`event_counts` and :func:`exposure` turn them into K_k and L_k). Uncentred
    rates alpha max(V_i, 0) need the exposure int sum_i |V_i| dt instead.

    Args:
        counts: event counts K_k, non-negative integers, any shape (e.g. (replica, interval));
            flattened.
        exposure: exposures L_k, non-negative, the same shape as ``counts``.
        key, num_warmup, num_samples, num_chains, target_accept_prob, progress_bar: as for
            :func:`fit_power_law`.

    Returns:
        A :class:`Fit` with the summary ``alpha``.

    Raises:
        ValueError: mismatched shapes; negative, non-integer or non-finite counts; negative
            or non-finite exposures; counts in an interval of zero exposure (impossible
            under the model); zero total exposure; bad sampler settings.
    """
    counts = _finite("counts", counts)
    exposure = _finite("exposure", exposure)
    if counts.shape != exposure.shape:
        raise ValueError(
            f"counts and exposure must have the same shape, got {counts.shape} and {exposure.shape}"
        )
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError("counts must be non-negative integers")
    if np.any(exposure < 0):
        raise ValueError(f"exposure must be non-negative, got min {exposure.min()}")
    if np.any((exposure == 0) & (counts > 0)):
        raise ValueError(
            "events in an interval of zero exposure: impossible for K ~ Poisson(alpha L); "
            "check that counts and exposure cover the same intervals"
        )
    total_exposure = float(exposure.sum())
    if not total_exposure > 0:
        raise ValueError("the total exposure is zero: the data say nothing about alpha")
    data = {
        "total_count": np.float32(counts.sum()),
        "total_exposure": np.float32(total_exposure),
    }
    return _fit(
        "jump_rate",
        _jump_model,
        data,
        {"alpha": ("alpha", ())},
        coords={},
        dims={"counts": ["interval"], "exposure": ["interval"]},
        constant_data={"counts": counts.ravel(), "exposure": exposure.ravel()},
        key=key,
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=num_chains,
        target_accept_prob=target_accept_prob,
        progress_bar=progress_bar,
    )


def event_counts(event_times, edges) -> np.ndarray:
    """Histogram event-log times into the intervals (edges[k], edges[k+1]].

    Args:
        event_times: event times, shape (..., capacity), e.g. ``sol.event_log.time`` of an
            ensemble; the +inf padding of unused slots is ignored, as are events outside
            (edges[0], edges[-1]].
        edges: interval edges, shape (K + 1,), strictly increasing (e.g. the save times
            with t0 prepended).

    Returns:
        Integer counts, shape (..., K). Intervals are closed on the right, like the jump
        counters of :func:`bdprocess.simulate` (the jumps up to each save time).

    Raises:
        ValueError: NaN or -inf event times; edges not finite, 1-D, of length >= 2 and
            strictly increasing.
    """
    times = np.asarray(event_times, dtype=float)
    edges = _finite("edges", edges, ndim=(1,))
    if edges.shape[0] < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"edges must be strictly increasing with length >= 2, got {edges}")
    if np.any(np.isnan(times) | (times == -np.inf)):
        raise ValueError("event_times has NaN or -inf entries (padding must be +inf)")
    if times.ndim == 0:
        raise ValueError("event_times must have at least one dimension")
    K = edges.shape[0] - 1
    flat = times.reshape(-1, times.shape[-1])
    bins = np.searchsorted(edges, flat, side="left") - 1
    valid = (bins >= 0) & (bins < K)
    rows = np.broadcast_to(np.arange(flat.shape[0])[:, None], flat.shape)
    out = np.zeros((flat.shape[0], K), np.int64)
    np.add.at(out, (rows[valid], bins[valid]), 1)
    return out.reshape(times.shape[:-1] + (K,))


def exposure(t, intensity, edges=None) -> np.ndarray:
    """Integrate a sampled intensity over intervals by the trapezoid rule.

    For :func:`fit_jump_rate`: with ``intensity`` the recorded sum_i |V_i - Vbar| (the total
    jump rate divided by alpha), the result is the exposure L_k of each interval. The error
    of the trapezoid rule is O(dt^2) for a smooth intensity and O(dt) per jump for one that
    jumps, so record it on a grid finer than the time between events.

    Args:
        t: sample times, shape (T,), strictly increasing.
        intensity: samples, shape (..., T).
        edges: interval edges, a subset of ``t``, strictly increasing; None for every
            interval of the grid.

    Returns:
        Integrals over (edges[k], edges[k+1]], shape (..., len(edges) - 1).

    Raises:
        ValueError: mismatched shapes; non-finite values; t not strictly increasing; edges
            not on the grid ``t``.
    """
    t = _finite("t", t, ndim=(1,))
    intensity = _finite("intensity", intensity)
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"t must be strictly increasing, got {t}")
    if intensity.shape[-1:] != t.shape:
        raise ValueError(f"intensity must have shape (..., {t.shape[0]}), got {intensity.shape}")
    pieces = np.cumsum(0.5 * (intensity[..., 1:] + intensity[..., :-1]) * np.diff(t), axis=-1)
    cumulative = np.concatenate([np.zeros(intensity.shape[:-1] + (1,)), pieces], axis=-1)
    if edges is None:
        index = np.arange(t.shape[0])
    else:
        edges = _finite("edges", edges, ndim=(1,))
        index = np.searchsorted(t, edges)
        on_grid = (index < t.shape[0]) & (t[np.minimum(index, t.shape[0] - 1)] == edges)
        if edges.shape[0] < 2 or np.any(np.diff(edges) <= 0) or not np.all(on_grid):
            raise ValueError(f"edges must be increasing points of the grid t, got {edges}")
    return np.diff(cumulative[..., index], axis=-1)
