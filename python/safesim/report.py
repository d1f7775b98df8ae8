"""A comparison or a set of replicates as one self-contained HTML brief.

:func:`comparison_html` and :func:`results_html` (``Comparison.to_html()``,
``Results.to_html()``) and :func:`report_from_dir` (``safesim report DIR``)
write a single HTML file that reads as a brief for someone who does not code:
the question, the scenarios and what differs between them, the paired effects
in words and in tables, the exposure funnel, the exposure-versus-burden
frontier, the time series, the transparency view per platform, the
assumptions and parameter sources, and the provenance. Figures are inline
SVG drawn here (no matplotlib, no scripts, no external requests) and a print
stylesheet makes it print cleanly to PDF.

The same figure and table functions draw the web explorer's results
(:mod:`safesim.web`).
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from safesim import _core
from safesim.results import (
    ECOSYSTEM,
    PUBLISHED,
    RIGHTS,
    burden_runs,
    paired_differences,
    summarize,
    transparency_view,
)
from safesim.scenario import flatten_keys, scenarios_dir

if TYPE_CHECKING:
    from safesim.results import Comparison, Results

__all__ = [
    "BURDEN",
    "EXPOSURE",
    "FUNNEL",
    "HEADLINE",
    "PALETTE",
    "CheckRow",
    "ReportData",
    "check_rows",
    "checks_from_arms",
    "checks_html",
    "comparison_html",
    "daily_series",
    "effect_sentence",
    "effects_table_html",
    "frontier_svg",
    "funnel_svg",
    "parameter_info",
    "report_from_dir",
    "results_html",
    "scenario_diff",
    "series_svg",
    "timeseries_svg",
    "write_report",
]

#: Okabe & Ito's palette: distinguishable with every common colour-vision deficiency.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
FUNNEL = ("minors_contacted", "minors_engaged", "minors_solicited", "minors_exploited")
EXPOSURE = "minors_contacted_per_1k"
BURDEN = "legit_contacts_blocked"
#: The metrics a brief leads with: harm to children first, then the burden on everyone else.
MINUS = "\u2212"  # a real minus sign, as print uses
NONE = "\u2013"  # an en dash for a missing number
HEADLINE = (
    "minors_contacted_per_1k",
    "minors_engaged_per_1k",
    "minors_solicited_per_1k",
    "minors_exploited_per_1k",
    "exposure_days",
    "user_reports",
    "false_positive_actions",
    "legit_contacts_blocked",
)


# ------------------------------------------------------------------ metric and parameter metadata
@lru_cache(maxsize=1)
def _metric_info() -> dict[str, tuple[str, str, str]]:
    return {name: (kind, unit, meaning) for name, kind, unit, meaning in _core.metrics()}


def metric_label(metric: str) -> str:
    """``minors_contacted_per_1k`` as "minors contacted per 1,000 minors"."""
    unit = _metric_info().get(metric, ("", "", ""))[1]
    if metric.endswith("_per_1k"):
        return metric.removesuffix("_per_1k").replace("_", " ") + f" ({unit})"
    return metric.replace("_", " ")


@lru_cache(maxsize=1)
def parameter_info() -> dict[str, dict[str, str]]:
    """Every key of the parameter dictionary: group, kind, unit, default, meaning, source.

    Read from the dictionary's Markdown (``_core.parameter_dictionary()``), so
    the explorer's tooltips and the brief's sources say what ``safesim params``
    says. Platform keys are spelled ``platforms.<name>.…``.
    """
    out: dict[str, dict[str, str]] = {}
    group = ""
    text = _core.parameter_dictionary()
    body = text[text.index("## Parameters") :]
    body = body[: body.index("## Output metrics")] if "## Output metrics" in body else body
    for line in body.splitlines():
        if line.startswith("### "):
            group = line[4:].strip().strip("`")
            continue
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 6:
            continue
        key = cells[0].strip("`")
        out[key] = {
            "group": group,
            "kind": cells[1].replace("`", ""),
            "unit": cells[2],
            "default": cells[3].strip("`"),
            "meaning": cells[4],
            "source": " | ".join(cells[5:]),
        }
    return out


def dictionary_key(key: str) -> str:
    """Return a resolved key path as the dictionary spells it (``platforms.main.x`` -> ``platforms.<name>.x``)."""
    parts = key.split(".")
    if parts[0] == "platforms" and len(parts) > 2:
        return ".".join(["platforms", "<name>", *parts[2:]])
    return key


@cache
def bundle_info(name: str) -> dict[str, Any]:
    """Title, summary and sources of an installed policy bundle (empty if it is not installed)."""
    path = scenarios_dir() / "policies" / f"{name}.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {k: data.get(k) for k in ("title", "summary", "sources")}


# ------------------------------------------------------------------ safety checks (expect: blocks)
@dataclass(frozen=True)
class CheckRow:
    """One safety-check verdict as a brief shows it.

    ``quantity`` says what was measured (a mean, or a paired change against
    the expectation's reference), ``bound`` what must hold of it; ``estimate``,
    ``low`` and ``high`` are formatted as ``safesim check`` prints them, the
    interval at ``confidence``. ``verdict`` is PASS, FAIL, INCONCLUSIVE, or
    NOT EVALUATED with the reason in ``note``; ``decided_by`` says where the
    verdict comes from.
    """

    check: str
    file: str
    quantity: str
    bound: str
    estimate: str
    low: str
    high: str
    confidence: float
    replicates: int
    verdict: str
    decided_by: str
    note: str = ""

    @property
    def interval(self) -> str:
        """The interval as text, e.g. ``95% [1.2, 3.4]`` (an en dash when not evaluated)."""
        if self.verdict == NOT_EVALUATED:
            return NONE
        return f"{self.confidence:.0%} [{self.low}, {self.high}]"


NOT_EVALUATED = "NOT EVALUATED"
_HERE = "this report's replicates"


def _display_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _same_file(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def check_rows(results: Sequence[Any]) -> list[CheckRow]:
    """Rows for ``safesim check`` results: :class:`~safesim.harness.runner.FileResult` or ``ExpectationResult``."""
    from safesim.harness.runner import ExpectationResult, FileResult, format_value

    rows: list[CheckRow] = []
    for item in results:
        if isinstance(item, FileResult):
            if item.error:
                rows.append(
                    CheckRow("load", _display_path(str(item.path)), NONE, NONE, NONE, NONE, NONE, 0.0, 0,
                             NOT_EVALUATED, "safesim check", item.error)
                )  # fmt: skip
            items = list(item.results)
            path = _display_path(str(item.path))
        elif isinstance(item, ExpectationResult):
            items, path = [item], ""
        else:
            raise TypeError(
                f"expected safesim check results (FileResult or ExpectationResult), got {type(item).__name__}"
            )
        for res in items:
            e = res.expectation
            rows.append(
                CheckRow(
                    check=e.name,
                    file=path,
                    quantity=e.quantity,
                    bound=e.requirement,
                    estimate=format_value(res.estimate, e),
                    low=format_value(res.low, e),
                    high=format_value(res.high, e),
                    confidence=e.confidence,
                    replicates=res.replicates,
                    verdict=res.verdict.value,
                    decided_by=f"safesim check (sequential, {res.looks} look{'s' if res.looks != 1 else ''})",
                )
            )
    return rows


def _arm_values(
    runs: pd.DataFrame, label: str, metric: str, scope: str, weights: Sequence[tuple[str, float]] = ()
) -> np.ndarray:
    """One arm's run totals of a metric, or of a named burden's weighted sum (``weights``)."""
    arm = runs[(runs["scenario"].astype(str) == label) & (runs["scope"].astype(str) == scope)]
    part = burden_runs(arm, dict(weights)) if weights else arm[arm["metric"].astype(str) == metric]
    return part.sort_values("replicate")["value"].to_numpy(dtype=np.float64)


def _not_evaluated(row: dict[str, Any], confidence: float, reason: str) -> CheckRow:
    return CheckRow(**row, estimate=NONE, low=NONE, high=NONE, confidence=confidence, replicates=0,
                    verdict=NOT_EVALUATED, decided_by=_HERE, note=reason)  # fmt: skip


def checks_from_arms(data: ReportData) -> list[CheckRow]:
    """Decide the ``expect:`` blocks of the arms' scenario files on the replicates in ``data``.

    An arm whose scenario file has an ``expect:`` block (``safesim check``'s
    check files) is the treatment of its expectations; an expectation with a
    ``reference`` is decided on the paired differences against the arm run
    from that reference file with the same overrides (the arms of a
    comparison share their seeds). Each is decided with one look at the
    expectation's confidence, by the same interval and rule ``safesim check``
    applies at each of its looks. An expectation whose reference is not an arm
    here is listed as not evaluated, with the reason.
    """
    from safesim.errors import ScenarioError
    from safesim.harness.expectations import has_expect_block, load_check_file
    from safesim.harness.runner import format_value
    from safesim.harness.sequential import Plan, look

    rows: list[CheckRow] = []
    for label in data.labels:
        path = data.sources.get(label)
        if not path or not Path(path).is_file() or not has_expect_block(path):
            continue
        shown = _display_path(path)
        try:
            check = load_check_file(path)
        except (ScenarioError, ValueError, OSError) as err:
            rows.append(CheckRow("load", shown, NONE, NONE, NONE, NONE, NONE, 0.0, 0, NOT_EVALUATED, _HERE, str(err)))
            continue
        mine = data.overrides.get(label, [])
        for e in check.expectations:
            where = f"{e.metric}" + (f" on {e.platform}" if e.platform else "")
            row = {"check": e.name, "file": shown, "quantity": f"mean {where} in {label}", "bound": e.requirement}
            scope = e.platform or ECOSYSTEM
            t = _arm_values(data.runs, label, e.metric, scope, e.weights)
            ref_label = None
            if e.reference is not None:
                same = [x for x in data.labels if x != label and _same_file(data.sources.get(x), e.reference)]
                ref_label = next((x for x in same if data.overrides.get(x, []) == mine), None)
                if ref_label is None:
                    why = "with the same overrides " if same else ""
                    why = f"its reference {e.reference_label} is not an arm of this report {why}(run safesim check {shown})"
                    rows.append(_not_evaluated(row, e.confidence, why))
                    continue
                if data.reference in same and data.overrides.get(data.reference, []) == mine:
                    ref_label = data.reference
                change = "relative change" if e.difference == "relative" else "change"
                row["quantity"] = f"{change} in {where}: {label} against {ref_label}"
            r = None if ref_label is None else _arm_values(data.runs, ref_label, e.metric, scope, e.weights)
            n = len(t) if r is None else min(len(t), len(r))
            if n < 2:
                rows.append(_not_evaluated(row, e.confidence, "needs at least 2 replicates for an interval"))
                continue
            d = look(t[:n], None if r is None else r[:n], e.difference, Plan(n, n, e.confidence), e.rule, 0)
            assert d.verdict is not None
            rows.append(
                CheckRow(**row, estimate=format_value(d.estimate, e), low=format_value(d.low, e),
                         high=format_value(d.high, e), confidence=e.confidence, replicates=n,
                         verdict=d.verdict.value, decided_by=_HERE,
                         note="" if not mine else "arm run with overrides: " + ", ".join(f"{k}={v}" for k, v in mine))
            )  # fmt: skip
    return rows


def _minus(text: str) -> str:
    """Signs of numbers in ``safesim check``'s text as real minus signs, as the rest of a brief prints them."""
    return re.sub(r"(?<![\w.])-(?=[\d.]|inf)", MINUS, text)


def checks_html(rows: Sequence[CheckRow]) -> str:
    """Return the safety-check verdicts as a table.

    Columns: check, measured quantity, bound, estimate and interval, verdict.
    """
    head = (
        "<thead><tr><th scope=col>check</th><th scope=col>measured</th><th scope=col>bound</th>"
        "<th scope=col class=num>estimate</th><th scope=col class=num>interval</th><th scope=col class=num>replicates</th>"
        "<th scope=col>verdict</th></tr></thead>"
    )
    body = []
    for r in rows:
        cls = r.verdict.lower().replace(" ", "-")
        where = f"<br><small class=key>{_e(r.file)}</small>" if r.file else ""
        note = f"<br><small>{_e(r.note)}</small>" if r.note else ""
        by = "" if r.decided_by == _HERE else f"<br><small>{_e(r.decided_by)}</small>"
        body.append(
            f'<tr class="check {cls}" data-verdict="{_e(r.verdict)}">'
            f"<th scope=row>{_e(r.check)}{where}</th><td class=measured>{_e(r.quantity)}</td><td>{_e(_minus(r.bound))}</td>"
            f"<td class=num>{_e(_minus(r.estimate))}</td><td class=num>{_e(_minus(r.interval))}</td>"
            f"<td class=num>{r.replicates or NONE}</td>"
            f'<td class="verdict">{_e(r.verdict)}{by}{note}</td></tr>'
        )
    return f'<table class="checks">{head}<tbody>{"".join(body)}</tbody></table>'


def _checks_summary(rows: Sequence[CheckRow]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    order = ("PASS", "FAIL", "INCONCLUSIVE", NOT_EVALUATED)
    parts = [f"{counts[v]} {v.lower()}" for v in order if counts.get(v)]
    return f"{len(rows)} safety check{'s' if len(rows) != 1 else ''}: " + ", ".join(parts) + "."


# ------------------------------------------------------------------ the data a brief is drawn from
@dataclass
class ReportData:
    """What a brief needs, from a Comparison, a Results or a saved results folder.

    ``runs`` has a ``scenario`` column (one label per arm), ``daily`` likewise
    (or None); ``scenarios`` is each arm's resolved scenario as plain data.
    """

    runs: pd.DataFrame
    daily: pd.DataFrame | None
    reference: str
    seeds: list[int]
    scenarios: dict[str, dict[str, Any]]
    hashes: dict[str, str]
    provenance: dict[str, Any]
    title: str = ""
    question: str = ""
    policies: dict[str, list[str]] = field(default_factory=dict)
    #: Each arm's scenario file (None for a scenario from text or data): where ``expect:`` blocks are read.
    sources: dict[str, str | None] = field(default_factory=dict)
    #: Each arm's ``(key.path, YAML text)`` overrides on its file.
    overrides: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: Safety-check verdicts given by the caller (``safesim check`` results), shown beside those read here.
    checks: list[CheckRow] = field(default_factory=list)
    #: The frontier's axes: a metric or a named burden of the scenarios (their ``burden:`` key).
    exposure: str = EXPOSURE
    burden: str = BURDEN

    @property
    def burdens(self) -> dict[str, dict[str, float]]:
        """Named weighted burdens the arms' scenarios define (``burden:``)."""
        out: dict[str, dict[str, float]] = {}
        for sc in self.scenarios.values():
            for name, weights in (sc.get("burden") or {}).items():
                out.setdefault(str(name), {str(k): float(v) for k, v in weights.items()})
        return out

    @property
    def labels(self) -> list[str]:
        """The arms' labels, in order."""
        return list(self.scenarios)

    @property
    def paired(self) -> bool:
        """Whether there are arms to compare (more than one)."""
        return len(self.scenarios) > 1

    def effects(self) -> pd.DataFrame:
        """Return the paired differences of every arm against the reference."""
        return paired_differences(self.runs, self.reference)

    def means(self) -> pd.DataFrame:
        """Return the mean, sd and interval per arm x scope x metric."""
        return summarize(self.runs, by=["scenario", "scope", "metric"])

    @classmethod
    def from_comparison(cls, cmp: Comparison) -> ReportData:
        """Gather what the brief shows from a :class:`~safesim.results.Comparison`."""
        labels = [str(x) for x in cmp.labels]
        runs = cmp.runs.copy()
        runs["scenario"] = runs["scenario"].astype(str)
        daily = cmp.daily.copy()
        daily["scenario"] = daily["scenario"].astype(str)
        arms = {str(k): v for k, v in cmp.arms.items()}
        return cls(
            runs=runs,
            daily=daily,
            reference=str(cmp.reference),
            seeds=list(cmp.seeds),
            scenarios={k: arms[k].scenario.to_dict() for k in labels},
            hashes={k: arms[k].scenario.hash for k in labels},
            provenance=dict(cmp.provenance),
            policies={k: list(arms[k].scenario.spec.policies) for k in labels},
            sources={k: arms[k].scenario.path for k in labels},
            overrides={k: [tuple(kv) for kv in arms[k].scenario.overrides] for k in labels},
        )

    @classmethod
    def from_results(cls, res: Results) -> ReportData:
        """Gather what the brief shows from replicates of one scenario (:class:`~safesim.results.Results`)."""
        label = res.scenario.name
        runs = res.runs.copy()
        runs.insert(0, "scenario", label)
        daily = res.daily.copy()
        daily.insert(0, "scenario", label)
        return cls(
            runs=runs,
            daily=daily,
            reference=label,
            seeds=list(res.seeds),
            scenarios={label: res.scenario.to_dict()},
            hashes={label: res.scenario.hash},
            provenance=dict(res.provenance),
            policies={label: list(res.scenario.spec.policies)},
            sources={label: res.scenario.path},
            overrides={label: [tuple(kv) for kv in res.scenario.overrides]},
        )

    @classmethod
    def from_dir(cls, folder: str | os.PathLike[str]) -> ReportData:
        """Read a folder written by ``safesim run/compare --out`` (or ``.save()``)."""
        root = Path(folder)
        summary = root / "summary.json"
        if not summary.is_file():
            raise FileNotFoundError(f"{root}: no summary.json (not a finished results folder of run or compare)")
        doc = json.loads(summary.read_text(encoding="utf-8"))
        prov = doc.get("provenance", {})
        runs = _read_frame(root, "runs")
        daily = _read_frame(root, "daily", required=False)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        if prov.get("kind") == "Comparison":
            labels = list(prov["arms"])
            runs["scenario"] = runs["scenario"].astype(str)
            if daily is not None:
                daily["scenario"] = daily["scenario"].astype(str)
            scenarios = {}
            for label in labels:
                path = root / "scenarios" / f"{label}.resolved.yaml"
                scenarios[label] = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) if path.is_file() else {}
            return cls(
                runs=runs,
                daily=daily,
                reference=str(prov["reference"]),
                seeds=[int(s) for s in prov.get("seeds", [])],
                scenarios=scenarios,
                hashes={k: v.get("scenario_hash", "") for k, v in prov["arms"].items()},
                provenance=prov,
                policies={k: list(v.get("policies", [])) for k, v in prov["arms"].items()},
                sources={k: _recorded_file(v.get("source_file")) for k, v in prov["arms"].items()},
                overrides={k: [tuple(kv) for kv in v.get("overrides", [])] for k, v in prov["arms"].items()},
            )
        if "kind" in prov:
            kind = {"EnsembleComparison": "an ensemble comparison"}.get(str(prov["kind"]), f"a {prov['kind']}")
            raise ValueError(f"{root}: {kind} folder; reports cover run and compare results (one parameter set)")
        label = str(prov.get("scenario", doc.get("scenario", "scenario")))
        runs.insert(0, "scenario", label)
        if daily is not None:
            daily.insert(0, "scenario", label)
        path = root / "scenario.resolved.yaml"
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) if path.is_file() else {}
        return cls(
            runs=runs,
            daily=daily,
            reference=label,
            seeds=[int(s) for s in prov.get("seeds", [])],
            scenarios={label: data},
            hashes={label: prov.get("scenario_hash", "")},
            provenance=prov,
            policies={label: list(prov.get("policies", []))},
            sources={label: _recorded_file(prov.get("source_file"))},
            overrides={label: [tuple(kv) for kv in prov.get("overrides", [])]},
        )


