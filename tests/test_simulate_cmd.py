"""``bdprocess simulate``: the result folder, its numbers against exact answers, statuses
and one-line errors."""

import dataclasses
import inspect
import json

import equinox as eqx
import numpy as np
import pytest
import xarray as xr

import bdprocess as bd
from analysis import simulate_cmd
from analysis.cli import main
from models import fixed_potential as fp
from models import reactions as rx


def _run(out, *args):
    main(["simulate", *args, "--no-progress", "--out", str(out)])
    summary = json.loads((out / "summary.json").read_text())
    return summary, xr.open_dataset(out / "data.nc", engine="h5netcdf")


def test_birth_death_direct_summary_matches_the_exact_moments(tmp_path):
    """The defaults: birth-death (x0 = 100, birth 0.1, death 0.11) with Direct, 1000
    trajectories on t = 0..50. The summary's mean and variance pass the DSMTS scores
    against the exact moments, and the jump counts balance the counts of X."""
    out = tmp_path / "bd"
    summary, data = _run(out, "--model", "birth_death", "--solver", "direct", "--seed", "3")
    assert {
        "model",
        "solver",
        "trajectories",
        "t",
        "observables",
        "events_total",
        "status",
    } <= set(summary)
    assert (summary["model"], summary["solver"], summary["trajectories"]) == (
        "birth_death",
        "direct",
        1000,
    )
    ts = np.asarray(summary["t"])
    np.testing.assert_array_equal(ts, np.arange(51.0))
    assert summary["status"] == "success"
    assert set(summary["observables"]) == {"X"}
    mom = summary["observables"]["X"]
    assert set(mom) == {"mean", "var"}
    mean, var = np.asarray(mom["mean"]), np.asarray(mom["var"])
    assert mean.shape == var.shape == (51,)

    exact_mean, exact_var = rx.birth_death_moments(ts, x0=100, birth=0.1, death=0.11)
    assert mean[0] == 100 and var[0] == 0
    n = summary["trajectories"]
    z = np.sqrt(n) * (mean[1:] - exact_mean[1:]) / np.sqrt(exact_var[1:])
    y = np.sqrt(n / 2) * (var[1:] / exact_var[1:] - 1)
    assert np.max(np.abs(z)) < 3, z
    assert np.max(np.abs(y)) < 5, y

    # data.nc holds every trajectory, (trajectory, time).
    assert data["X"].dims == ("trajectory", "time") and data["X"].shape == (1000, 51)
    np.testing.assert_allclose(data["X"].mean("trajectory"), mean, rtol=1e-12)
    np.testing.assert_array_equal(data["status"], bd.Status.successful._value)
    births = data["events_birth"].values.sum(1)
    deaths = data["events_death"].values.sum(1)
    np.testing.assert_array_equal(data["X"].values[:, -1] - 100, births - deaths)
    assert summary["events_total"] == births.sum() + deaths.sum()
    # E[jumps on [0, T]] = (birth + death) x0 (e^{rT} - 1) / r, r = birth - death.
    expected = 0.21 * 100 * np.expm1(-0.01 * 50) / -0.01
    jumps = births + deaths
    assert abs(jumps.mean() - expected) < 4 * jumps.std() / np.sqrt(n)

    assert (out / "observables.png").stat().st_size > 0
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "http" not in html


def test_dimerisation_species_are_p_and_p2(tmp_path):
    """Adaptive tau-leaping on 2P <-> P2: P + 2 P2 = p0 on every trajectory, and the mean
    of P agrees with the master equation within Monte-Carlo error."""
    out = tmp_path / "dim"
    args = ["--model", "dimerisation", "--solver", "adaptive-tau", "--param", "p0=60"]
    args += ["--trajectories", "400", "--t1", "20", "--save-every", "5", "--seed", "1"]
    summary, data = _run(out, *args)
    assert set(summary["observables"]) == {"P", "P2"}
    assert summary["status"] == "success"
    np.testing.assert_array_equal(data["P"] + 2 * data["P2"], 60)
    ts = np.asarray(summary["t"])
    mean, var = rx.dimerisation_moments(ts[1:], p0=60)
    got = np.asarray(summary["observables"]["P"]["mean"])[1:]
    z = np.sqrt(400) * (got - mean) / np.sqrt(var)
    assert np.max(np.abs(z)) < 3, z


@pytest.mark.parametrize("solver", ["splitting", "extrande"])
def test_gaussian_mixture_runs_with_splitting_and_extrande(tmp_path, solver):
    out = tmp_path / solver
    args = ["--model", "gaussian_mixture", "--solver", solver, "--param", "n=20"]
    args += ["--trajectories", "4", "--t1", "1", "--save-every", "0.25"]
    summary, data = _run(out, *args)
    assert summary["status"] == "success"
    assert set(summary["observables"]) == {"energy", "vbar"}
    energy = np.asarray(summary["observables"]["energy"]["mean"])
    assert energy.shape == (5,)
    # The loss falls (gradient flow plus birth-death) from about C_f = 0.069.
    assert 0.03 < energy[0] < 0.15 and energy[-1] < 0.8 * energy[0]
    jumps = data["events_deaths"].values.sum() + data["events_births"].values.sum()
    assert summary["events_total"] == jumps > 0
    if solver == "extrande":
        stats = summary["run"]["solver_stats"]
        assert stats["bound_violations"] == 0 and stats["proposals"] >= jumps


