"""Genealogies from event logs: exact answers on a hand-made log, graph invariants on
engine runs (splitting and exact), GraphML, figures, bad input and the command line."""

import json

import jax.numpy as jnp
import jax.random as jr
import networkx as nx
import numpy as np
import pytest

import bdprocess as bd
from analysis import genealogy as gen
from analysis.cli import main
from models import gaussian_mixture as gm
from models import moran

D, B = bd.DEATH, bd.BIRTH

# A hand-made log, n = 3, founders 0, 1, 2 in slots 0, 1, 2, t0 = 0, t_end = 10:
#   t=1  death of 2 (slot 2) refilled by a copy of 0           -> id 3, parent 0
#   t=2  birth by 3 (slot 2) removes 1 (slot 1)                -> id 4, parent 3
#   t=4  death of 0 (slot 0) refilled by a copy of 4 (slot 1)  -> id 5, parent 4
#   t=4  same step: birth by slot 0 (pre-step occupant 0) removes 4 (slot 1) -> id 6, parent 0
#   t=6  death of 3 (slot 2) refilled from the prior           -> id 7, no parent
# Survivors at t=10: 5, 6, 7.
HAND = dict(
    time=[1.0, 2.0, 4.0, 4.0, 6.0],
    kind=[D, B, D, B, D],
    slot=[2, 1, 0, 1, 2],
    partner=[0, 2, 1, 0, -1],
    new_id=[3, 4, 5, 6, 7],
    parent_id=[0, 3, 4, 0, -1],
)


def hand_log(count=None, **changes):
    fields = {k: list(v) for k, v in HAND.items()}
    fields.update(changes)
    pad = {"time": np.inf}
    arrays = {
        k: jnp.asarray(np.array(v + [pad.get(k, -1)]), jnp.float32 if k == "time" else jnp.int32)
        for k, v in fields.items()
    }
    return bd.EventLog(**arrays, count=jnp.asarray(5 if count is None else count, jnp.int32))


@pytest.fixture
def hand():
    return gen.from_event_log(hand_log(), [0, 1, 2], t_end=10.0)


def test_hand_log_lives(hand):
    assert list(hand.ids) == list(range(8))
    np.testing.assert_array_equal(hand.parent[hand.ids], [-1, -1, -1, 0, 3, 4, 0, -1])
    np.testing.assert_array_equal(hand.birth[hand.ids], [0, 0, 0, 1, 2, 4, 4, 6])
    np.testing.assert_array_equal(hand.death[hand.ids], [4, 2, 1, 6, 4, np.inf, np.inf, np.inf])
    np.testing.assert_array_equal(hand.slot[hand.ids], [0, 1, 2, 2, 1, 0, 1, 2])
    np.testing.assert_array_equal(hand.alive_at(), [5, 6, 7])
    np.testing.assert_array_equal(hand.alive_at(3.0), [0, 4, 3])
    np.testing.assert_array_equal(hand.alive_at(4.0), [5, 6, 3])
    np.testing.assert_array_equal(hand.root[hand.ids], [0, 1, 2, 0, 0, 0, 0, 7])


