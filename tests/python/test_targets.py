"""Targets as data: the expression parser, the reader's errors, verdicts, the JSON layout, relative_to pairing."""

from __future__ import annotations

import doctest
import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SMALL_ARGS, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

import safesim as ss
import safesim.targets as targets_module
from safesim.errors import PlanError
from safesim.targets import (
    Binary,
    ExpressionError,
    Name,
    Negative,
    Number,
    check_targets,
    load_targets,
    paired_relative,
    parse_expression,
    verdict,
)

OPEN = REPO / "scenarios" / "targets" / "open.yaml"


def write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


ONE = """targets:
  - name: contacted
    value: 50
    source: synthetic
    metric: "minors_contacted / minors * 1000"
"""


# ------------------------------------------------------------------ the parser
@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("a", "a"),
        ("a/b", "a / b"),
        ("a - b - c", "a - b - c"),
        ("a - (b - c)", "a - (b - c)"),
        ("(a - b) - c", "a - b - c"),
        ("a / (b * c)", "a / (b * c)"),
        ("a / b * c", "a / b * c"),
        ("(a + b) * 2", "(a + b) * 2"),
        ("-a * b", "-a * b"),
        ("-(a * b)", "-(a * b)"),
        ("a * -b", "a * -b"),
        ("+a", "a"),
        ("2.5e-3 * a", "0.0025 * a"),
        ("1e3*a", "1000 * a"),
        (".5 * a", "0.5 * a"),
        ("  ( ( a ) )  ", "a"),
    ],
)
def test_parser_canonical_text_round_trips(text: str, canonical: str) -> None:
    tree = parse_expression(text)
    assert str(tree) == canonical
    assert parse_expression(str(tree)) == tree


def test_parser_precedence_and_associativity() -> None:
    a, b, c = Name("a"), Name("b"), Name("c")
    assert parse_expression("a + b * c") == Binary("+", a, Binary("*", b, c))
    assert parse_expression("a - b - c") == Binary("-", Binary("-", a, b), c)
    assert parse_expression("a / b / c") == Binary("/", Binary("/", a, b), c)
    assert parse_expression("-a - -b") == Binary("-", Negative(a), Negative(b))
    assert parse_expression("2 * (a + 1)") == Binary("*", Number(2.0), Binary("+", a, Number(1.0)))


_names = st.sampled_from(["minors", "users", "minors_solicited", "x_1"]).map(Name)
_numbers = st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False).map(Number)
_trees = st.recursive(
    _names | _numbers,
    lambda inner: st.builds(Binary, st.sampled_from("+-*/"), inner, inner) | st.builds(Negative, inner),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_trees)
def test_any_tree_prints_and_parses_back_to_itself(tree: object) -> None:
    assert parse_expression(str(tree)) == tree


@settings(max_examples=200, deadline=None)
@given(_trees, st.lists(st.floats(-100, 100), min_size=4, max_size=4))
def test_evaluation_matches_arithmetic(tree: object, xs: list[float]) -> None:
    values = dict(zip(["minors", "users", "minors_solicited", "x_1"], xs, strict=True))

    def by_hand(node: object) -> float:
        if isinstance(node, Number):
            return node.value
        if isinstance(node, Name):
            return values[node.name]
        if isinstance(node, Negative):
            return -by_hand(node.operand)
        assert isinstance(node, Binary)
        a, b = by_hand(node.left), by_hand(node.right)
        if node.op == "/":
            return a / b if b != 0 and math.isfinite(a) and math.isfinite(b) else math.nan
        return {"+": a + b, "-": a - b, "*": a * b}[node.op]

    with np.errstate(all="ignore"):
        got = float(tree.evaluate(values))  # type: ignore[attr-defined]
    want = by_hand(tree)
    if math.isnan(want) or math.isnan(got):
        return  # NaN and inf propagate differently through inf - inf: only finite values are compared
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_division_by_zero_is_nan_not_an_error() -> None:
    expr = parse_expression("a / b")
    out = expr.evaluate({"a": np.array([1.0, 2.0]), "b": np.array([0.0, 4.0])})
    assert math.isnan(out[0])
    assert out[1] == 0.5
    assert parse_expression("minors_solicited / minors + 1").names() == ["minors_solicited", "minors"]


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("__import__('os')", 12),
        ("__import__('os').system('touch PWNED')", 12),
        ("a.b", 2),
        ("f(a)", 2),
        ("a ** b", 4),
        ("a; b", 2),
        ("[a]", 1),
        ("lambda: 1", 7),
        ("a if b else c", 3),
        ("a @ b", 3),
        ("a ^ b", 3),
        ("a == b", 3),
        ('"a"', 1),
        ("a\nb", 2),
        ("(a + b", 7),
        ("a +", 4),
        ("a )", 3),
        ("2a", 1),
        ("", 0),
    ],
)
def test_code_and_bad_syntax_are_refused_with_the_column(text: str, column: int, tmp_path: Path) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert info.value.column == column
    assert not (tmp_path / "PWNED").exists()
    assert not Path("PWNED").exists()