def test_fixed_potential_with_drift_follows_the_mean_field_energy(tmp_path):
    """Extrande on the fixed-potential model with transport: the mean energy at t = 1 is
    the exact mean-field value k s_t / 2 up to Monte-Carlo error (and an O(1/n) bias)."""
    out = tmp_path / "fp"
    args = ["--model", "fixed_potential", "--solver", "extrande", "--param", "n=400"]
    args += ["--param", "transport=true", "--param", "alpha=2", "--trajectories", "16"]
    args += ["--t1", "1", "--save-every", "0.5", "--seed", "2"]
    summary, data = _run(out, *args)
    assert summary["status"] == "success"
    exact = fp.exact_energy(np.asarray(summary["t"]), alpha=2.0, transport=True)
    energy = data["energy"].values
    se = energy.std(0, ddof=1) / np.sqrt(energy.shape[0])
    z = (energy.mean(0) - exact) / se
    assert np.all(np.abs(z) < 4), z
    # Power: the mean-field energy without birth-death is excluded.
    no_bd = fp.exact_energy(1.0, alpha=0.0, transport=True)
    assert abs(energy[:, -1].mean() - no_bd) > 6 * se[-1]


def test_failed_trajectories_report_their_status(tmp_path, capsys):
    out = tmp_path / "short"
    args = ["--trajectories", "3", "--t1", "10", "--max-steps", "5"]
    summary, data = _run(out, *args)
    assert summary["status"] == bd.Status[bd.Status.max_steps_reached]
    assert summary["run"]["failed_trajectories"] == 3
    np.testing.assert_array_equal(data["status"], bd.Status.max_steps_reached._value)
    assert "3 of 3 trajectories did not succeed" in capsys.readouterr().err


def test_a_nan_rate_gives_a_status_naming_the_channel(tmp_path, monkeypatch):
    """Issue 3 item 6: the summary names the channel whose rate was negative or NaN."""
    build = simulate_cmd.build_model

    def nan_death_rate(*args):
        model = build(*args)
        net = eqx.tree_at(lambda n: n.rate_constants, model.process, np.array([0.1, np.nan]))
        return dataclasses.replace(model, process=net)

    monkeypatch.setattr(simulate_cmd, "build_model", nan_death_rate)
    summary, data = _run(tmp_path / "nan", "--trajectories", "2", "--t1", "1")
    assert summary["status"].startswith(bd.Status[bd.Status.bad_rate])
    assert summary["status"].endswith("(first bad channel: 1)")
    assert summary["run"]["bad_channel"] == 1  # reaction 1 of birth_death: death
    np.testing.assert_array_equal(data["status"], bd.Status.bad_rate._value)


def test_refuses_to_overwrite_a_non_empty_out(tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    args = ["simulate", "--trajectories", "2", "--t1", "1", "--out", str(out)]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "not empty" in err and "--force" in err and "\n" not in err
    assert (out / "mine.txt").read_text() == "keep me"
    main([*args, "--force"])  # with the progress bar on
    assert not (out / "mine.txt").exists() and (out / "summary.json").exists()


@pytest.mark.parametrize(
    "args, names",
    [
        (["--model", "nope"], simulate_cmd.MODELS),
        (["--solver", "gillespie"], simulate_cmd.SOLVERS),
        (["--param", "rate=1"], ("x0", "birth", "death")),
        (["--model", "gaussian_mixture", "--param", "m=3"], ("n", "init", "alpha", "rebirth")),
        (["--model", "gaussian_mixture", "--param", "init=x"], ("uniform", "bad")),
    ],
)
def test_unknown_names_exit_2_listing_the_valid_ones(tmp_path, capsys, args, names):
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as exc:
        main(["simulate", *args, "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and all(name in err for name in names), err
    assert not out.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--solver", "direct", "--tau", "0.1"], "--tau"),
        (["--solver", "splitting", "--eps", "0.1"], "does not apply to --solver splitting"),
        (["--solver", "tau-leap"], "needs --tau"),
        (["--solver", "extrande", "--dt", "0.01"], "has no drift"),
        (["--model", "gaussian_mixture", "--solver", "direct"], "needs a pure-jump model"),
        (
            ["--model", "fixed_potential", "--param", "transport=1", "--solver", "adaptive-tau"],
            "pure-jump",
        ),
        (["--t1", "10", "--save-every", "3"], "whole multiple"),
        (["--param", "death=-1"], "--param death must be finite and >= 0"),
        (["--param", "x0=1.5"], "--param x0 must be int"),
        (["--param", "x0"], "KEY=VALUE"),
        (["--model", "fixed_potential", "--param", "n=1"], "n must be >= 2"),
        (["--solver", "extrande", "--safety", "0.5"], "--safety"),
    ],
)
def test_bad_solver_options_exit_2_with_one_line(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as exc:
        main(["simulate", *args, "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err, err
    assert not out.exists()


def test_help_explains_every_option(capsys):
    main(["simulate", "--help"])
    text = capsys.readouterr().out
    for option in (
        "--model",
        "--param",
        "--solver",
        "--tau",
        "--eps",
        "--dt",
        "--horizon",
        "--safety",
        "--trajectories",
        "--t1",
        "--save-every",
        "--seed",
        "--out",
        "--force",
        "--progress / --no-progress",
    ):
        assert option in text


def test_reaction_defaults_are_the_models_defaults():
    """`--model NAME` without --param simulates the DSMTS model of models/reactions.py."""
    for name in simulate_cmd.REACTIONS:
        signature = inspect.signature(rx.MODELS[name]).parameters
        defaults = {k: v.default for k, v in signature.items()}
        assert {k: d for k, (_, d) in simulate_cmd.PARAMS[name].items()} == defaults