def test_hand_log_queries(hand):
    np.testing.assert_array_equal(hand.survivor_ancestors(), [0, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(hand.ancestors([4]), [0, 3, 4])
    # Lineage of 5: 0 on [0,1), 3 on [1,2), 4 on [2,4), 5 after; lineage of 6: 0, then 6.
    assert hand.coalescence_time(5, 6) == 9.0
    assert hand.tmrca([5, 6]) == 9.0
    assert hand.coalescence_time(5, 7) is None
    assert hand.tmrca() is None  # founder 0 and a prior draw are both ancestral
    assert hand.coalescence_time(3, 4, t=3.0) == 1.0  # 3 is 4's parent: split at 4's birth
    np.testing.assert_array_equal(hand.merger_times(), [9.0])
    ts = [0.5, 1.5, 3.0, 5.0, 6.5, 10.0]
    np.testing.assert_array_equal(hand.lineages(ts), [1, 2, 2, 2, 3, 3])
    np.testing.assert_array_equal(hand.founders_surviving([0, 1.5, 3, 5, 7]), [3, 2, 1, 1, 1])
    np.testing.assert_array_equal(hand.family_sizes(), [2, 0, 0])
    np.testing.assert_array_equal(hand.family_sizes(1.5), [2, 1, 0])
    np.testing.assert_array_equal(hand.offspring_counts(), [2, 0, 0, 1, 1, 0, 0, 0])
    pair = hand.pairwise_coalescence([5, 6, 7])
    np.testing.assert_array_equal(pair[0, 1:], [9.0, np.nan])


def test_hand_log_graph(hand):
    g = hand.graph
    assert sorted(g.edges) == [(0, 3), (0, 6), (3, 4), (4, 5)]
    assert g.nodes[7]["origin"] == "prior" and g.nodes[0]["origin"] == "founder"
    assert g.nodes[4]["clock"] == "birth" and g.nodes[5]["clock"] == "death"
    assert g.edges[0, 6]["time"] == 4.0


def test_bad_queries(hand):
    with pytest.raises(ValueError, match="not alive"):
        hand.tmrca([0, 5])
    with pytest.raises(ValueError, match="unknown individual"):
        hand.ancestors([42])
    with pytest.raises(ValueError, match=r"t must lie in \[t0, t_end\]"):
        hand.alive_at(11.0)


def test_from_arrays_stored_logs():
    """Logs stored as plain arrays (trimmed, with the event count kept) read the same."""
    arrays = {k: np.asarray(v) for k, v in HAND.items()}
    g = gen.from_arrays(arrays, [0, 1, 2], count=5, t_end=10.0, final_ids=[5, 6, 7])
    assert g.coalescence_time(5, 6) == 9.0 and list(g.alive_at()) == [5, 6, 7]
    padded = {k: np.concatenate([v, [-1, -1]]) for k, v in arrays.items()}
    assert gen.from_arrays(padded, [0, 1, 2], count=5, t_end=10.0).num_events == 5
    with pytest.raises(ValueError, match="genealogy would be incomplete"):
        gen.from_arrays(arrays, [0, 1, 2], count=9, t_end=10.0)
    with pytest.raises(ValueError, match="inconsistent with final_state"):
        gen.from_arrays(arrays, [0, 1, 2], t_end=10.0, final_ids=[5, 7, 6])
    with pytest.raises(ValueError, match="lacks the fields"):
        gen.from_arrays({"time": arrays["time"]}, [0, 1, 2])


def test_overflowed_log_is_refused():
    with pytest.raises(ValueError, match="genealogy would be incomplete"):
        gen.from_event_log(hand_log(count=7), [0, 1, 2], t_end=10.0)


def test_overflow_from_a_real_run():
    s0 = moran.initial_state(5)
    sol = bd.simulate(
        moran.Moran(),
        s0,
        t1=20.0,
        solver=bd.Splitting(0.05),
        key=jr.key(0),
        max_events=10,
        throw=False,
    )
    assert bool(sol.event_log.overflowed)
    with pytest.raises(ValueError, match="genealogy would be incomplete.*max_events"):
        gen.from_event_log(sol.event_log, s0.ids, t_end=20.0)
    with pytest.raises(ValueError, match="genealogy would be incomplete"):
        gen.simulate_genealogies(
            moran.Moran(),
            s0,
            keys=[jr.key(0)],
            t1=20.0,
            solver=bd.Splitting(0.05),
            max_events=10,
        )


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"parent_id": [0, 2, 4, 0, -1]}, "parent 2 was not alive in slot 2"),
        ({"partner": [0, 2, 1, 2, -1]}, "parent 0 was not alive in slot 2"),
        ({"time": [1.0, 2.0, 4.0, 3.0, 6.0]}, "times decrease"),
        ({"new_id": [3, 4, 5, 5, 7]}, "already used"),
        ({"slot": [2, 1, 0, 3, 2]}, "slot 3 not a slot"),
        ({"partner": [0, 2, 1, 0, 1]}, "parent id and partner slot disagree"),
    ],
)
def test_inconsistent_logs_are_refused(changes, match):
    with pytest.raises(ValueError, match=match):
        gen.from_event_log(hand_log(**changes), [0, 1, 2], t_end=10.0)


