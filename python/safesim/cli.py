"""The ``safesim`` command line.

Run, compare, sweep, sensitivity, calibrate, targets, crn, validate, params, metrics, report, serve.

Argument parsing and printing only: plan files are read, checked and run by
:mod:`safesim.plans`, everything else by the library. Input errors (a bad
scenario, a missing file) print one line to stderr and exit with status 2; a
Python traceback means a bug in safesim.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np

from safesim import _core
from safesim.api import RunOptions, common_seeds, compare, replicate, unique_label
from safesim.errors import PlanError, ScenarioError, one_line, printable
from safesim.executors import RunsFailed
from safesim.plans import MAX_POINTS, MAX_REPS, MAX_RUNS, MAX_SEED, check_file, load_plan
from safesim.readers import did_you_mean
from safesim.resources import check_job_memory
from safesim.results import ECOSYSTEM, Comparison, Results, SweepResults
from safesim.scenario import Scenario, installed_scenarios
from safesim.store import OutputError, job_folder, job_outputs

if TYPE_CHECKING:
    import pandas as pd

    from safesim.calibration import CalibrationResults
    from safesim.ensemble import EnsembleComparison
    from safesim.sensitivity import SensitivityResults

__all__ = ["build_parser", "main"]

EXIT_INPUT_ERROR = 2
MAX_PLATFORM_TABLES = 8
#: The most --threads, --workers and --jobs (far above any machine's cores; a pool never starts more than its tasks).
MAX_WORKERS = 1024
#: The most --n and --waves (as a plan's n and waves).
MAX_WAVES = 100


class InputError(Exception):
    """A user input problem reported as one line (exit status 2)."""


# ------------------------------------------------------------------ argument parsing
class _Parser(argparse.ArgumentParser):
    """An argparse parser in safesim's style: a command-line mistake is one line on stderr.

    The line is ``safesim COMMAND: error: --flag: message``, exit status 2, without the usage block (``--help``
    prints it). Subcommand parsers are of this class too.
    """

    def error(self, message: str) -> NoReturn:
        message = re.sub(r"^argument ([^:]+): ", r"\1: ", message)
        # A flag without a checking type of its own (another module's subcommand).
        message = re.sub(r"invalid int value: (.*)$", r"expected a whole number, got \1", message)
        message = re.sub(r"invalid float value: (.*)$", r"expected a number, got \1", message)
        choice = re.match(r"(.*)invalid choice: '(.*)' \(choose from (.*)\)$", message)
        if choice:
            known = re.findall(r"'([^']*)'", choice.group(3))
            bad = choice.group(2)
            message = (
                f"{choice.group(1)}unknown choice {printable(bad, 60)}{did_you_mean(bad, known)} "
                f"(one of {', '.join(known)})"
            )
        self.exit(EXIT_INPUT_ERROR, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def _whole(low: int, high: int) -> Callable[[str], int]:
    """Return an argparse type: a whole number from ``low`` to ``high``, worded as the plan readers word it."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip().replace("_", ""), 10) if re.fullmatch(r"\s*[-+]?[0-9_]+\s*", text) else None
        except ValueError:
            value = None
        if value is None:
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {low:,} to {high:,}, got {printable(text, 40)}"
            )
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value:,} is out of range ({low:,} to {high:,})")
        return value

    return parse


def _positive(high: float) -> Callable[[str], float]:
    """Return an argparse type: a number above 0 and at most ``high``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {printable(text, 40)}") from None
        if not 0 < value <= high:  # NaN fails too
            raise argparse.ArgumentTypeError(f"{value:g} is out of range (above 0 to {high:g})")
        return value

    return parse


REPS = _whole(1, MAX_REPS)
SEED = _whole(0, MAX_SEED)
WORKERS = _whole(1, MAX_WORKERS)
POINTS = _whole(1, MAX_POINTS)


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """``parser.parse_args``, but arguments a subcommand does not know are blamed on it."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    return args


# ------------------------------------------------------------------ helpers
def _overrides(items: Sequence[str] | None) -> list[tuple[str, str]]:
    """``--set KEY.PATH=VALUE`` arguments as (key path, YAML text) pairs."""
    out = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {printable(item, 80)}: expected KEY.PATH=VALUE")
        out.append((key.strip(), value.strip()))
    return out


def _scenario_from_args(args: argparse.Namespace, source: str | None = None) -> Scenario:
    sc = Scenario.load(args.scenario if source is None else source)
    for key, text in _overrides(args.set):
        sc = sc.set_yaml(key, text)
    for name in args.policy or []:
        sc = sc.with_policy(name)
    return sc


