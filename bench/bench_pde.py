"""Cost of the mean-field PDE solver on the Gaussian mixture's 2-D (y, c) grid.

1. Time per Strang step against grid size (n x n cells), with the cost per cell and the
   cost per (cells x log2 cells), whose flatness shows growth no faster than
   cells log cells. Each measurement runs a fixed number of steps (dt below every CFL
   bound) after a compile-and-warm-up call; the best of --repeat runs is kept.
2. The headline: the paper's setting (alpha = 5, full-support init) on a 256 x 256 grid to
   t = 30, timed end to end (compile included) and again compiled.

Usage: python bench/bench_pde.py [--sizes 48 64 128 256 512] [--repeat 3] [--x64]
"""

import argparse
import json
import math
import time

import jax
import numpy as np

import bdprocess.meanfield as mf
from models import gaussian_mixture_grid as gmg

STEPS = 100
DT_TINY = 1e-4  # below the CFL bound of every grid measured: steps are not CFL-limited


def timed(fn, repeat):
    fn()
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def per_step(cells: int, repeat: int) -> dict:
    grid = gmg.default_grid(cells)
    model = gmg.GaussianMixtureGrid()
    rho0 = gmg.initial_density(grid)

    steps = []

    def run():
        sol = mf.solve(
            model, rho0, grid=grid, t1=STEPS * DT_TINY, dt=DT_TINY, alpha=5.0, save_density=False
        )
        sol.rho.block_until_ready()
        steps.append(int(sol.num_steps))  # STEPS, or one more from the rounding of t

    seconds = timed(run, repeat) / steps[-1]
    n = grid.num_cells
    return {
        "grid": f"{cells}x{cells}",
        "cells": n,
        "ms_per_step": 1e3 * seconds,
        "ns_per_cell_step": 1e9 * seconds / n,
        "ns_per_cell_log2cell_step": 1e9 * seconds / (n * math.log2(n)),
    }


def headline(cells: int = 256, t1: float = 30.0) -> dict:
    grid = gmg.default_grid(cells)
    model = gmg.GaussianMixtureGrid()
    rho0 = gmg.initial_density(grid)

    def run():
        sol = mf.solve(
            model,
            rho0,
            grid=grid,
            t1=t1,
            dt=0.05,
            alpha=5.0,
            saveat=np.linspace(0.0, t1, 31),
            reaction_until=t1 - 10.0,
        )
        sol.rho.block_until_ready()
        return sol

    start = time.perf_counter()
    sol = run()
    cold = time.perf_counter() - start
    start = time.perf_counter()
    run()
    warm = time.perf_counter() - start
    return {
        "grid": f"{cells}x{cells}",
        "t1": t1,
        "seconds_including_compile": cold,
        "seconds_compiled": warm,
        "num_steps": int(sol.num_steps),
        "energy_t10": float(sol.energy[10]),
        "energy_t30": float(sol.energy[-1]),
        "outflow": float(sol.outflow[-1]),
        "status": sol.message,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[48, 64, 128, 256, 512])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--x64", action="store_true", help="float64 instead of float32")
    parser.add_argument("--json", default=None, help="also write the numbers to this file")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", args.x64)
    print(f"backend {jax.default_backend()}, {'float64' if args.x64 else 'float32'}")
    rows = [per_step(n, args.repeat) for n in args.sizes]
    print("| grid | cells | ms / step | ns / (cell step) | ns / (cell log2(cells) step) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['grid']} | {r['cells']} | {r['ms_per_step']:.3f} | "
            f"{r['ns_per_cell_step']:.1f} | {r['ns_per_cell_log2cell_step']:.2f} |"
        )
    cells = np.asarray([r["cells"] for r in rows], float)
    cost = np.asarray([r["ms_per_step"] for r in rows])
    big = cells >= 4096  # below that, fixed per-step overheads dominate
    slope = np.polyfit(np.log(cells[big]), np.log(cost[big]), 1)[0] if big.sum() > 1 else None
    if slope is not None:
        print(f"fitted exponent of cost vs cells (grids >= 64x64): {slope:.2f}")
    head = headline()
    print(
        f"256x256 Gaussian mixture, alpha = 5, to t = 30 (quench for the last 10): "
        f"{head['seconds_including_compile']:.1f} s including compile, "
        f"{head['seconds_compiled']:.1f} s compiled, {head['num_steps']} steps; "
        f"E(10) = {head['energy_t10']:.3g}, E(30) = {head['energy_t30']:.3g}, "
        f"outflow {head['outflow']:.2g}, {head['status']}"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"per_step": rows, "exponent": slope, "headline": head}, f, indent=2)


if __name__ == "__main__":
    main()
