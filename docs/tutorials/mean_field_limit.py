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
# # The mean-field limit: the PDE against particles
#
# As the number of neurons n grows, the empirical measure of the birth-death particle
# process converges to the solution of the mean-field PDE (Rotskoff, Jelassi, Bruna,
# Vanden-Eijnden, ICML 2019):
#
# $$\partial_t \rho = \nabla\cdot(\rho \nabla V[\rho]) - \alpha (V[\rho] - \bar V[\rho])\rho .$$
#
# `bdprocess.meanfield` solves this PDE on a grid with finite volumes (an upwind,
# positivity-preserving transport step Strang-split with an exact reaction step). Here we
# solve it for the paper's Gaussian mixture, where theta = (y, c) lives on a 2-D grid, and
# compare it with particle simulations at several n: the energy, the marginal law of the
# centres y and the network function itself.

# %%
import os

import jax
import jax.numpy as jnp
import jax.random as jr
import matplotlib.pyplot as plt
import numpy as np

import bdprocess as bd
import bdprocess.meanfield as mf
from models import gaussian_mixture as gm
from models import gaussian_mixture_grid as gmg

SMALL = os.environ.get("BDPROCESS_TUTORIAL_SIZE") == "test"
cells = 48 if SMALL else 128
t1 = 2.0 if SMALL else 10.0
sizes = (50, 200) if SMALL else (100, 400, 1600)
replicas = 4 if SMALL else 16
alpha = 5.0
ts = np.linspace(0.0, t1, 11)

# %% [markdown]
# ## The PDE
#
# A `Grid` holds cell averages on a box; `gaussian_mixture_grid` supplies V = c g(y) and the
# energy on it (the interaction is a 1-D convolution in y) and the paper's initial law
# (y uniform on [-2, 2], c standard normal) as exact cell averages. `solve` returns the
# density, the energy, the mass and both dissipation terms at every save time.

# %%
grid = gmg.default_grid(cells)
model = gmg.GaussianMixtureGrid()
rho0 = gmg.initial_density(grid, "uniform")
pde = mf.solve(model, rho0, grid=grid, t1=t1, dt=0.05, alpha=alpha, saveat=ts)
print(
    pde.message,
    "| steps:",
    int(pde.num_steps),
    "| mass drift:",
    float(jnp.max(jnp.abs(pde.mass - 1))),
)
print("energy at save times:", np.round(np.asarray(pde.energy), 5))

# %% [markdown]
# The energy decreases monotonically, and its decrease is accounted for by the two
# dissipation terms, -dE/dt = int |grad V|^2 drho + alpha int (V - Vbar)^2 drho:

# %%
drop = -np.diff(np.asarray(pde.energy))
dissipation = np.asarray(pde.transport_dissipation + pde.reaction_dissipation)
trapezoid = 0.5 * (dissipation[1:] + dissipation[:-1]) * np.diff(ts)
print("energy drop per interval:      ", np.round(drop, 5))
print("integrated dissipation (trapz):", np.round(trapezoid, 5))

# %% [markdown]
# ## Particles
#
# The same problem with n particles: `BirthDeath` with clone rebirth and the paper's
# splitting scheme (dt = 0.01), an ensemble of independent replicas per n.

# %%
process = bd.BirthDeath(gm.GaussianMixture(), alpha)
clouds = {}
energies = {}
for i, n in enumerate(sizes):
    keys = jr.split(jr.key(i), replicas)
    thetas = jax.vmap(lambda k, n=n: gm.initial_positions(k, n))(keys)
    states = jax.vmap(bd.Population.from_positions)(thetas)
    sol = bd.ensemble(
        process, states, keys=keys, batched_state=True, t1=t1, solver=bd.Splitting(0.01), saveat=ts
    )
    energies[n] = np.asarray(sol.observables["energy"])
    clouds[n] = np.asarray(sol.state.theta)

fig, ax = plt.subplots(figsize=(6, 4))
ax.semilogy(ts, pde.energy, "k", lw=2, label="PDE")
for n in sizes:
    ax.semilogy(ts, energies[n].mean(axis=0), "o-", ms=3, label=f"particles, n = {n}")
ax.set_xlabel("t")
ax.set_ylabel("energy")
ax.legend()
plt.show()

# %% [markdown]
# ## Marginals and distances
#
# `marginal` integrates the density over c; `histogram` puts a particle cloud on the same
# grid; `wasserstein1` is the exact 1-D Wasserstein distance between a grid marginal and a
# sample. The distance shrinks like n^{-1/2} (plus a floor from the grid and the time
# step).

# %%
y = np.asarray(grid.centres(0))
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(y, mf.marginal(grid, pde.rho, 0), "k", lw=2, label="PDE")
n_big = sizes[-1]
hist, _ = mf.histogram(grid, clouds[n_big].reshape(-1, 2))
ax.step(y, mf.marginal(grid, hist, 0), where="mid", label=f"particles, n = {n_big} (pooled)")
ax.set_xlabel("y")
ax.set_ylabel("marginal density of y")
ax.legend()
plt.show()

for n in sizes:
    w1 = [float(mf.wasserstein1(grid, pde.rho, cloud[:, 0], axis=0)) for cloud in clouds[n]]
    print(
        f"n = {n:5d}: E[W1(y)] = {np.mean(w1):.4f}, sqrt(n) E[W1] = {np.sqrt(n) * np.mean(w1):.3f}"
    )

# %% [markdown]
# ## The network function
#
# The mean-field network f_rho(x) = int c N(x; y, 1/2) drho against the particle networks
# f_n(x) and the target:

# %%
x = jnp.linspace(-5, 5, 201)
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(x, gm.target(x), "k:", label="target")
ax.plot(x, gmg.predict(grid, pde.rho, x), "k", lw=2, label="PDE")
ax.plot(x, gm.predict(x, jnp.asarray(clouds[n_big][0])), label=f"particles, n = {n_big}")
ax.set_xlabel("x")
ax.legend()
plt.show()