def _fmt(x: float) -> str:
    """Return a number for a table: integers with separators, others to 4 significant digits."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.1f}"
    return f"{x:.4g}"


def _align(rows: list[list[str]], right: Sequence[bool] = ()) -> list[str]:
    """Rows of cells as aligned text lines (columns listed in ``right`` right-aligned)."""
    if not rows:
        return []
    ncols = max(len(r) for r in rows)
    rows = [r + [""] * (ncols - len(r)) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(ncols)]
    lines = []
    for r in rows:
        cells = [
            c.rjust(w) if i < len(right) and right[i] else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _summary_table(results: Results) -> str:
    units = {row[0]: row[2] for row in _core.metrics()}
    summary = results.summary()
    platforms = results.platforms
    # Per-platform tables only while they stay readable (an ecosystem can have hundreds).
    shown = platforms if 1 < len(platforms) <= MAX_PLATFORM_TABLES else []
    scopes = [ECOSYSTEM, *shown]
    prov = results.provenance
    seeds = results.seeds
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}..{seeds[-1]}"
    out = [
        f"scenario {prov['scenario']} ({prov['scenario_hash'][:12]}), {results.reps} replicate(s), {seed_text}, "
        f"safesim {prov['version']} ({prov['build_type']})"
    ]
    for scope in scopes:
        part = summary[summary["scope"] == scope]
        title = "ecosystem" if scope == ECOSYSTEM else f"platform {scope}"
        rows = [["metric", "mean", "95% CI", "unit"]]
        for row in part.itertuples(index=False):
            ci = "-" if math.isnan(row.ci_low) else f"[{_fmt(row.ci_low)}, {_fmt(row.ci_high)}]"
            rows.append([str(row.metric), _fmt(row.mean), ci, units.get(str(row.metric), "")])
        out += ["", title, *("  " + line for line in _align(rows, right=[False, True, True, False]))]
    if len(platforms) > MAX_PLATFORM_TABLES:
        out += ["", f"{len(platforms)} platforms: per-platform figures are in --json and --out outputs"]
    return "\n".join(out)


def _markdown_as_text(markdown: str) -> str:
    """Markdown tables aligned as plain text; other lines with markup removed."""
    out: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if table:
            out.extend(_align(table))
            table.clear()

    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            cells = [c.strip().replace("`", "") for c in stripped.strip("|").split("|")]
            if not all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                table.append(cells)
            continue
        flush()
        out.append(re.sub(r"^#+\s*", "", line).replace("`", ""))
    flush()
    return "\n".join(out)


# ------------------------------------------------------------------ subcommands
def _check_bounds(args: argparse.Namespace) -> None:
    """--metric names known, before anything runs (the parser bounds the numbers)."""
    known = [row[0] for row in _core.metrics()]
    for name in getattr(args, "metric", None) or []:
        if name not in known:
            raise InputError(
                f"--metric {printable(name, 60)}: unknown metric{did_you_mean(name, known)} (see safesim metrics)"
            )


def _check_memory(scenarios: list[Scenario], reps: int, out: str | None = None) -> None:
    """Refuse a job whose results would not fit in this process's memory, before any run.

    With ``--out`` the daily results are streamed to disk: only the runs in flight count.
    """
    for sc in scenarios:
        spec = sc.spec  # a scenario's own error (ScenarioError) is printed as it is
        try:
            check_job_memory(
                len(spec.platforms), int(spec.horizon_days), reps * len(scenarios), sc.name, streamed=out is not None
            )
        except ValueError as err:
            raise InputError(str(err)) from None


def cmd_run(args: argparse.Namespace) -> int:
    _check_bounds(args)
    sc = _scenario_from_args(args)
    _check_memory([sc], args.reps, getattr(args, "out", None))
    options = RunOptions(executor=run_executor(args), out=args.out, csv=args.csv, progress=False)
    results = replicate(sc, n=args.reps, seed=args.seed, threads=args.threads, options=options)
    written = _listing(Path(args.out)) if args.out else []
    if args.json:
        json.dump(results.to_json_dict(), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(_summary_table(results))
        timeline = _timeline_table(results)
        if timeline:
            print(timeline)
        risk = _risk_lines(results)
        if risk:
            print(risk)
        for path in written:
            print(f"wrote {path}")
    return 0


TIMELINE_METRICS = (
    "detections",
    "clearinghouse_reports",
    "user_reports",
    "contacts_prevented",
    "minors_contacted",
    "exploitation_events",
    "abuse_material_views",
    "legit_contacts_blocked",
)


def _timeline_table(results: Results, window: int = 30) -> str:
    """Return, for each scheduled change, daily means of key flows in the `window` days before and after its day.

    Ecosystem, mean over replicates: the step a timeline event makes in the time series, without opening
    daily.parquet.
    """
    events = results.scenario.to_dict().get("timeline") or []
    if not events or not results.outputs:
        return ""
    names = [m[0] for m in _core.metrics()]
    daily = np.mean([o["daily"][0] for o in results.outputs], axis=0)  # (days, metrics), ecosystem
    out: list[str] = []
    for event in events:
        day = int(event["day"])
        lo, hi = max(0, day - window), min(daily.shape[0], day + window)
        if day - lo < 1 or hi - day < 1:
            continue
        what = event.get("description") or f"platform {event['platform']} changes"
        rows = [["metric", f"per day, days {lo}-{day - 1}", f"per day, days {day}-{hi - 1}", "change"]]
        for metric in TIMELINE_METRICS:
            k = names.index(metric)
            before, after = daily[lo:day, k].mean(), daily[day:hi, k].mean()
            change = f"{(after / before - 1) * 100:+.0f}%" if before > 0 else "-"
            rows.append([metric, _fmt(before), _fmt(after), change])
        out += ["", f"Timeline: day {day}, {what} (ecosystem, mean of {results.reps} replicates)"]
        out += ["  " + line for line in _align(rows, right=[False, True, True, True])]
    return "\n".join(out)


def _risk_lines(results: Results) -> str:
    """Return, for each platform with a risk assessment, the day its risk response started.

    Across the replicates (or that it never did).
    """
    platforms = results.scenario.to_dict().get("platforms") or {}
    names = [m[0] for m in _core.metrics()]
    k = names.index("risk_response_active")
    out: list[str] = []
    for p, name in enumerate(results.platforms):
        spec = platforms.get(name) or {}
        if not spec.get("controls", {}).get("risk_assessment", {}).get("enabled"):
            continue
        days = []
        for o in results.outputs:
            active = np.flatnonzero(np.asarray(o["daily"][p + 1][:, k]) > 0)
            if active.size:
                days.append(int(active[0]))
        response = (spec.get("risk_response") or {}).get("description") or "no response set: measured only"
        if days:
            span = (
                f"day {days[0]}"
                if min(days) == max(days)
                else f"days {min(days)}-{max(days)}, median {np.median(days):g}"
            )
            what = f"from {span} in {len(days)} of {results.reps} runs"
        else:
            what = f"never, in {results.reps} runs"
        out.append(f"  {name}: {what} ({response})")
    return "\n".join(["", "Risk response (risk_assessment crossed its threshold):", *out]) if out else ""


def _listing(out: Path) -> list[str]:
    """Return the combined outputs this job wrote in ``out``, for the 'wrote' lines.

    The per-run folder is listed with a trailing slash; files safesim did not write are not listed.
    """
    root = out.resolve()
    files, folders = set(), set()
    for path in job_outputs(out):
        parts = path.relative_to(root).parts
        if len(parts) == 1:
            files.add(str(out / parts[0]))
        else:
            folders.add(str(out / parts[0]) + os.sep)
    if (out / "runs").is_dir():
        folders.add(str(out / "runs") + os.sep)
    return sorted(files) + sorted(folders)


def _check_common(args: argparse.Namespace) -> None:
    _check_bounds(args)


def _run_options(args: argparse.Namespace) -> RunOptions:
    """Return the execution options of compare, sweep, sensitivity and calibrate."""
    return RunOptions(
        executor=run_executor(args),
        workers=args.workers,
        out=args.out,
        csv=getattr(args, "csv", False),
        progress=False if args.no_progress else None,
    )


def _outputs(args: argparse.Namespace, results: object, metrics: list[str] | None) -> None:
    """With --out: the PNG figures (unless --no-figures), then a 'wrote' line per output."""
    if not args.out:
        return
    out = Path(args.out)
    if not args.no_figures:
        _figures(results, out, metrics, getattr(args, "frontier_axes", None))
    for path in _listing(out):
        print(f"wrote {path}")


def _figures(results: object, out: Path, metrics: list[str] | None, axes: dict[str, str] | None = None) -> list[Path]:
    """PNG figures for any experiment's results; matplotlib is imported only here."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window from the command line
    from safesim import plotting as sp
    from safesim.calibration import CalibrationResults
    from safesim.sensitivity import SensitivityResults

    out.mkdir(parents=True, exist_ok=True)
    written = []
    if isinstance(results, SensitivityResults):
        for metric in metrics or []:
            written.append(sp.save(sp.sensitivity(results, metric), out / f"sensitivity_{metric}.png"))
    elif isinstance(results, CalibrationResults):
        written.append(sp.save(sp.calibration(results), out / "calibration.png"))
        written.append(sp.save(sp.calibration_fit(results), out / "calibration_fit.png"))
        if len(results.diagnostics):
            written.append(sp.save(sp.emulator_diagnostics(results), out / "emulator_diagnostics.png"))
    elif isinstance(results, SweepResults):
        shown = metrics or ["minors_exploited", "minors_contacted"]
        for metric in shown:
            if len(results.parameters) >= 2:
                written.append(sp.save(sp.sweep_heatmap(results, metric), out / f"heatmap_{metric}.png"))
            if _numeric(results, results.parameters[0]):
                written.append(sp.save(sp.sweep_lines(results, metric), out / f"lines_{metric}.png"))
        written.append(sp.save(sp.frontier(results), out / "frontier.png"))
        written.append(sp.save(sp.funnel(results), out / "funnel.png"))
    elif type(results).__name__ == "EnsembleComparison":
        written.append(sp.save(sp.effects(results, metrics=metrics), out / "effects.png"))
        written.append(sp.save(sp.frontier(results, **(axes or {})), out / "frontier.png"))
    elif isinstance(results, Comparison):
        written.append(sp.save(sp.effects(results, metrics=metrics), out / "effects.png"))
        written.append(sp.save(sp.funnel(results), out / "funnel.png"))
        for metric in metrics or ["minors_contacted"]:
            written.append(sp.save(sp.timeseries(results, metric), out / f"timeseries_{metric}.png"))
        written.append(sp.save(sp.frontier(results, **(axes or {})), out / "frontier.png"))
    return written


