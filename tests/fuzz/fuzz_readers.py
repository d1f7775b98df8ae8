"""Fuzz the Python-side readers: plans (sweep, sensitivity, calibration), expect:
files, calibration targets, edge lists, and the command line's --set/--seed/
--reps/--metric flags.

A grammar of near-valid inputs (the keys, metric names and key paths safesim
knows, values of every YAML type, deep and odd nesting) is mutated at the
byte level, written to a scratch folder and read with the reader that running
uses. Each input must either be accepted or refused with one line: a
:class:`~safesim.PlanError` or :class:`~safesim.ScenarioError` (or, for the
command line, exit status 2 with one line on stderr). Anything else (another
exception, a traceback, a multi-line message, more than ``--timeout`` seconds)
is a finding: the input is saved to ``tests/data/fuzz_regressions/python/``
and the script exits 1.

    python tests/fuzz/fuzz_readers.py [--seconds 60] [--seed 1]

prints executions, executions per second, findings and line coverage of the
reading modules (lines executed under a tracer, of the lines those modules
have). tests/python/test_reliability_fuzz.py runs a short campaign in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
STEPS = "platforms.main.controls.reporting.steps"
KEY_PATHS = [
    STEPS,
    "population.users",
    "horizon_days",
    "offenders.share_of_adults",
    "offenders.groomer.max_open_dyads",
    "platforms.main.controls.dm_policy.under_16",
    "graph.mean_degree",
    "platforms.main.controls.grooming_detection.enabled",
    "policy",
    "seed",
    "nope.key",
]
PLAN_WORDS = [
    "scenario", "reps", "seed", "grid", "samples", "metrics", "set", "policies", "parameters", "method", "n",
    "scope", "targets", "waves", "cutoff", "margin", "range", "dist", "log", "metric", "value", "sd", "interval",
    "transform", "name", "discrepancy_sd", "mapping", "source", "expect", "relation", "threshold", "tolerance",
    "confidence", "budget", "batch", "reference", "difference", "platform", "extends",
]  # fmt: skip
SCALARS: list[Any] = [
    0, 1, -1, 2, 9, 100, 2**63, -(2**63), 0.5, -0.0, 1e309, float("nan"), True, False, None, "", "baseline",
    "morris", "sobol", "sobel", "uniform", "loguniform", "<", ">=", "within", "relative", "main", "ecosystem",
    "minors_exploited", "minors_contacted", "minors_solicited_per_1k", "minors_exploted", "\x1b[31m", "a\nb",
    "../../etc/passwd", "/etc/passwd", "x" * 300, [], {},
]  # fmt: skip
YAML_SNIPPETS = ["{", "}", "[", "]", ": ", "- ", "&a ", "*a", "<<: *a", "!!python/object:os.system ", "!!binary ",
                 "---\n", "...\n", "\t", "\x00", "\xff", "'", '"', "#", "? ", "|\n", "%YAML 1.1\n", "\n"]  # fmt: skip


def _metric_names() -> list[str]:
    from safesim import _core

    return [row[0] for row in _core.metrics()]


class Generator:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.metrics = _metric_names()

    def scalar(self) -> Any:
        r = self.r
        pick = r.random()
        if pick < 0.15:
            return r.choice(self.metrics)
        if pick < 0.25:
            return r.choice(KEY_PATHS)
        if pick < 0.4:
            return r.randint(-5, 120)
        if pick < 0.5:
            return r.uniform(-1, 2)
        return r.choice(SCALARS)

    def value(self, depth: int = 0) -> Any:
        r = self.r
        pick = r.random()
        if depth > 3 or pick < 0.5:
            return self.scalar()
        if pick < 0.75:
            return [self.value(depth + 1) for _ in range(r.randint(0, 4))]
        return {self.key(): self.value(depth + 1) for _ in range(r.randint(0, 4))}

    def key(self) -> Any:
        r = self.r
        pick = r.random()
        if pick < 0.5:
            return r.choice(PLAN_WORDS)
        if pick < 0.8:
            return r.choice(KEY_PATHS)
        key = self.scalar() if r.random() < 0.5 else r.choice(self.metrics)
        return key if isinstance(key, (str, int, float, bool)) or key is None else str(key)

    def plan(self) -> dict[str, Any]:
        r = self.r
        doc: dict[str, Any] = {"scenario": r.choice(["baseline", "baseline", "nowhere.yaml", 3, ""])}
        shape = r.choice(["sweep", "samples", "sensitivity", "calibration", "junk"])
        if shape == "sweep":
            doc["grid"] = {r.choice(KEY_PATHS): [self.scalar() for _ in range(r.randint(0, 3))]}
        elif shape == "samples":
            doc["samples"] = [{r.choice(KEY_PATHS): self.scalar()} for _ in range(r.randint(0, 3))]
        elif shape in ("sensitivity", "calibration"):
            low = r.choice([0, 1, 0.001, -1, "a"])
            doc["parameters"] = {r.choice(KEY_PATHS): r.choice([[low, r.choice([9, 0.01, 1])], self.value(1)])}
            if shape == "calibration":
                doc["targets"] = [
                    {"metric": r.choice([*self.metrics[:5], "a / b", self.scalar()]), **{self.key(): self.value(2)}}
                    for _ in range(r.randint(0, 2))
                ]
        for _ in range(r.randint(0, 4)):
            doc[self.key()] = self.value(1)
        return doc

    def expect_file(self) -> dict[str, Any]:
        r = self.r
        items = []
        for _ in range(r.randint(0, 3)):
            item = {
                "metric": r.choice([*self.metrics[:8], self.scalar()]),
                "relation": r.choice(["<", ">", "within", "="]),
            }
            for _ in range(r.randint(0, 3)):
                item[r.choice(PLAN_WORDS[-12:])] = self.scalar()
            items.append(item)
        return {"extends": str(ROOT / "scenarios" / "baseline.yaml"), "expect": r.choice([items, self.value(1)])}

    def edge_list(self) -> str:
        r = self.r
        lines = []
        for _ in range(r.randint(0, 8)):
            fields = [str(r.choice([r.randint(0, 120), -1, "1.5", "x", "1e3", ""])) for _ in range(r.randint(0, 4))]
            lines.append(r.choice([" ", "\t", "  "]).join(fields) if r.random() < 0.9 else "# comment")
        return "\n".join(lines) + r.choice(["", "\n", "\r\n"])

    def mutate(self, text: str) -> bytes:
        r = self.r
        data = bytearray(text.encode("utf-8", "surrogateescape"))
        for _ in range(r.choice([0, 0, 1, 2, 4])):
            op = r.random()
            pos = r.randint(0, len(data))
            if op < 0.4:
                data[pos:pos] = r.choice(YAML_SNIPPETS).encode("utf-8", "surrogateescape")
            elif op < 0.7 and data:
                del data[pos : pos + r.randint(1, 8)]
            elif data:
                data[min(pos, len(data) - 1)] = r.randint(0, 255)
        if r.random() < 0.02:
            data = bytearray(b"a: " + b"[" * 3000 + b"]" * 3000)
        return bytes(data)


class Finding(Exception):
    pass


def _timeout(*_: object) -> None:
    raise TimeoutError("reader still running")


def _dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def one_input(gen: Generator, folder: Path, timeout: int) -> str:
    """Generate, write and read one input; the target's name. Raises Finding."""
    from safesim import cli
    from safesim.errors import PlanError, ScenarioError
    from safesim.plans import check_file, load_plan
    from safesim.scenario import check_edge_list

    r = gen.r
    target = r.choice(["plan", "plan", "validate", "expect", "edges", "flags"])
    path = folder / ("input.yaml" if target != "edges" else "edges.txt")
    if target in ("plan", "validate"):
        path.write_bytes(gen.mutate(_dump(gen.plan())))
    elif target == "expect":
        path.write_bytes(gen.mutate(_dump(gen.expect_file())))
    elif target == "edges":
        path.write_bytes(gen.mutate(gen.edge_list()))
    old = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(timeout)
    try:
        if target == "plan":
            load_plan(path).check()
        elif target in ("validate", "expect"):
            check_file(path)
        elif target == "edges":
            check_edge_list(str(path), r.choice([1, 50, 100, 1000]))
        else:
            argv = ["run", "baseline", "--reps", str(r.choice([0, -1, 10**9, "x", 1]))]
            argv += [
                "--set",
                f"{r.choice(KEY_PATHS)}={yaml_text(gen.scalar())}",
                "--seed",
                str(r.choice([-1, 2**64, 1])),
            ]
            argv += ["--metric", str(gen.scalar())]
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                try:
                    status = cli.main(argv)
                except SystemExit as exc:  # argparse: usage and a message (two lines, argparse's own format)
                    status = 2 if exc.code == 2 else -1
                    if status == 2:
                        return target
            lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
            if status != 0 and (status != 2 or len(lines) != 1):
                raise Finding(f"flags {argv!r}: status {status}, stderr {err.getvalue()!r}")
    except (PlanError, ScenarioError) as e:
        text = str(e)
        if "\n" in text or "Traceback" in text or "\x1b" in text:
            raise Finding(f"{target}: not one safe line: {text!r}") from None
    except TimeoutError:
        raise Finding(f"{target}: no answer within {timeout} s") from None
    except Finding:
        raise
    except Exception as e:  # anything else is a bug
        raise Finding(f"{target}: {type(e).__name__}: {e}") from None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return target