def test_batched_log_and_wrong_final_state_are_refused():
    s0 = moran.initial_state(4)
    sol = bd.ensemble(
        moran.Moran(),
        s0,
        keys=jr.split(jr.key(1), 2),
        t1=3.0,
        solver=bd.Splitting(0.1),
        max_events=200,
    )
    with pytest.raises(ValueError, match="trajectories; pass one"):
        gen.from_event_log(sol.event_log, s0.ids, t_end=3.0)
    one = gen.from_ensemble(sol, s0.ids, t_end=3.0)
    assert len(one) == 2
    with pytest.raises(ValueError, match="inconsistent with final_state"):
        gen.from_event_log(
            hand_log(),
            [0, 1, 2],
            t_end=10.0,
            final_state=s0.__class__(
                theta=jnp.zeros((3, 1)), ids=jnp.array([5, 7, 6]), next_id=jnp.array(8)
            ),
        )


def check_invariants(g: gen.Genealogy, final_state=None):
    """Graph invariants, checked through networkx (independently of the arrays)."""
    G = g.graph
    founders = set(g.initial_ids.tolist())
    for node, data in G.nodes(data=True):
        preds = list(G.predecessors(node))
        if node in founders:
            assert preds == [] and data["birth"] == g.t0
        elif data["origin"] == "prior":
            assert preds == []
        else:
            assert len(preds) == 1  # every copy has exactly one parent
            p = G.nodes[preds[0]]
            assert p["birth"] < data["birth"] <= p["death"]  # times increase along edges
        assert data["birth"] < data["death"]
    assert nx.is_forest(G.to_undirected()) and nx.is_directed_acyclic_graph(G)
    # slot occupancy: at every time exactly one individual per slot
    alive = [v for v, d in G.nodes(data=True) if d["death"] == np.inf]
    assert sorted(G.nodes[v]["slot"] for v in alive) == list(range(g.n))
    if final_state is not None:
        by_slot = {G.nodes[v]["slot"]: v for v in alive}
        assert [by_slot[s] for s in range(g.n)] == np.asarray(final_state.ids).tolist()


def test_birth_death_clone_ancestry_matches_positions():
    """Without transport a clone keeps its parent's theta forever, so each survivor's
    final theta must be the initial theta of the founder the genealogy names."""
    n = 40
    theta0 = gm.initial_positions(jr.key(3), n)
    s0 = bd.Population.from_positions(theta0)
    proc = bd.BirthDeath(gm.GaussianMixture(), 300.0, centred=False, transport=False)
    for solver in (bd.Splitting(0.02), bd.Direct()):
        sol = bd.simulate(proc, s0, t1=1.0, solver=solver, key=jr.key(4), max_events=20_000)
        g = gen.from_event_log(sol.event_log, s0.ids, t_end=1.0, final_state=sol.state)
        assert g.num_events > 2 * n
        assert {"death", "birth"} <= {d["clock"] for _, d in g.graph.nodes(data=True)}
        check_invariants(g, sol.state)
        founder_slot = np.searchsorted(g.initial_ids, g.root[g.alive_at()])
        np.testing.assert_array_equal(np.asarray(sol.state.theta), np.asarray(theta0)[founder_slot])
        assert g.family_sizes().sum() == n
        anc = g.survivor_ancestors()
        assert set(g.alive_at()) <= set(anc) and all(
            g.parent[a] in anc for a in anc if g.parent[a] >= 0
        )