def _numeric(results: SweepResults, param: str) -> bool:
    values = [p.get(param) for p in results.points]
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _effects_table(cmp: Comparison | SweepResults, metrics: list[str] | None) -> str:
    """Ecosystem paired effects as aligned text."""
    eff = cmp.effects()
    eff = eff[eff["scope"] == ECOSYSTEM]
    if metrics:
        eff = eff[eff["metric"].isin(metrics)]
    key = cmp.key
    rows = [[key, "metric", "reference", "mean", "difference", "95% CI", "relative"]]
    for r in eff.itertuples(index=False):
        d = r._asdict()
        ci = "-" if math.isnan(d["diff_ci_low"]) else f"[{_fmt(d['diff_ci_low'])}, {_fmt(d['diff_ci_high'])}]"
        rel = "-" if math.isnan(d["rel_diff"]) else f"{d['rel_diff']:+.1%}"
        rows.append([str(d[key]), str(d["metric"]), _fmt(d["ref_mean"]), _fmt(d["mean"]), _fmt(d["diff"]), ci, rel])
    return "\n".join(_align(rows, right=[False, False, True, True, True, True, True]))


def cmd_compare(args: argparse.Namespace) -> int:
    _check_common(args)
    arms: dict[str, Scenario] = {}
    names = list(args.name or [])
    for source in args.scenarios:
        sc = _scenario_from_args(args, source)
        arms[unique_label(names.pop(0) if names else sc.name, arms)] = sc
    first = next(iter(arms.values()))
    for policy in args.policy_arm or []:
        arms[unique_label(names.pop(0) if names else policy, arms)] = first.with_policy(policy)
    if len(arms) < 2:
        raise InputError("give at least two scenarios, or one with --policy-arm NAME")
    _check_memory(list(arms.values()), args.reps, getattr(args, "out", None))
    if args.ensemble:
        return _compare_ensemble(args, arms)
    cmp = compare(arms, n=args.reps, seed=args.seed, options=_run_options(args))
    metrics = args.metric or None
    print(
        f"paired comparison against {cmp.reference!r}: {cmp.reps} replicate(s) per scenario on common seeds "
        f"{cmp.seeds[0]}..{cmp.seeds[-1]}, safesim {_core.version}"
    )
    shown = metrics or list(DEFAULT_SHOWN)
    print(_effects_table(cmp, shown))
    axes = {"exposure": args.exposure or "minors_exploited_per_1k", "burden": args.burden or "legit_contacts_blocked"}
    if args.burden or args.exposure:
        try:
            table = cmp.frontier(**axes)
        except ValueError as err:
            raise InputError(f"--burden/--exposure: {err}") from None
        print(_frontier_table(cmp, table))
    if args.out and not args.no_report:
        from safesim.report import write_report

        write_report(cmp.to_html(**axes), Path(args.out) / "report.html")
    args.frontier_axes = axes
    _outputs(args, cmp, metrics)
    return 0


# The metrics `safesim compare` shows without --metric (plain and --ensemble).
DEFAULT_SHOWN = (
    "minors_contacted",
    "minors_engaged",
    "minors_solicited",
    "minors_exploited",
    "exposure_days",
    "user_reports",
    "false_positive_actions",
    "legit_contacts_blocked",
)


def _compare_ensemble(args: argparse.Namespace, arms: dict[str, Scenario]) -> int:
    """Run compare --ensemble FILE: the paired comparison at every parameter set, intervals combined."""
    from safesim.ensemble import load_ensemble

    try:
        ens = load_ensemble(args.ensemble)
    except ValueError as err:
        raise InputError(f"--ensemble: {err}") from None
    _check_memory([sc for sc in arms.values() for _ in range(len(ens))], args.reps)
    cmp = compare(arms, n=args.reps, seed=args.seed, ensemble=ens, options=_run_options(args))
    metrics = args.metric or None
    print(
        f"paired comparison against {cmp.reference!r} at {len(ens)} parameter set(s) of {args.ensemble}: "
        f"{cmp.reps} replicate(s) per scenario and set on common seeds {cmp.seeds[0]}..{cmp.seeds[-1]}, "
        f"safesim {_core.version}"
    )
    eff = cmp.effects()
    eff = eff[(eff["scope"] == ECOSYSTEM) & eff["metric"].isin(metrics or DEFAULT_SHOWN)]
    rows = [["scenario", "metric", "reference", "difference", "95% CI (sets + noise)", "between sets", "relative"]]
    for d in eff.to_dict("records"):
        ci = "-" if math.isnan(d["diff_ci_low"]) else f"[{_fmt(d['diff_ci_low'])}, {_fmt(d['diff_ci_high'])}]"
        spread = "-" if math.isnan(d["between_sd"]) else f"sd {_fmt(d['between_sd'])}"
        rel = "-" if math.isnan(d["rel_diff"]) else f"{d['rel_diff']:+.1%}"
        rows.append([str(d["scenario"]), str(d["metric"]), _fmt(d["ref_mean"]), _fmt(d["diff"]), ci, spread, rel])
    print("\n".join(_align(rows, right=[False, False, True, True, True, True, True])))
    print(
        "The interval is the equal-weight mixture of the per-set paired t distributions (parameter and "
        "stochastic uncertainty); 'between sets' is the sd of the per-set mean effects."
    )
    axes = {"exposure": args.exposure or "minors_exploited_per_1k", "burden": args.burden or "legit_contacts_blocked"}
    if args.burden or args.exposure:
        try:
            table = cmp.frontier(**axes)
        except ValueError as err:
            raise InputError(f"--burden/--exposure: {err}") from None
        print(_frontier_table(cmp, table))
    if args.out and not args.no_report:
        print(
            "report.html is not written for an ensemble comparison (the HTML report covers one parameter set): "
            "its tables and figures are in --out"
        )
    args.frontier_axes = axes
    _outputs(args, cmp, metrics)
    return 0


def _frontier_table(cmp: Comparison | EnsembleComparison, table: pd.DataFrame) -> str:
    """Both sides per scenario: mean and paired change with its 95% interval."""
    key = cmp.key
    first = table.iloc[0]
    lines = [f"both sides (ecosystem): exposure {first['exposure']}, burden {first['burden']}"]
    rows = [[key, "exposure", "change [95% CI]", "burden", "change [95% CI]", "frontier"]]
    for r in table.to_dict("records"):
        cells = [str(r[key])]
        for side in ("exposure", "burden"):
            cells.append(_fmt(r[f"{side}_mean"]))
            lo, hi = r[f"{side}_diff_ci_low"], r[f"{side}_diff_ci_high"]
            ci = "-" if math.isnan(lo) else f"[{_fmt(lo)}, {_fmt(hi)}]"
            cells.append("reference" if r[key] == cmp.reference else f"{_fmt(r[f'{side}_diff'])} {ci}")
        cells.append("yes" if r["frontier"] else "")
        rows.append(cells)
    return "\n".join([*lines, *_align(rows, right=[False, True, True, True, True, False])])


