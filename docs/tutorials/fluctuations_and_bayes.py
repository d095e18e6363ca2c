# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Fluctuations and Bayesian analysis of the particle system
#
# The propagation-of-chaos tutorial showed that the errors of the particle system against
# its mean-field PDE shrink like n^{-1/2}. The statement behind that law is a central
# limit theorem for the empirical measure (Rotskoff, Jelassi, Bruna, Vanden-Eijnden, ICML
# 2019; REFERENCE.md section 5): for a smooth test function g,
#
# $$\sqrt{n}\,(\langle g, \mu_n(t)\rangle - \langle g, \mu_t\rangle) \to N(0, \sigma_g^2(t)),$$
#
# with a variance that does not depend on n, while the bias of the mean is O(1/n). This
# tutorial checks the three consequences with `analysis.fluctuations`: the scaled errors
# look Gaussian, their variance times n is flat in n, and at t = 0, where the laws are
# exact, the numbers agree with theory. It then looks inside the Bayesian fits of
# `analysis.bayes`: the power-law regression of the errors, its arviz DataTree and its
# diagnostics, and the recovery of the jump-rate constant alpha from an event log.

# %%
import os
import tempfile
import warnings
from pathlib import Path

import arviz as az
import jax
import jax.random as jr
import matplotlib.pyplot as plt
import numpy as np
import scipy.stats as st
import xarray as xr

from analysis import bayes, chaos, chaos_fits, fluctuations
from models import gaussian_mixture as gm

SMALL = os.environ.get("BDPROCESS_TUTORIAL_SIZE") == "test"
if SMALL:
    settings = chaos.Settings(
        ns=(16, 32, 64), replicas=16, t1=1.0, saves=5, fit_times=(0.5, 1.0), models=("linear",)
    )
    alpha_run = {"n": 64, "replicas": 8, "t1": 1.0}
    anchor_ns, anchor_replicas = (16, 64, 256), 200
else:
    settings = chaos.Settings(
        ns=(64, 128, 256, 512, 1024, 2048),
        replicas=64,
        t1=2.0,
        saves=9,
        fit_times=(1.0, 2.0),
        models=("linear",),
    )
    alpha_run = {"n": 256, "replicas": 32, "t1": 2.0}
    anchor_ns, anchor_replicas = (16, 64, 256, 1024), 1000
t_fit = settings.fit_times[-1]

# %% [markdown]
# ## The data
#
# We use the linear model of REFERENCE.md section 5 (V(theta, mu) = theta (m - 2), mu_0 =
# N(0, 1), alpha = 1), simulated at several n with `analysis.chaos.run_model` as in the
# propagation-of-chaos tutorial. The particle Dataset has dims (n, replica, time); every
# function below takes an array of shape (n, replica) at one save time, which
# `fluctuations.at_time` extracts. (The same Datasets are in the `data.nc` that
# `bdprocess chaos --out DIR` writes: `xr.open_datatree(DIR / "data.nc",
# engine="h5netcdf")["linear/bd/particles"].to_dataset()`.)

# %%
model = chaos.linear_model()
results = chaos.run_model(model, settings, progress=False)
particles = results["bd"]["particles"]
ns, err = fluctuations.at_time(particles, "test_function_theta", t_fit)
print("n:", ns, "| err shape (n, replica):", err.shape)

# %% [markdown]
# ## Are the scaled fluctuations Gaussian?
#
# `scaled_deviations` returns sqrt(n) (err - mean over replicas): centring removes the
# O(1/n) bias, scaling should make the spread the same at every n. `gaussianity` tests
# each row with Anderson-Darling (normal law, mean and variance estimated, Stephens'
# p-values) and returns the points of a QQ plot of the standardised deviations.
#
# The CLT says that the histograms of the scaled deviations coincide for every n and are
# Gaussian; the printed standard deviations should be flat in n (the next section tests
# that properly). The QQ plot puts the sorted standardised deviations against the normal
# quantiles; a Gaussian sample lies near the diagonal, and with R replicas the extreme
# points wander by a few tenths by chance. Curvature at both ends means heavy or light
# tails, a bend through the middle means skew. The p-values are interpolated in Stephens'
# table, which covers 0.01 to 0.15 only: a reported 0.15 means "0.15 or more" (no evidence
# against normality) and 0.01 means "0.01 or less". Under normality a p-value below 0.05
# turns up in one test in twenty, so one small value among many tests is expected; values
# at 0.01 for every n are not. The test is for smooth test functions and the loss gap; W1
# is not a linear functional of mu_n: sqrt(n) W1 tends to the L1 norm of a Gaussian
# process (for i.i.d. samples, int |B(F(x))| dx with B a Brownian bridge and F the CDF),
# which is positive and not Gaussian.

