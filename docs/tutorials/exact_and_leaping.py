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
# # Exact and leaping simulation
#
# bdprocess has two exact solvers, `Direct` (Gillespie's direct method, for pure-jump
# processes) and `Extrande` (thinning against a rate bound, exact also when the rates move
# with a drift), and three approximate ones that take many jumps per step: `TauLeap`,
# `AdaptiveTauLeap` and the paper's `Splitting` scheme. This tutorial runs all of them
# through the same `ensemble` call and measures what each costs and how far each is from
# the truth: first on a reaction network whose moments are known exactly, then on neurons,
# the paper's Gaussian-mixture problem, where Extrande is the exact reference for
# Splitting. The guide "Choosing a solver" summarises the outcome.

# %%
import os
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import matplotlib.pyplot as plt
import numpy as np

import bdprocess as bd
from models import gaussian_mixture as gm
from models import reactions as rx

SMALL = os.environ.get("BDPROCESS_TUTORIAL_SIZE") == "test"
trajectories = 300 if SMALL else 4000
n_neurons = 30 if SMALL else 200
replicas = 4 if SMALL else 32
t1_neurons = 1.0 if SMALL else 10.0


def timed_ensemble(process, state0, solver, keys, t1, saves, **kwargs):
    """An ensemble to t1 and its wall time, compilation excluded.

    t1 and the save times are dynamic, so a first run to t1 / 100 compiles the very
    program that the timed run then uses.
    """

    def run(t):
        sol = bd.ensemble(
            process,
            state0,
            keys=keys,
            t1=t,
            solver=solver,
            saveat=jnp.linspace(0.0, t, saves),
            **kwargs,
        )
        return jax.block_until_ready(sol)

    run(t1 / 100)
    start = time.perf_counter()
    sol = run(t1)
    return sol, time.perf_counter() - start


# %% [markdown]
# ## A reaction network against its exact moments
#
# Linear birth-death, X -> 2X at rate 0.1 X and X -> 0 at rate 0.11 X from X = 100, is the
# first model of the SBML discrete stochastic models test suite (DSMTS, Evans, Gillespie,
# Wilkinson 2008). Its mean and variance are known in closed form, and DSMTS accepts a
# simulator when, at every save time, Z = sqrt(N) (mean - exact) / sd lies in (-3, 3) and
# Y = sqrt(N / 2) (S^2 / var - 1) in (-5, 5).
#
# The reaction network has no drift, so Extrande's bound is the current total rate and it
# reduces to Direct; Splitting, without a drift, is TauLeap with tau = dt.

# %%
net, x0 = rx.birth_death()
t1, saves = 50.0, 51
ts = np.linspace(0.0, t1, saves)
exact_mean, exact_var = rx.birth_death_moments(ts)
solvers = {
    "Direct": bd.Direct(),
    "Extrande": bd.Extrande(),
    "TauLeap(0.5)": bd.TauLeap(0.5),
    "AdaptiveTauLeap(0.03)": bd.AdaptiveTauLeap(0.03),
    "Splitting(0.1)": bd.Splitting(0.1),
}
keys = jr.split(jr.key(0), trajectories)
rows, paths = [], {}
for name, solver in solvers.items():
    sol, wall = timed_ensemble(net, x0, solver, keys, t1, saves)
    assert np.all(np.asarray(sol.status._value) == bd.Status.successful._value)
    x = np.asarray(sol.observables["X"], float)
    z, y = rx.dsmts_scores(x, exact_mean, exact_var)
    jumps = sum(np.asarray(sol.observables[k]).sum() for k in net.event_kinds)
    rows.append(
        (
            name,
            wall,
            float(np.mean(sol.num_steps)),
            jumps / trajectories,
            np.nanmax(np.abs(z)),
            np.nanmax(np.abs(y)),
            x[:, -1].mean() / exact_mean[-1] - 1,
            x[:, -1].std() / np.sqrt(exact_var[-1]) - 1,
        )
    )
    paths[name] = x

print(f"{trajectories} trajectories of birth-death to t = {t1:g}")
print(
    f"{'solver':<22} {'wall s':>7} {'steps/traj':>10} {'jumps/traj':>10} {'max|Z|':>7} "
    f"{'max|Y|':>7} {'mean err':>9} {'sd err':>8}"
)
for name, wall, steps, jumps, z, y, dm, ds in rows:
    print(
        f"{name:<22} {wall:7.3f} {steps:10.0f} {jumps:10.1f} {z:7.2f} {y:7.2f} {dm:9.2%} {ds:8.2%}"
    )
scores = {name: (z, y) for name, _, _, _, z, y, _, _ in rows}
for exact_solver in ("Direct", "Extrande"):
    z, y = scores[exact_solver]
    assert z < 3 and y < 5, (exact_solver, z, y)

