"""The HTML brief: self-contained, says what differs, the effects equal compare's, reads back from --out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import REPO, SMALL_ARGS, run_cli

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
    assert teen["teen"].scenario.hash in html  # provenance: hashes, seeds, version
    assert teen["baseline"].scenario.hash in html
    assert f"<th scope=row>seeds</th><td>{', '.join(str(x) for x in teen.seeds)}</td>" in html
    assert f"<th scope=row>safesim</th><td>{ss.__version__} (" in html


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


# ------------------------------------------------------------------ safety-check verdicts
CHECKS = REPO / "scenarios" / "checks"


def _check_rows(html: str) -> list[dict[str, str]]:
    """The rows of the brief's safety-check table: verdict, check name and the cells after it."""
    out = []
    for m in re.finditer(r'<tr class="check [^"]*" data-verdict="([^"]+)"><th scope=row>(.*?)</th>(.*?)</tr>', html):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", m.group(3))
        out.append({"verdict": m.group(1), "check": m.group(2).split("<br>")[0], "cells": cells})
    return out


@pytest.fixture(scope="module")
def check_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Check files beside a copy of the starter suite's small baseline: one that holds, one that fails,
    a level without a reference, and one whose reference is not an arm of the comparison."""
    folder = tmp_path_factory.mktemp("checks")
    base = (CHECKS / "small_baseline.yaml").read_text(encoding="utf-8")
    base = base.replace("extends: ../baseline.yaml", f"extends: {json.dumps(str(CHECKS.parent / 'baseline.yaml'))}")
    base = base.replace("population: {users: 4000}", "population: {users: 2000}").replace(
        "horizon_days: 90", "horizon_days: 60"
    )
    (folder / "small.yaml").write_text(base, encoding="utf-8")
    (folder / "other.yaml").write_text("extends: small.yaml\nname: other\n", encoding="utf-8")
    (folder / "teen.yaml").write_text(
        "name: teen\nextends: small.yaml\npolicies: [industry_teen_accounts]\nexpect:\n"
        "  - name: blocks half as many legitimate contacts again\n    metric: legit_contacts_blocked\n"
        "    relation: '>'\n    reference: small.yaml\n    difference: relative\n    threshold: 0.5\n"
        "  - name: blocks fewer legitimate contacts\n    metric: legit_contacts_blocked\n    relation: '<'\n"
        "    reference: small.yaml\n    threshold: 0\n"
        "  - name: blocks no legitimate contact\n    metric: legit_contacts_blocked\n    platform: main\n"
        "    relation: '<='\n    threshold: 0\n"
        "  - name: against another reference\n    metric: user_reports\n    relation: '<'\n"
        "    reference: other.yaml\n    threshold: 0\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def checked(check_files: Path) -> ss.Comparison:
    small = ss.Scenario.load(check_files / "small.yaml")
    teen = ss.Scenario.load(check_files / "teen.yaml")
    return ss.compare({"small": small, "teen": teen}, n=6, workers=2)


def test_brief_decides_the_arms_expect_blocks_on_its_replicates(checked: ss.Comparison) -> None:
    html = checked.to_html()
    assert '<h2 id="safety-checks">Safety checks</h2>' in html
    rows = {r["check"]: r for r in _check_rows(html)}
    assert set(rows) == {
        "blocks half as many legitimate contacts again",
        "blocks fewer legitimate contacts",
        "blocks no legitimate contact",
        "against another reference",
    }
    assert rows["blocks half as many legitimate contacts again"]["verdict"] == "PASS"
    assert rows["blocks fewer legitimate contacts"]["verdict"] == "FAIL"
    assert rows["blocks no legitimate contact"]["verdict"] == "FAIL"  # a level, no reference
    assert rows["against another reference"]["verdict"] == "NOT EVALUATED"
    assert "other.yaml is not an arm of this report" in rows["against another reference"]["cells"][-1]
    assert "4 safety checks: 1 pass, 2 fail, 1 not evaluated." in html

    # The measured quantities are the paired ones: the relative change of the means, and the
    # paired difference with the 95% t-interval of the brief's own effects table.
    runs = checked.runs
    pick = (runs.scope == "ecosystem") & (runs.metric == "legit_contacts_blocked")
    t = runs[pick & (runs.scenario == "teen")].sort_values("replicate")["value"].to_numpy()
    r = runs[pick & (runs.scenario == "small")].sort_values("replicate")["value"].to_numpy()
    cells = rows["blocks half as many legitimate contacts again"]["cells"]
    assert cells[0] == "relative change in legit_contacts_blocked: teen against small"
    assert cells[1] == "&gt; +50% vs small"
    assert cells[2] == f"{(t.mean() / r.mean() - 1) * 100:+.1f}%"
    eff = checked.effects()
    row = eff[(eff.scope == "ecosystem") & (eff.metric == "legit_contacts_blocked")].iloc[0]
    lo, hi = (f"{v:+.4g}".replace("-", "\u2212") for v in (row["diff_ci_low"], row["diff_ci_high"]))
    assert rows["blocks fewer legitimate contacts"]["cells"][3] == f"95% [{lo}, {hi}]"
    assert rows["blocks fewer legitimate contacts"]["cells"][4] == "6"
    level = rows["blocks no legitimate contact"]["cells"]
    main = runs[(runs.scope == "main") & (runs.metric == "legit_contacts_blocked") & (runs.scenario == "teen")]
    assert level[0] == "mean legit_contacts_blocked on main in teen"
    assert level[2] == f"{main['value'].mean():.4g}"


def test_brief_of_a_results_folder_reads_the_checks_of_its_files(check_files: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    r = run_cli("compare", check_files / "small.yaml", check_files / "teen.yaml", "--reps", "3",
                "--out", out, "--no-figures", "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    verdicts = {x["check"]: x["verdict"] for x in _check_rows((out / "report.html").read_text(encoding="utf-8"))}
    assert verdicts["blocks half as many legitimate contacts again"] == "PASS"
    assert verdicts["blocks no legitimate contact"] == "FAIL"


def test_brief_shows_safesim_check_results_passed_in(checked: ss.Comparison, check_files: Path) -> None:
    from safesim.harness.runner import run_checks

    results = run_checks([check_files / "teen.yaml"])
    html = report.comparison_html(checked, checks=results)
    shown = [x for x in _check_rows(html) if "safesim check (sequential" in x["cells"][-1]]
    want = [(res.expectation.name, res.verdict.value) for res in results[0].results]
    assert [(x["check"], x["verdict"]) for x in shown] == want
    assert [x["cells"][4] for x in shown] == [str(res.replicates) for res in results[0].results]


def test_no_checks_no_section(teen: ss.Comparison) -> None:
    assert "Safety checks" not in teen.to_html()


# ------------------------------------------------------------------ the rest of the brief's contents
def test_brief_has_the_transparency_view_per_platform_and_the_assumptions(teen: ss.Comparison) -> None:
    html = teen.to_html()
    table = html[html.index('<table class="transparency">') :]
    table = table[: table.index("</table>")]
    assert re.search(r"<td>teen</td><td>main</td><td>published</td><th scope=row>user_reports</th>", table)
    assert re.search(r"<td>teen</td><td>main</td><td>ground truth</td><th scope=row>minors_exploited</th>", table)
    assert "<h2>Assumptions and sources</h2>" in html
    assert "Sources of the keys that differ" in html


def test_effect_tables_name_the_arm_once(small_baseline: ss.Scenario) -> None:
    cmp = ss.compare(
        {
            "baseline": small_baseline,
            "teen": small_baseline.with_policy("industry_teen_accounts"),
            "dm off": small_baseline.set("platforms.main.controls.dm_policy.under_16", "disabled"),
        },
        n=3,
    )
    html = report.effects_table_html(cmp.effects())
    captions = re.findall(r"<caption><strong>(.*?)</strong> against <strong>(.*?)</strong>", html)
    assert captions == [("dm off", "baseline"), ("teen", "baseline")] or captions == [
        ("teen", "baseline"),
        ("dm off", "baseline"),
    ]
    for arm in ("teen", "dm off"):
        table = re.search(rf'<table class="effects" data-scenario="{arm}">(.*?)</table>', html)
        assert table is not None
        assert table.group(1).count("<tr class=") == len(report.HEADLINE)
        assert f"<td>{arm}</td>" not in table.group(1)  # the arm is the caption, not a column


def test_figures_use_the_colour_blind_safe_palette(teen: ss.Comparison) -> None:
    """Every colour that tells series apart in the figures is Okabe-Ito's; the rest are greys."""
    html = teen.to_html()
    palette = {c.lower() for c in report.PALETTE}
    for colour in set(re.findall(r'(?:fill|stroke)="(#[0-9A-Fa-f]{3,6})"', html)):
        c = colour.lower()
        rgb = c[1:] if len(c) == 7 else "".join(ch * 2 for ch in c[1:])
        grey = rgb[0:2] == rgb[2:4] == rgb[4:6]
        assert c in palette or grey, colour