def test_birth_death_prior_rebirth_roots():
    """Prior draws start new roots. Without transport a prior draw keeps c = 0 (the prior
    has c = 0) and so do its copies, while founders' descendants keep the founder's
    theta: the final positions tell independently whom each survivor descends from."""
    n = 30
    theta0 = gm.initial_positions(jr.key(5), n)
    s0 = bd.Population.from_positions(theta0)
    proc = bd.BirthDeath(
        gm.GaussianMixture(), 300.0, centred=False, rebirth="prior", transport=False
    )
    sol = bd.simulate(proc, s0, t1=0.5, solver=bd.Splitting(0.01), key=jr.key(6), max_events=20_000)
    g = gen.from_event_log(sol.event_log, s0.ids, t_end=0.5, final_state=sol.state)
    check_invariants(g, sol.state)
    from_prior = ~np.isin(g.root[g.alive_at()], g.initial_ids)
    assert 0 < from_prior.sum() < n
    theta = np.asarray(sol.state.theta)
    np.testing.assert_array_equal(theta[:, 1] == 0, from_prior)
    founder_slot = np.searchsorted(g.initial_ids, g.root[g.alive_at()][~from_prior])
    np.testing.assert_array_equal(theta[~from_prior], np.asarray(theta0)[founder_slot])
    assert g.family_sizes().sum() == n - from_prior.sum()
    assert g.founders_surviving([0.5])[0] == np.count_nonzero(g.family_sizes())


def test_moran_genealogy_agrees_with_engine_labels():
    """Moran theta is the founder label copied by the engine: the genealogy's founders
    must match it at every save time, and its family sizes must match the label counts."""
    n = 12
    s0 = moran.initial_state(n)
    ts = jnp.linspace(0, 40, 21)
    for solver in (bd.Direct(), bd.Splitting(0.05)):
        gs, obs = gen.simulate_genealogies(
            moran.Moran(),
            s0,
            keys=jr.split(jr.key(7), 3),
            t1=40.0,
            solver=solver,
            saveat=ts,
            max_events=5000,
        )
        for g, founders in zip(gs, obs["founders"], strict=True):
            check_invariants(g)
            np.testing.assert_array_equal(g.founders_surviving(np.asarray(ts)), founders)
            labels = np.asarray(g._attrs["final_theta"][1][:, 0]).astype(int)
            np.testing.assert_array_equal(g.family_sizes(), np.bincount(labels, minlength=n))


def test_tmrca_pairwise_and_lineages_agree():
    """Three independent routes: the ancestor-interval count (tmrca), the two ancestor
    paths (coalescence_time) and the merger list must tell the same story."""
    n = 10
    s0 = moran.initial_state(n)
    gs, _ = gen.simulate_genealogies(
        moran.Moran(),
        s0,
        keys=jr.split(jr.key(8), 4),
        t1=60.0,
        solver=bd.Direct(),
        max_events=2000,
    )
    for g in gs:
        alive = g.alive_at()
        pair = g.pairwise_coalescence(alive)
        tm = g.tmrca()
        merg = g.merger_times()
        if tm is None:
            assert np.isnan(pair).any() and merg.size < n - 1
            continue
        assert np.nanmax(pair) == pytest.approx(tm)
        assert merg.size == n - 1 and merg[-1] == pytest.approx(tm)
        # lineages count back: k lineages between consecutive mergers
        back = np.concatenate([[0.0], merg])
        mids = g.t_end - 0.5 * (back[1:] + back[:-1])
        np.testing.assert_array_equal(g.lineages(mids), np.arange(n, 1, -1))
        for a, b in [(alive[0], alive[1]), (alive[2], alive[5])]:
            assert g.tmrca([a, b]) == pytest.approx(g.coalescence_time(a, b))


