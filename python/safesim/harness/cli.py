"""The ``safesim check`` and ``safesim golden`` subcommands.

``safesim.cli`` registers them with :func:`add_parsers`; each parser sets
``func`` to a function of the parsed arguments returning the exit status, as
the other subcommands do. ``python -m safesim.harness.cli`` runs them alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from safesim.harness.golden import REFERENCES, check_golden, default_golden_dir, update_golden

__all__ = ["add_parsers", "cmd_check", "cmd_golden", "main"]


def cmd_check(args: argparse.Namespace) -> int:
    """Run the expectations in PATH... and print the table; exit 0 pass, 1 fail, 2 error (or inconclusive, strict)."""
    from safesim.harness.report import EXIT_ERROR, exit_code, table, write_junit
    from safesim.harness.runner import run_checks

    if args.jobs < 1:
        print(f"safesim check: error: --jobs must be >= 1, got {args.jobs}", file=sys.stderr)
        return EXIT_ERROR
    results = run_checks(args.paths, jobs=args.jobs)
    if not results:
        print(
            f"safesim check: error: no scenario files with an 'expect:' block in {' '.join(args.paths)}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    print(table(results))
    if args.junit:
        path = write_junit(results, args.junit, strict=args.strict)
        print(f"wrote {path}")
    return exit_code(results, strict=args.strict)


def cmd_golden(args: argparse.Namespace) -> int:
    """Check the golden summaries (exit 1 when one changed) or, with ``--update``, rewrite them."""
    folder = Path(args.dir) if args.dir else default_golden_dir()
    names = args.scenarios or None
    unknown = [n for n in names or [] if n not in REFERENCES]
    if unknown:
        print(
            f"safesim golden: error: not a reference scenario: {', '.join(unknown)} "
            f"(reference scenarios: {', '.join(REFERENCES)})",
            file=sys.stderr,
        )
        return 2
    if args.update:
        for path in update_golden(folder, names):
            print(f"wrote {path}")
        return 0
    diffs = check_golden(folder, names)
    for d in diffs:
        print(d.describe())
    if any(d.missing for d in diffs):
        return 2
    if not all(d.ok for d in diffs):
        print("behaviour changed: if intended, run 'safesim golden --update' and commit the diff", file=sys.stderr)
        return 1
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``check`` and ``golden`` on the main parser's subparsers (each sets ``func``)."""
    p = subparsers.add_parser(
        "check",
        help="run the safety expectations (expect: blocks) in scenario files",
        description="Run the expectations in the 'expect:' blocks of scenario files, replicates in batches "
        "until each is decided at its confidence level (a group-sequential test) or its budget is spent, "
        "and print one row per expectation. Exit status: 0 all pass (inconclusive allowed), 1 any fails, "
        "2 an input error, or with --strict an inconclusive expectation.",
        epilog="examples:\n"
        "  safesim check scenarios/checks/\n"
        "  safesim check scenarios/checks/ --jobs 2 --junit check-results.xml --strict",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="check files, or folders searched for *.yaml with expect:")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML to FILE (for CI systems)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="check N files at a time (default: 1)")
    p.add_argument("--strict", action="store_true", help="treat an inconclusive expectation as an error (exit 2)")
    p.set_defaults(func=cmd_check)

    p = subparsers.add_parser(
        "golden",
        help="check or update the golden regression summaries",
        description="Recompute the summaries of the reference scenarios "
        f"({', '.join(REFERENCES)}) at a small size and compare them with tests/golden/*.json. "
        "Exit status 1 when one changed, 2 when one is missing. --update rewrites them.",
    )
    p.add_argument("scenarios", nargs="*", metavar="NAME", help="reference scenarios (default: all)")
    p.add_argument("--update", action="store_true", help="rewrite the golden files from this build")
    p.add_argument("--dir", metavar="DIR", help="golden folder (default: tests/golden of the checkout)")
    p.set_defaults(func=cmd_golden)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the harness's subcommands alone (``check``, ``golden``) on ``argv``; return the exit status."""
    from safesim.errors import ScenarioError

    parser = argparse.ArgumentParser(prog="safesim")
    add_parsers(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ScenarioError as err:
        print(str(err), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