def cmd_report(args: argparse.Namespace) -> int:
    from safesim.report import report_from_dir, write_report

    folder = Path(args.results)
    try:
        text = report_from_dir(folder, title=args.title or "", question=args.question or "")
    except (FileNotFoundError, ValueError) as err:
        raise InputError(str(err)) from None
    out = Path(args.output) if args.output else folder / "report.html"
    print(f"wrote {write_report(text, out)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from safesim.web import serve
        from safesim.web.app import Limits
    except ModuleNotFoundError as err:
        raise InputError(
            f"the web explorer needs the web extra: pip install 'safesim[web]' ({err.name} missing)"
        ) from None
    limits = Limits(users=args.max_users, days=args.max_days, reps=args.max_reps)
    serve(args.scenarios or None, host=args.host, port=args.port, open_browser=args.open, limits=limits)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    _check_common(args)
    plan = load_plan(args.sweep, "sweep")
    sc = plan.scenario(_overrides(args.set))
    metrics = args.metric or plan.metrics or None
    sw = plan.run(_run_options(args), scenario=sc, reps=args.reps, seed=args.seed)
    print(
        f"sweep of {sc.name}: {len(sw.points)} point(s) x {sw.reps} replicate(s) on common seeds, "
        f"parameters {', '.join(sw.parameters)}"
    )
    summary = sw.summary()
    summary = summary[(summary["scope"] == ECOSYSTEM) & summary["metric"].isin(metrics or ["minors_exploited"])]
    rows = [["point", *[p.split(".")[-1] for p in sw.parameters], "metric", "mean", "95% CI"]]
    for r in summary.to_dict(orient="records"):
        ci = "-" if math.isnan(r["ci_low"]) else f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"
        rows.append([str(r["point"]), *[str(r[p]) for p in sw.parameters], str(r["metric"]), _fmt(r["mean"]), ci])
    print("\n".join(_align(rows)))
    _outputs(args, sw, metrics)
    return 0


def _pm(value: float, half: float) -> str:
    return "-" if math.isnan(value) else f"{_fmt(value)} ± {_fmt(half)}"


def _sensitivity_table(sa: SensitivityResults, metrics: list[str]) -> str:
    """Return the indices of ``metrics`` as aligned text, most important parameter first."""
    idx = sa.indices(metrics)
    if sa.method == "morris":
        rows = [["metric", "parameter", "mu*", "sigma", "noise mu*", "noise share"]]
        for r in idx.to_dict(orient="records"):
            rows.append(
                [
                    r["metric"],
                    r["parameter"],
                    _pm(r["mu_star"], r["mu_star_conf"]),
                    _fmt(r["sigma"]),
                    _fmt(r["mu_star_noise"]),
                    _fmt(r["noise_share"]),
                ]
            )
    else:
        rows = [["metric", "parameter", "S1", "ST", "noise share"]]
        for r in idx.to_dict(orient="records"):
            rows.append(
                [
                    r["metric"],
                    r["parameter"],
                    _pm(r["S1"], r["S1_conf"]),
                    _pm(r["ST"], r["ST_conf"]),
                    _fmt(r["noise_share"]),
                ]
            )
    return "\n".join(_align(rows, right=[False, False, True, True, True, True]))


def cmd_sensitivity(args: argparse.Namespace) -> int:
    _check_common(args)
    plan = load_plan(args.plan, "sensitivity")
    shown = args.metric or plan.metrics or ["minors_exploited"]
    sa = plan.run(
        _run_options(args),
        scenario=plan.scenario(_overrides(args.set)),
        method=args.method,
        n=args.n,
        reps=args.reps,
        seed=args.seed,
    )
    with plan.errors():  # a metric the plan asks to show but the engine has not
        table = _sensitivity_table(sa, shown)
    seeds = sa.sweep.seeds
    print(
        f"{'Morris' if sa.method == 'morris' else 'Sobol'} sensitivity of {sa.base_scenario.name} ({sa.scope}): "
        f"{len(sa.parameters)} parameter(s), {len(sa.sweep.points)} sample point(s) x {sa.reps} replicate(s) "
        f"on common seeds {seeds[0]}..{seeds[-1]}, safesim {_core.version}, SALib {sa.provenance['salib_version']}"
    )
    print(table)
    if sa.method == "morris":
        print("± is the 95% bootstrap half-width; mu* at or below 'noise mu*' is within simulation noise.")
    else:
        print("± is the 95% bootstrap half-width; an index below 'noise share' is within simulation noise.")
    _outputs(args, sa, shown)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    _check_common(args)
    plan = load_plan(args.plan, "calibration")
    settings = plan.settings(n=args.n, reps=args.reps, waves=args.waves)
    runs = int(settings["n"]) * int(settings["reps"]) * int(settings["waves"])
    if runs > MAX_RUNS:
        raise InputError(f"{runs:,} runs (n x reps x waves) is more than {MAX_RUNS:,}")
    if args.keep_daily and not args.out:
        raise InputError("--keep-daily needs --out DIR (the daily files are written there)")
    cal = plan.run(
        _run_options(args),
        scenario=plan.scenario(_overrides(args.set)),
        n=args.n,
        reps=args.reps,
        waves=args.waves,
        cutoff=args.cutoff,
        seed=args.seed,
        emulate=True if args.emulate else None,
        keep_daily=True if args.keep_daily else None,
    )
    print(_calibration_summary(cal))
    if args.emit:
        import shlex

        from safesim.ensemble import emit_calibrated

        try:
            written = emit_calibrated(
                cal, args.emit, k=args.ensemble_size, command=shlex.join(["safesim", *getattr(args, "argv", [])])
            )
        except ValueError as err:
            raise InputError(f"--emit: {err}") from None
        for path in written.values():
            print(f"wrote {path}")
    _outputs(args, cal, None)
    return 0


def _calibration_summary(cal: CalibrationResults) -> str:
    """Ranges per wave, the best point and each target's fit there, as text."""
    n_ok = int(cal.points["non_implausible"].sum())
    out = [
        f"history matching of {cal.scenario.name}: {len(cal.points)} point(s) in {len(cal.waves)} wave(s), "
        f"{cal.reps} replicate(s) each on common seeds {cal.seeds[0]}..{cal.seeds[-1]}, cutoff {cal.cutoff:g}: "
        f"{n_ok} non-implausible",
        "",
        "non-implausible ranges",
    ]
    rows = [["wave", "parameter", "sampled", "non-implausible", "kept"]]
    for r in cal.ranges().itertuples(index=False):
        kept = (
            "-"
            if math.isnan(r.non_implausible_low)
            else f"[{_fmt(r.non_implausible_low)}, {_fmt(r.non_implausible_high)}]"
        )
        rows.append(
            [
                str(r.wave),
                r.parameter,
                f"[{_fmt(r.sampled_low)}, {_fmt(r.sampled_high)}]",
                kept,
                f"{r.non_implausible}/{r.points}",
            ]
        )
    out += ["  " + line for line in _align(rows, right=[True, False, True, True, True])]
    best = cal.best()
    out += ["", f"best point (largest implausibility {best['max_implausibility']:.2f}, wave {int(best['wave'])})"]
    out += [
        "  " + line for line in _align([[p.key, _fmt(float(best[p.key]))] for p in cal.parameters], right=[False, True])
    ]
    rows = [["target", "value", "sd", "model mean", "model sd", "I"]]
    for r in cal.fit().itertuples(index=False):
        rows.append(
            [
                r.target,
                _fmt(r.value),
                _fmt(r.target_sd),
                _fmt(r.model_mean),
                _fmt(r.model_sd),
                f"{r.implausibility:.2f}",
            ]
        )
    out += [
        "",
        "fit at the best point",
        *("  " + line for line in _align(rows, right=[False, True, True, True, True, True])),
    ]
    return "\n".join(out)


SCHEDULER_ENV = "SAFESIM_SCHEDULER"


def add_executor_options(p: argparse.ArgumentParser) -> None:
    """Add --executor and --scheduler: where a command's runs execute.

    A subcommand that runs replicates calls this (``_add_execution_options`` does), builds its RunOptions with
    ``executor=run_executor(args)``, and :func:`main` connects to a Dask cluster around it.
    """
    p.add_argument(
        "--executor",
        choices=["local", "processes", "serial", "dask"],
        default=None,
        help="where runs execute: threads on all cores (local, default), a process pool, one by one, or a "
        "Dask cluster (dask, with --scheduler)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help=f"the Dask scheduler to run on, e.g. tcp://10.0.0.5:8786 (implies --executor dask; default: "
        f"${SCHEDULER_ENV} with --executor dask); workers need the same safesim installed",
    )


def _executor_choice(args: argparse.Namespace) -> tuple[str, str | None]:
    """(executor name, scheduler address) from --executor, --scheduler and $SAFESIM_SCHEDULER."""
    executor, scheduler = getattr(args, "executor", None), getattr(args, "scheduler", None)
    if scheduler is not None:
        if executor not in (None, "dask"):
            raise InputError(f"--scheduler is for --executor dask, not --executor {executor}")
        executor = "dask"
    if executor == "dask" and scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV, "").strip() or None
        if scheduler is None:
            raise InputError(f"--executor dask needs --scheduler ADDRESS (or ${SCHEDULER_ENV})")
    if scheduler is not None and not scheduler.strip():
        raise InputError("--scheduler: empty address")
    return executor or "local", scheduler


