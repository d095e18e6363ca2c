"""Genealogies of neurons: lineage graphs from event logs, their queries and plots.

Every jump of a population process overwrites one slot: the occupant leaves and a new
individual with a fresh id takes its place, as a copy of the occupant of another slot
(its parent) or as a draw from the prior (a new root). :func:`from_event_log` reads those
records (:class:`bdprocess.EventLog`) into a :class:`Genealogy`: a networkx ``DiGraph`` of
individuals with edges parent -> child, plus NumPy arrays indexed by id that answer the
queries fast (10^5 events: about 0.1 s for the arrays and the queries, about 1 s more for
the networkx graph; ``bench/bench_genealogy.py``):

* :meth:`Genealogy.ancestors` / :meth:`Genealogy.survivor_ancestors`: the ancestry of the
  individuals alive at a time;
* :meth:`Genealogy.lineages`: the number of ancestral lineages of that population against
  time (lineages-through-time);
* :meth:`Genealogy.founders_surviving`: how many founders (the initial individuals) still
  have living descendants, against time;
* :meth:`Genealogy.tmrca`, :meth:`Genealogy.coalescence_time`,
  :meth:`Genealogy.pairwise_coalescence` and :meth:`Genealogy.merger_times`: the time back
  to the most recent common ancestor of a set of individuals or of a pair, and every
  merger of their lineages;
* :meth:`Genealogy.family_sizes` and :meth:`Genealogy.offspring_counts`;
* :meth:`Genealogy.write_graphml`, and the figures :func:`lineages_through_time_figure`,
  :func:`tree_figure` (small runs) and :func:`founder_survival_figure`.

:func:`simulate_genealogies` runs several trajectories and reads their genealogies.

Times back are coalescent times: the ancestral lineages of individuals a and b alive at t
merge at the birth of the first individual on either line of descent below their lowest
common ancestor (the parent goes on living after a copy), so the pairwise coalescence time
is t minus that birth time, not t minus the ancestor's own birth.

In the splitting scheme several jumps share one time stamp and copies read the state at the
start of the step; an exact solver records one jump per time. Both read the same way
because every record names the parent's id. When to use: after any run with ``max_events``
set; a log that overflowed is refused (the genealogy would be incomplete).
"""

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from scipy.sparse.csgraph import breadth_first_order  # noqa: E402

from bdprocess import BIRTH, EventLog, Status  # noqa: E402
from bdprocess._types import ArrayLike  # noqa: E402

EVENT_FIELDS = ("time", "kind", "slot", "partner", "new_id", "parent_id")
"""The per-event fields of :class:`bdprocess.EventLog`."""

__all__ = [
    "EVENT_FIELDS",
    "Genealogy",
    "founder_survival_figure",
    "from_arrays",
    "from_ensemble",
    "from_event_log",
    "lineages_through_time_figure",
    "simulate_genealogies",
    "tree_figure",
]