def _recorded_file(path: Any) -> str | None:
    """Return a scenario file named in a results folder's provenance, if it is still there to read."""
    if not isinstance(path, str) or not path or path.startswith("<"):
        return None
    return path if Path(path).is_file() else None


def _read_frame(root: Path, stem: str, required: bool = True) -> pd.DataFrame | None:
    for suffix, reader in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
        path = root / f"{stem}{suffix}"
        if path.is_file():
            frame = reader(path)
            for col in ("scope", "metric"):
                if col in frame.columns:
                    frame[col] = frame[col].astype(str)
            return frame
    if required:
        raise FileNotFoundError(f"{root}: no {stem}.parquet or {stem}.csv")
    return None


# ------------------------------------------------------------------ numbers and words
def fmt(x: Any, signed: bool = False) -> str:
    """Return a number for people: separators, 4 significant digits, a real minus sign."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return NONE
    x = float(x)
    if math.isinf(x):
        return "\u221e" if x > 0 else MINUS + "\u221e"
    sign = "+" if signed and x > 0 else ""
    if x.is_integer() and abs(x) < 1e15:
        text = f"{int(x):,}"
    elif abs(x) >= 1000:
        text = f"{x:,.0f}"
    elif abs(x) >= 100:
        text = f"{x:.1f}"
    else:
        text = f"{x:.3g}"
    return (sign + text).replace("-", MINUS)


def fmt_pct(x: Any) -> str:
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return NONE
    return f"{x:+.0%}".replace("-", MINUS)


def _row(frame: pd.DataFrame, metric: str, arm: str) -> pd.Series | None:
    """Return the first row of ``frame`` for this metric and scenario arm, or None."""
    part = frame[(frame["metric"].astype(str) == metric) & (frame["scenario"].astype(str) == arm)]
    return None if part.empty else part.iloc[0]


def effect_sentence(row: Mapping[str, Any], reference: str) -> str:
    """One paired effect in words, e.g. "fell by 130 (95% CI 116 to 145), -51% of the baseline's 257"."""
    lo, hi, diff = row["diff_ci_low"], row["diff_ci_high"], row["diff"]
    name = metric_label(str(row["metric"]))
    ref = f"{reference}'s {fmt(row['ref_mean'])}"
    if any(isinstance(v, float) and math.isnan(v) for v in (lo, hi)):
        return f"{name}: {fmt(diff, True)} against {ref} (one replicate: no interval)."
    ci = f"95% CI {fmt(lo)} to {fmt(hi)}"
    if lo > 0:
        return f"{name} rose by {fmt(diff)} ({ci}), {fmt_pct(row['rel_diff'])} on {ref}."
    if hi < 0:
        return f"{name} fell by {fmt(-diff)} (95% CI {fmt(-hi)} to {fmt(-lo)}), {fmt_pct(row['rel_diff'])} on {ref}."
    return f"{name}: no detectable change (difference {fmt(diff, True)}, {ci}) against {ref}."


# ------------------------------------------------------------------ scenario differences
def scenario_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Return resolved values that differ between two scenarios' plain data (name and description left out)."""
    fa, fb = flatten_keys(dict(a)), flatten_keys(dict(b))
    out = {}
    for key in [*fa, *(k for k in fb if k not in fa)]:
        if key in ("name", "description"):
            continue
        va, vb = fa.get(key), fb.get(key)
        if va != vb and not (isinstance(va, float) and isinstance(vb, float) and math.isnan(va) and math.isnan(vb)):
            out[key] = (va, vb)
    return out