def test_nesting_and_length_are_bounded() -> None:
    with pytest.raises(ExpressionError, match="nested more than"):
        parse_expression("(" * 200 + "a" + ")" * 200)
    with pytest.raises(ExpressionError, match="nested more than"):
        parse_expression("-" * 200 + "a")
    with pytest.raises(ExpressionError, match="characters"):
        parse_expression("a + " * 1000 + "a")
    assert parse_expression("(" * 50 + "a" + ")" * 50) == Name("a")


# ------------------------------------------------------------------ the reader
def test_open_targets_load_and_are_all_fitted() -> None:
    tset = load_targets(OPEN)
    assert tset.names == ["solicited_share", "exploited_share", "clearinghouse_actionable_share"]
    assert [t.used_for for t in tset] == ["fit"] * 3
    assert all(t.source and t.mapping for t in tset)
    solicited = tset[0]
    assert (solicited.low, solicited.high) == (0.06, 0.12)
    assert solicited.expression.names() == ["minors_solicited_any", "minors"]


def test_a_full_target_reads_every_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """targets:
  - name: solicited_13_15
    value: 0.13
    sd: 0.02
    source: "Mitchell, Jones, Finkelhor, Wolak 2013 (YISS-3)"
    population: "US internet users 10-17"
    year: 2010
    metric: "minors_solicited / minors"
    scope: {platform: main}
    group: {age_band: "13-15"}
    window: [0, 364]
    relative_to: {timeline: []}
    mapping: "adult offenders only"
    used_for: compare
  - name: other
    range: [1, 2]
    source: s
    metric: users
    scope: "operator: meta"
""",
    )
    a, b = load_targets(path)
    assert (a.value, a.sd, a.year, a.window, a.group) == (0.13, 0.02, 2010, (0, 364), {"age_band": "13-15"})
    assert str(a.scope) == "platform:main"
    assert a.relative_to == {"timeline": []}
    assert a.low == pytest.approx(0.13 - 1.959963984540054 * 0.02)
    assert str(b.scope) == "operator:meta"
    assert b.used_for == "compare"
    assert b.central == 1.5


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        (
            '    metric: "minors_solicted / minors"\n',
            5,
            "unknown metric 'minors_solicted' (did you mean 'minors_solicited'?)",
        ),
        ('    metric: "minors / (users"\n', 5, "expected ')'"),
        ("    metric: \"__import__('os')\"\n", 5, "unexpected character"),
        ("    metric: 3\n", 5, "expected an expression as text"),
        ('    metric: "2 * 3"\n', 5, "reads no metric"),
        ("    metric: users\n    valu: 3\n", 6, "unknown key (did you mean 'value'?)"),
        (
            "    metric: users\n    scope: {platfrom: main}\n",
            6,
            "unknown scope kind 'platfrom' (did you mean 'platform'?)",
        ),
        ("    metric: users\n    scope: everywhere\n", 6, "expected ecosystem"),
        ("    metric: users\n    window: [10, 2]\n", 6, "expected 0 <= first <= last"),
        ("    metric: users\n    window: [0.5, 2]\n", 6, "two whole numbers"),
        ("    metric: users\n    used_for: fitted\n", 6, "expected fit or compare"),
        ("    metric: users\n    group: {age_bnd: 13}\n", 6, "unknown group key (did you mean 'age_band'?)"),
        ("    metric: users\n    group: {age_band: teens}\n", 6, 'expected ages like "13-15"'),
        ("    metric: users\n    relative_to: 3\n", 6, "a scenario path or a mapping"),
        ("    metric: users\n    sd: -1\n", 6, "expected a finite number >= 0"),
        ("    metric: users\n    year: 20100\n", 6, "expected a year"),
    ],
)
def test_each_mistake_is_one_line_with_file_line_and_key(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    path = write(tmp_path, "targets:\n  - name: t\n    value: 1\n    source: s\n" + body)
    with pytest.raises(PlanError) as info:
        load_targets(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{path}:{line}:"), text
    assert "targets[0]" in text, text
    assert fragment in text, text
    assert info.value.line == line


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("targets:\n  - name: t\n    source: s\n    metric: users\n", 2, "missing 'value' (or 'range')"),
        ("targets:\n  - name: t\n    value: 1\n    range: [0, 2]\n    source: s\n    metric: users\n", 2, "not both"),
        ("targets:\n  - name: t\n    value: 1\n    metric: users\n", 2, "missing 'source'"),
        ("targets:\n  - name: t\n    value: 1\n    source: s\n    metric: users\n    range: [2, 1]\n", 0, "not both"),
        (
            "targets:\n  - {name: t, value: 1, source: s, metric: users}\n  - {name: t, value: 2, source: s, metric: users}\n",
            3,
            "name 't' given twice",
        ),
        ("target:\n  - name: t\n", 1, "unknown top-level key (did you mean 'targets'?)"),
        ("targets: []\n", 1, "expected a list of targets"),
        ("targets:\n  - name: t\n    name: u\n", 3, "key given twice"),
    ],
)
def test_file_level_mistakes(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PlanError) as info:
        load_targets(path)
    assert fragment in str(info.value), str(info.value)
    if line:
        assert str(info.value).startswith(f"{path}:{line}:"), str(info.value)


