"""The HTML brief: self-contained, says what differs, the effects equal compare's, reads back from --out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SMALL_ARGS, run_cli

import safesim as ss
from safesim import report


@pytest.fixture(scope="module")
def teen(small_baseline: ss.Scenario) -> ss.Comparison:
    return ss.compare(
        {"baseline": small_baseline, "teen": small_baseline.with_policy("industry_teen_accounts")}, n=4, workers=2
    )


def _external_refs(html: str) -> list[str]:
    """src/href attributes and CSS url() that would make a request (not data: or a fragment)."""
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html) + re.findall(r"url\(([^)]*)\)", html)
    return [r for r in refs if not r.startswith(("data:", "#"))]


def test_comparison_brief_is_self_contained_and_says_what_differs(teen: ss.Comparison) -> None:
    html = teen.to_html(question="Do teen accounts protect children?")
    assert html.startswith("<!DOCTYPE html>")
    assert _external_refs(html) == []
    assert "<script" not in html
    assert "Do teen accounts protect children?" in html
    assert "platforms.main.controls.dm_policy.under_16" in html  # the readable diff
    assert "@media print" in html
    assert html.count("<svg") >= 4  # effects, funnel, frontier, time series
    assert "industry_teen_accounts" in html
    assert "Meta (2024" in html
    assert teen["teen"].scenario.hash in html  # provenance


def test_brief_effects_equal_compare(teen: ss.Comparison) -> None:
    html = teen.to_html()
    eff = teen.effects()
    row = eff[(eff.scope == "ecosystem") & (eff.metric == "minors_contacted_per_1k")].iloc[0]
    cell = re.search(r'data-metric="minors_contacted_per_1k">.*?data-value="([^"]+)"', html)
    assert cell is not None
    assert float(cell.group(1)) == pytest.approx(row["diff"], rel=1e-12)


def test_results_brief(small_results: ss.Results) -> None:
    html = small_results.to_html()
    assert "minors_contacted_per_1k" in html
    assert _external_refs(html) == []


def test_effect_sentence_words() -> None:
    base = {"metric": "user_reports", "ref_mean": 100.0, "rel_diff": -0.2}
    assert "fell by 20" in report.effect_sentence(
        {**base, "diff": -20.0, "diff_ci_low": -30.0, "diff_ci_high": -10.0}, "b"
    )
    assert "rose by" in report.effect_sentence({**base, "diff": 20.0, "diff_ci_low": 10.0, "diff_ci_high": 30.0}, "b")
    assert "no detectable change" in report.effect_sentence(
        {**base, "diff": 1.0, "diff_ci_low": -3.0, "diff_ci_high": 5.0}, "b"
    )


def test_pareto_keeps_undominated() -> None:
    assert report.pareto([(1, 5), (2, 2), (3, 3), (5, 1)]) == [0, 1, 3]


def test_compare_out_writes_report_and_report_command_rereads_it(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    r = run_cli("compare", "baseline", "--policy-arm", "industry_teen_accounts", "--reps", "3", *SMALL_ARGS,
                "--out", out, "--no-figures", "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (out / "report.html").is_file()
    r = run_cli("report", out, "-o", tmp_path / "again.html", "--title", "Teen accounts")
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "again.html").read_text(encoding="utf-8")
    assert "<h1>Teen accounts</h1>" in html
    assert "platforms.main.controls.dm_policy.under_16" in html


def test_report_of_a_run_folder_and_of_a_wrong_folder(tmp_path: Path) -> None:
    r = run_cli("run", "baseline", "--reps", "2", *SMALL_ARGS, "--out", tmp_path / "run")
    assert r.returncode == 0, r.stderr
    assert run_cli("report", tmp_path / "run").returncode == 0
    assert (tmp_path / "run" / "report.html").is_file()
    r = run_cli("report", tmp_path / "nothing")
    assert r.returncode == 2
    assert "summary.json" in r.stderr