def test_graphml_round_trip(hand, tmp_path):
    path = tmp_path / "g.graphml"
    g = gen.from_event_log(
        hand_log(), [0, 1, 2], t_end=10.0, initial_theta=np.array([[0.5, 1.0], [1.5, 2], [3, 4]])
    )
    g.write_graphml(path)
    back = nx.read_graphml(path, node_type=int)
    assert sorted(back.edges) == sorted(g.graph.edges)
    assert back.nodes[5]["death"] == np.inf and back.nodes[5]["birth"] == 4.0
    assert back.nodes[1]["theta_1"] == 2.0 and back.nodes[6]["founder"] == 0
    assert back.graph["n"] == 3


def test_figures(hand):
    import matplotlib.pyplot as plt

    fig = gen.lineages_through_time_figure([hand, hand], theory=lambda s: 1 + 0 * s)
    assert len(fig.axes) == 2
    fig2 = gen.tree_figure(hand)
    with pytest.raises(ValueError, match="too many to draw"):
        gen.tree_figure(hand, max_individuals=5)
    theta = np.array([[-1.0, 0.5], [0.0, 1.0], [1.0, -1.0]])
    fig3, text = gen.founder_survival_figure(hand, theta)
    assert (
        "1 still have descendants" in text
        and "2 descendants from initial y = -1.00, initial c = 0.50" in text
    )
    with pytest.raises(ValueError, match="initial_theta must have shape"):
        gen.founder_survival_figure(hand, theta[:, :1])
    # pooled over runs: the same run twice doubles every family
    fig4, text = gen.founder_survival_figure([hand, hand], np.stack([theta, theta]))
    assert "Of the 6 initial neurons in 2 runs, 2 still have descendants" in text
    with pytest.raises(ValueError, match=r"shape \(2, 3, p >= 2\)"):
        gen.founder_survival_figure([hand, hand], theta)
    plt.close(fig4)
    for f in (fig, fig2, fig3):
        plt.close(f)


def test_cli_moran(tmp_path, capsys):
    out = tmp_path / "moran"
    main(
        [
            "genealogy",
            "--model",
            "moran",
            "--param",
            "n=6",
            "--trajectories",
            "3",
            "--seed",
            "1",
            "--out",
            str(out),
        ]
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == "moran" and summary["n"] == 6 and summary["trajectories"] == 3
    assert len(summary["tmrca"]) == 3 and len(summary["pairwise_coalescence"]) == 3
    # default run length: coalesced (P(not) < 1e-6 for n = 6 at t1 = 10 n)
    assert all(v is not None and v > 0 for v in summary["tmrca"])
    assert all(
        p <= t for p, t in zip(summary["pairwise_coalescence"], summary["tmrca"], strict=True)
    )
    fs = summary["founders_surviving"]
    assert len(fs["t"]) == len(fs["mean"]) and fs["mean"][0] == 6 and fs["mean"][-1] == 1
    back = nx.read_graphml(out / "genealogy_0.graphml", node_type=int)
    assert back.number_of_nodes() > 6
    assert (out / "lineages.png").exists() and (out / "tree.png").exists()


def test_cli_gaussian_mixture(tmp_path):
    out = tmp_path / "gm"
    main(
        [
            "genealogy",
            "--model",
            "gaussian_mixture",
            "--param",
            "n=20",
            "--param",
            "t1=2",
            "--trajectories",
            "2",
            "--out",
            str(out),
        ]
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == "gaussian_mixture" and summary["n"] == 20
    assert len(summary["tmrca"]) == 2
    assert (out / "founders.png").exists()


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--model", "moran", "--param", "n=1"], "must be >= 2"),
        (["--model", "moran", "--param", "m=3"], "unknown parameter 'm'"),
        (["--model", "moran", "--param", "n3"], "KEY=VALUE"),
        (["--model", "moran", "--trajectories", "0"], "trajectories"),
        (["--model", "nope"], "nope"),
    ],
)
def test_cli_bad_input(argv, match, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["genealogy", *argv, "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1