# ------------------------------------------------------------------ verdicts
@pytest.mark.parametrize(
    ("model", "target", "central", "ratio", "want"),
    [
        ((0.10, 0.08, 0.12), (0.09, 0.19), 0.14, 0.10 / 0.14, "within"),  # range overlaps the model's interval
        ((0.10, 0.08, 0.12), (0.12, 0.12), 0.12, 0.10 / 0.12, "within"),  # value on the interval's edge
        ((0.10, 0.08, 0.12), (0.02, 0.08), 0.05, 2.0, "within"),  # touching intervals overlap
        ((0.10, 0.09, 0.11), (0.13, 0.13), 0.13, 0.10 / 0.13, "x2"),
        ((0.10, 0.09, 0.11), (0.20, 0.20), 0.20, 0.5, "x2"),  # exactly half
        ((0.10, 0.09, 0.11), (0.05, 0.05), 0.05, 2.0, "x2"),  # exactly double
        ((0.10, 0.09, 0.11), (0.21, 0.21), 0.21, 0.10 / 0.21, "off"),
        ((0.10, 0.09, 0.11), (0.04, 0.04), 0.04, 2.5, "off"),
        ((-0.20, -0.25, -0.15), (-0.30, -0.30), -0.30, 2 / 3, "x2"),  # relative changes of the same sign
        ((0.20, 0.15, 0.25), (-0.30, -0.30), -0.30, -2 / 3, "off"),  # opposite sign
        ((0.10, 0.09, 0.11), (0.0, 0.0), 0.0, None, "off"),  # no ratio to a zero target
        ((0.0, -0.01, 0.01), (0.0, 0.0), 0.0, None, "within"),
        ((math.nan, math.nan, math.nan), (0.1, 0.2), 0.15, None, "off"),  # the model has no value
        ((0.10, math.nan, math.nan), (0.10, 0.10), 0.10, 1.0, "within"),  # one run: the mean alone
    ],
)
def test_verdicts(model: tuple, target: tuple, central: float, ratio: float | None, want: str) -> None:
    got_ratio, got = verdict(model, target, central)
    assert got == want
    if ratio is None:
        assert got_ratio is None
    else:
        assert got_ratio == pytest.approx(ratio)


