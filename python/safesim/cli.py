"""The ``safesim`` command line: run, validate, params, metrics.

Input errors (a bad scenario, a missing file) print one line to stderr and
exit with status 2; a Python traceback means a bug in safesim.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from safesim import _core
from safesim.api import replicate
from safesim.errors import ScenarioError
from safesim.io import atomic_path, write_json, write_text
from safesim.results import ECOSYSTEM, Results
from safesim.scenario import Scenario, installed_scenarios

__all__ = ["build_parser", "main"]

EXIT_INPUT_ERROR = 2
MAX_PLATFORM_TABLES = 8


class InputError(Exception):
    """A user input problem reported as one line (exit status 2)."""


# ------------------------------------------------------------------ helpers
def _scenario_from_args(args: argparse.Namespace) -> Scenario:
    sc = Scenario.load(args.scenario)
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {item!r}: expected KEY.PATH=VALUE")
        sc = sc.set_yaml(key.strip(), value.strip())
    for name in args.policy or []:
        sc = sc.with_policy(name)
    return sc


def _fmt(x: float) -> str:
    """A number for a table: integers with separators, others to 4 significant digits."""
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


def _write_outputs(results: Results, out_dir: Path, csv: bool) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    doc = results.to_json_dict()
    doc["provenance"] = results.provenance
    written.append(write_json(out_dir / "summary.json", doc))
    for name, frame in (("runs", results.runs), ("daily", results.daily)):
        target = out_dir / f"{name}.{'csv' if csv else 'parquet'}"
        with atomic_path(target) as tmp:
            if csv:
                frame.to_csv(tmp, index=False)
            else:
                frame.to_parquet(tmp, index=False)
        written.append(target)
    written.append(write_text(out_dir / "scenario.resolved.yaml", results.scenario.dump()))
    return written


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
def cmd_run(args: argparse.Namespace) -> int:
    if args.reps < 1:
        raise InputError(f"--reps must be >= 1, got {args.reps}")
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be >= 1, got {args.threads}")
    if args.seed is not None and args.seed < 0:
        raise InputError(f"--seed must be >= 0, got {args.seed}")
    sc = _scenario_from_args(args)
    results = replicate(sc, n=args.reps, seed=args.seed, threads=args.threads)
    written = _write_outputs(results, Path(args.out), args.csv) if args.out else []
    if args.json:
        json.dump(results.to_json_dict(), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(_summary_table(results))
        for path in written:
            print(f"wrote {path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.scenarios:
        try:
            Scenario.load(path).spec  # noqa: B018  (loading is the validation)
        except ScenarioError as err:
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
    installed = ", ".join(installed_scenarios()) or "none"
    scenario_help = f"a scenario YAML file, or the name of an installed scenario ({installed})"
    parser = argparse.ArgumentParser(
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
    p.add_argument("--reps", type=int, default=20, metavar="N", help="number of replicates (default: %(default)s)")
    p.add_argument("--seed", type=int, default=None, metavar="S", help="first seed (default: the scenario's seed)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY.PATH=VALUE",
        help="override a scenario key with a YAML value, e.g. population.users=2000 (repeatable)",
    )
    p.add_argument(
        "--policy", action="append", metavar="NAME", help="apply a policy bundle after the overrides (repeatable)"
    )
    p.add_argument("--threads", type=int, default=None, metavar="N", help="worker threads (default: CPU count)")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write summary.json, runs.parquet, daily.parquet and scenario.resolved.yaml to DIR",
    )
    p.add_argument("--csv", action="store_true", help="with --out, write runs.csv and daily.csv instead of Parquet")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "validate",
        help="check scenario files",
        description="Load and validate each scenario; print 'OK PATH' for a valid one and a one-line error "
        "(FILE:LINE:COL: KEY.PATH: message) on stderr for a bad one. Exit status 2 if any is bad.",
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ScenarioError as err:
        print(str(err), file=sys.stderr)
        return EXIT_INPUT_ERROR
    except InputError as err:
        print(f"safesim {args.command}: error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
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