@contextlib.contextmanager
def _cluster(args: argparse.Namespace) -> Iterator[None]:
    """Wrap a command in its executor's context.

    With --executor dask, connect to the scheduler, and at the end say how many runs were done, failed and retried
    there. Other executors: nothing.
    """
    executor, address = _executor_choice(args)
    if executor != "dask":
        yield
        return
    try:
        import distributed  # noqa: F401

        from safesim.executors import DaskExecutor
    except ModuleNotFoundError as err:
        raise InputError(
            f"--executor dask needs the dask extra: pip install 'safesim[dask]' ({err.name} missing)"
        ) from None
    assert address is not None  # _executor_choice gives dask an address or refuses
    shown = address if address.isprintable() and len(address) <= 200 else printable(address, 80)
    quiet = bool(getattr(args, "no_progress", False))
    bar = args.command != "run" and not quiet and bool(getattr(sys.stderr, "isatty", lambda: False)())

    def report(line: str) -> None:
        print(f"safesim {args.command}: dask: {line}", file=sys.stderr, flush=True)

    try:
        ex = DaskExecutor.connect(
            str(address), workers=getattr(args, "workers", None), report=None if bar or quiet else report
        )
    except (OSError, ValueError, TimeoutError) as err:
        raise InputError(
            f"--scheduler {shown}: cannot reach the Dask scheduler ({one_line(str(err)) or type(err).__name__})"
        ) from None
    with ex:
        if not quiet:
            threads = ex.client.nthreads()
            report(f"connected to {shown}: {len(threads)} worker(s), {sum(threads.values())} thread(s)")
        args.dask_executor = ex
        try:
            yield
        finally:
            if not quiet:
                report(ex.status())


def run_executor(args: argparse.Namespace) -> object:
    """Return the executor of a command's RunOptions: a name, or the Dask executor :func:`main` connected."""
    return getattr(args, "dask_executor", None) or _executor_choice(args)[0]


def _add_execution_options(p: argparse.ArgumentParser, tables: bool = True, plan: bool = False) -> None:
    """Add --seed, --executor, --workers, --out, ... (and --metric, --csv with ``tables``).

    A plan command's --set (on the plan's base scenario) comes first.
    """
    if plan:
        p.add_argument(
            "--set", action="append", metavar="KEY.PATH=VALUE", help="override a key of the base scenario (repeatable)"
        )
    p.add_argument("--seed", type=SEED, default=None, metavar="S", help="first seed (default: the scenario's seed)")
    add_executor_options(p)
    p.add_argument(
        "--workers",
        type=WORKERS,
        default=None,
        metavar="N",
        help="parallel workers (default: CPU count; with dask, the cluster's threads)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write per-run files (runs/), combined tables and PNG figures to DIR; rerunning with the same DIR "
        "resumes an interrupted job",
    )
    _add_force(p)
    if tables:
        p.add_argument("--csv", action="store_true", help="with --out, write CSV instead of Parquet")
    p.add_argument("--no-figures", action="store_true", help="with --out, skip the PNG figures")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    if tables:
        p.add_argument("--metric", action="append", metavar="NAME", help="metric to print and plot (repeatable)")


def _add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--force",
        action="store_true",
        help="with --out, write into a non-empty folder that safesim did not create (files it did not write "
        "are never removed; those with the names of its outputs are replaced)",
    )