class Genealogy:
    """The genealogy of one trajectory. Build it with :func:`from_event_log`.

    Attributes (arrays indexed by individual id; ids never used hold -1 / nan):
        graph: ``networkx.DiGraph``, one node per individual, edges parent -> child.
            Node attributes: ``birth``, ``death`` (inf while alive at ``t_end``), ``slot``,
            ``founder`` (root id of the lineage), ``origin`` ("founder", "copy" or
            "prior"), ``clock`` (the clock that caused the birth: "death" of the replaced
            occupant or "birth" of the parent; "" for founders) and, where recorded,
            ``theta_0, theta_1, ...`` (initial parameters of founders) and
            ``final_theta_0, ...`` (final parameters of survivors). Edge attribute ``time``.
        parent, birth, death, slot, root: per-id arrays.
        initial_ids: the founders' ids, slot by slot.
        t0, t_end: the time window covered by the log.
    """

    def __init__(self, *, parent, birth, death, slot, clock, initial_ids, t0, t_end, attrs):
        self.parent = parent
        self.birth = birth
        self.death = death
        self.slot = slot
        self.clock = clock
        self.initial_ids = initial_ids
        self.t0 = float(t0)
        self.t_end = float(t_end)
        self.exists = slot >= 0
        self.root = _roots(parent, self.exists)
        self._attrs = attrs
        # child -> parent edges, for ancestor closures by breadth-first search
        self._child = np.flatnonzero(self.exists & (parent >= 0))
        self._graph: nx.DiGraph | None = None

    # ---- basic facts --------------------------------------------------------------------

    @property
    def n(self) -> int:
        """Population size (number of slots)."""
        return int(self.initial_ids.size)

    @property
    def ids(self) -> np.ndarray:
        """All individuals' ids, in increasing order."""
        return np.flatnonzero(self.exists)

    @property
    def num_events(self) -> int:
        return int(self.ids.size - self.n)

    def _time(self, t) -> float:
        t = self.t_end if t is None else float(t)
        if not self.t0 <= t <= self.t_end:
            raise ValueError(f"t must lie in [t0, t_end] = [{self.t0}, {self.t_end}], got {t}")
        return t

    def alive_at(self, t: float | None = None) -> np.ndarray:
        """Ids alive at time t (default ``t_end``), ordered by slot."""
        return self.occupants([self._time(t)])[0]

    def occupants(self, ts: Sequence[float] | np.ndarray) -> np.ndarray:
        """The id occupying each slot at each time: shape (len(ts), n).

        At an event time the new occupant counts (lives are [birth, death)).
        """
        ts = np.asarray(ts, dtype=float)
        out = np.empty((ts.size, self.n), np.int64)
        ids = self.ids
        order = np.lexsort((self.birth[ids], self.slot[ids]))  # by slot, then birth
        ids = ids[order]
        slots = self.slot[ids]
        starts = np.searchsorted(slots, np.arange(self.n + 1))
        for s in range(self.n):
            seg = ids[starts[s] : starts[s + 1]]
            k = np.searchsorted(self.birth[seg], ts, side="right") - 1
            out[:, s] = seg[np.maximum(k, 0)]
        return out

    # ---- ancestry -----------------------------------------------------------------------

    def ancestors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The given individuals and all their ancestors (sorted ids)."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        self._check_ids(ids)
        hub = self.parent.shape[0]  # an extra node with an edge to every given id
        rows = np.concatenate([self._child, np.full(ids.size, hub)])
        cols = np.concatenate([self.parent[self._child], ids])
        up = sp.csr_matrix((np.ones(rows.size, np.int8), (rows, cols)), shape=(hub + 1, hub + 1))
        order = breadth_first_order(up, hub, directed=True, return_predecessors=False)
        return np.sort(order[order != hub])

    def survivor_ancestors(self, t: float | None = None) -> np.ndarray:
        """All ancestors of the individuals alive at t (the survivors at ``t_end`` by
        default), the survivors included."""
        return self.ancestors(self.alive_at(t))

    def _check_ids(self, ids):
        bad = ids[(ids < 0) | (ids >= self.exists.size)]
        if bad.size == 0:
            bad = ids[~self.exists[ids]]
        if bad.size:
            raise ValueError(f"unknown individual id {int(bad[0])}")

    def _lineage_intervals(self, ids, t):
        """For the ancestry of ``ids`` (alive at t): each ancestral node's interval
        [start, end) during which it carries an ancestral lineage."""
        nodes = self.ancestors(ids)
        start = self.birth[nodes]
        end = np.full(self.exists.size, -np.inf)
        kids = nodes[self.parent[nodes] >= 0]
        np.maximum.at(end, self.parent[kids], self.birth[kids])
        end[ids] = np.inf  # the sampled individuals carry their own lineage up to t
        return nodes, start, end[nodes]

    def lineages(
        self, ts: Sequence[float] | np.ndarray, *, ids=None, t: float | None = None
    ) -> np.ndarray:
        """Number of distinct ancestors, at each time in ``ts`` (<= t), of the individuals
        ``ids`` alive at t (default: everybody alive at t, default ``t_end``).

        This is the lineages-through-time curve of the reduced genealogy: it equals
        ``len(ids)`` at t and decreases by one at every coalescence going back.
        """
        t = self._time(t)
        ids = self.alive_at(t) if ids is None else self._alive_ids(ids, t)
        ts = np.asarray(ts, dtype=float)
        if np.any(ts > t):
            raise ValueError(f"lineage times must be <= t = {t}, got max {ts.max()}")
        _, start, end = self._lineage_intervals(ids, t)
        start, end = np.sort(start), np.sort(end)
        return np.searchsorted(start, ts, side="right") - np.searchsorted(end, ts, side="right")

    def _alive_ids(self, ids, t):
        ids = np.unique(np.asarray(ids, dtype=np.int64).ravel())
        self._check_ids(ids)
        alive = (self.birth[ids] <= t) & (t < self.death[ids])
        if not np.all(alive):
            raise ValueError(f"individual {int(ids[~alive][0])} is not alive at t={t}")
        return ids

    def tmrca(self, ids=None, *, t: float | None = None) -> float | None:
        """Time back from t to the most recent common ancestor of ``ids`` (default: the
        whole population alive at t; t defaults to ``t_end``).

        Returns None when the lineages have not coalesced within the log (more than one
        founder or prior draw is ancestral), 0.0 for a single individual.
        """
        t = self._time(t)
        ids = self.alive_at(t) if ids is None else self._alive_ids(ids, t)
        if ids.size == 1:
            return 0.0
        nodes, start, end = self._lineage_intervals(ids, t)
        if np.sum(self.parent[nodes] < 0) > 1:
            return None
        # L(s) = #(start <= s) - #(end <= s) is non-decreasing on [root birth, t] and equals
        # 1 before the first split; the split is the first breakpoint where L >= 2.
        breaks = np.unique(np.concatenate([start, end[np.isfinite(end)]]))
        s_sorted, e_sorted = np.sort(start), np.sort(end)
        count = np.searchsorted(s_sorted, breaks, side="right") - np.searchsorted(
            e_sorted, breaks, side="right"
        )
        split = breaks[np.argmax(count >= 2)]
        return t - float(split)

    def merger_times(self, ids=None, *, t: float | None = None) -> np.ndarray:
        """Times back from t (ascending) at which the ancestral lineages of ``ids``
        (default: everybody alive at t) merge: ``len(ids) - 1`` values when they have
        coalesced within the log, fewer otherwise. The gaps are the times spent with
        k = len(ids), len(ids) - 1, ... lineages.
        """
        t = self._time(t)
        ids = self.alive_at(t) if ids is None else self._alive_ids(ids, t)
        nodes, start, end = self._lineage_intervals(ids, t)
        # Lineages other than the roots': +1 at each non-root birth, -1 at each end. Every
        # end coincides with a child's birth, so the count only steps up going forward,
        # once per merger.
        start = start[self.parent[nodes] >= 0]
        end = end[np.isfinite(end)]
        breaks = np.unique(np.concatenate([start, end]))
        level = np.searchsorted(np.sort(start), breaks, side="right") - np.searchsorted(
            np.sort(end), breaks, side="right"
        )
        steps = np.diff(np.concatenate([[0], level]))
        return np.sort(t - np.repeat(breaks, steps))

    def coalescence_time(self, a: int, b: int, *, t: float | None = None) -> float | None:
        """Pairwise coalescence time of individuals a and b alive at t (time back from t;
        None if their lines of descent share no ancestor within the log).

        Computed from the two ancestor paths (independent of :meth:`tmrca`): below the
        lowest common ancestor, the earlier-born of the two path nodes marks the split.
        """
        t = self._time(t)
        self._alive_ids([a, b], t)
        if a == b:
            return 0.0
        path_a = self._path(int(a))
        index = {node: k for k, node in enumerate(path_a)}
        below_b = -1
        node = int(b)
        while node >= 0 and node not in index:
            below_b, node = node, int(self.parent[node])
        if node < 0:
            return None
        k = index[node]
        below_a = path_a[k - 1] if k > 0 else -1
        births = [self.birth[x] for x in (below_a, below_b) if x >= 0]
        return t - float(min(births))

    def pairwise_coalescence(self, ids, *, t: float | None = None) -> np.ndarray:
        """Matrix of pairwise coalescence times of ``ids`` (nan where not coalesced)."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        out = np.zeros((ids.size, ids.size))
        for i in range(ids.size):
            for j in range(i + 1, ids.size):
                c = self.coalescence_time(int(ids[i]), int(ids[j]), t=t)
                out[i, j] = out[j, i] = np.nan if c is None else c
        return out

    def _path(self, node: int) -> list[int]:
        path = []
        while node >= 0:
            path.append(node)
            node = int(self.parent[node])
        return path

    # ---- founders and families ----------------------------------------------------------

    def founders_surviving(self, ts: Sequence[float] | np.ndarray) -> np.ndarray:
        """Number of founders (initial individuals) with a descendant alive at each time."""
        roots = self.root[self.occupants(ts)]
        is_founder = np.isin(roots, self.initial_ids)
        roots = np.where(is_founder, roots, -1)
        roots.sort(axis=1)
        distinct = np.concatenate(
            [roots[:, :1] >= 0, (roots[:, 1:] != roots[:, :-1]) & (roots[:, 1:] >= 0)], axis=1
        )
        return distinct.sum(axis=1)

    def family_sizes(self, t: float | None = None) -> np.ndarray:
        """Descendants alive at t (default ``t_end``) of each founder, in slot order of the
        founders (a founder still alive counts itself). Sums to n minus the living
        descendants of prior draws."""
        alive = self.alive_at(t)
        position = np.full(self.exists.size, -1)
        position[self.initial_ids] = np.arange(self.n)
        founder = position[self.root[alive]]
        return np.bincount(founder[founder >= 0], minlength=self.n)

    def offspring_counts(self) -> np.ndarray:
        """Number of children (copies made) of every individual, ordered like :attr:`ids`."""
        kids = self.parent[self.exists & (self.parent >= 0)]
        return np.bincount(kids, minlength=self.exists.size)[self.exists]

    # ---- networkx -----------------------------------------------------------------------

    @property
    def graph(self) -> nx.DiGraph:
        """The genealogy as a networkx DiGraph (built on first use)."""
        if self._graph is None:
            self._graph = self._build_graph()
        return self._graph

    def _build_graph(self) -> nx.DiGraph:
        ids = self.ids
        parent = self.parent[ids]
        origin = np.where(
            np.isin(ids, self.initial_ids), "founder", np.where(parent >= 0, "copy", "prior")
        )
        clock = np.where(
            origin == "founder", "", np.where(self.clock[ids] == BIRTH, "birth", "death")
        )
        columns = {
            "birth": self.birth[ids].tolist(),
            "death": self.death[ids].tolist(),
            "slot": self.slot[ids].tolist(),
            "founder": self.root[ids].tolist(),
            "origin": origin.tolist(),
            "clock": clock.tolist(),
        }
        names = list(columns)
        rows = zip(*columns.values(), strict=True)
        g = nx.DiGraph(t0=self.t0, t_end=self.t_end, n=self.n)
        g.add_nodes_from(
            (i, dict(zip(names, row, strict=True)))
            for i, row in zip(ids.tolist(), rows, strict=True)
        )
        for name, (where, values) in self._attrs.items():
            for node, row in zip(where.tolist(), values.tolist(), strict=True):
                for k, v in enumerate(row):
                    g.nodes[node][f"{name}_{k}"] = v
        kids = ids[parent >= 0]
        g.add_edges_from(
            (p, c, {"time": b})
            for p, c, b in zip(
                self.parent[kids].tolist(), kids.tolist(), self.birth[kids].tolist(), strict=True
            )
        )
        return g

    def write_graphml(self, path) -> None:
        """Write :attr:`graph` as GraphML (read back with ``nx.read_graphml(path,
        node_type=int)``; an infinite death time means alive at ``t_end``)."""
        nx.write_graphml(self.graph, path)


def _roots(parent: np.ndarray, exists: np.ndarray) -> np.ndarray:
    """Root id of every individual by pointer jumping (O(N log depth))."""
    root = np.where(exists & (parent >= 0), parent, np.arange(parent.size))
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


def from_event_log(
    log: EventLog,
    initial_ids,
    *,
    t0: float = 0.0,
    t_end: float | None = None,
    initial_theta=None,
    final_state=None,
) -> Genealogy:
    """The genealogy of one trajectory from its event log.

    Args:
        log: ``Solution.event_log`` of one trajectory (index an ensemble first, or use
            :func:`from_ensemble`).
        initial_ids: the ids of the initial occupants of slots 0..n-1 (``state0.ids``).
        t0: the start time of the run.
        t_end: the end time (t1); default the last event time.
        initial_theta: optional (n, p) initial parameters, stored on the founders.
        final_state: optional final :class:`bdprocess.Population` (``Solution.state``); its
            ids must match the survivors read from the log, and its parameters are stored
            on them.

    Raises:
        ValueError: the log overflowed (the genealogy would be incomplete), is batched, or
            is inconsistent (a parent that is not alive in the named slot, times out of
            order, an id used twice, survivors that do not match ``final_state``).
    """
    if not isinstance(log, EventLog):
        raise ValueError(f"log must be a bdprocess.EventLog, got {type(log).__name__}")
    if np.ndim(log.count):
        raise ValueError(
            f"log holds {np.shape(log.count)} trajectories; pass one (or use from_ensemble)"
        )
    return from_arrays(
        {f: np.asarray(getattr(log, f)) for f in EVENT_FIELDS},
        initial_ids,
        count=int(log.count),
        t0=t0,
        t_end=t_end,
        initial_theta=initial_theta,
        final_ids=None if final_state is None else final_state.ids,
        final_theta=None if final_state is None else final_state.theta,
    )


def from_arrays(
    events: Mapping[str, ArrayLike],
    initial_ids,
    *,
    count: int | None = None,
    t0: float = 0.0,
    t_end: float | None = None,
    initial_theta=None,
    final_ids=None,
    final_theta=None,
) -> Genealogy:
    """The genealogy of one trajectory from stored event-log arrays (e.g. read back from
    a netCDF file): ``events`` maps ``time, kind, slot, partner, new_id, parent_id`` to 1-D
    arrays, of which the first ``count`` entries are events (default: all).

    ``count`` larger than the stored entries means the log was truncated: refused.
    ``final_ids`` (the ids in slots 0..n-1 at ``t_end``) are checked against the log;
    ``final_theta`` is stored on the survivors. Other arguments and errors as
    :func:`from_event_log`.
    """
    missing = [f for f in EVENT_FIELDS if f not in events]
    if missing:
        raise ValueError(f"events lacks the fields {missing}; need {list(EVENT_FIELDS)}")
    arrays = {f: np.asarray(events[f]) for f in EVENT_FIELDS}
    stored = arrays["time"].shape[-1]
    if any(a.ndim != 1 or a.shape[0] != stored for a in arrays.values()):
        shapes = {f: a.shape for f, a in arrays.items()}
        raise ValueError(f"event arrays must be 1-D of one length (one trajectory), got {shapes}")
    count = stored if count is None else int(count)
    if count > stored:
        raise ValueError(
            f"the event log overflowed ({count} events, capacity {stored}): the genealogy "
            f"would be incomplete; rerun with max_events >= {count}"
        )
    ev = {f: a[:count] for f, a in arrays.items()}
    initial_ids = np.asarray(initial_ids, dtype=np.int64).ravel()
    return _build(ev, initial_ids, t0, t_end, initial_theta, final_ids, final_theta)


def simulate_genealogies(
    process,
    state0,
    *,
    keys,
    t1: float,
    solver,
    max_events: int,
    t0: float = 0.0,
    saveat=None,
    progress: bool = False,
) -> tuple[list[Genealogy], dict[str, np.ndarray]]:
    """Simulate one trajectory per key and read each one's genealogy.

    The trajectories run one after another (each a call of the jitted
    :func:`bdprocess.simulate`, compiled once), not under ``jax.vmap``: under vmap an
    exact solver copies the whole event log at every jump of every replica, which for
    genealogies (which need the log) is about ten times slower.

    Returns:
        The genealogies and the observables, name -> array (trajectories, saves).

    Raises:
        ValueError: a log overflowed (raise ``max_events``) or is inconsistent, or a
            trajectory failed (its status message says what to change).
    """
    from tqdm.auto import tqdm

    from bdprocess import simulate

    genealogies, observables = [], []
    for key in tqdm(list(keys), desc="trajectories", disable=not progress):
        sol = simulate(
            process,
            state0,
            t1=t1,
            t0=t0,
            solver=solver,
            key=key,
            saveat=saveat,
            max_events=max_events,
            throw=False,
        )
        if sol.message != Status[Status.successful] and not bool(sol.event_log.overflowed):
            raise ValueError(f"a trajectory failed: {sol.message}")
        genealogies.append(
            from_event_log(
                sol.event_log,
                state0.ids,
                t0=t0,
                t_end=t1,
                initial_theta=state0.theta,
                final_state=sol.state,
            )
        )
        observables.append({k: np.asarray(v) for k, v in sol.observables.items()})
    stacked = {k: np.stack([o[k] for o in observables]) for k in observables[0]}
    return genealogies, stacked


def from_ensemble(sol, initial_ids, **kwargs) -> list[Genealogy]:
    """One :class:`Genealogy` per trajectory of a :func:`bdprocess.ensemble` solution.

    ``initial_ids`` is shared, or has a leading trajectory axis; ``kwargs`` go to
    :func:`from_event_log` (``final_state`` is taken from ``sol.state`` per trajectory
    unless given as None).
    """
    logs = {f: np.asarray(getattr(sol.event_log, f)) for f in EVENT_FIELDS + ("count",)}
    num = logs["count"].shape[0]
    initial_ids = np.asarray(initial_ids)
    states = kwargs.pop("final_state", sol.state)
    out = []
    for r in range(num):
        log = EventLog(**{f: v[r] for f, v in logs.items()})
        ids = initial_ids[r] if initial_ids.ndim == 2 else initial_ids
        state = None if states is None else _index(states, r)
        out.append(from_event_log(log, ids, final_state=state, **kwargs))
    return out


def _index(tree, r):
    import jax

    return jax.tree.map(lambda x: np.asarray(x)[r], tree)


def _build(ev, initial_ids, t0, t_end, initial_theta, final_ids, final_theta) -> Genealogy:
    n = initial_ids.size
    time = ev["time"].astype(float)
    slot_e, partner = ev["slot"].astype(np.int64), ev["partner"].astype(np.int64)
    new_id, parent_id = ev["new_id"].astype(np.int64), ev["parent_id"].astype(np.int64)
    num = time.size
    t_end = float(time[-1]) if t_end is None and num else float(t0 if t_end is None else t_end)

    def fail(k, why):
        raise ValueError(f"event log inconsistent at event {k} (t={time[k]:.6g}): {why}")

    if len(np.unique(initial_ids)) != n or np.any(initial_ids < 0):
        raise ValueError(f"initial_ids must be distinct non-negative ids, got {initial_ids}")
    if num:
        if np.any(np.diff(time) < 0):
            fail(int(np.argmax(np.diff(time) < 0)) + 1, "times decrease")
        if time[0] < t0 or time[-1] > t_end:
            k = 0 if time[0] < t0 else num - 1
            fail(k, f"time outside [t0, t_end] = [{t0}, {t_end}]")
        for name, x in (("slot", slot_e), ("partner", partner)):
            bad = (x < (0 if name == "slot" else -1)) | (x >= n)
            if np.any(bad):
                fail(int(np.argmax(bad)), f"{name} {x[np.argmax(bad)]} not a slot of n={n}")
    all_ids = np.concatenate([initial_ids, new_id])
    if np.any(new_id < 0) or len(np.unique(all_ids)) != all_ids.size:
        k = int(np.argmax(new_id < 0)) if np.any(new_id < 0) else None
        if k is None:
            _, first = np.unique(all_ids, return_index=True)
            dup = np.setdiff1d(np.arange(all_ids.size), first)[0]
            k = int(dup - n)
        fail(k, f"new id {new_id[k]} is negative or already used")

    size = int(all_ids.max()) + 1
    parent = np.full(size, -1, np.int64)
    birth = np.full(size, np.nan)
    death = np.full(size, np.inf)
    slot = np.full(size, -1, np.int64)
    clock = np.full(size, -1, np.int64)
    birth[initial_ids], slot[initial_ids] = t0, np.arange(n)
    birth[new_id], slot[new_id], parent[new_id] = time, slot_e, parent_id
    clock[new_id] = ev["kind"]

    # The occupant each event removes: the previous newcomer in that slot, else the founder.
    order = np.lexsort((np.arange(num), slot_e))
    s_sorted = slot_e[order]
    first = np.ones(num, bool)
    first[1:] = s_sorted[1:] != s_sorted[:-1]
    previous = np.empty(num, np.int64)
    previous[first] = initial_ids[s_sorted[first]]
    previous[~first] = new_id[order][:-1][~first[1:]]
    removed = np.empty(num, np.int64)
    removed[order] = previous
    death[removed] = time

    # Parents: known, born no later, not removed before, and sitting in the partner slot.
    copy = parent_id >= 0
    if np.any(copy != (partner >= 0)):
        fail(int(np.argmax(copy != (partner >= 0))), "parent id and partner slot disagree")
    p = parent_id[copy]
    known = (p < size) & (slot[np.minimum(p, size - 1)] >= 0)
    ok = known.copy()
    pk = p[known]
    tk = time[copy][known]
    ok[known] = (birth[pk] <= tk) & (death[pk] >= tk) & (slot[pk] == partner[copy][known])
    if not np.all(ok):
        k = int(np.flatnonzero(copy)[np.argmax(~ok)])
        fail(k, f"parent {parent_id[k]} was not alive in slot {partner[k]}")

    attrs = {}
    if initial_theta is not None:
        theta = np.asarray(initial_theta, dtype=float)
        if theta.shape[:1] != (n,) or theta.ndim != 2:
            raise ValueError(f"initial_theta must have shape ({n}, p), got {theta.shape}")
        attrs["theta"] = (initial_ids, theta)
    g = Genealogy(
        parent=parent,
        birth=birth,
        death=death,
        slot=slot,
        clock=clock,
        initial_ids=initial_ids,
        t0=t0,
        t_end=t_end,
        attrs=attrs,
    )
    alive = g.alive_at(t_end)
    if final_ids is not None:
        ids = np.asarray(final_ids).ravel()
        if ids.shape != alive.shape or not np.array_equal(ids, alive):
            k = int(np.argmax(ids != alive)) if ids.shape == alive.shape else 0
            raise ValueError(
                f"event log inconsistent with final_state: slot {k} holds id "
                f"{ids[k] if ids.size > k else None}, the log says {alive[k]}"
            )
    if final_theta is not None:
        theta = np.asarray(final_theta, dtype=float)
        if theta.ndim != 2 or theta.shape[0] != n:
            raise ValueError(f"final_theta must have shape ({n}, p), got {theta.shape}")
        attrs["final_theta"] = (alive, theta)
    return g


# ---- figures --------------------------------------------------------------------------


def lineages_through_time_figure(
    genealogies: Sequence[Genealogy], *, num: int = 200, theory: Any = None
):
    """Lineages-through-time of one or more trajectories: the ancestral lineages of the
    final population (back from ``t_end``) and the founders still represented (forward),
    on a log scale; the mean over trajectories in bold. ``theory``: optional callable
    s -> expected lineage count at time back s, drawn dashed."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for g in genealogies:
        ts = np.linspace(g.t0, g.t_end, num)
        axes[0].step(g.t_end - ts, g.lineages(ts), where="post", color="C0", alpha=0.25, lw=0.8)
        axes[1].step(ts, g.founders_surviving(ts), where="post", color="C1", alpha=0.25, lw=0.8)
    if genealogies:
        g0 = genealogies[0]
        if all(g.t0 == g0.t0 and g.t_end == g0.t_end for g in genealogies):
            ts = np.linspace(g0.t0, g0.t_end, num)
            lin = np.mean([g.lineages(ts) for g in genealogies], axis=0)
            fnd = np.mean([g.founders_surviving(ts) for g in genealogies], axis=0)
            axes[0].plot(g0.t_end - ts, lin, color="C0", lw=2, label="mean")
            axes[1].plot(ts, fnd, color="C1", lw=2, label="mean")
            if theory is not None:
                back = g0.t_end - ts
                axes[0].plot(back, theory(back), "k--", lw=1.2, label="theory")
            axes[0].legend()
            axes[1].legend()
    axes[0].set(xlabel="time back from the end", ylabel="ancestral lineages", yscale="log")
    axes[0].set_title("lineages through time (reduced genealogy)")
    axes[1].set(xlabel="time", ylabel="founders with living descendants", yscale="log")
    axes[1].set_title("surviving founder lineages")
    fig.tight_layout()
    return fig


