"""The student-teacher model: SGD equivalence, lineage bookkeeping, and the experiment."""

import json

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import xarray as xr
from scipy import stats

import bdprocess as bd
from analysis import teacher_student as experiment
from bdprocess._solver.tau_leap import _EVAL_STREAM
from models import teacher_student as ts


def test_teacher_and_inputs(getkey):
    teacher = ts.make_teacher(getkey())
    assert teacher.w.shape == (ts.TEACHER_WIDTH, ts.D_PAPER)
    np.testing.assert_allclose(jnp.abs(teacher.c) * jnp.linalg.norm(teacher.w, axis=1), 1, 1e-6)
    x = ts.sphere(getkey(), 100, 7)
    np.testing.assert_allclose(jnp.linalg.norm(x, axis=1), 1, rtol=1e-6)
    theta = ts.initial_positions(getkey(), 12, 7, init_c=0.3)
    assert theta.shape == (12, 8)
    assert float(jnp.max(jnp.abs(theta[:, -1]))) <= 0.3


def test_bad_arguments_raise(getkey):
    with pytest.raises(ValueError, match="n must be >= 2"):
        ts.initial_positions(getkey(), 1)
    with pytest.raises(ValueError, match="d must be >= 2"):
        ts.make_teacher(getkey(), d=1)
    pot = ts.make_potential(ts.make_teacher(getkey(), d=4, width=2), getkey(), test_size=8)
    with pytest.raises(ValueError, match="method must be one of"):
        ts.make_process(pot, "sgd")
    with pytest.raises(ValueError, match="alpha = 0"):
        ts.make_process(pot, "gd", alpha=1.0)
    with pytest.raises(ValueError, match="seeds must be >= 2"):
        experiment.Settings(seeds=1)


def _numpy_sgd(theta, teacher, batches, lr_loss):
    """Plain SGD on L_B = 1/2 mean_b (f_n(x_b) - f(x_b))^2, f_n = (1/n) sum_i c_i relu(w_i.x)."""
    theta = np.array(theta, np.float64)
    tw, tc = np.asarray(teacher.w, np.float64), np.asarray(teacher.c, np.float64)
    n = theta.shape[0]
    for x in batches:
        w, c = theta[:, :-1], theta[:, -1]
        pre = x @ w.T
        r = np.maximum(pre, 0) @ c / n - np.maximum(x @ tw.T, 0) @ tc
        m = x.shape[0]
        grad_c = np.maximum(pre, 0).T @ r / (m * n)
        grad_w = ((pre > 0) * c * r[:, None]).T @ x / (m * n)
        theta = theta - lr_loss * np.concatenate([grad_w, grad_c[:, None]], axis=1)
    return theta


def test_alpha_zero_is_plain_sgd_on_the_same_batches(x64):
    """BirthDeath(alpha=0) under Splitting(dt) = SGD with learning rate n dt on L_B."""
    n, d, batch, steps, dt = 6, 5, 7, 25, 0.05
    teacher = ts.make_teacher(jr.key(0), d=d, width=3)
    pot = ts.make_potential(teacher, jr.key(1), batch_size=batch, test_size=16)
    theta0 = ts.initial_positions(jr.key(2), n, d)
    key = jr.key(3)
    sol = bd.simulate(
        ts.make_process(pot, "gd"),
        bd.Population.from_positions(theta0),
        t1=steps * dt,
        solver=bd.Splitting(dt),
        key=key,
    )
    assert int(sol.num_steps) == steps
    # The batches: simulate splits a step key off its key chain; Splitting folds the
    # evaluation key off the step key; the potential draws the batch from it.
    batches = []
    for _ in range(steps):
        key, k_step = jr.split(key)
        batches.append(np.asarray(ts.sphere(jr.fold_in(k_step, _EVAL_STREAM), batch, d)))
    expected = _numpy_sgd(theta0, teacher, batches, lr_loss=n * dt)
    np.testing.assert_allclose(sol.state.theta, expected, rtol=1e-10, atol=1e-12)
    assert np.any(np.abs(expected - np.asarray(theta0)) > 1e-3)  # it did move
    np.testing.assert_array_equal(sol.state.ids, np.arange(n))


@pytest.mark.parametrize("method", ["bd", "bd_prior"])
def test_population_and_lineage_ids_consistent(method):
    """Replay the event log: ids, parents and the id counter all agree with the final state."""
    n, d, steps, dt = 10, 5, 300, 0.05
    teacher = ts.make_teacher(jr.key(0), d=d, width=3)
    pot = ts.make_potential(teacher, jr.key(1), batch_size=8, test_size=16)
    theta0 = ts.initial_positions(jr.key(2), n, d, init_c=3.0)
    sol = bd.simulate(
        ts.make_process(pot, method, alpha=300.0),
        bd.Population.from_positions(theta0),
        t1=steps * dt,
        solver=bd.Splitting(dt),
        key=jr.key(4),
        max_events=20_000,
    )
    log = sol.event_log.to_numpy()
    num = len(log["time"])
    assert num > 50, num  # the test needs many jumps
    assert sol.state.theta.shape == (n, d + 1)
    ids = np.arange(n)
    for t in np.unique(log["time"]):
        at = log["time"] == t
        slot, partner = log["slot"][at], log["partner"][at]
        assert len(np.unique(slot)) == len(slot)  # one new occupant per slot and step
        expected_parent = np.where(partner >= 0, ids[np.maximum(partner, 0)], -1)
        np.testing.assert_array_equal(log["parent_id"][at], expected_parent)
        ids[slot] = log["new_id"][at]
    np.testing.assert_array_equal(sol.state.ids, ids)
    np.testing.assert_array_equal(np.sort(log["new_id"]), np.arange(n, n + num))
    assert int(sol.state.next_id) == n + num
    assert len(np.unique(np.asarray(sol.state.ids))) == n
    if method == "bd_prior":
        deaths = log["kind"] == bd.DEATH
        assert np.all(log["partner"][deaths] == -1) and np.all(log["parent_id"][deaths] == -1)
    else:
        assert np.all(log["partner"] >= 0)