# %%
g = fluctuations.gaussianity(ns, err)
for n, a2, p, sd in zip(ns, g["statistic"], g["pvalue"], g["sd"], strict=True):
    print(f"n = {int(n):5d}: A^2 = {a2:.3f}, p = {p:.3f}, sd of sqrt(n)-scaled error = {sd:.3f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
q = g["qq_theoretical"]
for k, n in enumerate(ns):
    axes[0].plot(q, g["qq_sample"][k], "o", ms=3, label=f"n = {int(n)}")
axes[0].plot(q, q, "k", lw=1)
axes[0].set_xlabel("normal quantile")
axes[0].set_ylabel("standardised sqrt(n) deviation")
axes[0].set_title(f"QQ plot, <theta, mu_n> - <theta, mu_t> at t = {t_fit:g}")
axes[0].legend(fontsize=8)
dev = fluctuations.scaled_deviations(ns, err)
bins = np.linspace(dev.min(), dev.max(), 15)
for k, n in enumerate(ns):
    axes[1].hist(dev[k], bins=bins, histtype="step", density=True, label=f"n = {int(n)}")
x = np.linspace(bins[0], bins[-1], 200)
axes[1].plot(x, st.norm.pdf(x, 0.0, np.mean(g["sd"])), "k", lw=1, label="normal")
axes[1].set_xlabel("sqrt(n) (err - mean)")
axes[1].set_title("the same deviations, every n")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Does the variance fall like 1/n?
#
# `variance_scaling` fits log Var(err) = c + s log n by weighted least squares. For
# Gaussian errors the sampling variance of log S^2 is 2 / (R - 1) whatever the variance,
# so the weights are known and the 95% interval of s is exact up to that approximation.
# The CLT says s = -1, i.e. n Var(err) is flat in n. Variances, not means, are the right
# thing to regress: the bias of the mean is O(1/n) and buried under O(n^{-1/2}) noise.
#
# The plot shows n Var(err) per quantity with chi-square error bars (a factor
# exp(+-1.96 sqrt(2 / (R - 1))) on each point). Flat within the bars is the CLT; a rising
# curve is a variance that falls slower than 1/n (a noise source that does not average
# out), a falling one faster (the quantity's first-order fluctuation vanishes).

# %%
R = settings.replicas
band = np.exp(1.96 * np.sqrt(2.0 / (R - 1)))
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, method in zip(axes, chaos.METHODS, strict=True):
    ds = results[method]["particles"]
    for name in chaos.quantities(ds):
        v = fluctuations.variance_scaling(*fluctuations.at_time(ds, name, t_fit))
        label = name.removeprefix("test_function_")
        print(
            f"{method} {label:>8}: slope {v['slope']:+.3f}, "
            f"95% interval [{v['lo95']:+.3f}, {v['hi95']:+.3f}]"
        )
        nv = v["n_variance"]
        yerr = [nv - nv / band, nv * band - nv]
        ax.errorbar(ns, nv, yerr=yerr, fmt="o-", ms=4, capsize=2, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n")
    ax.set_title(f"{method}, linear model, t = {t_fit:g}")
axes[0].set_ylabel("n Var(err)")
axes[0].legend(fontsize=8)
plt.show()

# %% [markdown]
# The usual caveat for 95% intervals applies: across five quantities, two methods and
# several times an occasional interval that misses -1 is expected, and the quantities of
# one run share their replicas, so their slopes move together.
#
# Under gradient descent the linear model's errors are the initial errors transported
# deterministically, and their variances follow 1/n. Under birth-death, in the full-size
# run, the variances of the test-function errors and of W1 fall more slowly than 1/n,
# with intervals that exclude -1: n Var still grows over n = 64..2048, most visibly for
# theta^2. The CLT predicts flat lines in the limit; they are reached slowly here because
# cloning narrows the finite-n cloud (a Moran-type drift of order 1/n), which weakens the
# birth-death tilt and with it the fluctuations at small n. With 400 replicas and n up to
# 8192 (`Splitting(0.01)`), n Var of the mean at t = 1 reads 0.57, 0.71, 0.80, 0.83 for
# n = 128, 512, 2048, 8192: still rising over the range of this study, then levelling
# off. Checks like these surface such pre-asymptotic behaviour; larger n, more replicas
# and a second solver settle it, not another seed.
#
# ## The exact t = 0 laws: a self-check
#
# At t = 0 the particles are n i.i.d. draws from mu_0 and the laws of the loss E(mu_n) are
# exact (REFERENCE.md section 5): E[E(mu_n)] = E(mu_0) + b/n at every n, with
# b = (1/2)[int K(th, th) dmu_0 - int int K dmu_0 dmu_0], and n Var E(mu_n) -> sigma^2 =
# Var_{mu_0} V(theta, mu_0). `ChaosModel.anchors` holds (E(mu_0), b, sigma^2) in closed
# form; for the linear model E(mu_0) = 2, b = 1/2 and sigma^2 = 4. `check_anchors`
# compares the replicas with them: a Z-score of the mean of n (E_n - E(mu_0)) against b at
# each n (exact), and the variance extrapolated to n = infinity by a weighted regression
# of n Var on 1/n (E is a V-statistic of order 2, so n Var has a 1/n correction). Both
# pass when |Z| < 3. Since the check runs through the same initial draws, energies and
# bookkeeping as the study, it catches a wrong sampler, energy or seeding.

# %%
energy0 = particles["energy"].values[:, :, chaos.time_index(particles["time"].values, 0.0)]
print("linear anchors:", model.anchors)
a = fluctuations.check_anchors(ns, energy0, model.anchors)
for n, m, z, v in zip(a["n"], a["bias_scaled_mean"], a["bias_z"], a["n_variance"], strict=True):
    print(
        f"n = {n:5d}: mean n (E_n - E_0) = {m:.3f} (b = {a['bias']:.3f}, Z = {z:+.2f}), "
        f"n Var = {v:.3f}"
    )
print(
    f"n Var extrapolated to n = inf: {a['variance_limit']:.3f} +- {a['variance_limit_se']:.3f} "
    f"(sigma^2 = {a['variance']:.3f}, Z = {a['variance_z']:+.2f}); ok = {a['ok']}"
)

# %% [markdown]
# The t = 0 check needs no dynamics, so it is cheap to run with many more replicas. For
# the paper's Gaussian mixture (uniform init) we draw the initial clouds directly and
# evaluate their energies: b = N(0; 0, 1) / 2 = 1 / (2 sqrt(2 pi)) and sigma^2 is a
# quadrature, both in `gm.initial_anchors`.

# %%
potential = gm.GaussianMixture()
gm_energy0 = []
for n in anchor_ns:
    keys = jr.split(jr.fold_in(jr.key(7), n), anchor_replicas)
    clouds = jax.vmap(lambda k, n=n: gm.initial_positions(k, n, "uniform"))(keys)
    energies = jax.lax.map(potential.energy, clouds, batch_size=100)  # bounded memory
    gm_energy0.append(np.asarray(energies))
gm_anchors = gm.initial_anchors("uniform")
a_gm = fluctuations.check_anchors(np.asarray(anchor_ns), np.stack(gm_energy0), gm_anchors)
print("Gaussian-mixture anchors:", {k: round(v, 5) for k, v in gm_anchors.items()})
print("bias Z per n:", np.round(a_gm["bias_z"], 2))
print(
    f"variance limit {a_gm['variance_limit']:.4f} +- {a_gm['variance_limit_se']:.4f} "
    f"(sigma^2 = {a_gm['variance']:.4f}, Z = {a_gm['variance_z']:+.2f}); ok = {a_gm['ok']}"
)

# %% [markdown]
# ## The Bayesian power-law fit, in detail
#
# `bayes.fit_power_law(n, err, times=..., key=...)` estimates the exponent b of
# |err| ~ C n^b. For every replica's error err_i at n_i and save time t:
#
#     log|err_i| = a_t + b_t log n_i + sigma_t eps_i,   eps_i ~ StudentT(nu_t),
#     b_t ~ Normal(0, 2),  sigma_t ~ HalfNormal(2),  nu_t ~ Gamma(2, 0.1),
#
# with a weak Normal(., 10) prior on the intercept at the centre of the data. Why this
# model:
#
# * Each replica is an observation. Regressing the log of the RMS at each n would throw
#   away the spread between replicas, which is what tells us how well b is determined.
# * If err = sigma_n Z with Z ~ N(0, 1), then log|err| = log sigma_n + log|Z|: the slope
#   of log|err| against log n is the slope of log sigma_n, and the law of log|Z| is the
#   same at every n, so the intercept absorbs its mean.
# * log|Z| is far from Gaussian: its left tail is long (|Z| near 0 gives very negative
#   values). With Gaussian noise those points would pull the line around; a Student-t
#   likelihood with estimated degrees of freedom nu downweights them (Lange, Little and
#   Taylor, JASA 1989). The Gamma(2, 0.1) prior on nu (mean 20) lets the data choose
#   between heavy tails and nearly Gaussian ones.
#
# With `times`, each time gets its own slope, intercept, scale and nu, sampled jointly.

# %%
idx = [chaos.time_index(particles["time"].values, t) for t in settings.fit_times]
fit_times = np.asarray(settings.fit_times)
fit = bayes.fit_power_law(
    particles["n"].values,
    particles["test_function_theta"].values[:, :, idx],
    times=fit_times,
    key=jr.key(0),
)
for label, s in fit.summary.items():
    print(f"{label:>16}: mean {s['mean']:+.3f}, 95% interval [{s['lo95']:+.3f}, {s['hi95']:+.3f}]")
print("diagnostics:", fit.diagnostics)

# %% [markdown]
# ### Reading the DataTree
#
# `fit.tree` is the arviz `xarray.DataTree` of the run:
#
# * `posterior`: every sampled and derived variable, with dims (chain, draw) and, here,
#   `time` (the fit times as coordinate): `slope`, `intercept` (log C at log n = 0),
#   `intercept_c` (the one actually sampled: the line's height at the mean log n, minus
#   the mean log|err|), `sigma` and `nu`;
# * `sample_stats`: `diverging`, one flag per draw (True where NUTS diverged);
# * `observed_data`: the data as the model sees them, `log_abs_err` (one entry per
#   replica, n and time);
# * `constant_data`: the `n` and `time_index` of each observation.
#
# `fit.draws(name)` flattens the chains, giving shape (draws, ...).

# %%
print(fit.tree)
slope = fit.tree["posterior"]["slope"]
print("slope dims:", slope.dims, "| times:", slope["time"].values)
print("draws of slope:", fit.draws("slope").shape)

# %% [markdown]
# arviz's own summaries work on the tree directly. `az.summary` reports the posterior
# mean and standard deviation, an equal-tailed credible interval (89% by default in
# arviz 1.x), the bulk and tail effective sample sizes, R-hat and the Monte-Carlo
# standard errors; `az.rhat` and `az.ess` return one value per variable and element.

# %%
print(az.summary(fit.tree, var_names=["slope", "sigma", "nu"]))
print("R-hat of slope:", az.rhat(fit.tree, var_names=["slope"])["slope"].values)
print("bulk ESS of slope:", az.ess(fit.tree, var_names=["slope"], method="bulk")["slope"].values)

# %% [markdown]
# ### The diagnostics gate
#
# Every fit is gated: the largest rank-normalised split R-hat over all variables must be
# at most 1.01 (the chains agree), the smallest bulk ESS at least 400 (enough independent
# draws for a stable 95% interval), and there must be no divergent transition (a
# divergence means NUTS met curvature it could not integrate, and the posterior may be
# biased there) (Vehtari et al., Bayesian Analysis 2021). `fit.ok` records the result; a
# failed gate emits `bayes.DiagnosticsWarning` with advice. Under a warnings-as-errors
# policy (this project's tests) that warning raises, so where a failure is possible and
# acceptable, catch it explicitly.
#
# An example: `hierarchical=True` partially pools the slopes across times,
# b_t = b_mu + b_sd z_t. With only two times the pooling scale b_sd is barely identified,
# its posterior has a funnel near 0, and NUTS may report divergences; whether it does
# depends on the data and the key. We also run it short (2 chains of 200 draws, as one
# might to save time), so the gate finds too few effective draws as well. It names each
# failed check and what to change; `pooled.ok` is False and its summaries should not be
# reported. (Passing `hierarchical=True` pays off with many fit times and a long run.)

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", bayes.DiagnosticsWarning)
    pooled = bayes.fit_power_law(
        particles["n"].values,
        particles["test_function_theta"].values[:, :, idx],
        times=fit_times,
        hierarchical=True,
        key=jr.key(1),
        num_chains=2,
        num_warmup=200,
        num_samples=200,
    )
print("pooled slope b_mu:", pooled.summary["slope_mu"], "| gate passed:", pooled.ok)
for w in caught:
    print("caught:", w.message)

# %% [markdown]
# ### The fit against the data
#
# Left: every replica's log|err| at the last fit time against log n, the posterior-mean
# line and its pointwise 95% band, and the n^{-1/2} slope for reference. The scatter at
# each n is the law of log|Z| (about 1.1 wide on the log scale, with a long lower tail);
# the band is narrower than the scatter: it is the uncertainty of the line, not of the
# points. Right: the posterior of the slope at each fit time; -1/2 should sit inside the
# bulk (in the full-size birth-death run it does not, which is the discrepancy discussed
# with the variances above). The posterior of nu tells how heavy-tailed the residuals are:
# small nu (a few) means the Student-t was needed.

# %%
k = len(settings.fit_times) - 1
b, a0 = fit.draws("slope")[:, k], fit.draws("intercept")[:, k]
x = np.log(fit.tree["constant_data"]["n"].values)
y = fit.tree["observed_data"]["log_abs_err"].values
last = fit.tree["constant_data"]["time_index"].values == k
grid_x = np.linspace(x.min(), x.max(), 50)
lines = a0[:, None] + b[:, None] * grid_x[None, :]
lo, hi = np.quantile(lines, [0.025, 0.975], axis=0)
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
axes[0].plot(x[last], y[last], "o", ms=3, alpha=0.5, label="replicas")
axes[0].plot(grid_x, lines.mean(axis=0), "C1", label=f"posterior mean, b = {b.mean():.2f}")
axes[0].fill_between(grid_x, lo, hi, color="C1", alpha=0.3)
mid = lines.mean(axis=0)[0]
axes[0].plot(grid_x, mid - 0.5 * (grid_x - grid_x[0]), "k:", label="slope -1/2")
axes[0].set_xlabel("log n")
axes[0].set_ylabel("log |err|")
axes[0].set_title(f"<theta, mu_n> - <theta, mu_t>, t = {t_fit:g}")
axes[0].legend(fontsize=8)
for j, t in enumerate(settings.fit_times):
    axes[1].hist(
        fit.draws("slope")[:, j], bins=40, histtype="step", density=True, label=f"t = {t:g}"
    )
axes[1].axvline(-0.5, color="k", ls=":")
axes[1].set_xlabel("slope b")
axes[1].set_title("posterior of the exponent")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()
print("posterior mean of nu per time:", np.round(fit.draws("nu").mean(axis=0), 1))

# %% [markdown]
# The fit can be saved with its summary and diagnostics as attributes, and read back as a
# DataTree:

# %%
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "power_law_fit.nc"
    fit.to_netcdf(path)
    with xr.open_datatree(path, engine="h5netcdf") as back:
        print(sorted(back.children), "| rhat attribute:", back.attrs["rhat"])

# %% [markdown]
# ## Recovering alpha from an event log
#
# The last check asks whether the simulator fires its jumps at the declared rates. In the
# centred birth-death process particle i dies at rate alpha max(V_i - Vbar, 0) and gives
# birth at rate alpha max(Vbar - V_i, 0), so all jumps together form a point process of
# intensity lambda(t) = alpha I(t) with I(t) = sum_i |V_i(t) - Vbar(t)|. That intensity is
# random and depends on the past of the process itself (every jump changes every V_i), so
# the jump times are not a Poisson process: they form a point process with a
# history-dependent intensity (`analysis.bayes` calls it a Cox process). Its likelihood
# for the observed path is still that of a Poisson process with the realised intensity:
# the log density of the jump times is sum_k log lambda(t_k) - int lambda dt, the
# probabilities of which particle jumps and how do not involve alpha (all rates scale
# with it), and neither does the drift, so
#
# $$L(\alpha) \propto \alpha^{K} \exp\Big(-\alpha \int_0^T I(t)\,dt\Big),$$
#
# where K is the number of jumps. Equivalently: cut time into intervals k, count the jumps
# K_k and integrate the recorded I(t) into exposures L_k; then K_k ~ Poisson(alpha L_k)
# give the same likelihood. The total K and the total exposure are sufficient, and the
# posterior has mean close to K / L and relative width about 1 / sqrt(K).
#
# `chaos_fits.recover_alpha` does all of it: an exact `Extrande` simulation of the linear
# model with an event log, I(t) recorded every 0.01 time units, `bayes.event_counts` and
# `bayes.exposure` (trapezoid rule), and `bayes.fit_jump_rate` (alpha ~ LogNormal(0, 2)).
# Its 95% interval should cover the declared alpha. A miss means the jumps do not fire at
# alpha |V_i - Vbar|: a wrong rate formula, an event rule that breaks the thinning bound,
# or uncentred rates alpha max(V_i, 0) (those need the exposure int sum_i |V_i| dt).

# %%
row, alpha_fit = chaos_fits.recover_alpha(alpha=1.0, key=jr.key(3), **alpha_run)
print(
    f"alpha: {row['mean']:.3f}, 95% interval [{row['lo95']:.3f}, {row['hi95']:.3f}] "
    f"(declared {row['true']:g}, {row['events']} events, covered: {row['covered']})"
)
print("diagnostics:", alpha_fit.diagnostics)

# %% [markdown]
# Left: counts against exposure, summed over blocks of 0.1 time units per replica (the
# 0.01 intervals hold only a few events each; `constant_data` keeps them flattened,
# replica after replica), with the line K = alpha L for the declared
# alpha; the points scatter around it with Poisson noise sqrt(alpha L). Right: the
# posterior of alpha with the declared value.

# %%
counts = alpha_fit.tree["constant_data"]["counts"].values
exposure = alpha_fit.tree["constant_data"]["exposure"].values
per_block = 10
usable = counts.size // per_block * per_block
K = counts[:usable].reshape(-1, per_block).sum(axis=1)
L = exposure[:usable].reshape(-1, per_block).sum(axis=1)
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
axes[0].plot(L, K, "o", ms=3, alpha=0.6)
axes[0].plot([0, L.max()], [0, row["true"] * L.max()], "k", label="K = alpha L")
axes[0].set_xlabel("exposure L = int sum_i |V_i - Vbar| dt")
axes[0].set_ylabel("jumps K")
axes[0].legend()
axes[1].hist(alpha_fit.draws("alpha"), bins=40, density=True, histtype="step")
axes[1].axvline(row["true"], color="k", ls=":", label="declared alpha")
axes[1].set_xlabel("alpha")
axes[1].set_title("posterior of alpha")
axes[1].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Summary
#
# * `fluctuations.gaussianity`: QQ plots and Anderson-Darling p-values of the
#   sqrt(n)-scaled errors; `fluctuations.variance_scaling`: n Var flat, slope -1;
#   `fluctuations.check_anchors`: the exact t = 0 laws from `ChaosModel.anchors`.
# * `bayes.fit_power_law`: the exponent of |err| ~ C n^b with a Student-t likelihood on
#   log|err|, a gated NUTS fit returned as an arviz DataTree; `bayes.fit_decay_rates`
#   (not shown) fits the exponential loss decay of GD against BD and the speed-up ratio.
# * `bayes.fit_jump_rate` with `event_counts` and `exposure`: alpha from an event log,
#   via `chaos_fits.recover_alpha`.
# * `bdprocess chaos --quick --out DIR` runs all of it on both models and writes a report.
