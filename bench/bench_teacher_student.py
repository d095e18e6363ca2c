"""Steps per second of mini-batch SGD + birth-death on the student-teacher ReLU problem.

Side by side in one process, d = 50, teacher width 10, alpha = 1, lr = dt = 0.02, cloning:
  * bdprocess: ``simulate`` with ``Splitting`` on :class:`models.teacher_student.TeacherStudent`
    (jit, while_loop, a fresh sphere batch per step, blocked over inputs);
  * numpy: a plain per-step NumPy loop (float32) of the same algorithm: draw a batch,
    residuals, V_i and grad V_i on it, a gradient step, each unit killed (V_i > 0) or cloned
    (V_i < 0) with probability 1 - exp(-alpha |V_i| dt), population restored to n.

Usage: python bench/bench_teacher_student.py [--sizes 50 500 5000] [--batches 100 1000 10000]
"""

import argparse
import functools
import time

import jax
import jax.random as jr
import numpy as np

import bdprocess as bd
from models import teacher_student as ts

D, WIDTH, ALPHA, DT = ts.D_PAPER, ts.TEACHER_WIDTH, 1.0, ts.LR_PAPER


def steps_for(n: int, batch: int) -> int:
    return int(np.clip(3e8 / (n * batch * D), 5, 2000))  # about the same work per measurement


def best_time(fn, repeat: int) -> float:
    fn()  # warm-up / compile
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_bdprocess(teacher, theta, batch, steps, repeat):
    block = min(batch, max(256, 2**22 // theta.shape[0]))
    pot = ts.make_potential(teacher, jr.key(1), batch_size=batch, test_size=256, block_size=block)
    process = ts.make_process(pot, "bd", alpha=ALPHA)
    state = bd.Population.from_positions(theta)

    def run():
        sol = bd.simulate(process, state, t1=steps * DT, solver=bd.Splitting(DT), key=jr.key(2))
        jax.block_until_ready(sol.state.theta)

    return best_time(run, repeat)


def numpy_loop(teacher, theta, batch, steps, seed=0):
    """The same SGD + birth-death step, one Python iteration per step, vectorised inside."""
    rng = np.random.default_rng(seed)
    tw = np.asarray(teacher.w, np.float32)
    tc = np.asarray(teacher.c, np.float32)
    theta = np.array(theta, np.float32)
    n = theta.shape[0]
    for _ in range(steps):
        x = rng.standard_normal((batch, D), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        w, c = theta[:, :-1], theta[:, -1]
        pre = x @ w.T
        act = np.maximum(pre, 0)
        r = act @ c / n - np.maximum(x @ tw.T, 0) @ tc
        grad_c = act.T @ r / batch
        grad_w = ((pre > 0) * (c * r[:, None])).T @ x / batch
        V = c * grad_c
        theta[:, :-1] -= DT * grad_w
        theta[:, -1] -= DT * grad_c
        # Jumps: each unit fires with probability 1 - exp(-alpha |V_i| dt).
        fire = rng.random(n) < -np.expm1(-ALPHA * np.abs(V) * DT)
        killed = np.flatnonzero(fire & (V > 0))
        cloned = np.flatnonzero(fire & (V < 0))
        rng.shuffle(killed)
        rng.shuffle(cloned)
        survivors = np.setdiff1d(np.arange(n), killed)
        k, m = len(killed), len(cloned)
        # Killed slots take the clones first, then random survivors; surplus clones
        # overwrite distinct random survivors.
        sources = np.concatenate([cloned[:k], rng.choice(survivors, max(k - m, 0))])
        slots = killed
        if m > k and len(survivors):
            extra = rng.choice(survivors, min(m - k, len(survivors)), replace=False)
            slots = np.concatenate([slots, extra])
            sources = np.concatenate([sources, cloned[k : k + len(extra)]])
        keep = slots != sources
        theta[slots[keep]] = theta[sources[keep]]
    return theta


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500, 5000])
    parser.add_argument("--batches", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    teacher = ts.make_teacher(jr.key(0), D, WIDTH)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; d = {D}, alpha = {ALPHA}")
    print(f"{'n':>6} {'batch':>6} {'steps':>6} {'bdprocess/s':>12} {'numpy/s':>10} {'speed-up':>9}")
    for n in args.sizes:
        theta = ts.initial_positions(jr.key(3), n, D)
        for batch in args.batches:
            steps = steps_for(n, batch)
            t_bd = bench_bdprocess(teacher, theta, batch, steps, args.repeat)
            loop = functools.partial(numpy_loop, teacher, theta, batch, steps)
            t_np = best_time(loop, args.repeat)
            print(
                f"{n:>6} {batch:>6} {steps:>6} {steps / t_bd:>12.1f} {steps / t_np:>10.1f} "
                f"{t_np / t_bd:>8.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
