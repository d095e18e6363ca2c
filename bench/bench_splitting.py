"""Steps per second of the Splitting scheme on the paper's Gaussian mixture.

Side by side in one process:
  * bdprocess: ``simulate`` with ``Splitting`` (jit, lax.scan/while_loop, blocked sums);
  * numpy: a plain per-step NumPy loop of the same algorithm (gradient step, Bernoulli
    kill/clone with probability 1 - exp(-alpha |beta| dt), population restored to n);
  * torch: the same loop in PyTorch eager, when torch happens to be installed;
  * floor: a bare jitted kernel sum evaluating the n^2 kernel entries once (per step).

Usage: python bench/bench_splitting.py [--sizes 200 2000 20000] [--repeat 3]
"""

import argparse
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bdprocess as bd
from models import gaussian_mixture as gm

ALPHA, DT = 5.0, 0.01


def steps_for(n: int) -> int:
    return max(4, int(4e8 // (n * n)))  # about the same work per measurement


def best_time(fn, repeat: int) -> float:
    fn()  # warm-up / compile
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_bdprocess(theta, steps, repeat):
    process = bd.BirthDeath(gm.GaussianMixture(), ALPHA)
    state = bd.Population.from_positions(theta)

    def run():
        sol = bd.simulate(process, state, t1=steps * DT, solver=bd.Splitting(DT), key=jr.key(1))
        jax.block_until_ready(sol.state.theta)

    return best_time(run, repeat)


def bench_floor(theta, steps, repeat, block=1024):
    """n^2 kernel entries once per step: V_i = sum_j c_i c_j N(y_i - y_j; 0, 1), no gradient."""
    n = theta.shape[0]
    block = min(block, n)
    pad = (-n) % block
    y = jnp.pad(theta[:, 0], (0, pad))
    c = jnp.pad(theta[:, 1], (0, pad))

    @jax.jit
    def kernel_sums(y, c):
        def one_block(args):
            yb, cb = args
            k = jnp.exp(-0.5 * (yb[:, None] - y[None, :]) ** 2) / jnp.sqrt(2 * jnp.pi)
            return cb * (k @ c)

        return jax.lax.map(one_block, (y.reshape(-1, block), c.reshape(-1, block)))

    @jax.jit
    def loop(y, c):
        def body(_, acc):  # acc feeds back so that the steps cannot be merged
            return acc + kernel_sums(y + 1e-30 * acc, c).sum()

        return jax.lax.fori_loop(0, steps, body, jnp.zeros(()))

    return best_time(lambda: jax.block_until_ready(loop(y, c)), repeat)


def numpy_step(theta, rng, block=1024):
    """One step of the paper's scheme in plain NumPy (blocked so that memory stays linear)."""
    n = theta.shape[0]
    y, c = theta[:, 0], theta[:, 1]
    g = np.empty(n)
    dg = np.empty(n)
    for s in range(0, n, block):
        d = y[s : s + block, None] - y[None, :]
        k = np.exp(-0.5 * d * d) / np.sqrt(2 * np.pi)
        g[s : s + block] = k @ c / n
        dg[s : s + block] = -(k * d) @ c / n
    prof = np.asarray(gm.source_profile(y))
    eps = 1e-4
    dprof = (np.asarray(gm.source_profile(y + eps)) - np.asarray(gm.source_profile(y - eps))) / (
        2 * eps
    )
    V = c * (g - prof)
    grad = np.stack([c * (dg - dprof), g - prof], axis=1)
    theta = theta - DT * grad
    beta = V - V.mean()
    fire = rng.random(n) < -np.expm1(-ALPHA * np.abs(beta) * DT)
    kill = np.flatnonzero(fire & (beta > 0))
    clone = np.flatnonzero(fire & (beta < 0))
    survivors = np.setdiff1d(np.arange(n), kill)
    rng.shuffle(kill)
    extra = rng.permutation(survivors)
    m = max(len(kill), len(clone))
    slots = np.concatenate([kill, extra[: max(0, m - len(kill))]])
    donors = np.concatenate([clone, rng.choice(survivors, max(0, m - len(clone)))])
    keep = slots != donors
    theta[slots[keep]] = theta[donors[keep]]
    return theta


def bench_numpy(theta, steps, repeat):
    def run():
        th = np.asarray(theta, dtype=np.float32).copy()
        rng = np.random.default_rng(0)
        for _ in range(steps):
            th = numpy_step(th, rng)

    return best_time(run, repeat)


def bench_torch(theta, steps, repeat):
    try:
        import torch
    except ImportError:
        return None

    def run():
        th = torch.tensor(np.asarray(theta))
        n = th.shape[0]
        gen = torch.Generator().manual_seed(0)
        for _ in range(steps):
            th = th.detach().requires_grad_(True)
            y, c = th[:, 0], th[:, 1]
            k = torch.exp(-0.5 * (y[:, None] - y[None, :]) ** 2) / np.sqrt(2 * np.pi)
            prof = sum(
                w / 3 * torch.exp(-0.5 * (y - m) ** 2 / (v + 0.5)) / np.sqrt(2 * np.pi * (v + 0.5))
                for w, m, v in zip(gm.TARGET_WEIGHT, gm.TARGET_MEAN, gm.TARGET_VAR, strict=True)
            )
            energy = -(c * prof).mean() + 0.5 * (c[:, None] * c[None, :] * k).mean()
            (grad,) = torch.autograd.grad(energy * n, th)
            with torch.no_grad():
                V = c * ((k @ c) / n - prof)
                th = th - DT * grad
                beta = V - V.mean()
                fire = torch.rand(n, generator=gen) < -torch.expm1(-ALPHA * beta.abs() * DT)
                kill = torch.nonzero(fire & (beta > 0)).flatten()
                if len(kill):
                    alive = torch.ones(n, dtype=torch.bool)
                    alive[kill] = False
                    surv = torch.nonzero(alive).flatten()
                    pick = surv[torch.randint(len(surv), (len(kill),), generator=gen)]
                    th[kill] = th[pick]

    return best_time(run, repeat)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000, 20000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; float32; alpha={ALPHA}, dt={DT}")
    header = f"{'n':>7} {'steps':>6} {'bdprocess':>12} {'numpy':>10} {'torch':>10} {'floor':>10}"
    print(header + "   (steps/s)   speed-up vs numpy   bdprocess / floor time")
    for n in args.sizes:
        steps = steps_for(n)
        theta = gm.initial_positions(jr.key(0), n, "uniform")
        t_bd = bench_bdprocess(theta, steps, args.repeat)
        t_np = bench_numpy(theta, max(2, steps // 4), 1) * 4
        t_torch = bench_torch(theta, max(2, steps // 4), 1) if n <= 5000 else None
        t_floor = bench_floor(theta, steps, args.repeat)
        rate = lambda t, steps=steps: f"{steps / t:10.1f}" if t else f"{'-':>10}"  # noqa: E731
        print(
            f"{n:7d} {steps:6d} {rate(t_bd):>12} {rate(t_np)} "
            f"{rate(t_torch * 4 if t_torch else None)} {rate(t_floor)}"
            f"   {t_np / t_bd:8.1f}x   {t_bd / t_floor:8.2f}"
        )


if __name__ == "__main__":
    main()