def cmd_targets(args: argparse.Namespace) -> int:
    from safesim.targets import check_targets, load_targets

    _check_common(args)
    if args.reps < 2 or args.reps > MAX_REPS:
        raise InputError(f"--reps must be between 2 and {MAX_REPS:,} (an interval needs two), got {args.reps}")
    sc = _scenario_from_args(args)
    targets = load_targets(args.targets)
    # check_targets checks memory itself, before any run: it keeps a small record per run, so only the runs
    # in flight hold a daily array, with --out or without.
    check = check_targets(sc, targets, n=args.reps, seed=args.seed, options=_run_options(args))
    if args.json:
        json.dump(check.to_json_dict(), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(_targets_table(check))
        if args.out:
            for path in _listing(Path(args.out)):
                print(f"wrote {path}")
    counts = check.counts()
    if args.fail_on == "off" and counts["off"]:
        print(f"safesim targets: {counts['off']} target(s) off (--fail-on off)", file=sys.stderr)
        return 1
    if args.fail_on == "x2" and counts["off"] + counts["x2"]:
        print(f"safesim targets: {counts['off'] + counts['x2']} target(s) not within (--fail-on x2)", file=sys.stderr)
        return 1
    return 0


def _targets_table(check: object) -> str:
    from safesim.targets import TargetCheck

    assert isinstance(check, TargetCheck)
    rows = [["target", "used for", "scope", "model [95% CI]", "target", "ratio", "verdict"]]
    for r in check.rows:
        model = f"{_fmt(r['model_mean'])} [{_fmt(r['model_ci_low'])}, {_fmt(r['model_ci_high'])}]"
        if r["relative_to"]:
            model += " rel."
        low, high = r["target_low"], r["target_high"]
        target = _fmt(low) if low == high else f"{_fmt(low)}-{_fmt(high)}"
        ratio = "" if math.isnan(r["ratio"]) else f"{r['ratio']:.2f}"
        rows.append([r["name"], r["used_for"], r["scope"], model, target, ratio, r["verdict"]])
    c = check.counts()
    head = (
        f"{check.scenario.name} against {len(check.rows)} target(s), {check.reps} replicate(s) on seeds "
        f"{check.seeds[0]}..{check.seeds[-1]}"
    )
    foot = (
        f"{c['within']} within, {c['x2']} x2, {c['off']} off. within: the target and the model's 95% interval "
        "overlap; x2: model / target between 0.5 and 2; rel.: paired relative change against relative_to."
    )
    return "\n".join([head, "", *_align(rows, right=[False, False, False, True, True, True, False]), "", foot])


def _ratio(x: float) -> str:
    """Return a variance ratio for a table: 3 significant digits, whole numbers from 100."""
    if not math.isfinite(x):
        return "inf"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _crn_text(table: pd.DataFrame, args: argparse.Namespace, ref: Scenario, n: int, seeds: list[int]) -> str:
    """Return the crn table as text: one block per policy, then what the columns mean."""
    from safesim.crn import INDEPENDENT_SEED_OFFSET

    lo, hi = seeds[0], seeds[-1]
    out = [
        f"common random numbers: {ref.name} against each policy, {n} replicates on common seeds {lo}..{hi}, "
        f"unpaired on seeds {lo + INDEPENDENT_SEED_OFFSET}..{hi + INDEPENDENT_SEED_OFFSET} "
        f"({args.scope} totals), safesim {_core.version}"
    ]
    header = ["metric", "effect", "var paired", "var unpaired", "ratio", "95% CI", "ceiling", "saved", f"{n} paired ="]
    for policy in args.policy:
        part = table[table["variant"] == policy]
        out += ["", f"{ref.name} + {policy}"]
        if part.empty:
            out.append("  no metric varies in either arm")
            continue
        if (part["var_paired"] == 0).all() and (part["effect"] == 0).all():
            out.append("  the policy changes nothing here: every paired difference is 0 (ratio inf)")
        rows = [header]
        for r in part.itertuples(index=False):
            finite = math.isfinite(r.reduction)
            rows.append(
                [
                    str(r.metric),
                    _fmt(r.effect),
                    _fmt(r.var_paired),
                    _fmt(r.var_independent),
                    _ratio(r.reduction),
                    f"[{_ratio(r.reduction_low)}, {_ratio(r.reduction_high)}]",
                    _ratio(r.ceiling),
                    f"{r.saved:.0%}",
                    f"{_fmt(round(n * r.reduction))} unpaired" if finite else "-",
                ]
            )
        out += ["  " + line for line in _align(rows, right=[False, *[True] * 8])]
    out += [
        "",
        "ratio = var unpaired / var paired: independent seeds need ratio times the replicates for an",
        "interval as wide (its width goes with sqrt(variance / n)). 95% CI: bootstrap over the seeds.",
        "saved = 1 - 1/ratio of those replicates; the last column: how many unpaired replicates give the",
        "paired interval. ceiling = var unpaired / (sd A - sd B)^2, the ratio perfectly correlated arms with",
        "these spreads would give, which no coupling of the seeds can pass (an estimate, noisy when sd A is",
        "close to sd B); a ratio far below it is correlation lost between the arms.",
    ]
    return "\n".join(out)


def cmd_crn(args: argparse.Namespace) -> int:
    from safesim.crn import crn_table, shipped_bundles

    _check_bounds(args)
    ref = Scenario.load(args.scenario)
    for key, text in _overrides(args.set):
        ref = ref.set_yaml(key, text)
    known = shipped_bundles()
    args.policy = list(dict.fromkeys(args.policy or known))
    if not args.policy:
        raise InputError("no policy bundle is installed: name one with --policy NAME")
    variants = {name: ref.with_policy(name) for name in args.policy}
    for name, sc in variants.items():
        try:
            sc.spec  # noqa: B018  (resolve each bundle before any run)
        except ScenarioError as err:
            if f"unknown policy bundle {name!r}" in str(err):
                raise InputError(
                    f"--policy {printable(name, 60)}: unknown policy bundle{did_you_mean(name, known)} "
                    f"(one of {', '.join(known)})"
                ) from None
            raise
    if args.scope not in (ECOSYSTEM, *ref.platforms):
        raise InputError(
            f"--scope {printable(args.scope, 60)}: not a platform of {ref.name}"
            f"{did_you_mean(args.scope, list(ref.platforms))} (one of {', '.join([ECOSYSTEM, *ref.platforms])})"
        )
    _check_memory([ref, *variants.values()], 2 * args.reps, args.out)
    seeds = common_seeds(ref, args.seed, args.reps)
    options = RunOptions(workers=args.workers, out=args.out, progress=False if args.no_progress else None)
    table = crn_table(
        ref, variants, n=args.reps, seed=args.seed, scope=args.scope, metrics=args.metric, options=options
    )
    if args.json:
        from safesim.io import json_records

        doc = {
            "reference": ref.name,
            "replicates": args.reps,
            "seeds": [seeds[0], seeds[-1]],
            "scope": args.scope,
            "safesim": _core.version,
            "rows": json_records(table),
        }
        json.dump(doc, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(_crn_text(table, args, ref, args.reps, seeds))
        if args.metric:
            missing = [m for m in args.metric if m not in set(table["metric"])]
            if missing:
                print(f"not shown (no variation in either arm): {', '.join(missing)}")
    if args.out and not args.json:
        for path in _listing(Path(args.out)):
            print(f"wrote {path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.scenarios:
        try:
            check_file(path)
        except (ScenarioError, PlanError) as err:
            print(str(err), file=sys.stderr)
            status = EXIT_INPUT_ERROR
        else:
            print(f"OK {path}")
    return status


def cmd_params(args: argparse.Namespace) -> int:
    text = _core.parameter_dictionary()
    print(text if args.markdown else _markdown_as_text(text))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    rows = [["metric", "kind", "unit", "meaning"]]
    rows += [list(row) for row in _core.metrics()]
    print("\n".join(_align(rows)))
    return 0


# ------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    """Build the ``safesim`` argument parser with every subcommand (the CLI reference is generated from it)."""
    installed = ", ".join(installed_scenarios()) or "none"
    scenario_help = f"a scenario YAML file, or the name of an installed scenario ({installed})"
    parser = _Parser(
        prog="safesim",
        description="Simulate child-protection controls on online platforms and compare their effects.",
        epilog="Run 'safesim COMMAND --help' for each command's options.",
    )
    parser.add_argument("--version", action="version", version=f"safesim {_core.version}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "run",
        help="run replicates of a scenario and summarise the metrics",
        description="Run replicates of a scenario (seeds S, S+1, ..., S+N-1) and print each metric's mean "
        "and 95% t-interval for the ecosystem, and per platform when there are several.",
        epilog="examples:\n"
        "  safesim run baseline --reps 10 --set population.users=2000 --set horizon_days=90\n"
        "  safesim run scenarios/baseline.yaml --policy industry_teen_accounts --json\n"
        "  safesim run baseline --out results/ --csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenario", metavar="SCENARIO", help=scenario_help)
    p.add_argument("--reps", type=REPS, default=20, metavar="N", help="number of replicates (default: %(default)s)")
    p.add_argument("--seed", type=SEED, default=None, metavar="S", help="first seed (default: the scenario's seed)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY.PATH=VALUE",
        help="override a scenario key with a YAML value, e.g. population.users=2000 (repeatable)",
    )
    p.add_argument(
        "--policy", action="append", metavar="NAME", help="apply a policy bundle after the overrides (repeatable)"
    )
    p.add_argument(
        "--threads",
        type=WORKERS,
        default=None,
        metavar="N",
        help="worker threads (default: CPU count); with fewer runs than threads, the spare ones build the memberships and graphs",
    )
    add_executor_options(p)
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write summary.json, summary.csv, runs.parquet, daily.parquet, scenario.resolved.yaml and per-run "
        "files (runs/) to DIR; rerunning with the same DIR reuses finished runs",
    )
    p.add_argument("--csv", action="store_true", help="with --out, write runs.csv and daily.csv instead of Parquet")
    _add_force(p)
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "compare",
        help="compare scenarios on common random numbers (paired effects)",
        description="Run every scenario on the same seeds S, S+1, ..., S+N-1 and print each one's paired "
        "difference from the first (the reference), with its 95%% t-interval. With --out, writes runs/, "
        "runs and daily frames, summary.csv/json, comparison.csv, scenarios/*.resolved.yaml and PNG figures.",
        epilog="examples:\n"
        "  safesim compare scenarios/baseline.yaml --policy-arm industry_teen_accounts --reps 20 --out out/demo\n"
        "  safesim compare A.yaml B.yaml --reps 50 --set population.users=20000 --out results/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help=scenario_help + "; the first is the reference")
    p.add_argument("--reps", type=REPS, default=20, metavar="N", help="replicates per scenario (default: %(default)s)")
    p.add_argument(
        "--policy-arm",
        action="append",
        metavar="NAME",
        help="add a scenario: the first one with policy bundle NAME applied (repeatable)",
    )
    p.add_argument("--name", action="append", metavar="LABEL", help="labels for the scenarios, in order (repeatable)")
    p.add_argument(
        "--set", action="append", metavar="KEY.PATH=VALUE", help="override a key in every scenario (repeatable)"
    )
    p.add_argument("--policy", action="append", metavar="NAME", help="apply a bundle to every scenario (repeatable)")
    _add_execution_options(p)
    p.add_argument("--no-report", action="store_true", help="with --out, skip report.html")
    p.add_argument(
        "--burden",
        metavar="NAME",
        help="burden axis of the frontier: a metric or a named burden of the scenarios (their burden: key); "
        "prints both sides per scenario (default axes: minors_exploited_per_1k and legit_contacts_blocked)",
    )
    p.add_argument("--exposure", metavar="NAME", help="exposure axis of the frontier (a metric or a named burden)")
    p.add_argument(
        "--ensemble",
        metavar="FILE",
        help="run the comparison at every parameter set of an ensemble file (e.g. "
        "scenarios/calibrated/baseline.ensemble.csv) on the same seeds; intervals combine parameter and "
        "stochastic uncertainty (docs/how-to/calibrate.md)",
    )
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "report",
        help="write a self-contained HTML brief of a run or compare --out folder",
        description="Write one HTML file (figures as inline SVG, no external requests, prints cleanly to PDF) "
        "from a folder written by 'safesim run --out' or 'safesim compare --out': the question, what differs "
        "between the scenarios, paired effects in words and tables, funnel, frontier, time series, the "
        "transparency view, sources and provenance.",
        epilog="example:\n  safesim compare baseline --policy-arm industry_teen_accounts --out out/teen\n"
        "  safesim report out/teen -o teen.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("results", metavar="RESULTS_DIR", help="a folder written by run --out or compare --out")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write (default: RESULTS_DIR/report.html)")
    p.add_argument("--title", help="the brief's title")
    p.add_argument("--question", help="the question the brief answers, in one sentence")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "serve",
        help="a local web explorer: change controls, run paired comparisons, download results",
        description="Serve the explorer on http://HOST:PORT/ (default 127.0.0.1:8050, this machine only). "
        "Needs the web extra: pip install 'safesim[web]'. See docs/web.md.",
    )
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=scenario_help + " (default: every installed one)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s, this machine only)")
    p.add_argument("--port", type=_whole(0, 65535), default=8050, help="port (default: %(default)s)")
    p.add_argument("--open", action="store_true", help="open the explorer in the default browser")
    p.add_argument(
        "--max-users",
        type=_whole(1, 2_000_000_000),
        default=50_000,
        metavar="N",
        help="largest population (%(default)s)",
    )
    p.add_argument(
        "--max-days", type=_whole(1, 32_767), default=730, metavar="N", help="longest horizon in days (%(default)s)"
    )
    p.add_argument("--max-reps", type=REPS, default=50, metavar="N", help="most paired replicates (%(default)s)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "sweep",
        help="run a parameter sweep described in a YAML file",
        description="Run a sweep: SWEEP.yaml holds 'scenario: PATH' (relative to the sweep file, or an installed "
        "name), 'reps: N', and either 'grid: {key.path: [values]}' (cartesian product) or 'samples: [{key.path: "
        "value}, ...]'; optional 'seed', 'set: {key.path: value}', 'policies: [names]' and 'metrics: [names]' to "
        "print and plot. The key 'policy' in a point applies a bundle. Every point runs on the same seeds.",
        epilog="example SWEEP.yaml:\n"
        "  scenario: baseline.yaml\n"
        "  reps: 10\n"
        "  grid:\n"
        "    platforms.main.controls.reporting.steps: [1, 3, 5, 9]\n"
        "    platforms.main.controls.grooming_detection.enabled: [false, true]\n"
        "  metrics: [minors_exploited, user_reports]",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sweep", metavar="SWEEP.yaml", help="the sweep description")
    p.add_argument(
        "--reps", type=REPS, default=None, metavar="N", help="replicates per point (default: the file's reps)"
    )
    _add_execution_options(p, plan=True)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "calibrate",
        help="history-match uncertain parameters to published targets (a YAML plan)",
        description="Calibrate by history matching: sample the parameter ranges of PLAN.yaml (Latin hypercube), "
        "run each point REPS times on common seeds, and rule out points whose implausibility "
        "|model mean - target| / sqrt(target var + model var / reps + discrepancy var) exceeds the cutoff for any "
        "target; later waves sample within the survivors' bounding box. Prints the non-implausible ranges, the "
        "best point and each target's fit; with --out writes points.csv, ranges.csv, fit.csv, calibration.json, "
        "best.resolved.yaml, a record per run (wave<k>/runs/, resumable; daily files only with --keep-daily) and "
        "PNG figures.",
        epilog="example PLAN.yaml:\n"
        "  scenario: baseline              # relative to the plan, or an installed scenario's name\n"
        "  n: 40                           # points per wave\n"
        "  reps: 5                         # replicates per point\n"
        "  waves: 2\n"
        "  cutoff: 3\n"
        "  parameters:                     # key.path: [low, high], or {range: [low, high], log: true}\n"
        "    offenders.share_of_adults: {range: [0.001, 0.02], log: true}\n"
        "    offenders.groomer.max_open_dyads: [2, 10]      # integer keys sampled as integers\n"
        "  targets:                        # or a targets file: targets: targets/open.yaml\n"
        "    - metric: minors_solicited_per_1k             # a metric, or 'a / b'\n"
        "      transform: share_from_per_1k\n"
        "      interval: [0.02, 0.06]                       # read as a 95% interval; or value + sd\n"
        "      mapping: adult solicitors only, one year\n"
        "      source: YISS 2010 (Mitchell et al. 2013)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("plan", metavar="PLAN.yaml", help="the calibration plan")
    p.add_argument("--n", type=POINTS, default=None, metavar="N", help="points per wave (default: the plan's n, or 40)")
    p.add_argument("--reps", type=REPS, default=None, metavar="R", help="replicates per point (default: the plan's)")
    p.add_argument(
        "--waves", type=_whole(1, MAX_WAVES), default=None, metavar="W", help="waves (default: the plan's, or 1)"
    )
    p.add_argument(
        "--cutoff", type=_positive(1e6), default=None, metavar="C", help="implausibility cutoff (default: 3)"
    )
    p.add_argument(
        "--emulate",
        action="store_true",
        help="screen each wave after the first with Gaussian-process emulators (needs scikit-learn; "
        "default: the plan's 'emulate')",
    )
    p.add_argument(
        "--keep-daily",
        action="store_true",
        help="with --out, also write each run's daily, totals and groups files to wave<k>/runs/ (default: only a "
        "small record per run, its totals and the windowed values its targets read)",
    )
    p.add_argument(
        "--emit",
        metavar="DIR",
        help="write the calibrated scenario (NAME.yaml extending the plan's scenario, fitted keys at the medoid of "
        "the non-implausible points), NAME.ensemble.csv, NAME.record.json, NAME.points.csv and the emulators' "
        "leave-one-out errors to DIR (docs/how-to/calibrate.md)",
    )
    p.add_argument(
        "--ensemble-size",
        type=_whole(1, 10_000),
        default=20,
        metavar="K",
        help="with --emit: parameter sets drawn from the non-implausible points (default: %(default)s)",
    )
    _add_execution_options(p, tables=False, plan=True)
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser(
        "targets",
        help="compare a scenario with published figures in a targets file (verdicts within, x2, off)",
        description="Run REPS replicates of SCENARIO (and each relative_to variant on the same seeds) and, for "
        "each target in TARGETS.yaml, print the model's value with its 95% t-interval (a paired interval for "
        "relative_to), the target, the ratio model / target and a verdict: within (the target's range or value "
        "and the model's interval overlap), x2 (ratio between 0.5 and 2) or off. Verdicts are information: the "
        "exit status is 0 unless the run fails, or --fail-on says otherwise. See docs/how-to/targets.md.",
        epilog="examples:\n"
        "  safesim targets baseline scenarios/targets/open.yaml --reps 20\n"
        "  safesim targets baseline scenarios/targets/open.yaml --json --fail-on off",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenario", metavar="SCENARIO", help=scenario_help)
    p.add_argument("targets", metavar="TARGETS.yaml", help="a targets file (scenarios/targets/*.yaml)")
    p.add_argument("--reps", type=REPS, default=20, metavar="N", help="replicates (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    p.add_argument(
        "--fail-on",
        choices=["off", "x2"],
        default=None,
        help="exit 1 if any target is off (or, with x2, not within): makes the comparison a check",
    )
    p.add_argument("--set", action="append", metavar="KEY.PATH=VALUE", help="override a scenario key (repeatable)")
    p.add_argument("--policy", action="append", metavar="NAME", help="apply a policy bundle (repeatable)")
    p.add_argument("--seed", type=SEED, default=None, metavar="S", help="first seed (default: the scenario's seed)")
    add_executor_options(p)
    p.add_argument("--workers", type=WORKERS, default=None, metavar="N", help="parallel workers (default: CPU count)")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="keep the runs in DIR/runs/ and write targets.csv and targets.json; rerunning with the same DIR "
        "reuses finished runs",
    )
    _add_force(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_targets)

    p = sub.add_parser(
        "sensitivity",
        help="global sensitivity analysis (Morris or Sobol') described in a YAML file",
        description="Global sensitivity analysis: how much each parameter's range moves each metric. PLAN.yaml "
        "holds 'scenario: PATH' (relative to the plan file, or an installed name) and 'parameters: {key.path: "
        "[low, high]}' (or {range: [low, high], dist: loguniform}); optional 'method' (morris, the default, or "
        "sobol), 'n' (Morris trajectories, default 10; Sobol' base points, a power of 2, default 64), 'reps' "
        "(replicates per sample point, default 5), 'seed', 'scope', 'set', 'policies' and 'metrics' to print and "
        "plot. Count and integer keys are sampled as whole numbers. Prints the indices with 95% bootstrap "
        "intervals and the simulation-noise level; with --out writes indices.csv, noise.csv, samples.csv, "
        "point_means.csv, runs, sensitivity.json and one PNG per metric.",
        epilog="example PLAN.yaml (scenarios/sensitivity_offenders.yaml is a full one):\n"
        "  scenario: baseline.yaml\n"
        "  method: morris\n"
        "  n: 10\n"
        "  reps: 5\n"
        "  parameters:\n"
        "    offenders.share_of_adults: [0.002, 0.01]\n"
        "    offenders.groomer.contacts_per_day: {range: [0.03, 0.3], dist: loguniform}\n"
        "    platforms.main.controls.reporting.steps: [1, 9]\n"
        "  metrics: [minors_exploited, minors_contacted]",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("plan", metavar="PLAN.yaml", help="the sensitivity plan")
    p.add_argument("--method", choices=["morris", "sobol"], default=None, help="override the plan's method")
    p.add_argument("--n", type=POINTS, default=None, metavar="N", help="override the plan's n")
    p.add_argument(
        "--reps", type=REPS, default=None, metavar="N", help="replicates per sample point (default: the plan's reps)"
    )
    _add_execution_options(p, plan=True)
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser(
        "crn",
        help="how much common random numbers tighten each policy's paired effects (variance ratios)",
        description="For each policy bundle (default: every shipped one) against SCENARIO, run both on common "
        "seeds S..S+N-1 and the bundle again on independent seeds, and print per metric the paired effect, the "
        "variance of the paired difference, the variance of an unpaired one (var A + var B), their ratio, the "
        "share of replicates pairing saves for the same interval width, and the ceiling of the ratio set by "
        "the two arms' spreads. With --out, keeps every run in DIR/runs/ (resumable) and writes crn.csv and "
        "crn.json.",
        epilog="examples:\n"
        "  safesim crn baseline --policy industry_teen_accounts --reps 60\n"
        "  safesim crn baseline --metric minors_contacted --metric user_reports --reps 30\n"
        "  safesim crn scenarios/checks/small_baseline.yaml --policy industry_teen_accounts --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenario", metavar="SCENARIO", help=scenario_help + "; the reference")
    p.add_argument(
        "--policy",
        action="append",
        metavar="NAME",
        help="policy bundle to compare with SCENARIO (repeatable; default: every shipped bundle)",
    )
    p.add_argument(
        "--reps", type=_whole(2, MAX_REPS), default=60, metavar="N", help="common seeds (default: %(default)s)"
    )
    p.add_argument("--seed", type=SEED, default=None, metavar="S", help="first seed (default: the scenario's seed)")
    p.add_argument("--metric", action="append", metavar="NAME", help="metric to show (repeatable; default: all)")
    p.add_argument(
        "--scope", default=ECOSYSTEM, metavar="SCOPE", help="ecosystem (default) or a platform's name: whose totals"
    )
    p.add_argument("--set", action="append", metavar="KEY.PATH=VALUE", help="override a key of SCENARIO (repeatable)")
    p.add_argument("--workers", type=WORKERS, default=None, metavar="N", help="parallel workers (default: CPU count)")
    p.add_argument(
        "--out", metavar="DIR", help="keep the runs in DIR/runs/ (a rerun reuses them); write crn.csv and crn.json"
    )
    _add_force(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the tables")
    p.set_defaults(func=cmd_crn)

    p = sub.add_parser(
        "validate",
        help="check scenario files",
        description="Load and validate each scenario; print 'OK PATH' for a valid one and a one-line error "
        "(FILE:LINE:COL: KEY.PATH: message) on stderr for a bad one. Exit status 2 if any is bad. Policy bundles "
        "and sensitivity and calibration plans (top-level 'parameters:') are recognised and checked as such.",
    )
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help=scenario_help)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "params",
        help="print the parameter dictionary",
        description="Print every scenario key with its unit, default, meaning and source.",
    )
    p.add_argument("--markdown", action="store_true", help="print Markdown (as in scenarios/README.md)")
    p.set_defaults(func=cmd_params)

    p = sub.add_parser(
        "metrics",
        help="list the output metrics",
        description="List the output metrics with their kind (flow, level, derived), unit and meaning.",
    )
    p.set_defaults(func=cmd_metrics)

    # The safety-checks harness (check, golden) registers its own subcommands when installed.
    try:
        from safesim.harness.cli import add_parsers
    except ModuleNotFoundError as err:
        if err.name not in ("safesim.harness", "safesim.harness.cli"):
            raise
    else:
        add_parsers(sub)
    return parser


def _one_line_warning(message: Warning | str, category: type[Warning], *_: object, **__: object) -> str:
    return f"safesim: warning: {' '.join(str(message).split())}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``safesim`` command line on ``argv`` (default: ``sys.argv[1:]``) and return its exit status."""
    parser = build_parser()
    args = _parse(parser, argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    warnings.formatwarning = _one_line_warning
    try:
        # The output folder is held for the whole job: runs, combined files, figures.
        # A Dask cluster (--executor dask) is reached before the folder is taken.
        with _cluster(args), job_folder(getattr(args, "out", None), force=bool(getattr(args, "force", False))):
            return int(args.func(args))
    except ScenarioError as err:
        print(str(err), file=sys.stderr)
        return EXIT_INPUT_ERROR
    except (InputError, PlanError, OutputError) as err:
        print(f"safesim {args.command}: error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except RunsFailed as err:
        kept = (
            f"; finished runs are in {Path(args.out) / 'runs'}, rerun to compute the rest"
            if getattr(args, "out", None)
            else ""
        )
        print(f"safesim {args.command}: error: {one_line(str(err))}{kept}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `safesim metrics | head`: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as err:
        print(f"safesim {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
