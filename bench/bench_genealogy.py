"""Seconds to build a genealogy from an event log of ~10^5 events and answer its queries.

Two logs, each from the engine (the simulation time is not counted):
  * moran-direct: neutral Moran population, exact (one event per time stamp);
  * moran-splitting: the same with the Splitting scheme (many events share a time stamp).

Timed separately: reading the log into arrays (with all consistency checks), building the
networkx DiGraph, the queries (survivors' ancestors, lineages-through-time and surviving
founders on a 200-point grid, TMRCA, merger times, one pairwise coalescence, family
sizes, offspring counts) and, not part of the 5 s target, the GraphML export.

Usage: python bench/bench_genealogy.py [--events 100000] [--n 200] [--repeat 3]
"""

import argparse
import tempfile
import time
from pathlib import Path

import jax.random as jr
import numpy as np

import bdprocess as bd
from analysis import genealogy as gen
from models import moran


def make_log(kind: str, events: int, n: int):
    t1 = events / n
    s0 = moran.initial_state(n)
    solver = bd.Direct() if kind == "direct" else bd.Splitting(0.05)
    sol = bd.simulate(
        moran.Moran(), s0, t1=t1, solver=solver, key=jr.key(0), max_events=int(1.2 * events) + 100
    )
    return sol, s0, t1


def best(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def queries(g):
    ts = np.linspace(g.t0, g.t_end, 200)
    alive = g.alive_at()
    return (
        g.survivor_ancestors(),
        g.lineages(ts),
        g.founders_surviving(ts),
        g.tmrca(),
        g.merger_times(),
        g.coalescence_time(alive[0], alive[1]),
        g.family_sizes(),
        g.offspring_counts(),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    names = ("read", "graph", "queries", "total", "graphml")
    print(f"{'log':>16} {'events':>8} " + " ".join(f"{x:>8}" for x in names))
    for kind in ("direct", "splitting"):
        sol, s0, t1 = make_log(kind, args.events, args.n)
        log = sol.event_log

        def read(log=log, s0=s0, t1=t1, sol=sol):
            return gen.from_event_log(
                log, s0.ids, t_end=t1, initial_theta=s0.theta, final_state=sol.state
            )

        t_read, g = best(read, args.repeat)

        def graph(g=g):
            g._graph = None
            return g.graph

        t_graph, _ = best(graph, args.repeat)
        t_query, _ = best(lambda g=g: queries(g), args.repeat)
        with tempfile.TemporaryDirectory() as tmp:
            t_ml, _ = best(lambda g=g, tmp=tmp: g.write_graphml(Path(tmp) / "g.graphml"), 1)
        total = t_read + t_graph + t_query
        print(
            f"{'moran-' + kind:>16} {g.num_events:>8} "
            + " ".join(f"{x:>8.3f}" for x in (t_read, t_graph, t_query, total, t_ml))
        )
    print("seconds (best of --repeat); target: read + graph + queries < 5 s for 1e5 events")


if __name__ == "__main__":
    main()
