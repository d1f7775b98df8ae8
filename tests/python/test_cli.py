"""The command line, run as a subprocess exactly as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, SMALL_ARGS, run_cli

import safesim

SUBCOMMANDS = ["run", "compare", "sweep", "sensitivity", "calibrate", "validate", "params", "metrics"]


def test_top_level_help_lists_subcommands() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in SUBCOMMANDS:
        assert name in proc.stdout


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command: str) -> None:
    proc = run_cli(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert f"usage: safesim {command}" in proc.stdout
    assert len(proc.stdout.splitlines()) >= 3


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert safesim.__version__ in proc.stdout


def test_validate_good_files(baseline_path: Path) -> None:
    proc = run_cli("validate", baseline_path, "baseline")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"OK {baseline_path}", "OK baseline"]
    assert proc.stderr == ""


def test_validate_bad_file_one_line_no_traceback(bad_scenario: Path) -> None:
    proc = run_cli("validate", bad_scenario)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(bad_scenario) in lines[0]
    assert ":3:" in lines[0]
    assert "populaton" in lines[0]


def test_validate_reports_each_file(baseline_path: Path, bad_scenario: Path) -> None:
    proc = run_cli("validate", baseline_path, bad_scenario)
    assert proc.returncode == 2
    assert proc.stdout.splitlines() == [f"OK {baseline_path}"]
    assert len(proc.stderr.splitlines()) == 1


def test_missing_file_one_line_no_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    for args in (["validate", missing], ["run", missing, "--reps", "2"]):
        proc = run_cli(*args)
        assert proc.returncode == 2
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        assert "nope.yaml" in proc.stderr


def test_bad_override_one_line_no_traceback() -> None:
    proc = run_cli("run", "baseline", "--reps", "2", "--set", "population.minor_share=1.5")
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "population.minor_share" in proc.stderr
    proc = run_cli("run", "baseline", "--reps", "2", "--set", "no_equals_sign")
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1, proc.stderr


def test_run_json_schema_and_intervals() -> None:
    proc = run_cli("run", "baseline", "--reps", "4", "--seed", "7", "--threads", "2", "--json", *SMALL_ARGS)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # exactly one JSON document
    assert set(doc) == {
        "scenario",
        "scenario_hash",
        "seed",
        "reps",
        "version",
        "metrics",
        "groups",
        "platforms",
        "operators",
    }
    assert set(doc["groups"]["ecosystem"]) == {"age_band", "gender"}
    assert doc["seed"] == 7
    assert doc["reps"] == 4
    assert doc["version"] == safesim.__version__
    assert len(doc["scenario_hash"]) == 64
    names = [m[0] for m in safesim.metrics()]
    assert list(doc["metrics"]) == names
    scopes = [doc["metrics"], *(p["metrics"] for p in doc["platforms"].values())]
    scopes += [o["metrics"] for o in doc["operators"].values()]
    assert doc["platforms"], "at least one platform"
    for metrics in scopes:
        assert list(metrics) == names
        for name, m in metrics.items():
            assert set(m) == {"mean", "ci_low", "ci_high"}
            if m["mean"] is None:  # undefined in every replicate (e.g. no detections)
                assert m["ci_low"] is None
                assert m["ci_high"] is None
            else:
                assert m["ci_low"] <= m["mean"] <= m["ci_high"], name


def test_run_table() -> None:
    proc = run_cli("run", "baseline", "--reps", "2", *SMALL_ARGS)
    assert proc.returncode == 0, proc.stderr
    assert "ecosystem" in proc.stdout
    assert "95% CI" in proc.stdout
    assert "minors_contacted" in proc.stdout


def test_run_out_writes_files_atomically(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("run", "baseline", "--reps", "2", "--out", out, "--json", *SMALL_ARGS)
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)
    files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert files == ["daily.parquet", "runs", "runs.parquet", "scenario.resolved.yaml", "summary.csv", "summary.json"]
    assert len(list((out / "runs").glob("*.json"))) == 2  # one manifest per run
    assert not list(out.rglob("*.tmp"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["reps"] == 2
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs.columns) == ["replicate", "seed", "scope", "metric", "value"]
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text())
    assert resolved["population"]["users"] == 2000

    csv_out = tmp_path / "csv"
    proc = run_cli("run", "baseline", "--reps", "2", "--out", csv_out, "--csv", *SMALL_ARGS)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in csv_out.iterdir() if not p.name.startswith(".")) == [
        "daily.csv",
        "runs",
        "runs.csv",
        "scenario.resolved.yaml",
        "summary.csv",
        "summary.json",
    ]
    assert sorted(p.suffix for p in (csv_out / "runs").iterdir())[:2] == [".csv", ".csv"]


def test_params() -> None:
    text = run_cli("params")
    markdown = run_cli("params", "--markdown")
    assert text.returncode == 0
    assert markdown.returncode == 0
    assert "population" in text.stdout
    assert "|" in markdown.stdout
    assert markdown.stdout.strip() == safesim.parameter_dictionary().strip()


def test_metrics_lists_names_and_units() -> None:
    proc = run_cli("metrics")
    assert proc.returncode == 0
    for name, _kind, unit, _meaning in safesim.metrics():
        line = next(ln for ln in proc.stdout.splitlines() if ln.split()[0] == name)
        assert unit.split()[0] in line


def test_console_script_installed() -> None:
    script = Path(sys.executable).with_name("safesim")
    if not script.exists():
        pytest.skip("safesim is not installed in this environment (running from a source tree)")
    proc = subprocess.run([script, "--help"], capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0
    assert "usage: safesim" in proc.stdout


def test_compare_command_writes_tables_and_figures(tmp_path: Path, baseline_path: Path) -> None:
    out = tmp_path / "cmp"
    proc = run_cli(
        "compare", baseline_path, "--policy-arm", "industry_teen_accounts", "--reps", "3", "--out", out, *SMALL_ARGS
    )
    assert proc.returncode == 0, proc.stderr
    assert "minors_contacted" in proc.stdout
    assert "95% CI" in proc.stdout
    names = {p.name for p in out.iterdir()}
    assert {
        "comparison.csv",
        "summary.csv",
        "summary.json",
        "runs.parquet",
        "daily.parquet",
        "runs",
        "scenarios",
    } <= names
    assert {"effects.png", "funnel.png", "frontier.png", "timeseries_minors_contacted.png"} <= names
    comparison = pd.read_csv(out / "comparison.csv")
    assert set(comparison["scenario"]) == {"industry_teen_accounts"}
    assert len(list((out / "runs").glob("*.json"))) == 6
    assert sorted(p.name for p in (out / "scenarios").iterdir()) == [
        "baseline.resolved.yaml",
        "industry_teen_accounts.resolved.yaml",
    ]


def test_compare_needs_two_scenarios(baseline_path: Path) -> None:
    proc = run_cli("compare", baseline_path, "--reps", "2")
    assert proc.returncode == 2
    assert "at least two" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sweep_command(tmp_path: Path) -> None:
    spec = tmp_path / "sweep.yaml"
    spec.write_text(
        "scenario: baseline\nreps: 2\nset: {population.users: 2000, horizon_days: 60}\n"
        "grid:\n  platforms.main.controls.reporting.steps: [1, 9]\n"
        "  platforms.main.controls.grooming_detection.enabled: [false, true]\n"
        "metrics: [minors_exploited, user_reports]\n"
    )
    out = tmp_path / "out"
    proc = run_cli("sweep", spec, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "4 point(s)" in proc.stdout
    names = {p.name for p in out.iterdir()}
    assert {"summary.csv", "comparison.csv", "points.csv", "runs.parquet", "frontier.png"} <= names
    assert {"heatmap_minors_exploited.png", "lines_user_reports.png"} <= names
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: baseline\ngrid: {a: [1]}\nsamples: []\n")
    proc = run_cli("sweep", bad)
    assert proc.returncode == 2
    assert "exactly one of" in proc.stderr


def test_run_shows_the_step_of_a_timeline_event() -> None:
    """e2ee_rollout encrypts messages on day 180: the table shows detections around it."""
    proc = run_cli("run", "e2ee_rollout", "--reps", "4", "--set", "population.users=4000")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("Timeline: day 180"))
    assert "encrypts all direct messages" in lines[head]
    assert "days 150-179" in lines[head + 1]
    assert "days 180-209" in lines[head + 1]
    detections = next(line for line in lines[head:] if line.strip().startswith("detections"))
    before, after = (float(x.replace(",", "")) for x in detections.split()[1:3])
    assert after < before, detections


def test_validate_checks_policy_bundles(tmp_path: Path) -> None:
    """A bundle file is validated as a bundle (applied to the baseline), and
    a bad key in it is reported against that file, not an installed copy."""
    bundles = sorted((REPO / "scenarios" / "policies").glob("*.yaml"))
    ok = run_cli("validate", *bundles)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("OK ") == len(bundles)
    bad = tmp_path / "industry_teen_accounts.yaml"
    bad.write_text(
        (REPO / "scenarios/policies/industry_teen_accounts.yaml").read_text().replace("dm_policy:", "dm_polcy:")
    )
    proc = run_cli("validate", bad)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"{bad}:")
    assert "platform.controls.dm_polcy: unknown key 'dm_polcy' (did you mean 'dm_policy'?)" in proc.stderr