# ------------------------------------------------------------------ against the model
def test_population_metrics_give_the_per_1k_figures(small_baseline: ss.Scenario) -> None:
    tset = [
        {"name": "expr", "metric": "minors_contacted / minors * 1000", "value": 50, "source": "s"},
        {"name": "direct", "metric": "minors_contacted_per_1k", "value": 50, "source": "s"},
        {"name": "people", "metric": "users - minors - adults", "value": 0, "source": "s"},
        {
            "name": "whole_run",
            "metric": "minors_contacted / minors * 1000",
            "value": 50,
            "source": "s",
            "window": [0, 59],
        },
    ]
    check = check_targets(small_baseline, tset, n=3, seed=4)
    rows = {r["name"]: r for r in check.rows}
    for key in ("model_mean", "model_ci_low", "model_ci_high"):
        assert rows["expr"][key] == pytest.approx(rows["direct"][key], rel=1e-12)
        assert rows["whole_run"][key] == pytest.approx(rows["direct"][key], rel=1e-12)
    assert rows["people"]["model_mean"] == 0
    assert rows["people"]["verdict"] == "within"
    # The same figure from the summary of the same runs.
    s = ss.replicate(small_baseline, n=3, seed=4).summary()
    want = s[(s.scope == "ecosystem") & (s.metric == "minors_contacted_per_1k")].iloc[0]
    assert rows["direct"]["model_mean"] == pytest.approx(want["mean"])
    assert rows["direct"]["model_ci_low"] == pytest.approx(want["ci_low"])


def test_a_window_sums_flows_and_averages_levels(small_baseline: ss.Scenario) -> None:
    tset = [
        {"name": "first_month", "metric": "user_reports", "value": 1, "source": "s", "window": [0, 29]},
        {"name": "second_month", "metric": "user_reports", "value": 1, "source": "s", "window": [30, 59]},
        {"name": "all", "metric": "user_reports", "value": 1, "source": "s"},
        {"name": "backlog", "metric": "review_backlog", "value": 1, "source": "s", "window": [10, 19]},
    ]
    check = check_targets(small_baseline, tset, n=2, seed=1)
    rows = {r["name"]: r for r in check.rows}
    assert rows["first_month"]["model_mean"] + rows["second_month"]["model_mean"] == pytest.approx(
        rows["all"]["model_mean"]
    )
    daily = ss.replicate(small_baseline, n=2, seed=1).daily
    d = daily[(daily.scope == "ecosystem") & (daily.metric == "review_backlog") & daily.day.between(10, 19)]
    assert rows["backlog"]["model_mean"] == pytest.approx(d.groupby("replicate")["value"].mean().mean())


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"scope": {"operator": "meta"}}, "operator 'meta': operators not in this scenario"),
        ({"scope": {"platform": "mian"}}, "no platform 'mian' in scenario baseline (did you mean 'main'?)"),
        ({"group": {"age_band": "13-15"}}, "per-group results (age_band) are not reported by this engine yet"),
        ({"window": [0, 400]}, "last day 400 is beyond the run (horizon_days 60"),
        (
            {"metric": "minors_contacted_per_1k", "window": [0, 9]},
            "derived metric 'minors_contacted_per_1k' has no value",
        ),
        ({"relative_to": {"population.userz": 10}}, "relative_to"),
    ],
)
def test_what_the_scenario_cannot_give_is_one_clear_line(
    small_baseline: ss.Scenario, tmp_path: Path, extra: dict, fragment: str
) -> None:
    target = {"name": "t", "value": 1, "source": "s", "metric": "users", **extra}
    path = write(tmp_path, json.dumps({"targets": [target]}))
    with pytest.raises((PlanError, ss.ScenarioError)) as info:
        check_targets(small_baseline, path, n=2)
    assert fragment in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_relative_to_matches_compare_on_the_same_seeds(small_baseline: ss.Scenario, tmp_path: Path) -> None:
    key = "platforms.main.controls.reporting.steps"
    tset = [
        {"name": "reports", "metric": "user_reports", "value": -0.2, "source": "s", "relative_to": {key: 9}},
        {
            "name": "contacted",
            "metric": "minors_contacted_per_1k",
            "value": 0.1,
            "source": "s",
            "relative_to": {key: 9},
        },
    ]
    check = check_targets(small_baseline, tset, n=6, seed=11)
    cmp = ss.compare({"variant": small_baseline.set(key, 9), "this": small_baseline}, n=6, seed=11)
    eff = cmp.summary()
    for r in check.rows:
        metric = r["metric"]
        row = eff[(eff.scenario == "this") & (eff.scope == "ecosystem") & (eff.metric == metric)].iloc[0]
        assert r["model_mean"] == pytest.approx(row["rel_diff"], rel=1e-12)
        lo, hi = sorted([row["diff_ci_low"] / row["ref_mean"], row["diff_ci_high"] / row["ref_mean"]])
        assert r["model_ci_low"] == pytest.approx(lo, rel=1e-12)
        assert r["model_ci_high"] == pytest.approx(hi, rel=1e-12)
    # Fewer steps in this scenario than in the variant: more reports, so a positive relative change.
    assert check.rows[0]["model_ci_low"] > 0
    # A scenario path works the same way as the overrides that make it.
    variant = tmp_path / "variant.yaml"
    variant.write_text(small_baseline.set(key, 9).dump())
    again = check_targets(small_baseline, [{**tset[0], "relative_to": str(variant)}], n=6, seed=11)
    assert again.rows[0]["model_mean"] == pytest.approx(check.rows[0]["model_mean"], rel=1e-12)