def _value_text(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if v is None:
        return NONE
    if isinstance(v, (int, float)):
        return fmt(v)
    if isinstance(v, (list, dict)):
        text = json.dumps(v)
        return text if len(text) <= 80 else text[:77] + "…"
    return str(v)


# ------------------------------------------------------------------ SVG figures
def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for mult in (1, 2, 5, 10):
        if (hi - lo) / (step * mult) <= n:
            step *= mult
            break
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step) + 1)]


def _svg_open(width: int, height: int, title: str, desc: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'class="figure" font-family="system-ui, sans-serif" font-size="12">'
        f"<title>{_e(title)}</title><desc>{_e(desc)}</desc>"
    )


def effects_svg(effects: pd.DataFrame, metrics: Sequence[str] = HEADLINE, scope: str = ECOSYSTEM) -> str:
    """Paired effects as % of the reference mean with 95% intervals, one row per metric (forest plot)."""
    eff = effects[(effects["scope"].astype(str) == scope) & effects["metric"].astype(str).isin(metrics)]
    arms = list(dict.fromkeys(eff["scenario"].astype(str)))
    rows = [m for m in metrics if m in set(eff["metric"].astype(str))]
    if not rows:
        return ""
    row_h, left, right, top = 22 * max(1, len(arms)), 250, 30, 24
    width, height = 720, top + row_h * len(rows) + 40
    vals = []
    for r in eff.itertuples(index=False):
        if r.ref_mean and not math.isnan(r.ref_mean):
            vals += [v / r.ref_mean for v in (r.diff_ci_low, r.diff_ci_high, r.diff) if not math.isnan(v)]
    lo, hi = min([*vals, 0.0]), max([*vals, 0.0])
    pad = (hi - lo) * 0.05 or 0.1
    lo, hi = lo - pad, hi + pad

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * (width - left - right)

    out = [_svg_open(width, height, "Paired effects", "Change against the reference, % of its mean, 95% CI")]
    for t in _ticks(lo, hi):
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{height - 30}" stroke="#ddd"/>')
        out.append(f'<text x="{x(t):.1f}" y="{height - 14}" text-anchor="middle">{fmt_pct(t)}</text>')
    out.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top}" y2="{height - 30}" stroke="#333"/>')
    for i, metric in enumerate(rows):
        y0 = top + i * row_h
        out.append(f'<text x="{left - 8}" y="{y0 + row_h / 2 + 4:.1f}" text-anchor="end">{_e(metric)}</text>')
        for j, arm in enumerate(arms):
            r = _row(eff, metric, arm)
            if r is None:
                continue
            if not r["ref_mean"] or math.isnan(r["ref_mean"]):
                continue
            y = y0 + 11 + j * 22
            c = PALETTE[(j + 1) % len(PALETTE)]
            m = r["diff"] / r["ref_mean"]
            if not math.isnan(r["diff_ci_low"]):
                a, b = x(r["diff_ci_low"] / r["ref_mean"]), x(r["diff_ci_high"] / r["ref_mean"])
                out.append(f'<line x1="{a:.1f}" x2="{b:.1f}" y1="{y}" y2="{y}" stroke="{c}" stroke-width="2"/>')
            tip = f"{arm}, {metric}: {fmt_pct(m)} ({fmt(r['diff'], True)})"
            out.append(f'<circle cx="{x(m):.1f}" cy="{y}" r="4" fill="{c}"><title>{_e(tip)}</title></circle>')
    out.append(_legend(arms, width - 200, 6, offset=1))
    out.append("</svg>")
    return "".join(out)