def tree_figure(g: Genealogy, *, t_from: float | None = None, max_individuals: int = 5000, ax=None):
    """The genealogy drawn in slot-time coordinates: each individual is a horizontal
    segment in its slot from birth to death, each copy a vertical tick from the parent's
    slot; the ancestral lineages of the final population (the coalescent tree) are drawn
    bold, coloured by founder. ``t_from`` (default ``t0``) starts the drawing later, e.g.
    a little before the most recent common ancestor.

    Raises:
        ValueError: more than ``max_individuals`` individuals in the window (the drawing
            is for small runs; use :func:`lineages_through_time_figure` for large ones).
    """
    t_from = g.t0 if t_from is None else g._time(t_from)
    ids = g.ids
    ids = ids[g.death[ids] > t_from]
    if ids.size > max_individuals:
        raise ValueError(
            f"{ids.size} individuals are too many to draw (max_individuals={max_individuals})"
        )
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, max(3.0, 0.18 * g.n + 1.5)))
    anc, start, stop = g._lineage_intervals(g.alive_at(), g.t_end)
    stop = np.minimum(stop, g.t_end)
    founders = {int(f): k for k, f in enumerate(g.initial_ids)}
    palette = [c for k, c in enumerate(plt.get_cmap("tab10").colors) if k != 7]  # no grey

    def colour(i):
        k = founders.get(int(g.root[i]))
        return palette[k % len(palette)] if k is not None else (0.3, 0.3, 0.3)

    end = np.minimum(g.death[ids], g.t_end)
    begin = np.maximum(g.birth[ids], t_from)
    segments = [[(b, g.slot[i]), (e, g.slot[i])] for i, b, e in zip(ids, begin, end, strict=True)]
    ax.add_collection(LineCollection(segments, colors="0.82", linewidths=0.8))
    keep = stop > t_from
    anc, start, stop = anc[keep], np.maximum(start[keep], t_from), stop[keep]
    if anc.size:
        segs = [[(b, g.slot[i]), (e, g.slot[i])] for i, b, e in zip(anc, start, stop, strict=True)]
        ax.add_collection(LineCollection(segs, colors=[colour(i) for i in anc], linewidths=2))
        kids = anc[(g.parent[anc] >= 0) & (g.birth[anc] >= t_from)]
        ticks = [[(g.birth[i], g.slot[g.parent[i]]), (g.birth[i], g.slot[i])] for i in kids]
        ax.add_collection(LineCollection(ticks, colors=[colour(i) for i in kids], linewidths=1))
    ax.set(xlim=(t_from, g.t_end), ylim=(-1, g.n), xlabel="time", ylabel="slot")
    ax.set_title("genealogy (bold: ancestry of the final population)")
    return fig if fig is not None else ax.figure