def test_paired_relative_by_hand() -> None:
    this = np.array([12.0, 9.0, 15.0, 11.0])
    ref = np.array([10.0, 10.0, 12.0, 10.0])
    mean, lo, hi, n = paired_relative(this, ref)
    d = this - ref
    assert mean == pytest.approx(d.mean() / ref.mean())
    half = 3.182446305284263 * d.std(ddof=1) / 2  # t(0.975, 3)
    assert (lo, hi) == pytest.approx(((d.mean() - half) / ref.mean(), (d.mean() + half) / ref.mean()))
    assert n == 4
    # A pair with an undefined value drops out, as in ss.compare.
    mean2, *_, n2 = paired_relative(np.array([12.0, math.nan, 15.0, 11.0]), ref)
    assert n2 == 3
    assert mean2 == pytest.approx((2 + 3 + 1) / 3 / (32 / 3))


# ------------------------------------------------------------------ the command
JSON_KEYS = {"scenario", "scenario_hash", "seed", "reps", "version", "targets"}


def test_cli_json_layout(tmp_path: Path, small_baseline: ss.Scenario) -> None:
    path = write(tmp_path, ONE)
    proc = run_cli("targets", "baseline", path, "--reps", "3", "--json", *SMALL_ARGS)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == JSON_KEYS
    assert doc["reps"] == 3
    assert doc["seed"] == small_baseline.seed
    assert doc["version"] == ss.__version__
    assert doc["scenario_hash"] == small_baseline.hash
    (t,) = doc["targets"]
    assert set(t) == {"name", "model", "target", "ratio", "verdict"}
    assert set(t["model"]) == {"mean", "ci_low", "ci_high"}
    assert set(t["target"]) == {"low", "high"}
    assert t["name"] == "contacted"
    assert t["target"] == {"low": 50.0, "high": 50.0}
    assert t["verdict"] in ("within", "x2", "off")
    assert t["model"]["ci_low"] <= t["model"]["mean"] <= t["model"]["ci_high"]
    assert t["ratio"] == pytest.approx(t["model"]["mean"] / 50.0)
    # The API gives the same document for the same runs.
    api = check_targets(small_baseline, path, n=3).to_json_dict()
    assert api == doc