def _legend(labels: Sequence[str], x0: float, y0: float, offset: int = 0) -> str:
    out = []
    for i, label in enumerate(labels):
        c = PALETTE[(i + offset) % len(PALETTE)]
        out.append(f'<rect x="{x0}" y="{y0 + i * 16}" width="10" height="10" fill="{c}"/>')
        out.append(f'<text x="{x0 + 14}" y="{y0 + 9 + i * 16}">{_e(label)}</text>')
    return "".join(out)


def funnel_svg(means: pd.DataFrame, scope: str = ECOSYSTEM, labels: Sequence[str] | None = None) -> str:
    """Minors contacted, engaged, solicited and exploited: grouped bars per arm with 95% intervals."""
    m = means[(means["scope"].astype(str) == scope) & means["metric"].astype(str).isin(FUNNEL)]
    arms = list(labels) if labels is not None else list(dict.fromkeys(m["scenario"].astype(str)))
    if m.empty:
        return ""
    width, height, left, top, bottom = 720, 300, 70, 20, 40
    top_v = float(np.nanmax(m[["mean", "ci_high"]].to_numpy(dtype=np.float64))) or 1.0
    top_v *= 1.08

    def y(v: float) -> float:
        return top + (1 - v / top_v) * (height - top - bottom)

    out = [_svg_open(width, height, "Exposure funnel", "Minors contacted, engaged, solicited, exploited per arm")]
    for t in _ticks(0, top_v):
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{fmt(t)}</text>')
    group_w = (width - left - 10) / len(FUNNEL)
    bar_w = group_w * 0.8 / max(1, len(arms))
    for i, stage in enumerate(FUNNEL):
        gx = left + i * group_w + group_w * 0.1
        label = stage.replace("minors_", "")
        out.append(f'<text x="{gx + group_w * 0.4:.1f}" y="{height - 18}" text-anchor="middle">{label}</text>')
        for j, arm in enumerate(arms):
            r = _row(m, stage, arm)
            if r is None:
                continue
            bx = gx + j * bar_w
            c = PALETTE[j % len(PALETTE)]
            tip = f"{arm}, {label}: {fmt(r['mean'])}"
            out.append(
                f'<rect x="{bx:.1f}" y="{y(r["mean"]):.1f}" width="{bar_w - 2:.1f}" '
                f'height="{y(0) - y(r["mean"]):.1f}" fill="{c}"><title>{_e(tip)}</title></rect>'
            )
            if not math.isnan(r["ci_low"]):
                cx = bx + (bar_w - 2) / 2
                out.append(
                    f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(r["ci_low"]):.1f}" y2="{y(r["ci_high"]):.1f}" '
                    f'stroke="#222" stroke-width="1.5"/>'
                )
    out.append(_legend(arms, width - 200, 6))
    out.append("</svg>")
    return "".join(out)


