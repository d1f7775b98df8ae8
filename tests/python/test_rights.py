"""The rights side of the trade-off (issue 20): privacy and wrongful-action metrics, named
weighted burdens, the frontier with any burden, the report's rights table and checks on them."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from conftest import SMALL_ARGS, run_cli, small

import safesim as ss
from safesim.harness.expectations import load_check_file
from safesim.report import comparison_html
from safesim.results import GROUND_TRUTH, PUBLISHED, RIGHTS, burden_runs

matplotlib.use("Agg")
import safesim.plotting as sp

RIGHTS_NEW = [
    "minors_wrongly_actioned",
    "accounts_wrongly_banned",
    "accounts_reinstated",
    "reinstatement_wait_days",
    "clearinghouse_reports_benign",
    "law_enforcement_benign_cases",
    "private_items_scanned",
    "minor_private_items_scanned",
    "benign_private_items_flagged",
    "benign_private_items_reviewed",
    "minor_private_items_reviewed",
    "users_private_content_reviewed",
    "minors_private_content_reviewed",
    "private_reviewed_per_million_scanned",
]
WEIGHTED = "burden:\n  rights_cost: {benign_private_items_reviewed: 1, minors_wrongly_actioned: 10}\n"


@pytest.fixture(scope="module")
def cmp() -> ss.Comparison:
    base = small(ss.Scenario.from_text("extends: " + str(ss.scenarios_dir() / "baseline.yaml") + "\n" + WEIGHTED))
    arms = {"base": base, "detection": base.with_policy("mandatory_detection")}
    return ss.compare(arms, n=4, workers=2, progress=False)


def test_metrics_are_in_the_dictionary_with_units_after_false_positive_actions() -> None:
    rows = {name: (kind, unit, meaning) for name, kind, unit, meaning in ss._core.metrics()}
    names = [r[0] for r in ss._core.metrics()]
    for name in RIGHTS_NEW:
        _kind, unit, meaning = rows[name]
        assert unit, name
        assert meaning, name
    at = names.index("false_positive_actions")
    assert names[at + 1 : at + 1 + len(RIGHTS_NEW)] == RIGHTS_NEW


def test_transparency_and_rights_lists_name_real_metrics() -> None:
    names = {r[0] for r in ss._core.metrics()}
    assert set(PUBLISHED) | set(GROUND_TRUTH) | set(RIGHTS) <= names
    assert "benign_private_items_reviewed" in GROUND_TRUTH
    assert "minors_wrongly_actioned" in GROUND_TRUTH


def test_json_has_the_rights_metrics_per_scope(baseline_path: Path) -> None:
    proc = run_cli("run", baseline_path, "--reps", "2", "--threads", "2", "--json", *SMALL_ARGS)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    text = json.dumps(doc)
    for name in RIGHTS_NEW:
        assert f'"{name}"' in text, name


def test_frontier_accepts_every_burden_metric_a_named_burden_and_weights(cmp: ss.Comparison) -> None:
    for burden in [*RIGHTS, "rights_cost", {"accounts_wrongly_banned": 2.0, "false_positive_actions": 1.0}]:
        table = cmp.frontier(exposure="minors_exploited_per_1k", burden=burden)
        assert list(table["scenario"]) == ["base", "detection"]
        ref = table[table["scenario"] == "base"].iloc[0]
        assert ref["burden_diff"] == 0
        assert ref["exposure_diff"] == 0
        assert table["frontier"].any()
        assert np.isfinite(table["burden_mean"]).all(), burden


def test_named_burden_is_the_weighted_sum_of_its_metrics(cmp: ss.Comparison) -> None:
    runs = cmp.runs
    eco = runs[runs["scope"] == "ecosystem"]
    got = burden_runs(eco, "rights_cost", cmp.burdens).sort_values(["scenario", "replicate"])["value"].to_numpy()
    wide = eco.pivot_table(index=["scenario", "replicate"], columns="metric", values="value", observed=True)
    want = (wide["benign_private_items_reviewed"] + 10 * wide["minors_wrongly_actioned"]).to_numpy()
    np.testing.assert_allclose(got, want)


def test_mandatory_detection_scans_and_reviews_private_items(cmp: ss.Comparison) -> None:
    eff = cmp.effects()
    row = eff[(eff["scope"] == "ecosystem") & (eff["metric"] == "private_items_scanned")].iloc[0]
    assert row["diff_ci_low"] > 0  # the classifier and grooming detection read private messages


def test_unknown_burden_is_one_clear_error(cmp: ss.Comparison) -> None:
    with pytest.raises(ValueError, match="rights_cost"):
        cmp.frontier(burden="rights_cots")


def test_sp_frontier_accepts_each_burden(cmp: ss.Comparison) -> None:
    for burden in [*RIGHTS, "rights_cost"]:
        fig = sp.frontier(cmp, burden=burden)
        assert burden in fig.axes[0].get_xlabel()
        matplotlib.pyplot.close(fig)


def test_report_shows_the_rights_side_and_the_chosen_burden(cmp: ss.Comparison) -> None:
    html = comparison_html(cmp, burden="rights_cost")
    assert 'id="rights"' in html
    assert "rights_cost (1 * benign_private_items_reviewed + 10 * minors_wrongly_actioned)" in html
    assert 'data-metric="benign_private_items_reviewed"' in html
    html = cmp.to_html(burden="minors_wrongly_actioned")
    assert "minors wrongly actioned" in html


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ("burden:\n  cost: {benign_private_items_reviewd: 1}\n", "burden.cost.benign_private_items_reviewd",
         "did you mean 'benign_private_items_reviewed'"),
        ("burden:\n  cost: {appeals: lots}\n", "burden.cost.appeals", "expected a finite number"),
        ("burden:\n  appeals: {appeals: 1}\n", "burden.appeals", "is a metric"),
        ("burden:\n  cost: {}\n", "burden.cost", "non-empty mapping"),
        ("burden: [appeals]\n", "burden", "mapping of burden name"),
    ],
)  # fmt: skip
def test_burden_key_errors_are_one_line_with_file_line_and_key(
    tmp_path: Path, body: str, key: str, message: str
) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("name: b\nhorizon_days: 30\n" + body)
    with pytest.raises(ss.ScenarioError) as err:
        _ = ss.Scenario.load(path).spec
    text = str(err.value)
    assert "\n" not in text
    assert f"{path}:" in text
    assert key in text
    assert message in text


def test_burden_survives_the_dump_and_a_later_file_replaces_a_name(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("name: base\nburden:\n  cost: {appeals: 2}\n  other: {review_hours: 0.5}\n")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nname: child\nburden:\n  cost: {minors_wrongly_actioned: 3}\n")
    sc = ss.Scenario.load(child)
    want = {"cost": {"minors_wrongly_actioned": 3.0}, "other": {"review_hours": 0.5}}
    assert ss.burdens_of(sc) == want
    assert ss.burdens_of(ss.Scenario.from_text(sc.dump())) == want


def test_shipped_privacy_check_bounds_a_privacy_metric_and_a_named_burden() -> None:
    path = ss.scenarios_dir() / "checks" / "mandatory_detection_privacy.yaml"
    check = load_check_file(path)
    metrics = {e.metric for e in check.expectations}
    assert "private_reviewed_per_million_scanned" in metrics
    named = [e for e in check.expectations if e.metric == "rights_cost"]
    assert named
    assert dict(named[0].weights)["minors_wrongly_actioned"] == 10


def test_check_on_an_unknown_burden_names_the_choices(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        f"extends: {ss.scenarios_dir() / 'checks' / 'small_baseline.yaml'}\n{WEIGHTED}"
        "expect:\n  - metric: rights_cots\n    relation: '<'\n"
    )
    with pytest.raises(ss.ScenarioError, match="did you mean 'rights_cost'"):
        load_check_file(path)


def test_compare_cli_prints_both_sides_for_a_named_burden(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(f"extends: {ss.scenarios_dir() / 'baseline.yaml'}\n{WEIGHTED}")
    proc = run_cli(
        "compare", path, "--policy-arm", "mandatory_detection", "--reps", "3", "--workers", "2",
        "--burden", "rights_cost", *SMALL_ARGS,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "both sides (ecosystem): exposure minors_exploited_per_1k, burden rights_cost" in proc.stdout
    bad = run_cli(
        "compare", path, "--policy-arm", "mandatory_detection", "--reps", "2", "--burden", "nope", *SMALL_ARGS
    )
    assert bad.returncode != 0
    assert "--burden" in bad.stderr
