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
# # Quickstart: simulating neuron birth-death
#
# This tutorial simulates the particle process of Rotskoff, Jelassi, Bruna and
# Vanden-Eijnden (ICML 2019) on the paper's Gaussian-mixture problem: n neurons
# theta_i = (y_i, c_i) move by gradient flow on the loss and are killed or cloned at rates
# alpha |V_i - Vbar|. We build the process, simulate one trajectory and an ensemble, and
# read the event log.

# %%
import os

import jax.numpy as jnp
import jax.random as jr
import matplotlib.pyplot as plt
import numpy as np

import bdprocess as bd
from models import gaussian_mixture as gm

SMALL = os.environ.get("BDPROCESS_TUTORIAL_SIZE") == "test"
n = 50 if SMALL else 200
t1 = 3.0 if SMALL else 10.0
replicas = 4 if SMALL else 32

# %% [markdown]
# ## The learning problem and the initial population
#
# `GaussianMixture` is a kernel-form potential: it knows F, K and C_f in closed form and
# evaluates V_i, grad V_i and the energy with blocked kernel sums (memory linear in n).
# A `Population` holds the positions and a lineage id per slot.

# %%
potential = gm.GaussianMixture()
theta0 = gm.initial_positions(jr.key(0), n, init="uniform")
state0 = bd.Population.from_positions(theta0)
print("initial energy", float(potential.energy(theta0)))

# %% [markdown]
# ## One trajectory
#
# `BirthDeath(potential, alpha)` is the process; `Splitting(dt)` is the paper's scheme
# (a gradient step, then every neuron dies or is cloned with probability
# 1 - exp(-alpha |beta_i| dt)). `simulate` records the energy, the mean potential and the
# numbers of deaths and births at the save times, and every jump in the event log.

# %%
ts = jnp.linspace(0.0, t1, 31)
process = bd.BirthDeath(potential, 5.0)
sol = bd.simulate(
    process,
    state0,
    t1=t1,
    solver=bd.Splitting(0.01),
    key=jr.key(1),
    saveat=ts,
    max_events=20_000,
)
print(sol.message, "| jumps:", int(sol.event_log.count))
log = sol.event_log.to_numpy()
print("first jumps (time, kind, slot, partner):")
for row in zip(log["time"][:5], log["kind"][:5], log["slot"][:5], log["partner"][:5], strict=True):
    print("  ", *row)

# %% [markdown]
# ## Gradient descent against birth-death, as ensembles
#
# `ensemble` vmaps `simulate` over PRNG keys. alpha is a dynamic parameter, so the
# gradient-descent run (alpha = 0) reuses the compiled program.

# %%
keys = jr.split(jr.key(2), replicas)
runs = {
    name: bd.ensemble(
        bd.BirthDeath(potential, alpha),
        state0,
        keys=keys,
        t1=t1,
        solver=bd.Splitting(0.01),
        saveat=ts,
    )
    for name, alpha in [("GD", 0.0), ("birth-death", 5.0)]
}
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, ens in runs.items():
    energy = np.asarray(ens.observables["energy"])
    ax.plot(ts, energy.mean(0), label=name)
    ax.fill_between(ts, *np.quantile(energy, [0.1, 0.9], axis=0), alpha=0.2)
ax.set_yscale("log")
ax.set_xlabel("t")
ax.set_ylabel("energy")
ax.legend()
plt.show()

# %% [markdown]
# Birth-death moves mass from neurons with a high potential (which hurt the fit) to
# neurons with a low one, which gradient descent alone cannot do: the energy falls much
# faster. `bdprocess reproduce` runs the paper's full experiment.

# %%
final = {k: float(np.asarray(v.observables["energy"])[:, -1].mean()) for k, v in runs.items()}
print(final)
assert final["birth-death"] < final["GD"]
