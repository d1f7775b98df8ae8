"""The "Measures by bundle" section of scenarios/policies/README.md, generated from the bundle files:
per bundle, each measure with its legal source, trigger, keys and status.

    python docs/figures/measure_tables.py           # prints the section
    python docs/figures/measure_tables.py --write   # replaces it in scenarios/policies/README.md

No run is needed: everything comes from the YAML (no figures are measured here).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "scenarios" / "policies"
README = POLICIES / "README.md"
HEADING = "## Measures by bundle"


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _keys(block: dict, prefix: str = "") -> list[str]:
    out: list[str] = []
    for k, v in block.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _keys(v, path + ".")
        else:
            out.append(f"`{path}={_value(v)}`")
    return out


def _condition(c: dict, jurisdiction: str | None) -> str:
    parts: list[str] = []
    if c.get("kinds"):
        parts.append("/".join(c["kinds"]))
    if c.get("min_users"):
        parts.append(f"≥ {int(c['min_users']):,} {jurisdiction + ' ' if jurisdiction else ''}users")
    if c.get("surfaces"):
        parts.append("/".join(c["surfaces"]))
    if c.get("risk") == "found":
        parts.append("risk found")
    return ", ".join(parts)


def _trigger(doc: dict, m: dict) -> str:
    if not m.get("platform") or m.get("modelled") is False:
        return "—"
    trig = m.get("applies_to")
    if not trig:
        kinds = (doc.get("applies_to") or {}).get("kinds") or []
        return f"bundle scope ({', '.join(kinds)})"
    if isinstance(trig, list):
        return " or ".join(f"({_condition(c, doc.get('jurisdiction'))})" for c in trig)
    return _condition(trig, doc.get("jurisdiction"))


def _status(m: dict) -> str:
    status, since, until = m["status"], m.get("since"), m.get("until")
    if status == "in_force":
        return f"in force since {since}" if since else "in force"
    if status == "practice":
        return f"practice since {since}" if since else "practice"
    if status == "proposed":
        return f"proposed {since}" if since else "proposed"
    return f"lapsed {until} (from {since})" if since else f"lapsed {until}"


def _keys_cell(m: dict) -> str:
    if m.get("modelled") is False:
        return "not modelled"
    if not m.get("platform"):
        return "none (sets no key)"
    return "; ".join(_keys(m["platform"]))


def section() -> str:
    lines = [HEADING, ""]
    for path in sorted(POLICIES.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        juris = f"; jurisdiction {doc['jurisdiction']}" if doc.get("jurisdiction") else ""
        lines += [f"### `{doc['bundle']}`", "", f"{doc['title']}. As of {doc['as_of']}{juris}.", ""]
        lines += ["| measure | legal source | trigger | keys | status |", "|---|---|---|---|---|"]
        for m in doc["measures"]:
            lines.append(f"| `{m['id']}` | {m['source']} | {_trigger(doc, m)} | {_keys_cell(m)} | {_status(m)} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    text = section()
    if "--write" not in sys.argv[1:]:
        sys.stdout.write(text)
        return
    readme = README.read_text(encoding="utf-8")
    start = readme.index(HEADING)
    rest = readme[start + len(HEADING) :]
    # The section runs to the next second-level heading or the end of the file.
    end = rest.find("\n## ")
    tail = "" if end < 0 else rest[end + 1 :]
    README.write_text(readme[:start] + text + ("\n" + tail if tail else "\n"), encoding="utf-8")


if __name__ == "__main__":
    main()
