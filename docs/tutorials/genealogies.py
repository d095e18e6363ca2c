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
# # Genealogies of neurons
#
# Birth-death dynamics copies neurons: every clone has a parent. The event log of a run
# records each jump (which slot was overwritten, by a copy of which individual), so the
# whole family tree can be read back: which initial neurons still have descendants, how
# fast the ancestral lineages of the final network merge, how large the families grow.
#
# We first check the tools on the neutral Moran population, where coalescent theory gives
# exact answers, then look at what birth-death does to the paper's Gaussian-mixture
# network.

# %%
import os

import jax.random as jr
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np

import bdprocess as bd
from analysis import genealogy as gen
from models import gaussian_mixture as gm
from models import moran

SMALL = os.environ.get("BDPROCESS_TUTORIAL_SIZE") == "test"
n_moran = 10 if SMALL else 30
trajectories = 20 if SMALL else 300
n_gm = 50 if SMALL else 200
t1_gm = 5.0 if SMALL else 30.0

# %% [markdown]
# ## The neutral Moran population
#
# n individuals; each is replaced at rate 1 by a copy of a uniformly chosen other one.
# Looking back in time, two lineages merge when one was created as a copy of the other:
# rate 2/(n-1) for a pair, k(k-1)/(n-1) for k lineages. Hence the pairwise coalescence
# time is exponential with mean (n-1)/2 and the time to the most recent common ancestor
# (TMRCA) of everybody has mean (n-1)^2/n.
#
# `Direct` (Gillespie's method) simulates the model exactly and records every jump; the
# log capacity `max_events` must hold them all (about n t1 here).

# %%
t1 = 10.0 * n_moran  # about ten times E[TMRCA]: the population has coalesced
state0 = moran.initial_state(n_moran)
sol = bd.simulate(
    moran.Moran(),
    state0,
    t1=t1,
    solver=bd.Direct(),
    key=jr.key(0),
    max_events=int(1.5 * n_moran * t1) + 100,
)
g = gen.from_event_log(sol.event_log, state0.ids, t_end=t1, final_state=sol.state)
print(f"{g.num_events} replacements; TMRCA of the final population: {g.tmrca():.2f}")
print("theory: E[TMRCA] =", moran.tmrca_mean(n_moran))

# %% [markdown]
# `g.graph` is a networkx `DiGraph` (edges parent -> child, with birth and death times,
# slot and founder on every node), so all of networkx applies. The drawing shows each
# individual in its slot, from a little before the most recent common ancestor; bold
# lines are the ancestry of the final population: one lineage that splits into the
# present population.

# %%
G = g.graph
founder = G.nodes[int(g.alive_at()[0])]["founder"]
print(
    "every survivor descends from founder",
    founder,
    "whose descendants number",
    len(nx.descendants(G, founder)),
)
gen.tree_figure(g, t_from=max(0.0, t1 - 1.25 * g.tmrca()))  # the last stretch
plt.show()

# %% [markdown]
# ## Coalescent theory, checked
#
# Many trajectories (run one after another: an exact solver under `vmap` would copy the
# event log at every jump) give the distribution of the TMRCA and of the coalescence time
# of a fixed pair (the occupants of slots 0 and 1 at the end).

# %%
genealogies, observables = gen.simulate_genealogies(
    moran.Moran(),
    state0,
    keys=jr.split(jr.key(1), trajectories),
    t1=t1,
    solver=bd.Direct(),
    max_events=int(1.5 * n_moran * t1) + 100,
)
tmrca = np.array([x.tmrca() for x in genealogies])
pair = np.array([x.coalescence_time(*x.alive_at()[:2]) for x in genealogies])
print(
    f"mean TMRCA {tmrca.mean():.2f} +- {tmrca.std() / np.sqrt(trajectories):.2f}"
    f" (theory {moran.tmrca_mean(n_moran):.2f})"
)
print(
    f"mean pairwise time {pair.mean():.2f} +- {pair.std() / np.sqrt(trajectories):.2f}"
    f" (theory {(n_moran - 1) / 2:.2f})"
)

fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
s = np.linspace(0, tmrca.max() * 1.1, 200)
ax[0].plot(np.sort(tmrca), np.arange(1, trajectories + 1) / trajectories, label="simulated")
ax[0].plot(s, moran.tmrca_cdf(s, n_moran), "k--", label="theory")
ax[0].set(xlabel="TMRCA", ylabel="CDF")
ax[0].legend()
ax[1].plot(np.sort(pair), np.arange(1, trajectories + 1) / trajectories, label="simulated")
ax[1].plot(s, -np.expm1(-s * moran.pair_coalescence_rate(n_moran)), "k--", label="Exp")
ax[1].set(xlabel="pairwise coalescence time", ylabel="CDF")
ax[1].legend()
plt.show()

# %% [markdown]
# The lineages-through-time plot counts the ancestors of the final population back in
# time (left; dashed: the coalescent's expectation) and the founders that still have
# living descendants (right). In a neutral population founders die out steadily.

# %%
gen.lineages_through_time_figure(
    genealogies[:50], theory=lambda back: moran.expected_lineages(back, n_moran)
)
plt.show()

# %% [markdown]
# ## Birth-death on the Gaussian mixture
#
# Under birth-death, neurons with a potential above the mean die and are replaced by
# copies of others, and neurons below the mean are cloned. The genealogy shows which
# initial neurons won. We run the paper's scheme (`Splitting`, dt = 0.01, alpha = 5); a
# step can make at most n jumps, which bounds the log.

# %%
theta0 = gm.initial_positions(jr.key(2), n_gm)
state0 = bd.Population.from_positions(theta0)
steps = int(round(t1_gm / 0.01))
sol = bd.simulate(
    bd.BirthDeath(gm.GaussianMixture(), 5.0),
    state0,
    t1=t1_gm,
    solver=bd.Splitting(0.01),
    key=jr.key(3),
    max_events=n_gm * (steps + 1),
)
g_bd = gen.from_event_log(
    sol.event_log, state0.ids, t_end=t1_gm, initial_theta=theta0, final_state=sol.state
)
print(
    g_bd.num_events, "jumps;", g_bd.founders_surviving([t1_gm])[0], "of", n_gm, "founders survive"
)
fig, text = gen.founder_survival_figure(g_bd, theta0)
print(text)
plt.show()

# %% [markdown]
# The genealogy can be saved as GraphML for other tools (Gephi, Cytoscape, igraph):

# %%
g_bd.write_graphml("genealogy.graphml")
back = nx.read_graphml("genealogy.graphml", node_type=int)
print(back.number_of_nodes(), "individuals,", back.number_of_edges(), "parent-child edges")

# %% [markdown]
# A truncated log cannot give a genealogy: when the run made more jumps than
# `max_events`, `from_event_log` refuses with a message saying so, rather than returning a
# tree with missing branches. The command line does all of the above in one go:
# `bdprocess genealogy --model moran --param n=50 --trajectories 100 --out DIR`.
