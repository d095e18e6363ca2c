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
# # Birth-death for a real network
#
# The Gaussian-mixture problem has a potential in closed form. A real network has only
# data: a unit phi(x, theta), a target f(x) and a way to draw inputs. This tutorial trains
# a ReLU network with mini-batch SGD, adds neuron birth-death (Rotskoff, Jelassi, Bruna,
# Vanden-Eijnden, ICML 2019, section 4.2), and asks honestly whether it helps.
#
# For a network f_n(x) = (1/n) sum_i phi(x, theta_i) and the loss 1/2 E|f - f_n|^2, the
# potential of unit i is V_i = E_x[phi(x, theta_i) r(x)] with the residual r = f_n - f.
# A mini-batch average of the same expression is an unbiased estimate of V_i, of its
# gradient and of the loss. `bdprocess.DataPotential` computes them in blocks of inputs
# (memory linear in n and in the batch), and under `bdprocess.Splitting` one fresh batch
# per step drives both the gradient step and the birth-death rates.

# %%
import os

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import matplotlib.pyplot as plt
import numpy as np

import bdprocess as bd
from models import teacher_student as ts

SMALL = os.environ.get("BDPROCESS_TUTORIAL_SIZE") == "test"
n, d = (20, 10) if SMALL else (50, 50)
steps = 200 if SMALL else 6000
seeds = 2 if SMALL else 4
lr = ts.LR_PAPER

# %% [markdown]
# ## The problem: a planted ReLU teacher
#
# Ten teacher units c*_j ReLU(w*_j . x) with |c*_j| |w*_j| = 1; inputs uniform on the unit
# sphere. The data-form potential keeps a fixed test sample (for `evaluate`) and draws a
# fresh batch of 100 inputs whenever it is given a key (`estimate`). On the sphere the
# population loss also has a closed form (the arc-cosine kernel), which we use to check
# that the mini-batch estimates are unbiased.

# %%
teacher = ts.make_teacher(jr.key(0), d=d, width=ts.TEACHER_WIDTH)
potential = ts.make_potential(teacher, jr.key(1), batch_size=ts.BATCH_PAPER)
exact = ts.TeacherStudentKernel(teacher)
theta = ts.initial_positions(jr.key(2), n, d)

estimates = jax.vmap(lambda k: potential.estimate(theta, key=k))(jr.split(jr.key(3), 500))
V_exact = exact.evaluate(theta, with_grad=False).potentials
mean = estimates.potentials.mean(axis=0)
se = estimates.potentials.std(axis=0) / np.sqrt(500)
z = (mean - V_exact) / se
print(
    f"max |z| of the mini-batch V_i against the exact V_i over {n} units: {jnp.max(jnp.abs(z)):.2f}"
)

# %% [markdown]
# ## SGD, and SGD with birth-death
#
# `BirthDeath` with alpha = 0 is plain SGD: each `Splitting(dt=lr)` step moves every unit by
# -lr grad V_i, i.e. SGD with learning rate lr on n times the batch loss (mean-field
# scaling). With alpha > 0 unit i also dies (V_i > 0) or is cloned (V_i < 0) with
# probability about alpha |V_i| lr per step; V_i = n c_i dL/dc_i is the paper's mini-batch
# rate. A dead unit is replaced by a copy of another one (cloning) or by a fresh draw from
# the prior w ~ N(0, I/2500), c = 0 (which leaves the network unchanged).
#
# All seeds run as one vmapped ensemble; the alpha is a dynamic leaf, so sweeping it does
# not recompile. Every method sees the same initial units and the same batches at a given
# seed, so the comparison is paired.

# %%
save = np.unique(np.round(np.logspace(0, np.log10(steps), 25))).astype(int)
keys = jr.split(jr.key(4), seeds)
theta0 = jax.vmap(lambda k: ts.initial_positions(k, n, d))(jr.split(jr.key(5), seeds))


@eqx.filter_jit
def train(alpha, rebirth):
    """Final state and loss curves of all seeds (compiled once per rebirth mode)."""

    def one(key, th0):
        proc = bd.BirthDeath(potential, alpha, centred=False, rebirth=rebirth)
        return bd.simulate(
            proc,
            bd.Population.from_positions(th0),
            t1=steps * lr,
            saveat=save * lr,
            solver=bd.Splitting(lr),
            key=key,
            observables={"loss": lambda t, s, a: exact.energy(s.theta)},
            throw=False,
        )

    sol = jax.vmap(one)(keys, theta0)
    return sol.observables["loss"], sol.observables["deaths"].sum()


runs = {
    "SGD": train(jnp.asarray(0.0), "clone"),
    "SGD + BD (clone, alpha = 10)": train(jnp.asarray(10.0), "clone"),
    "SGD + BD (prior, alpha = 10)": train(jnp.asarray(10.0), "prior"),
}
fig, ax = plt.subplots(figsize=(6, 4))
for label, (loss, deaths) in runs.items():
    ax.loglog(save, np.mean(loss, axis=0), label=f"{label} ({int(deaths)} deaths)")
ax.set_xlabel("SGD steps")
ax.set_ylabel("population loss")
ax.legend()
plt.show()

# %% [markdown]
# ## Does it help? An alpha sweep at a fixed budget
#
# The answer depends on alpha and on the budget, so we sweep alpha over four decades and
# compare the final loss with SGD's, seed by seed.

# %%
gd_final = np.asarray(runs["SGD"][0][:, -1])
for alpha in (0.01, 0.1, 1.0, 10.0, 100.0):
    final = np.asarray(train(jnp.asarray(alpha), "clone")[0][:, -1])
    change = (final - gd_final) / gd_final
    print(
        f"alpha = {alpha:>6g}: final loss {final.mean():.4g}  vs SGD {gd_final.mean():.4g}"
        f"  (change per seed: {', '.join(f'{100 * c:+.1f}%' for c in change)})"
    )

# %% [markdown]
# In our runs (see `bdprocess reproduce --experiment teacher-student` for the full study
# with intervals) large alpha speeds up the escape from the initial plateau, so at short
# budgets birth-death lowers the loss, while at longer budgets plain SGD catches up and
# overtakes it. One reason: a clone is an exact copy of its parent and both receive the same
# gradient from every batch, so they never separate; each birth removes a distinct unit for
# good. The report of that command states, for every alpha, whether birth-death lowers or
# raises the loss at each budget, with paired intervals over seeds.