TRACES = []


class CountingTeacherStudent(ts.TeacherStudent):
    """Counts how often the model is traced (a recompilation traces it again)."""

    def units(self, x, theta):
        TRACES.append(1)
        return super().units(x, theta)


def test_ensemble_over_keys_and_alpha_is_dynamic():
    """vmap over keys works, and a new alpha reuses the compiled simulation."""
    teacher = ts.make_teacher(jr.key(0), d=6, width=2)
    data = ts.sphere(jr.key(1), 16, 6)
    pot = CountingTeacherStudent(data, teacher, prior_std=0.02, batch_size=8)
    pop = bd.Population.from_positions(ts.initial_positions(jr.key(2), 8, 6))
    kw = dict(t1=0.5, solver=bd.Splitting(0.05), keys=jr.split(jr.key(3), 3))
    first = bd.ensemble(ts.make_process(pot, "bd", alpha=1.0), pop, **kw)
    assert first.state.theta.shape == (3, 8, 7)
    assert np.all(np.asarray(first.status._value) == 0)
    traced = len(TRACES)
    assert traced > 0
    second = bd.ensemble(ts.make_process(pot, "bd", alpha=50.0), pop, **kw)
    assert len(TRACES) == traced  # no retrace, no recompile
    assert int(second.observables["deaths"].sum()) > int(first.observables["deaths"].sum())


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("teacher-student")
    summary = experiment.run_experiment(out, seeds=3, quick=True, progress=False)
    return out, summary


def test_quick_experiment_writes_result_folder(quick_run):
    out, summary = quick_run
    for name in (
        "summary.json",
        "data.nc",
        "report.html",
        "loss_curves.png",
        "alpha_sweep.png",
        "projection.png",
    ):
        assert (out / name).stat().st_size > 0, name
    on_disk = json.loads((out / "summary.json").read_text())
    assert set(on_disk["runs"]) == {"gd", "bd", "bd_prior"}
    alphas = sorted({e["alpha"] for e in on_disk["alpha_sweep"] if e["method"] != "gd"})
    assert np.log10(alphas[-1] / alphas[0]) >= 4  # at least four decades
    for e in on_disk["alpha_sweep"]:
        assert {"alpha", "method", "final_loss_mean", "final_loss_lo", "final_loss_hi"} <= set(e)
        assert e["final_loss_lo"] <= e["final_loss_mean"] <= e["final_loss_hi"]
    assert on_disk["all_successful"]
    # SGD must actually learn within the quick budget (loss well below its start).
    gd = on_disk["runs"]["gd"]["loss_mean"]
    assert gd[-1] < 0.9 * gd[0]
    html = (out / "report.html").read_text()
    assert summary["claims"][-1]["statement"].split(":")[0] in html


def test_quick_experiment_claims_match_the_data(quick_run):
    """Re-derive every verdict of the report from data.nc with scipy's paired t-test."""
    out, summary = quick_run
    ds = xr.open_dataset(out / "data.nc", engine="h5netcdf")
    gd = ds.gd_loss.values
    for claim in summary["claims"]:
        i = int(np.searchsorted(ds.step.values, claim["step"]))
        for verdict in ("lower", "higher", "no significant difference"):
            for e in claim[verdict]:
                loss = ds.sweep_loss.sel({"method": e["method"], "alpha": e["alpha"]}).values
                diff = loss[:, i] - gd[:, i]
                p_less = stats.ttest_1samp(diff, 0.0, alternative="less").pvalue
                p_greater = stats.ttest_1samp(diff, 0.0, alternative="greater").pvalue
                expected = (
                    "lower"
                    if p_less < 0.025
                    else "higher"
                    if p_greater < 0.025
                    else "no significant difference"
                )
                assert verdict == expected, (claim["step"], e, p_less, p_greater)
    ds.close()


@pytest.mark.slow
def test_quick_claims_replicate_with_fresh_seeds(quick_run, tmp_path):
    """The final-budget claims hold again with an independent teacher, inits and batches."""
    _, summary = quick_run
    again = experiment.run_experiment(tmp_path, seeds=3, quick=True, progress=False, seed=1)
    final, fresh = summary["claims"][-1], again["claims"][-1]
    for verdict in ("lower", "higher"):
        for e in final[verdict]:
            match = [
                f
                for group in ("lower", "higher", "no significant difference")
                for f in fresh[group]
                if (f["method"], f["alpha"]) == (e["method"], e["alpha"])
            ]
            assert np.sign(match[0]["relative_change"]) == np.sign(e["relative_change"]), e