# %% [markdown]
# Direct and Extrande take one step per jump (plus one per save interval) and pass the
# DSMTS scores. The leaping solvers take a fixed number of steps (TauLeap, Splitting) or
# as many as the rates require (AdaptiveTauLeap), each holding several jumps; their error
# is a bias that shrinks with the step (first order in tau) and that DSMTS's criterion for
# approximate methods bounds by 2% of the mean and standard deviation. With a few
# thousand trajectories the Monte-Carlo error of the standard deviation is itself about
# 1%, so only larger ensembles resolve these biases.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for name, x in paths.items():
    axes[0].plot(ts, x.mean(0), label=name, lw=1)
    axes[1].plot(ts, x.std(0), lw=1)
axes[0].plot(ts, exact_mean, "k--", lw=1, label="exact")
axes[1].plot(ts, np.sqrt(exact_var), "k--", lw=1)
axes[0].set_title("mean of X")
axes[1].set_title("standard deviation of X")
for ax in axes:
    ax.set_xlabel("t")
axes[0].legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Neurons: Extrande against Splitting
#
# In the paper's process the neurons move by gradient flow between jumps, so every rate
# alpha |V_i - Vbar| changes continuously. Direct would freeze the rates between jumps,
# which is wrong here (and it refuses a process with a drift). Extrande is exact: it
# bounds the total rate over a look-ahead window from the potentials and their time
# derivative, thins proposals drawn at that bound and integrates the drift with RK4 to
# each proposal. Splitting takes an Euler step of the drift, then all jumps of the step
# with the rates frozen; its error is O(dt).
#
# Both start from the same `replicas` initial populations (the paper's uniform
# initialisation), so their difference is due to the dynamics. Extrande runs with RK4
# sub-steps of 0.05, whose error is far below the Monte-Carlo error (the guide shows it).

# %%
process = bd.BirthDeath(gm.GaussianMixture(), gm.ALPHA_PAPER)
theta0 = jax.vmap(lambda k: gm.initial_positions(k, n_neurons))(jr.split(jr.key(1), replicas))
pops = jax.vmap(bd.Population.from_positions)(theta0)
saves_n = 21
ts_n = np.linspace(0.0, t1_neurons, saves_n)
neuron_solvers = {
    "Extrande": bd.Extrande(0.1, drift_dt=0.05),
    "Splitting(0.1)": bd.Splitting(0.1),
    "Splitting(0.01)": bd.Splitting(0.01),
}
energy, cost = {}, {}
for name, solver in neuron_solvers.items():
    sol, wall = timed_ensemble(
        process,
        pops,
        solver,
        jr.split(jr.key(2), replicas),
        t1_neurons,
        saves_n,
        batched_state=True,
    )
    assert np.all(np.asarray(sol.status._value) == bd.Status.successful._value)
    energy[name] = np.asarray(sol.observables["energy"], float)
    jumps = (
        np.asarray(sol.observables["deaths"]).sum() + np.asarray(sol.observables["births"]).sum()
    )
    cost[name] = (wall / replicas, jumps / replicas, dict(sol.stats))
    if name == "Extrande":
        assert int(np.sum(sol.stats["bound_violations"])) == 0

reference = energy["Extrande"]
print(f"n = {n_neurons}, {replicas} replicas, mean energy at t = {t1_neurons:g}")
print(f"{'solver':<16} {'s/trajectory':>12} {'jumps/traj':>10} {'E(t1)':>10} {'z vs Extrande':>14}")
for name, e in energy.items():
    diff = e[:, -1] - reference[:, -1]
    se = diff.std(ddof=1) / np.sqrt(replicas) if name != "Extrande" else np.nan
    z = diff.mean() / se if name != "Extrande" else np.nan
    wall, jumps, _ = cost[name]
    print(f"{name:<16} {wall:12.4f} {jumps:10.1f} {e[:, -1].mean():10.4g} {z:14.2f}")
stats = cost["Extrande"][2]
print(
    "Extrande:",
    int(np.sum(stats["proposals"])),
    "proposals,",
    int(np.sum(stats["rejections"])),
    "rejected,",
    int(np.sum(stats["bound_violations"])),
    "bound violations",
)

# %%
fig, ax = plt.subplots(figsize=(6, 3.8))
for name, e in energy.items():
    mean, se = e.mean(0), e.std(0, ddof=1) / np.sqrt(replicas)
    ax.plot(ts_n, mean, label=name)
    ax.fill_between(ts_n, mean - 2 * se, mean + 2 * se, alpha=0.2)
ax.set_yscale("log")
ax.set_xlabel("t")
ax.set_ylabel("energy")
ax.set_title(f"Gaussian mixture, n = {n_neurons}: mean energy +- 2 standard errors")
ax.legend()
plt.show()

# %% [markdown]
# The energy paths of Extrande and Splitting agree within the Monte-Carlo error: at the
# paper's step dt = 0.01, and even at dt = 0.1, Splitting's bias on the mean energy is
# smaller than what an ensemble of this size resolves, while each Splitting step costs
# one potential evaluation against Extrande's four per RK4 sub-step plus one per
# proposal. Extrande's value is as the reference: it is exact, reports any violated bound
# in its status, and tells whether a given dt is small enough. `bench/bench_jump.py`
# measures this trade-off at n = 200 and 2,000, and `bdprocess simulate --solver
# extrande` (or `splitting`) runs either from the command line.
