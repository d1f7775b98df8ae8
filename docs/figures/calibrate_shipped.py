"""Calibrate the shipped scenarios and write their record: ``python docs/figures/calibrate_shipped.py``.

One command for the whole pipeline (issue 15, item 4). It

1. runs the plan ``scenarios/calibrated/plan.yaml`` (history matching with
   Gaussian-process emulators against the ``used_for: fit`` targets of
   ``scenarios/targets/open.yaml``), keeping its runs in ``--work`` (a rerun
   resumes);
2. writes ``scenarios/calibrated/baseline.yaml`` (``extends: ../baseline.yaml``,
   the fitted keys only), ``baseline.ensemble.csv`` (K parameter sets from the
   non-implausible region), ``baseline.record.json``, ``baseline.points.csv``
   and ``baseline.emulator_loo.csv`` (:func:`safesim.emit_calibrated`);
3. writes ``scenarios/calibrated/ecosystem_us.yaml``: ``extends:
   ../ecosystem_us.yaml`` with the offender parameters of the baseline fit.
   The 1,508-platform ecosystem is not calibrated directly (one of its runs
   costs as much as a few hundred baseline runs); instead it is checked against the same
   targets with ``safesim targets``;
4. checks both calibrated scenarios against the targets file
   (``safesim targets ... --json``) and writes ``targets_*.json``;
5. writes ``scenarios/calibrated/RECORD.md`` from all of the above, with this
   command at the top and the wall time of each step.

Options: ``--n``, ``--reps``, ``--waves`` (override the plan, for a quick
trial), ``--ensemble K`` (default 20), ``--check-reps N`` (baseline target
check, default 20), ``--ecosystem-reps N`` (default 3; 0 skips the ecosystem
check), ``--workers N``, ``--work DIR`` (default build/calibrate_shipped),
``--out DIR`` (default scenarios/calibrated).
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "scenarios" / "calibrated" / "plan.yaml"
TARGETS = ROOT / "scenarios" / "targets" / "open.yaml"
COMMAND = "python docs/figures/calibrate_shipped.py"
DASH = "\u2013"  # an en dash, for ranges and empty cells in the tables


def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return DASH
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    x = float(x)
    if x != 0 and (abs(x) < 0.001 or abs(x) >= 1e5):
        return f"{x:.3g}"
    return f"{x:.4g}"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(c if isinstance(c, str) else _num(c) for c in r) + " |" for r in rows]
    return out


def run_targets(scenario: Path, reps: int, workers: int | None) -> dict[str, Any]:
    """``safesim targets SCENARIO open.yaml --reps N --json`` as a user would run it."""
    cmd = [sys.executable, "-m", "safesim", "targets", str(scenario), str(TARGETS), "--reps", str(reps), "--json"]
    if workers:
        cmd += ["--workers", str(workers)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"calibrate_shipped.py: {' '.join(cmd[2:])} failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def ecosystem_yaml(values: dict[str, Any], commit: str, version: str) -> str:
    from safesim.ensemble import scenario_yaml

    header = [
        "ecosystem_us with the offender parameters of the baseline calibration (generated; do not edit by hand).",
        f"Made by: {COMMAND}",
        f"Engine: safesim {version}, commit {commit}.",
        "The 1,508-platform ecosystem is not calibrated directly (one of its runs costs as much as a few",
        "hundred baseline runs; RECORD.md has the times): the fitted offender keys of baseline.yaml are",
        "carried over, and the ecosystem is checked against the same targets with `safesim targets` instead.",
    ]
    return scenario_yaml(values, "../ecosystem_us.yaml", header, name="ecosystem_us_calibrated")


def render_record(
    rec: dict[str, Any], checks: dict[str, dict[str, Any]], times: dict[str, float], argv: list[str]
) -> str:
    prov = rec["provenance"]
    lines = [
        "# Calibration record of the shipped calibrated scenarios",
        "",
        "Regenerate everything in this folder (scenarios, ensemble, this record) with one command:",
        "",
        "```",
        shlex.join(["python", "docs/figures/calibrate_shipped.py", *argv]),
        "```",
        "",
        f"Engine: safesim {prov['version']} ({prov['build_type']}), commit `{rec['commit']}`. "
        f"Generated file; method and use in docs/how-to/calibrate.md.",
        "",
        "## Plan",
        "",
        f"History matching (Vernon, Goldstein & Bower 2010) of `{prov['scenario']}` with Gaussian-process "
        f"emulators: plan `scenarios/calibrated/plan.yaml`, targets `scenarios/targets/open.yaml` (only its "
        f"`used_for: fit` entries), {prov['reps']} replicates per point on common seeds "
        f"{prov['seeds'][0]}..{prov['seeds'][-1]}, cutoff {prov['cutoff']:g}, sampler seed {prov['sampler_seed']}.",
        "",
    ]
    lines += _table(
        ["parameter", "range", "sampled in"],
        [
            [f"`{p['key']}`", f"[{_num(p['low'])}, {_num(p['high'])}]", "logs" if p["log"] else "linear"]
            for p in prov["parameters"]
        ],
    )
    lines += ["", "Targets fitted (the model discrepancy is each target's stated `discrepancy_sd`):", ""]
    lines += _table(
        ["target", "measure", "value", "sd", "discrepancy sd", "source"],
        [
            [t["name"], f"`{t['metric']}`", t["value"], t["sd"], t["discrepancy_sd"], t["source"]]
            for t in prov["targets"]
        ],
    )
    lines += ["", "## Waves", ""]
    lines += _table(
        [
            "wave",
            "simulated points",
            "non-implausible",
            "emulated",
            "emulators passed",
            "candidates",
            "ruled out by emulator",
        ],
        [
            [
                w["wave"],
                w["simulated"],
                w["non_implausible"],
                w["emulated"],
                DASH if w["emulator_passed"] is None else bool(w["emulator_passed"]),
                w["candidates"],
                w["ruled_out_by_emulator"],
            ]
            for w in rec["waves"]
        ],
    )
    falls = [w for w in rec["waves"] if w.get("fallback")]
    for w in falls:
        lines += ["", f"Wave {w['wave']}: {w['fallback']}."]
    lines += [
        "",
        f"{rec['points']} points simulated ({rec['simulations']:,} runs), {rec['non_implausible']} non-implausible.",
    ]
    lines += [
        "",
        "## Emulator diagnostics",
        "",
        "Leave-one-out standardized errors of each wave's emulators (closed form, Rasmussen & Williams 2006 §5.4.2); "
        "an emulator passes with at least 85% of them within ±2 and at most 5% beyond ±3 (Bastos & O'Hagan 2009). "
        "Every error is in `baseline.emulator_loo.csv`.",
        "",
    ]
    if rec["emulator_diagnostics"]:
        lines += _table(
            ["wave", "target", "training points", "within ±2", "beyond ±3", "passed"],
            [
                [d["wave"], d["target"], d["points"], f"{d['within_2']:.0%}", f"{d['beyond_3']:.0%}", bool(d["passed"])]
                for d in rec["emulator_diagnostics"]
            ],
        )
    else:
        lines += ["No emulator was fitted (one wave, or emulators off)."]
    reg = rec["region"]
    vs = reg["volume_share"]
    lines += [
        "",
        "## Non-implausible region",
        "",
        f"Share of the original parameter box not ruled out: {_num(vs['estimate'])} "
        f"(95% interval {_num(vs['ci_low'])}{DASH}{_num(vs['ci_high'])}; {vs['method']})"
        + (
            f"; the last wave's emulators put it at {_num(reg['emulated_volume_share'])}."
            if reg["emulated_volume_share"] is not None
            else "."
        ),
        "",
        "Bounds of the non-implausible points (every wave):",
        "",
    ]
    lines += _table(
        ["parameter", "prior range", "non-implausible low", "non-implausible high"],
        [
            [f"`{k}`", f"[{_num(b['prior_low'])}, {_num(b['prior_high'])}]", b["low"], b["high"]]
            for k, b in reg["bounds"].items()
        ],
    )
    ch = rec["chosen"]
    lines += [
        "",
        "## The chosen point (baseline.yaml)",
        "",
        f"Point {ch['point']} (wave {ch['wave']}), largest implausibility {_num(ch['max_implausibility'])}. "
        f"Why: {ch['rule']}.",
        "",
    ]
    lines += _table(["key", "value"], [[f"`{k}`", v] for k, v in ch["values"].items()])
    lines += ["", "Fit at the chosen point (the point's own replicates):", ""]
    lines += _table(
        ["target", "value", "target sd", "model mean", "model sd", "implausibility"],
        [
            [f["target"], f["value"], f["target_sd"], f["model_mean"], f["model_sd"], f["implausibility"]]
            for f in ch["fit"]
        ],
    )
    ens = rec["ensemble"]
    lines += [
        "",
        "## Ensemble (baseline.ensemble.csv)",
        "",
        f"{ens['sets']} parameter sets: {ens['header'][0]}. Use: `ss.compare(..., ensemble="
        '"scenarios/calibrated/baseline.ensemble.csv")` or `safesim compare ... --ensemble '
        "scenarios/calibrated/baseline.ensemble.csv`; the sets' keys are offender parameters, so the same file "
        "serves ecosystem_us.yaml.",
        "",
        "## The calibrated scenarios against the targets",
        "",
        "`ecosystem_us.yaml` carries the baseline fit's offender keys over (its 1,508 platforms are not calibrated "
        "directly; one of its runs costs as much as a few hundred baseline runs); both are checked against "
        "`scenarios/targets/open.yaml` with `safesim targets`:",
        "",
    ]
    for name, doc in checks.items():
        lines += [
            f"`safesim targets scenarios/calibrated/{name}.yaml scenarios/targets/open.yaml --reps {doc['reps']}`:",
            "",
        ]
        lines += _table(
            ["target", "model mean", "95% CI", "target", "ratio", "verdict"],
            [
                [
                    t["name"],
                    t["model"]["mean"],
                    f"[{_num(t['model']['ci_low'])}, {_num(t['model']['ci_high'])}]",
                    _num(t["target"]["low"])
                    if t["target"]["low"] == t["target"]["high"]
                    else f"{_num(t['target']['low'])}{DASH}{_num(t['target']['high'])}",
                    t["ratio"],
                    t["verdict"],
                ]
                for t in doc["targets"]
            ],
        )
        lines += [""]
    lines += ["## Wall time of this run", ""]
    lines += _table(["step", "seconds"], [[k, f"{v:.0f}"] for k, v in times.items()])
    lines += ["", "Measured on the machine that ran the command (2 cores shared with other jobs when first run)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--waves", type=int, default=None)
    parser.add_argument("--ensemble", type=int, default=20, metavar="K")
    parser.add_argument("--check-reps", type=int, default=20)
    parser.add_argument("--ecosystem-reps", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "calibrate_shipped")
    parser.add_argument("--out", type=Path, default=ROOT / "scenarios" / "calibrated")
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(raw)

    import safesim as ss
    from safesim.ensemble import emit_calibrated, engine_commit

    times: dict[str, float] = {}
    commit = engine_commit(ROOT)
    # Runs a previous run of this script left: a record each (and a manifest too where daily files were kept).
    kept = len({p.name.partition(".")[0] for p in args.work.glob("wave*/runs/*.json")})
    t0 = time.perf_counter()
    plan = ss.load_plan(PLAN)
    cal = plan.run(
        ss.RunOptions(out=args.work, workers=args.workers, progress=True), n=args.n, reps=args.reps, waves=args.waves
    )
    read_back = min(kept, cal.simulations)
    on_disk = sum(p.stat().st_size for p in args.work.glob("wave*/runs/*") if p.is_file())
    times[
        f"calibration (history matching with emulators; {cal.simulations:,} runs, {read_back:,} read back from --work, "
        f"whose run files hold {on_disk / 1e6:.1f} MB)"
    ] = time.perf_counter() - t0
    print(cal, file=sys.stderr)
    t0 = time.perf_counter()
    written = emit_calibrated(
        cal,
        args.out,
        name="baseline",
        k=args.ensemble,
        command=shlex.join(["python", "docs/figures/calibrate_shipped.py", *raw]),
        commit=commit,
    )
    rec = json.loads(written["record"].read_text())
    fitted = {k: v for k, v in rec["chosen"]["values"].items()}
    eco = args.out / "ecosystem_us.yaml"
    eco.write_text(ecosystem_yaml(fitted, commit, ss.__version__), encoding="utf-8")
    times["scenarios and ensemble written"] = time.perf_counter() - t0
    checks: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    checks["baseline"] = run_targets(args.out / "baseline.yaml", args.check_reps, args.workers)
    times[f"safesim targets baseline ({args.check_reps} reps)"] = time.perf_counter() - t0
    if args.ecosystem_reps > 0:
        t0 = time.perf_counter()
        checks["ecosystem_us"] = run_targets(eco, args.ecosystem_reps, args.workers)
        times[f"safesim targets ecosystem_us ({args.ecosystem_reps} reps)"] = time.perf_counter() - t0
    for name, doc in checks.items():
        (args.out / f"targets_{name}.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    (args.out / "RECORD.md").write_text(render_record(rec, checks, times, raw), encoding="utf-8")
    for path in [*written.values(), eco, args.out / "RECORD.md"]:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