def founder_survival_figure(
    g: Genealogy | Sequence[Genealogy],
    initial_theta,
    *,
    t: float | None = None,
    names: tuple[str, str] = ("initial y", "initial c"),
):
    """Which founders' lineages survive, against their initial parameters.

    Each founder is a point at its initial (theta_0, theta_1), sized by the number of its
    descendants alive at t (default ``t_end``); founders without living descendants are
    grey crosses. Several trajectories (a sequence of genealogies, with ``initial_theta``
    of shape (trajectories, n, p)) are pooled. Returns ``(figure, explanation)``, the
    explanation a short paragraph with the numbers of this run, for a report.

    Raises:
        ValueError: ``initial_theta`` does not have shape (n, p), or (trajectories, n, p)
            for a sequence, with p >= 2.
    """
    gs = [g] if isinstance(g, Genealogy) else list(g)
    theta = np.asarray(initial_theta, dtype=float)
    if isinstance(g, Genealogy):
        theta = theta[None]
    n = gs[0].n
    if theta.shape[:2] != (len(gs), n) or theta.ndim != 3 or theta.shape[2] < 2:
        want = f"({n}, p >= 2)" if isinstance(g, Genealogy) else f"({len(gs)}, {n}, p >= 2)"
        got = np.shape(initial_theta)
        raise ValueError(f"initial_theta must have shape {want}, got {got}")
    t = gs[0]._time(t)
    sizes = np.concatenate([x.family_sizes(t) for x in gs])
    theta = theta.reshape(-1, theta.shape[2])
    alive = sizes > 0
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.9), width_ratios=(3, 2))
    ax.scatter(theta[~alive, 0], theta[~alive, 1], marker="x", c="0.6", s=14, label="extinct")
    sc = ax.scatter(
        theta[alive, 0],
        theta[alive, 1],
        s=12 + 240 * sizes[alive] / max(sizes.max(), 1),
        c=sizes[alive],
        cmap="viridis",
        edgecolors="k",
        linewidths=0.4,
        label="surviving",
    )
    fig.colorbar(sc, ax=ax, label=f"descendants alive at t={t:g}")
    ax.set(xlabel=names[0], ylabel=names[1])
    ax.legend(loc="best", fontsize=8)
    ax.set_title("founders whose lineages survive")
    bins = np.histogram_bin_edges(theta[:, 0], bins=min(20, max(4, sizes.size // 10)))
    bx.hist(theta[:, 0], bins=bins, color="0.8", label="all founders")
    bx.hist(theta[:, 0], bins=bins, weights=sizes, color="C0", alpha=0.7, label="descendants")
    bx.set(xlabel=names[0], ylabel="count")
    bx.legend(fontsize=8)
    fig.tight_layout()

    k = int(alive.sum())
    top = np.argsort(sizes, kind="stable")[::-1][: min(3, k)]
    runs = f" in {len(gs)} runs" if len(gs) > 1 else ""
    jumps = sum(x.num_events for x in gs)
    top_text = "; ".join(
        f"{sizes[i]} descendants from {names[0]} = {theta[i, 0]:.2f}, "
        f"{names[1]} = {theta[i, 1]:.2f}"
        for i in top
    )
    explanation = (
        f"Under birth-death, a neuron whose potential V is above the population mean is "
        f"killed and replaced by a copy of another, while one below the mean is cloned; "
        f"lineages of well-placed neurons therefore take over. Of the {sizes.size} initial "
        f"neurons{runs}, {k} still have descendants at t={t:g} ({jumps} jumps in all); the largest "
        f"families are {top_text}. Founders are shown at their initial parameters: where the "
        f"surviving ones cluster is where the birth-death dynamics found the useful neurons, "
        f"and the right panel compares the initial spread of {names[0]} with the spread of "
        f"the descendants alive at the end."
    )
    return fig, explanation