def test_cli_table_out_and_fail_on(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ONE
        + """  - name: impossible
    value: 1000000
    source: synthetic
    metric: users
    used_for: compare
""",
    )
    out = tmp_path / "out"
    proc = run_cli("targets", "baseline", path, "--reps", "2", "--out", out, "--no-progress", *SMALL_ARGS)
    assert proc.returncode == 0, proc.stderr  # verdicts are information
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("baseline against 2 target(s), 2 replicate(s)")
    impossible = next(ln for ln in lines if ln.startswith("impossible"))
    assert impossible.split()[1] == "compare"
    assert impossible.rstrip().endswith("off")
    assert json.loads((out / "targets.json").read_text())["targets"][1]["verdict"] == "off"
    assert (out / "targets.csv").is_file()
    assert (out / "runs").is_dir()
    proc = run_cli("targets", "baseline", path, "--reps", "2", "--fail-on", "off", *SMALL_ARGS)
    assert proc.returncode == 1
    assert "1 target(s) off" in proc.stderr


def test_cli_input_errors_are_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, ONE.replace("minors_contacted /", "minors_contacted +\n      minors_contactd /"))
    path.write_text(ONE.replace('"minors_contacted / minors * 1000"', '"minors_contactd / minors"'))
    proc = run_cli("targets", "baseline", path, "--reps", "2", *SMALL_ARGS)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert f"{path}:5:" in line
    assert "targets[0].metric" in line
    assert "did you mean 'minors_contacted'" in line
    proc = run_cli("targets", "baseline", path, "--reps", "1", *SMALL_ARGS)
    assert proc.returncode == 2
    assert "--reps" in proc.stderr


def test_validate_reads_targets_files(tmp_path: Path) -> None:
    proc = run_cli("validate", OPEN)
    assert proc.returncode == 0, proc.stderr
    bad = write(tmp_path, ONE.replace("minors_contacted /", "minors_contacted_per1k /"))
    proc = run_cli("validate", bad)
    assert proc.returncode == 2
    assert f"{bad}:5:" in proc.stderr
    assert "did you mean 'minors_contacted_per_1k'" in proc.stderr


def test_open_targets_run_on_a_year(tmp_path: Path) -> None:
    proc = run_cli("targets", "baseline", OPEN, "--reps", "2", "--json", "--set", "population.users=2000")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [t["name"] for t in doc["targets"]] == load_targets(OPEN).names
    # The actionable share is the completeness input carried through: within 0.49's reach.
    actionable = doc["targets"][2]["model"]
    assert actionable["mean"] is None or 0.2 < actionable["mean"] < 0.8


def test_docstring_examples() -> None:
    failures, tried = doctest.testmod(targets_module, optionflags=doctest.ELLIPSIS)
    assert tried > 0
    assert failures == 0


# ------------------------------------------------------------------ docs/validation.md
def _generator():
    import importlib.util

    spec = importlib.util.spec_from_file_location("validation_page", REPO / "docs" / "figures" / "validation.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_validation_page_lists_every_open_target_with_fitted_and_compared_apart(tmp_path: Path) -> None:
    gen = _generator()
    page = (REPO / "docs" / "validation.md").read_text()
    section = page[page.index(gen.BEGIN) : page.index(gen.END)]
    fitted, _, compared = section.partition("**Compared only**")
    for t in load_targets(OPEN):
        assert f"| {t.name} |" in (fitted if t.used_for == "fit" else compared)
    # The generator puts a compared-only target in the second table, and splicing twice changes nothing.
    path = write(
        tmp_path,
        ONE.replace("    source: synthetic\n", "    source: synthetic\n    used_for: compare\n"),
    )
    doc = {
        "scenario": "baseline",
        "reps": 2,
        "targets": [
            {
                "name": "contacted",
                "model": {"mean": 40.0, "ci_low": 30.0, "ci_high": 45.0},
                "target": {"low": 50.0, "high": 50.0},
                "ratio": 0.8,
                "verdict": "x2",
            }
        ],
    }
    text = gen.render([("baseline", path, doc)], 2)
    fitted, _, compared = text.partition("**Compared only**")
    assert "| contacted |" in compared
    assert "| contacted |" not in fitted
    assert "| 40 [30, 45] | 50 | 0.80 | x2 |" in compared
    once = gen.splice(page, text)
    assert gen.splice(once, text) == once
    assert once.count(gen.BEGIN) == 1
    assert "## Calibration" in once