def yaml_text(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def campaign(seconds: float, seed: int = 1, timeout: int = 20, coverage: bool = False) -> dict[str, Any]:
    """Fuzz for ``seconds``; stats, with the first finding's message and input if any."""
    import safesim

    gen = Generator(seed)
    lines: set[tuple[str, int]] = set()
    package = str(Path(safesim.__file__).resolve().parent)
    watched = ("readers.py", "plans.py", "scenario.py", "errors.py", "cli.py", "expectations.py")

    def tracer(frame, event, arg):
        name = frame.f_code.co_filename
        if not name.startswith(package) or not name.endswith(watched):
            return None
        if event == "line":
            lines.add((name, frame.f_lineno))
        return tracer

    stats: dict[str, Any] = {"executions": 0, "by_target": {}, "findings": []}
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if coverage:
            sys.settrace(tracer)
        try:
            while time.monotonic() - start < seconds:
                try:
                    target = one_input(gen, folder, timeout)
                except Finding as f:
                    data = next(folder.iterdir()).read_bytes() if any(folder.iterdir()) else b""
                    stats["findings"].append({"message": str(f), "input": data})
                    break
                stats["executions"] += 1
                stats["by_target"][target] = stats["by_target"].get(target, 0) + 1
        finally:
            if coverage:
                sys.settrace(None)
    stats["seconds"] = time.monotonic() - start
    if coverage:
        total = 0
        for name in {n for n, _ in lines}:
            total += _code_lines(Path(name))
        stats["covered_lines"] = len(lines)
        stats["code_lines"] = total
    return stats


def _code_lines(path: Path) -> int:
    """Lines of ``path`` that hold code (those a tracer can report)."""
    import dis

    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    seen: set[int] = set()
    stack = [code]
    while stack:
        c = stack.pop()
        seen.update(line for _, _, line in c.co_lines() if line is not None)
        stack.extend(k for k in c.co_consts if hasattr(k, "co_lines"))
    del dis
    return len(seen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=20)
    args = parser.parse_args()
    stats = campaign(args.seconds, args.seed, args.timeout, coverage=True)
    rate = stats["executions"] / max(stats["seconds"], 1e-9)
    print(
        f"fuzz_readers: {stats['executions']} executions in {stats['seconds']:.0f} s ({rate:.0f}/s), "
        f"by target {stats['by_target']}, line coverage {stats['covered_lines']} of {stats['code_lines']} lines "
        f"in the modules they reach, {len(stats['findings'])} finding(s)"
    )
    for f in stats["findings"]:
        dest = ROOT / "tests" / "data" / "fuzz_regressions" / "python"
        dest.mkdir(parents=True, exist_ok=True)
        name = f"finding-{int(time.time())}-{os.getpid()}.input"
        (dest / name).write_bytes(f["input"])
        print(f"fuzz_readers: {f['message']} (input saved as {dest / name})", file=sys.stderr)
    return 1 if stats["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
