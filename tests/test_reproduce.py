"""The paper's Gaussian-mixture outcome, and the `bdprocess reproduce` command."""

import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import bdprocess as bd
from analysis import gm_experiment as gx
from analysis import gm_report
from analysis.cli import main


def test_paper_outcome_over_five_seeds():
    """Uniform init: E(10) with BD at most a fifth of GD's. Bad init (T = 100, the paper's
    horizon): GD and clone-BD stall at the same level, BD with the prior ends 10x lower.
    The uniform runs stop at t = 10 (no quench needed before then) to keep CI short; the
    slow test below runs the full default command."""
    settings = gx.Settings(seeds=5)
    uniform = gx.run_init(gx.Settings(seeds=5, quench=0.0), "uniform", 10.0, progress=False)
    bad = gx.run_init(settings, "bad", 100.0, progress=False)
    summary = gx.summarize({"uniform": uniform, "bad": bad}, settings)
    oc = summary["outcome"]
    assert oc["uniform_t10"]["bd"] <= oc["uniform_t10"]["gd"] / 5, oc
    assert oc["bad_final"]["gd_bd_ratio"] <= 1.5, oc
    assert oc["bad_final"]["prior_gain"] >= 10, oc
    assert np.all(uniform.status.values == 0) and np.all(bad.status.values == 0)
    # Birth-death really fired, and GD never did.
    assert int(bad.events.sel({"method": "gd"}).sum()) == 0
    assert int(bad.events.sel({"method": "bd_prior"}).sum()) > 100


def _tiny_results(count: int) -> xr.Dataset:
    """One seed of n = 3 founders at (y, c) = (-2, 1), (0, 1), (2, -1); at t = 1 slot 2 dies
    and becomes a copy (id 3) of founder 0. Only founder 0 has F(y, c) > 0 (c has the sign
    of the target near y). ``count`` > 1 fakes an overflowed log of capacity 1."""
    log = {"time": [1.0], "kind": [bd.DEATH], "slot": [2], "partner": [0], "new_id": [3]}
    theta0 = np.array([[-2.0, 1.0], [0.0, 1.0], [2.0, -1.0]])
    return xr.Dataset(
        {
            "theta_init": (("seed", "particle", "param"), theta0[None]),
            "theta_final": (("method", "seed", "particle", "param"), theta0[None, None]),
            "ids_final": (("method", "seed", "particle"), [[[0, 1, 3]]]),
            "events": (("method", "seed"), [[count]]),
            "log_parent_id": (("method", "seed", "event"), [[[0]]]),
            **{f"log_{f}": (("method", "seed", "event"), [[v]]) for f, v in log.items()},
        },
        coords={"method": ["bd"], "seed": [0], "time": [0.0, 2.0], "param": ["y", "c"]},
    )


def test_founders_figure_counts_surviving_lineages_by_sign_of_f():
    fig, text = gm_report.founders_figure(_tiny_results(count=1))
    assert fig is not None
    # founders 0 and 1 survive (2 and 1 descendants), founder 2 is extinct
    assert "Of the 3 initial neurons, 2 still have descendants at t=2" in text
    assert "33% of all founders, but 50% of those with surviving lineages" in text
    assert "ancestors of 67% of the final neurons" in text
    assert "bd_prior" not in text  # no prior-BD run to compare with


def test_founders_figure_reports_an_overflowed_log_instead_of_raising():
    fig, text = gm_report.founders_figure(_tiny_results(count=5))
    assert fig is None
    assert "overflowed" in text and "max_events >= 5" in text


def _run_cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    return exc.value.code, capsys.readouterr()


def test_reproduce_quick_writes_the_documented_result_folder(tmp_path, capsys):
    out = tmp_path / "gm"
    main(["reproduce", "--quick", "--seeds", "1", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert "done in" in printed and "report.html" in printed
    for name in (
        "summary.json",
        "data.nc",
        "report.html",
        "energy.png",
        "particles.png",
        "fit.png",
        "founders.png",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert {k: summary[k] for k in ("experiment", "n", "seeds", "alpha", "dt")} == {
        "experiment": "gaussian_mixture",
        "n": 200,
        "seeds": 1,
        "alpha": 5.0,
        "dt": 0.01,
    }
    assert set(summary["runs"]) == {
        f"{i}/{m}" for i in ("uniform", "bad") for m in ("gd", "bd", "bd_prior")
    }
    for key, run in summary["runs"].items():
        assert set(run) == {"t", "energy_mean", "energy_q10", "energy_q90", "events"}
        assert 10.0 in run["t"] and len(run["energy_mean"]) == len(run["t"])
        assert all(lo <= hi for lo, hi in zip(run["energy_q10"], run["energy_q90"], strict=True))
        assert isinstance(run["events"], int)
        assert (run["events"] == 0) == key.endswith("/gd")
    tree = xr.open_datatree(out / "data.nc", engine="h5netcdf")
    np.testing.assert_allclose(
        tree["uniform"]["energy"].sel({"method": "bd"}).mean("seed").values,
        summary["runs"]["uniform/bd"]["energy_mean"],
        rtol=1e-6,
    )
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "Settings" in html and "Outcome" in html
    assert "Which founders" in html and "of the final neurons" in html  # the founders section
    # Never overwrite a non-empty folder without --force: one line, exit status 2.
    code, captured = _run_cli(["reproduce", "--quick", "--out", str(out)], capsys)
    assert code == 2
    assert captured.err.strip().count("\n") == 0 and "--force" in captured.err
    assert (out / "summary.json").exists()


def test_reproduce_passes_seed_to_teacher_student(tmp_path, capsys, monkeypatch):
    import analysis.teacher_student as ts

    calls = []
    monkeypatch.setattr(ts, "run_experiment", lambda out, **kw: calls.append(kw) or {})
    args = ["reproduce", "--experiment", "teacher-student", "--seed", "7", "--no-progress"]
    main([*args, "--out", str(tmp_path / "ts")])
    assert calls == [{"seeds": 5, "quick": False, "progress": False, "seed": 7}]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["reproduce", "--seeds", "0"], "--seeds"),
        (["reproduce", "--experiment", "mnist"], "mnist"),
        (["reproduce", "--bogus"], "--bogus"),
        (["frobnicate"], "frobnicate"),
    ],
)
def test_bad_cli_arguments_exit_2_with_one_line(args, needle, capsys):
    code, captured = _run_cli(args, capsys)
    assert code == 2
    assert captured.err.strip().count("\n") == 0, captured.err
    assert captured.err.startswith("bdprocess: error:") and needle in captured.err


def test_console_script_help():
    done = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "reproduce", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--seeds" in done.stdout and "report.html" in done.stdout


@pytest.mark.slow
def test_default_reproduce_command(tmp_path, capsys):
    main(["reproduce", "--out", str(tmp_path / "full"), "--no-progress"])
    summary = json.loads((tmp_path / "full" / "summary.json").read_text())
    assert summary["seeds"] == 5
    assert summary["runs"]["uniform/gd"]["t"][-1] == 30.0
    assert summary["runs"]["bad/gd"]["t"][-1] == 100.0
    assert summary["outcome"]["uniform_t10"]["holds"]
    assert summary["outcome"]["bad_final"]["holds"]
