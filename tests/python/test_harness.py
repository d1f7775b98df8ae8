"""safesim check: the expect: schema, the runner, reports, JUnit XML, the pytest plugin, golden summaries."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from safesim.errors import ScenarioError
from safesim.harness import golden
from safesim.harness.expectations import collect_check_files, load_check_file
from safesim.harness.report import exit_code, junit_xml, table
from safesim.harness.runner import run_checks
from safesim.harness.sequential import Verdict

REPO = Path(__file__).resolve().parents[2]
CHECKS = REPO / "scenarios" / "checks"
SMALL_BASE = CHECKS / "small_baseline.yaml"
FAILING = REPO / "docs" / "checks" / "failing_example.yaml"


def harness_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "safesim.harness.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def write_check(tmp_path: Path, expect: str, name: str = "check.yaml", body: str = "") -> Path:
    path = tmp_path / name
    path.write_text(
        f"name: t\nextends: {SMALL_BASE}\n{body}expect:\n" + "\n".join("  " + ln for ln in expect.splitlines()) + "\n"
    )
    return path


# ------------------------------------------------------------------ schema
@pytest.mark.parametrize(
    ("expect", "key_path", "line", "fragment"),
    [
        (
            "- metric: minors_contacted_per_1k\n  relaton: '<'\n  threshold: 1",
            "expect[0].relaton",
            5,
            "did you mean 'relation'",
        ),
        (
            "- metric: minors_contacted_per1k\n  relation: '<'\n  threshold: 1",
            "expect[0].metric",
            4,
            "did you mean 'minors_contacted_per_1k'",
        ),
        (
            "- metric: user_reports\n  relation: '<'\n  threshold: 1\n- metric: user_reports\n  relation: '=='\n  threshold: 1",
            "expect[1].relation",
            8,
            "relation must be one of",
        ),
        ("- metric: user_reports\n  relation: '<'", "expect[0]", 4, "missing required key 'threshold'"),
        ("- metric: user_reports\n  relation: within\n  threshold: 1", "expect[0]", 4, "'tolerance'"),
        (
            "- metric: user_reports\n  relation: '<'\n  threshold: 1\n  difference: relative",
            "expect[0].difference",
            7,
            "needs a reference",
        ),
        (
            "- metric: user_reports\n  relation: '<'\n  reference: nope.yaml",
            "expect[0].reference",
            6,
            "no such scenario",
        ),
        (
            "- metric: user_reports\n  relation: '<'\n  threshold: 1\n  platform: mian",
            "expect[0].platform",
            7,
            "did you mean 'main'",
        ),
        (
            "- metric: user_reports\n  relation: '<'\n  threshold: 1\n  confidence: 95",
            "expect[0].confidence",
            7,
            "[0.5, 1)",
        ),
        ("- metric: user_reports\n  relation: '<'\n  threshold: 1\n  batch: 3", "expect[0].batch", 7, "must be in"),
        ("- metric: user_reports\n  relation: '<'\n  threshold: one", "expect[0].threshold", 6, "finite number"),
    ],
)
def test_schema_errors_are_one_line_with_location(
    tmp_path: Path, expect: str, key_path: str, line: int, fragment: str
) -> None:
    path = write_check(tmp_path, expect)
    with pytest.raises(ScenarioError) as info:
        load_check_file(path)
    err = info.value
    text = str(err)
    assert "\n" not in text
    assert text.startswith(f"{path}:{line}:")
    assert err.key_path == key_path
    assert fragment in text


def test_bad_scenario_part_reports_the_scenario_error(tmp_path: Path) -> None:
    path = write_check(tmp_path, "- metric: user_reports\n  relation: '<'\n  threshold: 1", body="horizon_dayz: 3\n")
    with pytest.raises(ScenarioError, match="horizon_dayz"):
        load_check_file(path)


def test_defaults_and_relative_reference(tmp_path: Path) -> None:
    (tmp_path / "ref.yaml").write_text(f"extends: {SMALL_BASE}\n")
    path = write_check(
        tmp_path, "- metric: user_reports\n  relation: '<='\n  reference: ref.yaml\n  difference: relative"
    )
    check = load_check_file(path)
    (e,) = check.expectations
    assert e.reference == str(tmp_path / "ref.yaml")
    assert (e.threshold, e.confidence, e.budget, e.batch) == (0.0, 0.95, 100, 10)
    assert e.name == "user_reports <= +0% vs ref"


def test_folders_collect_only_files_with_expect() -> None:
    files = collect_check_files([CHECKS])
    names = {f.name for f in files}
    assert "small_baseline.yaml" not in names
    assert {"teen_accounts.yaml", "reporting_flow.yaml", "e2ee_without_mitigations.yaml"} <= names


# ------------------------------------------------------------------ runner, report
@pytest.fixture(scope="module")
def suite_results():
    return run_checks([CHECKS], jobs=1)


def test_starter_suite_passes(suite_results) -> None:
    verdicts = [r.verdict for fr in suite_results for r in fr.results]
    assert all(fr.error is None for fr in suite_results)
    assert len(verdicts) >= 6
    assert all(v is Verdict.PASS for v in verdicts)
    assert exit_code(suite_results) == 0


def test_results_do_not_depend_on_jobs(suite_results) -> None:
    parallel = run_checks([CHECKS], jobs=2)

    def key(results):
        return [
            (r.expectation.name, r.verdict, r.estimate, r.low, r.high, r.replicates)
            for fr in results
            for r in fr.results
        ]

    assert key(parallel) == key(suite_results)


def test_paired_reference_uses_the_same_seeds(tmp_path: Path) -> None:
    # The treatment is the reference itself: every paired difference is exactly 0.
    path = write_check(
        tmp_path,
        f"- metric: minors_contacted\n  relation: within\n  threshold: 0\n  tolerance: 0\n  reference: {SMALL_BASE}",
    )
    (fr,) = run_checks([path])
    (r,) = fr.results
    assert (r.verdict, r.estimate, r.low, r.high, r.replicates) == (Verdict.PASS, 0.0, 0.0, 0.0, 10)


def test_inconclusive_and_strict(tmp_path: Path) -> None:
    # A tiny budget on a noisy metric with the threshold at its mean (41.0 over 200
    # replicates of small_baseline) cannot decide.
    path = write_check(
        tmp_path, "- metric: minors_contacted\n  relation: '<'\n  threshold: 41\n  budget: 10\n  batch: 10"
    )
    results = run_checks([path])
    (r,) = results[0].results
    assert r.verdict is Verdict.INCONCLUSIVE
    assert r.replicates == 10
    assert exit_code(results) == 0
    assert exit_code(results, strict=True) == 2
    assert "INCONCLUSIVE" in table(results)
    assert "undecided at the budget" in table(results)


def validate_junit(root: ET.Element) -> None:
    """The JUnit XML schema rules CI systems rely on (no XSD offline, so checked by hand)."""
    assert root.tag == "testsuites"
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in root:
        assert suite.tag == "testsuite"
        assert suite.get("name")
        counts = dict.fromkeys(totals, 0)
        for case in suite:
            assert case.tag == "testcase"
            assert case.get("name")
            assert case.get("classname")
            float(case.get("time", "0"))
            counts["tests"] += 1
            outcomes = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
            assert len(outcomes) <= 1
            for tag in outcomes:
                counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[tag]] += 1
            for child in case:
                assert child.tag in ("failure", "error", "skipped", "system-out", "system-err", "properties")
                if child.tag in ("failure", "error"):
                    assert child.get("message")  # "type" is optional in the schema
        for key, value in counts.items():
            assert int(suite.get(key)) == value, (key, suite.attrib)
            totals[key] += value
        float(suite.get("time"))
    for key, value in totals.items():  # optional on <testsuites> (pytest leaves them out); ours sets them
        assert root.get(key) is None or int(root.get(key)) == value


def test_cli_failing_example_exit_1_and_junit(tmp_path: Path) -> None:
    junit = tmp_path / "out" / "junit.xml"
    tmp_path.joinpath("out").mkdir()
    proc = harness_cli("check", FAILING, "--junit", junit)
    assert proc.returncode == 1, proc.stderr
    assert "FAIL" in proc.stdout
    assert "violated (the whole interval is on the failing side)" in proc.stdout
    assert "0 passed, 1 failed" in proc.stdout
    root = ET.parse(junit).getroot()
    validate_junit(root)
    (case,) = root.iter("testcase")
    failure = case.find("failure")
    assert failure is not None
    assert "user_reports" in failure.get("message")


def test_cli_suite_passes_with_table_and_junit(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    proc = harness_cli("check", "scenarios/checks/", "--jobs", "2", "--junit", junit)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    header = proc.stdout.splitlines()[0].split()
    assert header == ["file", "expectation", "metric", "expected", "estimate", "interval", "verdict", "replicates"]
    assert "0 failed" in proc.stdout
    root = ET.parse(junit).getroot()
    validate_junit(root)
    assert int(root.get("tests")) >= 6
    assert root.get("failures") == "0"
    assert root.get("errors") == "0"


def test_cli_errors_exit_2(tmp_path: Path) -> None:
    bad = write_check(tmp_path, "- metric: nope\n  relation: '<'\n  threshold: 1")
    proc = harness_cli("check", bad)
    assert proc.returncode == 2
    assert "ERROR" in proc.stdout
    assert "expect[0].metric: unknown metric 'nope'" in proc.stdout
    proc = harness_cli("check", tmp_path / "missing.yaml")
    assert proc.returncode == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = harness_cli("check", empty)
    assert proc.returncode == 2
    assert "no scenario files" in proc.stderr


def test_junit_strict_inconclusive_is_an_error(tmp_path: Path) -> None:
    path = write_check(tmp_path, "- metric: minors_contacted\n  relation: '<'\n  threshold: 41\n  budget: 10")
    results = run_checks([path])
    for strict, tag in ((False, "skipped"), (True, "error")):
        root = junit_xml(results, strict=strict).getroot()
        validate_junit(root)
        assert next(root.iter("testcase")).find(tag) is not None


# ------------------------------------------------------------------ pytest plugin
def test_pytest_plugin_collects_expectations(tmp_path: Path) -> None:
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "pass.yaml").write_text(
        SMALL_BASE.read_text().replace("../baseline.yaml", str(REPO / "scenarios" / "baseline.yaml"))
        + "expect:\n  - name: reports happen\n    metric: user_reports\n    relation: '>'\n    threshold: 1\n"
    )
    (checks / "fail.yaml").write_text(FAILING.read_text().replace("../../scenarios/checks/", str(CHECKS) + "/"))
    (checks / "no_expect.yaml").write_text("name: x\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_plain.py").write_text("def test_ok():\n    assert True\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = tests\nsafesim_checks = checks\n")
    junit = tmp_path / "junit.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", f"--junitxml={junit}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "test_plain.py::test_ok PASSED" in out
    assert "checks/pass.yaml::reports happen PASSED" in out
    assert "checks/fail.yaml::a longer reporting flow raises reports FAILED" in out
    assert "fail.yaml:13: FAIL relative change in user_reports" in out
    assert "1 failed, 2 passed" in out
    validate_junit(ET.parse(junit).getroot())

    # An ordinary project (no safesim_checks) is not affected.
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "checks", "tests"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
    assert "1 passed" in proc.stdout


# ------------------------------------------------------------------ golden summaries
def test_golden_summaries_match() -> None:
    diffs = golden.check_golden(REPO / "tests" / "golden")
    problems = [d.describe() for d in diffs if not d.ok]
    assert not problems, "\n".join(problems) + "\nIf the change is intended: safesim golden --update"


def test_golden_detects_a_change_and_update_rewrites(tmp_path: Path) -> None:
    folder = tmp_path / "golden"
    golden.update_golden(folder, ["baseline"])
    path = folder / "baseline.json"
    doc = json.loads(path.read_text())
    assert doc["seeds"] == list(golden.SEEDS)
    assert len(doc["run_hashes"]) == len(golden.SEEDS)
    doc["means"]["ecosystem"]["user_reports"] *= 1 + 1e-6
    path.write_text(json.dumps(doc))
    (diff,) = golden.check_golden(folder, ["baseline"])
    assert not diff.ok
    assert "ecosystem.user_reports" in diff.describe()
    proc = harness_cli("golden", "baseline", "--dir", folder)
    assert proc.returncode == 1
    assert "CHANGED baseline" in proc.stdout
    assert "--update" in proc.stderr
    proc = harness_cli("golden", "baseline", "--update", "--dir", folder)
    assert proc.returncode == 0
    proc = harness_cli("golden", "baseline", "--dir", folder)
    assert proc.returncode == 0
    assert "OK baseline" in proc.stdout
    proc = harness_cli("golden", "e2ee_rollout", "--dir", folder)
    assert proc.returncode == 2
    assert "MISSING" in proc.stdout
