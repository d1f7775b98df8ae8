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
3. calibrates ``scenarios/ecosystem_us.yaml`` directly: history matching
   with emulators of the same parameters over the same prior box, against
   the same targets (``--ecosystem-n`` points x ``--ecosystem-waves`` waves, two
   replicates each: one ecosystem run costs as much as about 150 baseline runs,
   and a million users leave little run-to-run noise). It writes
   ``scenarios/calibrated/ecosystem_us.yaml`` and its own ensemble, record,
   points and diagnostics (``ecosystem_us.*``). ``--ecosystem-n 0`` carries the
   baseline fit's offender keys over instead, as earlier versions did;
4. checks both calibrated scenarios against the targets file
   (``safesim targets ... --json``) and writes ``targets_*.json``;
5. writes ``scenarios/calibrated/RECORD.md`` from all of the above, with this
   command at the top and the wall time of each step.

Options: ``--n``, ``--reps``, ``--waves`` (override the plan, for a quick
trial), ``--ensemble K`` (default 20), ``--check-reps N`` (baseline target
check, default 20), ``--ecosystem-n N`` and ``--ecosystem-waves W`` (the
ecosystem's own calibration, default 16 and 2), ``--ecosystem-reps N``
(its target check, default 3; 0 skips the check), ``--workers N``, ``--work DIR`` (default build/calibrate_shipped),
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
from typing import Any, ClassVar

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


class NoEnsemble:
    """What the record says of an ensemble when no point survived: none."""

    header: ClassVar[list[str]] = ["none: no point was non-implausible"]

    def __len__(self) -> int:
        return 0


def ecosystem_parameters() -> dict[str, Any]:
    """The plan's parameters and prior ranges: the ecosystem is fitted over the same box as the baseline."""
    import yaml

    return dict(yaml.safe_load(PLAN.read_text(encoding="utf-8"))["parameters"])


def ecosystem_yaml(values: dict[str, Any], commit: str, version: str, direct: bool = False) -> str:
    from safesim.ensemble import scenario_yaml

    how = (
        [
            "Calibrated directly (ecosystem_us.record.json), but no point was non-implausible: these are the",
            "keys of the point of smallest largest implausibility. RECORD.md has the fit.",
        ]
        if direct
        else [
            "Not calibrated directly (--ecosystem-n 0): the fitted offender keys of baseline.yaml are carried",
            "over, and the ecosystem is checked against the same targets with `safesim targets` instead.",
        ]
    )
    header = [
        "ecosystem_us_calibrated (generated; do not edit by hand).",
        f"Made by: {COMMAND}",
        f"Engine: safesim {version}, commit {commit}.",
        *how,
    ]
    return scenario_yaml(values, "../ecosystem_us.yaml", header, name="ecosystem_us_calibrated")


def waves_table(rec: dict[str, Any]) -> list[str]:
    """The waves of a calibration record as a Markdown table, with any fallbacks and the totals."""
    lines = _table(
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
    for w in rec["waves"]:
        if w.get("fallback"):
            lines += ["", f"Wave {w['wave']}: {w['fallback']}."]
    lines += [
        "",
        f"{rec['points']} points simulated ({rec['simulations']:,} runs), {rec['non_implausible']} non-implausible.",
    ]
    return lines


def chosen_tables(rec: dict[str, Any]) -> list[str]:
    """The chosen point of a calibration record: why, its keys, and its fit to each target."""
    ch = rec["chosen"]
    lines = [
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
    return lines


def ecosystem_section(eco: dict[str, Any] | None) -> list[str]:
    """How ecosystem_us.yaml was made: its own calibration, or the baseline's keys carried over."""
    if eco is None:
        return [
            "## ecosystem_us.yaml",
            "",
            "Made with `--ecosystem-n 0`: it carries the baseline fit's offender keys over (its 1,508 platforms "
            "are not calibrated directly).",
            "",
        ]
    prov = eco["provenance"]
    lines = [
        "## The ecosystem's own calibration (ecosystem_us.yaml)",
        "",
        "The ecosystem is calibrated directly: history matching with emulators of the same parameters over the "
        f"same prior box, against the same targets, {prov['reps']} replicates per point (seeds "
        f"{prov['seeds'][0]}..{prov['seeds'][-1]}; a million users leave little run-to-run noise), cutoff "
        f"{prov['cutoff']:g}. "
        + (
            "Its ensemble is `ecosystem_us.ensemble.csv`; every point is in `ecosystem_us.points.csv`."
            if eco["ensemble"]["sets"]
            else "No point was non-implausible, so it ships the point of smallest largest implausibility "
            "and no ensemble of its own; every point is in `ecosystem_us.points.csv`."
        ),
        "",
    ]
    lines += waves_table(eco)
    lines += ["", "The chosen point:", ""]
    lines += chosen_tables(eco)
    lines += [""]
    return lines


def render_record(
    rec: dict[str, Any],
    checks: dict[str, dict[str, Any]],
    times: dict[str, float],
    argv: list[str],
    eco: dict[str, Any] | None = None,
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
    lines += waves_table(rec)
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
    lines += ["", "## The chosen point (baseline.yaml)", ""]
    lines += chosen_tables(rec)
    ens = rec["ensemble"]
    lines += [
        "",
        "## Ensemble (baseline.ensemble.csv)",
        "",
        f"{ens['sets']} parameter sets: {ens['header'][0]}. Use: `ss.compare(..., ensemble="
        '"scenarios/calibrated/baseline.ensemble.csv")` or `safesim compare ... --ensemble '
        "scenarios/calibrated/baseline.ensemble.csv`.",
        "",
    ]
    lines += ecosystem_section(eco)
    lines += [
        "## The calibrated scenarios against the targets",
        "",
        "Both are checked against `scenarios/targets/open.yaml` with `safesim targets`, on fresh seeds:",
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
    parser.add_argument("--ecosystem-n", type=int, default=16)
    parser.add_argument("--ecosystem-waves", type=int, default=2)
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
    times["baseline scenario and ensemble written"] = time.perf_counter() - t0
    eco = args.out / "ecosystem_us.yaml"
    eco_rec: dict[str, Any] | None = None
    t0 = time.perf_counter()
    if args.ecosystem_n > 0:
        eco_cal = ss.calibrate(
            ROOT / "scenarios" / "ecosystem_us.yaml",
            ecosystem_parameters(),
            TARGETS,
            n=args.ecosystem_n,
            reps=2,  # two, so each point has a model variance: the actionable-share target has none of its own
            waves=args.ecosystem_waves,
            cutoff=float(rec["provenance"]["cutoff"]),
            emulate=True,
            options=ss.RunOptions(out=args.work / "ecosystem", workers=args.workers, progress=True),
        )
        print(eco_cal, file=sys.stderr)
        command = shlex.join(["python", "docs/figures/calibrate_shipped.py", *raw])
        if int(eco_cal.points["non_implausible"].sum()):
            eco_written = emit_calibrated(
                eco_cal, args.out, name="ecosystem_us", k=args.ensemble, command=command, commit=commit
            )
            eco_rec = json.loads(eco_written["record"].read_text())
        else:  # no survivor: the best point, its record, and no ensemble
            from safesim.ensemble import chosen_point, record

            best, reason = chosen_point(eco_cal)
            values = {p.key: int(best[p.key]) if p.integer else float(best[p.key]) for p in eco_cal.parameters}
            eco_rec = record(eco_cal, best, reason, NoEnsemble())  # type: ignore[arg-type]
            eco.write_text(ecosystem_yaml(values, commit, ss.__version__, direct=True), encoding="utf-8")
            eco_written = {"record": args.out / "ecosystem_us.record.json", "scenario": eco}
            eco_written["record"].write_text(json.dumps(eco_rec, indent=2) + "\n", encoding="utf-8")
            eco_cal.points.to_csv(args.out / "ecosystem_us.points.csv", index=False)
        written.update({f"ecosystem {k}": v for k, v in eco_written.items()})
        times[f"ecosystem_us calibration ({eco_cal.simulations:,} runs), its scenario and ensemble written"] = (
            time.perf_counter() - t0
        )
    else:
        fitted = {k: v for k, v in rec["chosen"]["values"].items()}
        eco.write_text(ecosystem_yaml(fitted, commit, ss.__version__), encoding="utf-8")
        times["ecosystem_us.yaml written (baseline keys carried over)"] = time.perf_counter() - t0
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
    (args.out / "RECORD.md").write_text(render_record(rec, checks, times, raw, eco_rec), encoding="utf-8")
    for path in dict.fromkeys([*written.values(), eco, args.out / "RECORD.md"]):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