def pareto(points: Sequence[tuple[float, float]]) -> list[int]:
    """Return indices of the points no other point beats on both coordinates (lower is better), by x."""
    idx = []
    for i, (xi, yi) in enumerate(points):
        dominated = any((xj <= xi and yj <= yi) and (xj < xi or yj < yi) for j, (xj, yj) in enumerate(points) if j != i)
        if not dominated and math.isfinite(xi) and math.isfinite(yi):
            idx.append(i)
    return sorted(idx, key=lambda i: points[i][0])


def frontier_svg(points: Sequence[Mapping[str, Any]], exposure: str = EXPOSURE, burden: str = BURDEN) -> str:
    """Exposure (y) against burden (x), one point per option; the line joins the Pareto-optimal ones.

    Each point is ``{"label", "x", "y"}`` with optional ``x_lo``, ``x_hi``, ``y_lo``, ``y_hi``.
    """
    pts = [p for p in points if math.isfinite(p["x"]) and math.isfinite(p["y"])]
    if not pts:
        return ""
    width, height, left, top, bottom, right = 720, 340, 80, 20, 46, 20
    xs = [v for p in pts for v in (p["x"], p.get("x_lo", p["x"]), p.get("x_hi", p["x"])) if math.isfinite(v)]
    ys = [v for p in pts for v in (p["y"], p.get("y_lo", p["y"]), p.get("y_hi", p["y"])) if math.isfinite(v)]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    px, py = (x1 - x0) * 0.1 or abs(x0) * 0.1 or 1, (y1 - y0) * 0.1 or abs(y0) * 0.1 or 1
    x0, x1, y0, y1 = x0 - px, x1 + px, y0 - py, y1 + py

    def sx(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * (width - left - right)

    def sy(v: float) -> float:
        return top + (1 - (v - y0) / (y1 - y0)) * (height - top - bottom)

    out = [_svg_open(width, height, "Exposure against burden", f"{exposure} against {burden}, lower-left is better")]
    for t in _ticks(x0, x1):
        out.append(f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{top}" y2="{height - bottom}" stroke="#eee"/>')
        out.append(f'<text x="{sx(t):.1f}" y="{height - bottom + 16}" text-anchor="middle">{fmt(t)}</text>')
    for t in _ticks(y0, y1):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{fmt(t)}</text>')
    out.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 6}" text-anchor="middle">'
        f"burden: {_e(metric_label(burden))} →</text>"
    )
    out.append(
        f'<text transform="translate(14,{(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">'
        f"exposure: {_e(metric_label(exposure))} →</text>"
    )
    front = pareto([(p["x"], p["y"]) for p in pts])
    if len(front) > 1:
        path = " ".join(f"{sx(pts[i]['x']):.1f},{sy(pts[i]['y']):.1f}" for i in front)
        out.append(f'<polyline points="{path}" fill="none" stroke="#555" stroke-dasharray="4 3"/>')
    for i, p in enumerate(pts):
        c = PALETTE[i % len(PALETTE)]
        cx, cy = sx(p["x"]), sy(p["y"])
        if "x_lo" in p and math.isfinite(p["x_lo"]):
            out.append(
                f'<line x1="{sx(p["x_lo"]):.1f}" x2="{sx(p["x_hi"]):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="{c}"/>'
            )
        if "y_lo" in p and math.isfinite(p["y_lo"]):
            out.append(
                f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{sy(p["y_lo"]):.1f}" y2="{sy(p["y_hi"]):.1f}" stroke="{c}"/>'
            )
        shape = "rect" if i in front else "circle"
        tip = f"{p['label']}: exposure {fmt(p['y'])}, burden {fmt(p['x'])}"
        if shape == "rect":
            out.append(f'<rect x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" fill="{c}">')
        else:
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{c}">')
        out.append(f"<title>{_e(tip)}</title></{shape}>")
        out.append(f'<text x="{cx + 8:.1f}" y="{cy - 8:.1f}">{_e(p["label"])}</text>')
    out.append("</svg>")
    return "".join(out)


def frontier_points(
    means: pd.DataFrame, scope: str = ECOSYSTEM, exposure: str = EXPOSURE, burden: str = BURDEN
) -> list[dict[str, Any]]:
    """Frontier points (see :func:`frontier_svg`) from per-arm means (with rows for a named burden, if used)."""
    m = means[means["scope"].astype(str) == scope]
    pts = []
    for arm in dict.fromkeys(m["scenario"].astype(str)):
        a = m[m["scenario"].astype(str) == arm].set_index(m[m["scenario"].astype(str) == arm]["metric"].astype(str))
        if exposure not in a.index or burden not in a.index:
            continue
        e, b = a.loc[exposure], a.loc[burden]
        pts.append(
            {
                "label": arm,
                "x": float(b["mean"]),
                "y": float(e["mean"]),
                "x_lo": float(b["ci_low"]),
                "x_hi": float(b["ci_high"]),
                "y_lo": float(e["ci_low"]),
                "y_hi": float(e["ci_high"]),
            }
        )
    return pts


