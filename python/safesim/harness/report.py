"""Reports of check results: a text table, exit codes and JUnit XML."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from safesim.harness.runner import FileResult, format_value
from safesim.harness.sequential import Verdict
from safesim.io import write_text

__all__ = ["EXIT_ERROR", "EXIT_FAIL", "EXIT_OK", "exit_code", "junit_xml", "table", "write_junit"]

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _align(rows: list[list[str]], right: Sequence[int] = ()) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return lines


def table(results: list[FileResult]) -> str:
    """Return the report: one row per expectation, then one line per failure, inconclusive case or error."""
    rows = [["file", "expectation", "metric", "expected", "estimate", "interval", "verdict", "replicates"]]
    notes: list[str] = []
    for fr in results:
        name = _display(fr.path)
        if fr.error:
            rows.append([name, "-", "-", "-", "-", "-", "ERROR", "-"])
            notes.append(f"ERROR {fr.error}")
            continue
        for res in fr.results:
            e = res.expectation
            metric = e.metric + (f" ({e.platform})" if e.platform else "")
            conf = f"{e.confidence:.0%}".replace(".0%", "%")
            interval = f"{conf} [{format_value(res.low, e)}, {format_value(res.high, e)}]"
            rows.append(
                [
                    name,
                    e.name,
                    metric,
                    e.requirement,
                    format_value(res.estimate, e),
                    interval,
                    res.verdict.value,
                    f"{res.replicates}/{e.budget}",
                ]
            )
            if res.verdict is not Verdict.PASS:
                notes.append(f"{res.verdict.value} {name}:{e.line}: {e.name}: {res.message()}")
    counts = summary_counts(results)
    lines = _align(rows, right=[4, 7])
    summary = (
        f"{counts['tests']} expectation(s) in {len(results)} file(s): {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['inconclusive']} inconclusive, {counts['errors']} error(s)"
    )
    return "\n".join([*lines, *(["", *notes] if notes else []), "", summary])


def summary_counts(results: list[FileResult]) -> dict[str, int]:
    c = {"tests": 0, "passed": 0, "failed": 0, "inconclusive": 0, "errors": 0}
    for fr in results:
        if fr.error:
            c["errors"] += 1
            c["tests"] += 1
            continue
        for res in fr.results:
            c["tests"] += 1
            key = {Verdict.PASS: "passed", Verdict.FAIL: "failed", Verdict.INCONCLUSIVE: "inconclusive"}[res.verdict]
            c[key] += 1
    return c


def exit_code(results: list[FileResult], strict: bool = False) -> int:
    """2 for an input error (or, under ``strict``, an inconclusive expectation), else 1 for a failure, else 0."""
    c = summary_counts(results)
    if c["errors"]:
        return EXIT_ERROR
    if c["failed"]:
        return EXIT_FAIL
    if strict and c["inconclusive"]:
        return EXIT_ERROR
    return EXIT_OK


def junit_xml(results: list[FileResult], strict: bool = False) -> ET.ElementTree:
    """JUnit XML: one ``testsuite`` per file, one ``testcase`` per expectation.

    FAIL is a ``<failure>``; INCONCLUSIVE is ``<skipped>``, or ``<error>`` under
    ``strict``; a file that could not be loaded is one ``<error>`` test case.
    """
    root = ET.Element("testsuites", name="safesim check")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for fr in results:
        name = _display(fr.path)
        suite = ET.SubElement(root, "testsuite", name=name)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        classname = name.removesuffix(".yaml").replace(os.sep, ".").replace("/", ".")
        if fr.error:
            case = ET.SubElement(suite, "testcase", name="load", classname=classname, time="0.000")
            err = ET.SubElement(case, "error", message=fr.error, type="ScenarioError")
            err.text = fr.error
            counts["tests"] += 1
            counts["errors"] += 1
        for res in fr.results:
            e = res.expectation
            case = ET.SubElement(
                suite, "testcase", name=e.name, classname=classname, time=f"{res.seconds:.3f}", file=name
            )
            case.set("line", str(e.line))
            counts["tests"] += 1
            msg = res.message()
            if res.verdict is Verdict.FAIL:
                ET.SubElement(case, "failure", message=msg, type="ExpectationFailed").text = msg
                counts["failures"] += 1
            elif res.verdict is Verdict.INCONCLUSIVE:
                if strict:
                    ET.SubElement(case, "error", message=msg, type="Inconclusive").text = msg
                    counts["errors"] += 1
                else:
                    ET.SubElement(case, "skipped", message=msg)
                    counts["skipped"] += 1
            ET.SubElement(case, "system-out").text = msg
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{fr.seconds:.3f}")
        total_time += fr.seconds
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(results: list[FileResult], path: str | os.PathLike[str], strict: bool = False) -> Path:
    """Write :func:`junit_xml` of ``results`` to ``path`` atomically and return the path."""
    tree = junit_xml(results, strict)
    text = ET.tostring(tree.getroot(), encoding="unicode", xml_declaration=False)
    return write_text(Path(path), '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
