"""Propagation of chaos: the study's acceptance at quick size, its pieces and its CLI."""

import json
import subprocess
import sys
import warnings

import jax.random as jr
import numpy as np
import pytest
import xarray as xr

from analysis import bayes, chaos, chaos_fits
from analysis.chaos_cmd import headlines
from analysis.cli import main


@pytest.fixture(scope="module")
def quick_study():
    """The --quick study (n = 32..512, 32 replicas, both models), run once."""
    results = chaos.run(chaos.QUICK, progress=False)
    with warnings.catch_warnings():
        # A failed diagnostics gate is a test failure below, with the numbers; not here.
        warnings.simplefilter("ignore", bayes.DiagnosticsWarning)
        summary, fits = chaos_fits.analyse(results, chaos.QUICK.fit_times, alpha_replicas=8)
    return results, summary, fits


def test_quick_study_test_function_slopes_are_minus_one_half(quick_study):
    # The criterion: at t = 1 and 5, on both models and both methods, the 95%
    # interval of every test-function exponent contains -1/2 and excludes -1 and 0.
    _, summary, _ = quick_study
    acc = summary["acceptance"]
    assert len(acc) == 2 * 2 * 2 * 3  # times x models x methods x test functions
    failed = {k: summary["fits"][k] for k, a in acc.items() if not a["ok"]}
    assert not failed, failed


def test_quick_study_self_checks(quick_study):
    results, summary, fits = quick_study
    assert all(a["ok"] for a in summary["anchors"].values()), summary["anchors"]
    r = summary["alpha_recovery"]
    assert r["ok"] and r["lo95"] <= r["true"] <= r["hi95"], r
    assert summary["speedup"]["ok"] and summary["speedup"]["speedup"]["lo95"] > 1
    # W1 and the energy distance fall like n^-1/2 as well (up to a grid floor).
    for k, row in summary["fits"].items():
        if k.split("/")[2] in ("w1", "energy_distance"):
            assert row["slope_lo95"] < -0.3 and row["slope_hi95"] > -0.7, (k, row)
    ds = results["gaussian_mixture"]["bd"]["particles"]
    assert dict(ds.sizes) == {"n": 5, "replica": 32, "time": 21}
    assert set(chaos.quantities(ds)) == {
        "loss_gap",
        "test_function_c",
        "test_function_f0",
        "test_function_y",
        "w1",
        "energy_distance",
    }


def test_small_study_end_to_end(tmp_path):
    """The command on a small linear-only study, as a user runs it (a fresh process):
    folder contents, summary schema, and no silent overwrite.

    A fresh process also keeps this test clear of an XLA:CPU abort seen when one process
    loads several numpyro samplers of different shapes from JAX's persistent cache.
    """
    out = tmp_path / "chaos"
    args = ["chaos", "--ns", "16,32,64", "--replicas", "8", "--models", "linear"]
    command = [sys.executable, "-m", "analysis.cli", *args, "--out", str(out), "--no-progress"]
    # Tiny data: a fit may fail its gate, which the command reports as a warning.
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "alpha recovered" in run.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert {"fits", "alpha_recovery", "anchors"} <= set(summary)
    key = "linear/gd/test_function_theta/t=1"
    row = summary["fits"][key]
    assert set(row) >= {"slope_mean", "slope_lo95", "slope_hi95", "rhat", "ess_bulk"}
    assert row["slope_lo95"] < row["slope_hi95"]
    assert set(summary["alpha_recovery"]) >= {"true", "mean", "lo95", "hi95"}
    assert summary["speedup"] is None  # the speed-up fit needs the Gaussian mixture
    assert headlines(summary)[0].startswith("test-function slopes")
    tree = xr.open_datatree(out / "data.nc", engine="h5netcdf")
    assert tree["linear/bd/particles"]["w1"].dims == ("n", "replica", "time")
    post = xr.open_datatree(out / "posteriors" / "alpha_recovery.nc", engine="h5netcdf")
    assert "alpha" in post["posterior"]
    assert (out / "report.html").stat().st_size > 10_000
    assert (out / "linear_error_vs_n.png").exists() and (out / "linear_qq.png").exists()
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and "--force" in again.stderr  # never overwrites silently


def test_alpha_recovery_covers_the_declared_rate():
    row, fit = chaos_fits.recover_alpha(alpha=2.0, n=64, replicas=4, t1=1.0, key=jr.key(5))
    assert row["lo95"] <= 2.0 <= row["hi95"], row
    assert fit.ok and row["events"] > 200  # enough jumps for a 10%-wide interval
    # the interval is as narrow as the Poisson information allows: sd ~ alpha / sqrt(K)
    assert (row["hi95"] - row["lo95"]) / (2 * 1.96 * 2.0 / np.sqrt(row["events"])) < 1.3


def test_acceptance_criterion():
    rows = {
        "m/bd/test_function_a/t=1": {
            "slope_lo95": -0.7,
            "slope_hi95": -0.3,
            "diagnostics_ok": True,
        },
        "m/bd/test_function_b/t=1": {
            "slope_lo95": -1.2,
            "slope_hi95": -0.3,
            "diagnostics_ok": True,
        },
        "m/bd/test_function_c/t=1": {"slope_lo95": -0.7, "slope_hi95": 0.1, "diagnostics_ok": True},
        "m/bd/test_function_d/t=1": {
            "slope_lo95": -0.4,
            "slope_hi95": -0.2,
            "diagnostics_ok": True,
        },
        "m/bd/test_function_e/t=1": {
            "slope_lo95": -0.7,
            "slope_hi95": -0.3,
            "diagnostics_ok": False,
        },
        "m/bd/w1/t=1": {"slope_lo95": -0.4, "slope_hi95": -0.2, "diagnostics_ok": True},
    }
    acc = chaos_fits.acceptance(rows, (1.0,))
    assert {k.split("/")[2]: a["ok"] for k, a in acc.items()} == {
        "test_function_a": True,
        "test_function_b": False,
        "test_function_c": False,
        "test_function_d": False,
        "test_function_e": False,
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ns": (64, 128)}, "at least 3 increasing sizes"),
        ({"ns": (64, 96, 128)}, "span at least a factor 4"),
        ({"ns": (128, 64, 512)}, "at least 3 increasing sizes"),
        ({"replicas": 4}, "replicas must be >= 8"),
        ({"fit_times": (1.1,)}, "fit time 1.1 is not a save time"),
        ({"models": ("nope",)}, "models must be among"),
    ],
)
def test_settings_refuse_what_cannot_support_a_fit(changes, message):
    with pytest.raises(ValueError, match=message):
        chaos.Settings(**changes)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ns", "64,abc"], "--ns must be comma-separated integers"),
        (["--ns", "64,128"], "at least 3 increasing sizes"),
        (["--replicas", "3"], "replicas must be >= 8"),
        (["--models", "moran"], "Invalid value for '--models'"),
    ],
)
def test_chaos_bad_input_exits_2_with_one_line(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as exc:
        main(["chaos", *args, "--out", str(out), "--no-progress"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not out.exists()