def daily_series(
    daily: pd.DataFrame, metric: str = "minors_contacted", scope: str = ECOSYSTEM
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per arm, the days and a replicate x day matrix of ``metric``'s daily values in ``scope``."""
    d = daily[(daily["scope"] == scope) & (daily["metric"] == metric)]
    out = {}
    for arm in dict.fromkeys(d["scenario"].astype(str)):
        wide = d[d["scenario"].astype(str) == arm].pivot_table(
            index="replicate", columns="day", values="value", aggfunc="sum", observed=True
        )
        out[arm] = (np.asarray(wide.columns, dtype=np.float64), wide.to_numpy(dtype=np.float64))
    return out


def timeseries_svg(daily: pd.DataFrame, metric: str = "minors_contacted", scope: str = ECOSYSTEM) -> str:
    """Mean (line) and 95% band per arm by day; flows are cumulated over the horizon."""
    return series_svg(daily_series(daily, metric, scope), metric)


def series_svg(values: Mapping[str, tuple[np.ndarray, np.ndarray]], metric: str) -> str:
    """Draw the time-series figure (SVG) from per-arm ``(days, replicate x day matrix)`` (see :func:`daily_series`)."""
    if not values:
        return ""
    cumulative = _metric_info().get(metric, ("flow",))[0] == "flow"
    series = {}
    for arm, (days, matrix) in values.items():
        v = np.asarray(matrix, dtype=np.float64)
        if cumulative:
            v = np.cumsum(v, axis=1)
        mean = v.mean(axis=0)
        half = 1.96 * v.std(axis=0, ddof=1) / math.sqrt(len(v)) if len(v) > 1 else np.zeros_like(mean)
        series[arm] = (np.asarray(days, dtype=np.float64), mean, mean - half, mean + half)
    width, height, left, top, bottom, right = 720, 300, 70, 20, 40, 20
    xmax = max(float(s[0].max()) for s in series.values()) or 1.0
    ymax = max(float(np.nanmax(s[3])) for s in series.values()) * 1.05 or 1.0

    def sx(v: float) -> float:
        return left + v / xmax * (width - left - right)

    def sy(v: float) -> float:
        return top + (1 - v / ymax) * (height - top - bottom)

    what = f"cumulative {metric}" if cumulative else metric
    out = [_svg_open(width, height, f"{what} by day", f"{what}: mean and 95% band per arm")]
    for t in _ticks(0, ymax):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{fmt(t)}</text>')
    for t in _ticks(0, xmax):
        out.append(f'<text x="{sx(t):.1f}" y="{height - bottom + 16}" text-anchor="middle">{fmt(t)}</text>')
    out.append(f'<text x="{(left + width) / 2}" y="{height - 6}" text-anchor="middle">day</text>')
    for i, (arm, (days, mean, lo, hi)) in enumerate(series.items()):
        c = PALETTE[i % len(PALETTE)]
        step = max(1, len(days) // 240)  # at most ~240 vertices per line keeps the file small
        sel = np.r_[np.arange(0, len(days), step), len(days) - 1]
        band = [f"{sx(days[k]):.1f},{sy(hi[k]):.1f}" for k in sel] + [
            f"{sx(days[k]):.1f},{sy(lo[k]):.1f}" for k in sel[::-1]
        ]
        out.append(f'<polygon points="{" ".join(band)}" fill="{c}" fill-opacity="0.2"/>')
        line = " ".join(f"{sx(days[k]):.1f},{sy(mean[k]):.1f}" for k in sel)
        out.append(
            f'<polyline points="{line}" fill="none" stroke="{c}" stroke-width="2" data-arm="{_e(arm)}" '
            f'data-metric="{_e(metric)}" data-last="{float(mean[-1])!r}"/>'
        )
    out.append(_legend(list(series), left + 10, top + 4))
    out.append("</svg>")
    return "".join(out)


# ------------------------------------------------------------------ tables
def effects_table_html(effects: pd.DataFrame, metrics: Sequence[str] | None = HEADLINE, scope: str = ECOSYSTEM) -> str:
    """Paired effects as HTML tables, one per arm: reference mean, arm mean, difference, 95% CI, relative.

    The arm and its reference name the table (its caption), so a row holds only
    the metric and its numbers; each row carries ``data-scenario`` and
    ``data-metric``, and the difference and interval cells their exact values.
    """
    eff = effects[effects["scope"].astype(str) == scope]
    if metrics is not None:
        eff = eff[eff["metric"].astype(str).isin(metrics)]
        order = {m: i for i, m in enumerate(metrics)}
        eff = eff.assign(_o=eff["metric"].astype(str).map(order)).sort_values(["scenario", "_o"], kind="stable")
    head = (
        "<thead><tr><th scope=col>metric</th><th scope=col class=num>reference</th><th scope=col class=num>variant</th>"
        "<th scope=col class=num>difference</th><th scope=col class=num>95% CI</th>"
        "<th scope=col class=num>relative</th></tr></thead>"
    )
    tables = []
    for arm in dict.fromkeys(eff["scenario"].astype(str)):
        part = eff[eff["scenario"].astype(str) == arm]
        if part.empty:
            continue
        ref = str(part["reference"].iloc[0]) if "reference" in part.columns else ""
        n = int(part["n"].max()) if "n" in part.columns and len(part) else 0
        reps = f" <span class=reps>({n} paired replicate{'' if n == 1 else 's'})</span>" if n else ""
        caption = f"<caption><strong>{_e(arm)}</strong> against <strong>{_e(ref)}</strong>{reps}</caption>"
        rows = []
        for r in part.itertuples(index=False):
            nan = math.isnan(r.diff_ci_low)
            ci = NONE if nan else f"{fmt(r.diff_ci_low, True)} to {fmt(r.diff_ci_high, True)}"
            sig = "" if nan else ("up" if r.diff_ci_low > 0 else "down" if r.diff_ci_high < 0 else "")
            meaning = _metric_info().get(str(r.metric), ("", "", ""))[2]
            tip = f"{r.metric}: {meaning}" if meaning else str(r.metric)
            rows.append(
                f'<tr class="{sig}" data-scenario="{_e(r.scenario)}" data-metric="{_e(r.metric)}">'
                f'<th scope=row title="{_e(tip)}">{_e(metric_label(str(r.metric)))}</th>'
                f"<td class=num>{fmt(r.ref_mean)}</td><td class=num>{fmt(r.mean)}</td>"
                f'<td class="num diff" data-value="{r.diff!r}">{fmt(r.diff, True)}</td>'
                f'<td class="num ci" data-low="{r.diff_ci_low!r}" data-high="{r.diff_ci_high!r}">{ci}</td>'
                f"<td class=num>{fmt_pct(r.rel_diff)}</td></tr>"
            )
        tables.append(
            f'<table class="effects" data-scenario="{_e(arm)}">{caption}{head}<tbody>{"".join(rows)}</tbody></table>'
        )
    return "".join(tables)


def means_table_html(means: pd.DataFrame, metrics: Sequence[str] | None = None, scope: str = ECOSYSTEM) -> str:
    m = means[means["scope"].astype(str) == scope]
    if metrics is not None:
        m = m[m["metric"].astype(str).isin(metrics)]
    arms = list(dict.fromkeys(m["scenario"].astype(str)))
    head = (
        "<thead><tr><th scope=col>metric</th>" + "".join(f"<th scope=col>{_e(a)}</th>" for a in arms) + "</tr></thead>"
    )
    rows = []
    for metric in dict.fromkeys(m["metric"].astype(str)):
        cells = []
        for a in arms:
            r = m[(m["metric"].astype(str) == metric) & (m["scenario"].astype(str) == a)]
            if r.empty:
                cells.append(f"<td>{NONE}</td>")
                continue
            r0 = r.iloc[0]
            ci = "" if math.isnan(r0["ci_low"]) else f" <small>[{fmt(r0['ci_low'])}, {fmt(r0['ci_high'])}]</small>"
            cells.append(f"<td class=num>{fmt(r0['mean'])}{ci}</td>")
        rows.append(f"<tr><th scope=row>{_e(metric)}</th>{''.join(cells)}</tr>")
    return f'<table class="means">{head}<tbody>{"".join(rows)}</tbody></table>'


def transparency_html(frame: pd.DataFrame, paired: bool) -> str:
    """Return the transparency view per platform: what it would publish beside the ground truth."""
    view = transparency_view(frame)
    if view.empty:
        return ""
    parts = []
    value_cols = ["diff", "diff_ci_low", "diff_ci_high"] if paired else ["mean", "ci_low", "ci_high"]
    head = "<th scope=col>scenario</th>" if paired else ""
    rows = []
    for r in view.to_dict(orient="records"):
        arm = f"<td>{_e(r['scenario'])}</td>" if paired else ""
        v, lo, hi = (r[c] for c in value_cols)
        ci = NONE if math.isnan(lo) else f"{fmt(lo, paired)} to {fmt(hi, paired)}"
        rows.append(
            f"<tr>{arm}<td>{_e(r['scope'])}</td><td>{_e(r['view'])}</td><th scope=row>{_e(r['metric'])}</th>"
            f"<td class=num>{fmt(v, paired)}</td><td class=num>{ci}</td></tr>"
        )
    what = "change against the reference" if paired else "mean"
    parts.append(
        f'<table class="transparency"><thead><tr>{head}<th scope=col>platform</th><th scope=col>view</th>'
        f"<th scope=col>metric</th><th scope=col>{what}</th><th scope=col>95% CI</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return "".join(parts)


# ------------------------------------------------------------------ the brief
_CSS = """
:root { --ink:#1a1a1a; --muted:#555; --rule:#ccc; --up:#B35806; --down:#0072B2; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { border-bottom: 1px solid var(--rule); margin-top: 2rem; }
.lede { color: var(--muted); }
table { border-collapse: collapse; margin: .5rem 0 1rem; width: 100%; font-size: .9rem; }
th, td { border-bottom: 1px solid #e5e5e5; padding: .25rem .5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; } th.num { text-align: right; }
tr.up td.diff { color: var(--up); font-weight: 600; } tr.down td.diff { color: var(--down); font-weight: 600; }
svg.figure { width: 100%; height: auto; max-width: 720px; display: block; margin: .5rem 0; }
figure { margin: 1rem 0; } figcaption { color: var(--muted); font-size: .9rem; }
ul.effects li { margin: .2rem 0; }
code, .key { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .85em; }
details summary { cursor: pointer; }
.note { background: #f6f6f6; padding: .5rem .8rem; border-left: 3px solid #999; }
caption { text-align: left; font-size: 1rem; padding: .3rem 0; }
caption .reps, .checks small { color: var(--muted); font-weight: normal; }
tr.check.pass td.verdict { color: var(--down); font-weight: 700; }  /* blue and orange: safe for colour-blind readers */
tr.check.fail td.verdict { color: var(--up); font-weight: 700; }
tr.check.inconclusive td.verdict, tr.check.not-evaluated td.verdict { color: var(--muted); font-weight: 700; }
.checks-summary { font-weight: 600; }
table.checks th[scope=col], table.checks td.verdict { white-space: nowrap; }
table.checks small.key, table.checks td.measured { overflow-wrap: anywhere; }
@media print {
  body { margin: 0; max-width: none; font-size: 10.5pt; }
  h2 { break-after: avoid; } figure, table, tr { break-inside: avoid; }
  details { display: block; } details > summary { display: none; }
  details::details-content { content-visibility: visible; display: block; }
  a { color: inherit; text-decoration: none; }
  @page { margin: 16mm 14mm; }
}
"""


def _default_question(data: ReportData) -> str:
    if not data.paired:
        return f"What does the scenario {data.reference!r} produce, over {len(data.seeds)} replicate(s)?"
    others = [x for x in data.labels if x != data.reference]
    return (
        f"What changes for children, and for everyone else, if we move from {data.reference!r} to "
        f"{', '.join(repr(o) for o in others)}?"
    )


def render(data: ReportData) -> str:
    """Render the HTML brief of ``data`` (see the module docstring for its sections)."""
    title = data.title or ("Comparison: " + " vs ".join(data.labels) if data.paired else f"Results: {data.reference}")
    question = data.question or _default_question(data)
    means = data.means()
    s: list[str] = []
    s.append(f"<h1>{_e(title)}</h1>")
    seeds = data.seeds
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}{NONE}{seeds[-1]}" if seeds else ""
    s.append(
        f'<p class="lede">safesim {_e(data.provenance.get("version", _core.version))} · {len(seeds)} replicate(s) '
        f"{'on common seeds ' if data.paired else ''}({seed_text}) · synthetic populations: every number is a "
        f"simulated count, not an observation.</p>"
    )
    s.append(f"<h2>Question</h2><p>{_e(question)}</p>")
    checks = [*data.checks, *checks_from_arms(data)]
    if checks:
        s.append(
            f'<p class="checks-summary">{_e(_checks_summary(checks))} See <a href="#safety-checks">Safety checks</a>.</p>'
        )

    # Scenarios and what differs
    s.append("<h2>Scenarios</h2><ul>")
    for label in data.labels:
        sc = data.scenarios.get(label, {})
        pol = data.policies.get(label) or []
        role = " (reference)" if data.paired and label == data.reference else ""
        desc = sc.get("description") or ""
        pols = f" Policy bundles: {', '.join(_e(p) for p in pol)}." if pol else ""
        s.append(f"<li><strong>{_e(label)}</strong>{role}: {_e(desc)}{pols}</li>")
    s.append("</ul>")
    info = parameter_info()
    changed_keys: list[str] = []
    if data.paired:
        ref = data.scenarios.get(data.reference, {})
        for label in data.labels:
            if label == data.reference:
                continue
            diff = scenario_diff(ref, data.scenarios.get(label, {}))
            changed_keys += [k for k in diff if k not in changed_keys]
            s.append(f"<h3>What differs: {_e(label)} against {_e(data.reference)}</h3>")
            if not diff:
                s.append("<p>Nothing: the resolved scenarios are identical.</p>")
                continue
            rows = []
            for key, (a, b) in diff.items():
                meaning = info.get(dictionary_key(key), {}).get("meaning", "")
                rows.append(
                    f"<tr><td class=key>{_e(key)}</td><td>{_e(_value_text(a))}</td><td>{_e(_value_text(b))}</td>"
                    f"<td>{_e(meaning)}</td></tr>"
                )
            s.append(
                f"<table class=diff><thead><tr><th scope=col>key</th><th scope=col>{_e(data.reference)}</th>"
                f"<th scope=col>{_e(label)}</th><th scope=col>meaning</th></tr></thead><tbody>{''.join(rows)}"
                "</tbody></table>"
            )

    # Effects
    if data.paired:
        eff = data.effects()
        s.append("<h2>Paired effects</h2>")
        s.append(
            "<p>Each scenario ran on the same seeds as the reference, so each replicate is a matched pair; "
            "the difference is scenario minus reference, with the 95% t-interval of the paired differences. "
            "An interval that excludes zero is a change the simulation detects.</p>"
        )
        eco = eff[eff["scope"].astype(str) == ECOSYSTEM]
        for label in data.labels:
            if label == data.reference:
                continue
            s.append(f"<h3>{_e(label)}</h3><ul class=effects>")
            part = eco[eco["scenario"].astype(str) == label]
            for metric in HEADLINE:
                row = part[part["metric"].astype(str) == metric]
                if not row.empty:
                    s.append(f"<li>{_e(effect_sentence(row.iloc[0].to_dict(), data.reference))}</li>")
            s.append("</ul>")
        s.append("<figure>" + effects_svg(eff))
        s.append("<figcaption>Paired change as % of the reference mean, with 95% intervals.</figcaption></figure>")
        s.append(effects_table_html(eff))
        s.append("<details><summary>Every metric (ecosystem)</summary>")
        s.append(effects_table_html(eff, metrics=None) + "</details>")
    else:
        s.append("<h2>Results</h2>")
        s.append(means_table_html(means, HEADLINE))
        s.append("<details><summary>Every metric (ecosystem)</summary>" + means_table_html(means) + "</details>")

    if checks:
        s.append('<h2 id="safety-checks">Safety checks</h2>')
        s.append(
            "<p>Expectations written into the scenario files (their <code>expect:</code> blocks, which "
            "<code>safesim check</code> runs): the measured quantity, a mean or a paired change against the "
            "expectation's reference, with its interval, against the bound it must meet. PASS when the whole "
            "interval is on the passing side of the bound, FAIL when the whole interval is on the failing side, "
            "INCONCLUSIVE otherwise. Unless marked <em>safesim check</em>, a verdict is decided here on this "
            "report's replicates, with one look at the stated confidence; <code>safesim check</code> decides with "
            "its own seeds and sequential plan, so near a bound the two can differ.</p>"
        )
        s.append(checks_html(checks))

    s.append("<h2>Exposure funnel</h2><figure>" + funnel_svg(means, labels=data.labels))
    s.append(
        "<figcaption>Distinct minors reaching each stage (ecosystem), mean and 95% interval: an offender "
        "contacted them, they replied, they were solicited, they were exploited.</figcaption></figure>"
    )
    if data.paired:
        axes = means
        for axis in (data.exposure, data.burden):
            if axis not in set(means["metric"].astype(str)):  # a named weighted burden
                rows = burden_runs(data.runs, axis, data.burdens)
                axes = pd.concat([axes, summarize(rows, by=["scenario", "scope", "metric"])], ignore_index=True)
        s.append(
            "<h2>Exposure against burden</h2><figure>"
            + frontier_svg(
                frontier_points(axes, exposure=data.exposure, burden=data.burden), data.exposure, data.burden
            )
        )
        weights = data.burdens.get(data.burden)
        what = (
            f"{_e(data.burden)} (" + " + ".join(f"{w:g} * {_e(m)}" for m, w in weights.items()) + ")"
            if weights
            else _e(metric_label(data.burden))
        )
        s.append(
            f"<figcaption>Each option's child exposure against the burden on legitimate users ({what}), with 95% "
            "intervals; squares joined by the dashed line are options no other option beats on both."
            "</figcaption></figure>"
        )
        s.append('<h2 id="rights">The rights side</h2>')
        s.append(
            "<p>What each option costs people who did nothing wrong: private items inspected by detectors and "
            "seen by moderators after a false flag, the people whose private content was seen (minors among "
            "them), wrongful actions and their consequences. Paired change against the reference with its 95% "
            "interval.</p>"
        )
        s.append(effects_table_html(data.effects(), metrics=RIGHTS))
    if data.daily is not None:
        s.append("<h2>Over time</h2><figure>" + timeseries_svg(data.daily))
        s.append("<figcaption>Cumulative minors contacted by day: mean and 95% band.</figcaption></figure>")

    tv = transparency_html(data.effects() if data.paired else means, data.paired)
    if tv:
        s.append("<h2>Transparency view</h2>")
        s.append(
            f"<p>Per platform, what it would publish ({', '.join(PUBLISHED)}) beside the ground truth only the "
            "simulation knows. A fall in published figures that comes with a rise in harm shows as intervals "
            "of opposite sign.</p>" + tv
        )

    # Assumptions and sources
    s.append("<h2>Assumptions and sources</h2>")
    bundles = sorted({p for ps in data.policies.values() for p in ps})
    for b in bundles:
        bi = bundle_info(b)
        if not bi:
            continue
        s.append(f"<h3>Policy bundle {_e(b)}</h3><p><em>{_e(bi.get('title') or '')}</em></p>")
        s.append(f"<p>{_e(bi.get('summary') or '')}</p>")
        if bi.get("sources"):
            s.append("<ul>" + "".join(f"<li>{_e(x)}</li>" for x in bi["sources"]) + "</ul>")
    if changed_keys:
        rows = []
        for key in changed_keys:
            pi = info.get(dictionary_key(key), {})
            rows.append(
                f"<tr><td class=key>{_e(key)}</td><td>{_e(pi.get('unit', ''))}</td>"
                f"<td>{_e(pi.get('meaning', ''))}</td><td>{_e(pi.get('source', ''))}</td></tr>"
            )
        s.append("<h3>Sources of the keys that differ</h3>")
        s.append(
            "<table><thead><tr><th scope=col>key</th><th scope=col>unit</th><th scope=col>meaning</th>"
            f"<th scope=col>source</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    s.append(
        '<p class="note">Every other value is the scenario default listed in the parameter dictionary '
        "(<code>safesim params</code>), each with its source; values marked <em>assumption</em> there are "
        "the modellers' choices, not measurements. The population is synthetic.</p>"
    )

    # Provenance
    s.append("<h2>Provenance</h2><table><tbody>")
    prov = data.provenance
    s.append(f"<tr><th scope=row>safesim</th><td>{_e(prov.get('version', ''))} ({_e(prov.get('build_type', ''))})</td>")
    s.append(f"<tr><th scope=row>seeds</th><td>{_e(', '.join(str(x) for x in seeds))}</td></tr>")
    for label in data.labels:
        s.append(
            f"<tr><th scope=row>scenario hash: {_e(label)}</th><td class=key>{_e(data.hashes.get(label))}</td></tr>"
        )
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    s.append(f"<tr><th scope=row>written</th><td>{stamp}</td></tr></tbody></table>")
    s.append("<details><summary>Full provenance (JSON)</summary><pre>")
    s.append(_e(json.dumps(prov, indent=1, default=str)[:20000]) + "</pre></details>")

    body = "\n".join(s)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>\n{body}\n</main></body></html>\n"
    )


_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


def comparison_html(
    cmp: Comparison,
    title: str = "",
    question: str = "",
    checks: Sequence[Any] = (),
    exposure: str = EXPOSURE,
    burden: str = BURDEN,
) -> str:
    """``cmp`` as a self-contained HTML brief (see the module docstring).

    ``checks``: ``safesim check`` results (``safesim.harness.runner.run_checks``)
    to show beside the verdicts of the arms' own ``expect:`` blocks. ``exposure``
    and ``burden``: the frontier's axes, each a metric or a named burden of the
    scenarios (``burden:``).
    """
    data = ReportData.from_comparison(cmp)
    cmp.frontier(exposure=exposure, burden=burden)  # an unknown axis fails here, with the names it knows
    data.exposure, data.burden = exposure, burden
    data.title, data.question, data.checks = title, question, check_rows(checks)
    return render(data)


def results_html(res: Results, title: str = "", question: str = "", checks: Sequence[Any] = ()) -> str:
    """Replicates of one scenario as a self-contained HTML brief (``checks`` as for :func:`comparison_html`)."""
    data = ReportData.from_results(res)
    data.title, data.question, data.checks = title, question, check_rows(checks)
    return render(data)


def report_from_dir(
    folder: str | os.PathLike[str], title: str = "", question: str = "", checks: Sequence[Any] = ()
) -> str:
    """Render the brief of a folder written by ``safesim run/compare --out`` (``safesim report DIR``)."""
    data = ReportData.from_dir(folder)
    data.title, data.question, data.checks = title, question, check_rows(checks)
    return render(data)


def write_report(html_text: str, path: str | os.PathLike[str]) -> Path:
    """Write a brief atomically."""
    from safesim.io import write_text

    return write_text(path, html_text)
