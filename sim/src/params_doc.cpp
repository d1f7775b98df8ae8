// safesim: the parameter dictionary (scenarios/README.md), generated from the
// spec's describe() lists and kMetrics so that it cannot drift from the code.
// A test compares the checked-in file with this output.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "safesim/metrics.hpp"
#include "safesim/scenario.hpp"

namespace safesim {
namespace {

std::string number(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (std::abs(x) < 1e16 && x == std::floor(x)) return std::to_string(static_cast<long long>(x));
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  (void)ec;
  return std::string(buf, end);
}

/// Table cells may not contain '|' or line breaks.
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::prob:
      return "prob";
    case Kind::rate:
      return "rate";
    case Kind::real:
      return "real";
    case Kind::count:
      return "count";
    case Kind::integer:
      return "integer";
    case Kind::boolean:
      return "boolean";
    case Kind::choice:
      return "choice";
    case Kind::text:
      return "text";
    case Kind::path:
      return "path";
  }
  return "?";
}

/// The kind's own bounds: [0, 1] for probabilities, [0, inf) for rates and counts.
std::pair<double, double> kind_bounds(Kind k) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (k == Kind::prob) return {0.0, 1.0};
  if (k == Kind::rate || k == Kind::count) return {0.0, inf};
  return {-inf, inf};
}

bool numeric(Kind k) {
  return k == Kind::prob || k == Kind::rate || k == Kind::real || k == Kind::count || k == Kind::integer;
}

/// The bounds a value of the key must lie in: the kind's, narrowed by the key's.
std::pair<double, double> value_bounds(const Meta& m) {
  const auto [lo, hi] = kind_bounds(m.kind);
  if (!numeric(m.kind)) return {lo, hi};
  return {std::max(m.lo, lo), std::min(m.hi, hi)};
}

/// The kind column: the kind, its allowed names, and bounds narrower than the kind's own.
std::string kind_cell(const Meta& m, const std::vector<std::string>& choices) {
  std::string s = kind_name(m.kind);
  if (!choices.empty()) {
    s += ": ";
    for (std::size_t i = 0; i < choices.size(); ++i) s += (i ? ", " : "") + ("`" + choices[i] + "`");
    return s;
  }
  const auto [lo, hi] = kind_bounds(m.kind);
  const auto [mlo, mhi] = value_bounds(m);
  if (mlo > lo || mhi < hi) s += " in [" + number(mlo) + ", " + number(mhi) + "]";
  return s;
}

struct Row {
  std::string section;  // table it belongs to
  std::string key, kind, unit, def, meaning, source;
  ParameterInfo info;  // the same key as data (parameter_table)
};

/// Walks describe() and records one row per field. A table is a group down
/// to `depth` levels below the root prefix (deeper groups join their table).
struct Collector {
  std::string root;                // "" or "platforms.<name>"
  std::vector<std::string> stack;  // group names below root
  std::vector<Row> rows;
  std::size_t (*depth_of)(const std::vector<std::string>&) = nullptr;

  std::string path(const char* key) const {
    std::string p = root;
    for (const auto& g : stack) p += (p.empty() ? "" : ".") + g;
    return p + (p.empty() ? "" : ".") + key;
  }
  std::string section() const {
    const std::size_t d = std::min(stack.size(), depth_of(stack));
    std::string p = root;
    for (std::size_t i = 0; i < d; ++i) p += (p.empty() ? "" : ".") + stack[i];
    return p.empty() ? "Scenario" : p;
  }

  static std::string show(double x) { return number(x); }
  static std::string show(std::int64_t x) { return std::to_string(x); }
  static std::string show(bool x) { return x ? "true" : "false"; }
  static std::string show(const std::string& x) { return "\"" + x + "\""; }
  template <class E>
  static std::string show(E e) requires std::is_enum_v<E> {
    return enum_name(e);
  }

  template <class T>
  void value(const char* key, T& field, const Meta& m) {
    std::vector<std::string> choices;
    if constexpr (std::is_enum_v<T>)
      for (const char* n : enum_names(T{})) choices.emplace_back(n);
    const auto [lo, hi] = value_bounds(m);
    rows.push_back(Row{section(), path(key), kind_cell(m, choices), m.unit ? m.unit : "", "`" + show(field) + "`",
                       m.meaning ? m.meaning : "", m.source ? m.source : "",
                       ParameterInfo{path(key), kind_name(m.kind), m.unit ? m.unit : "", lo, hi}});
  }
  template <class F>
  void group(const char* key, F&& fn) {
    stack.emplace_back(key);
    fn();
    stack.pop_back();
  }
};

std::size_t scenario_depth(const std::vector<std::string>& stack) {
  return !stack.empty() && stack[0] == "offenders" ? 2 : 1;
}
std::size_t platform_depth(const std::vector<std::string>&) { return 2; }

/// One table per section, in order of first appearance (a group's own values
/// may be interleaved with its sub-groups in describe()).
void write_tables(std::string& out, const std::vector<Row>& rows) {
  std::vector<std::string> sections;
  for (const auto& r : rows)
    if (std::find(sections.begin(), sections.end(), r.section) == sections.end()) sections.push_back(r.section);
  for (const auto& section : sections) {
    out += "\n### " + (section == "Scenario" ? section : "`" + section + "`") + "\n\n";
    out += "| key | kind | unit | default | meaning | source |\n";
    out += "|---|---|---|---|---|---|\n";
    for (const auto& r : rows) {
      if (r.section != section) continue;
      out += "| `" + cell(r.key) + "` | " + cell(r.kind) + " | " + cell(r.unit) + " | " + cell(r.def) + " | " +
             cell(r.meaning) + " | " + cell(r.source) + " |\n";
    }
  }
}

const char* kIntro = R"(# Scenario files and parameter dictionary

<!-- Generated by `safesim params --markdown > scenarios/README.md` from the
     describe() lists in sim/include/safesim/spec.hpp. Do not edit by hand:
     a test fails when this file and the code disagree. -->

A scenario file is a YAML mapping that describes one simulated world: a
population of users, their social graph, offenders of three types, how minors
respond to contact, and one or more platforms with their controls. Every key
has a default (listed below), so a scenario only writes what differs.

## Format

```yaml
name: baseline
extends: ../other.yaml          # optional parent, path relative to this file
policies:                       # optional bundles from policies/, applied in order
  - industry_teen_accounts      # to every platform (or its applies_to condition)
  - bundle: uk_osa_illegal_content_codes
    platforms: [main]           # optional subset by name
    where: {kinds: [social, video], min_users: 700000}  # users x user_share
    law_on: 2025-06-01          # optional: the law on that date (default: the bundle's as_of)
    risk_found: true            # optional: apply measures that wait for risk from day 0
jurisdiction_users: {UK: 68000000}  # optional: users the population stands for, per jurisdiction
population: {users: 10000}      # scenario-level groups as in the tables below
platform_defaults:              # platform keys applied to every platform first
  controls: {safety_nudges: {enabled: true}}
platforms:                      # name -> platform keys; default: one platform "main"
  main:
    kind: social
    controls:
      dm_policy: {under_16: connected_only}
      risk_assessment: {enabled: true, signal: child_safety_reports, threshold_per_1k: 2}
    risk_response:              # what the platform switches to when its risk assessment fires
      policy: industry_teen_accounts                    # optional bundle
      set: {controls.safety_nudges.enabled: true}       # optional keys, after the bundle
      description: "teen protections after a bad quarter"  # optional; default: made from policy and set
operators:                      # optional: companies running several platforms
  big_co:                       # an operator name (a platform not listed is its own operator)
    platforms: [main]           # its services, by platform name (each in at most one operator)
    enforcement_reach: 0.5      # keys as in the operators.<name> table below
timeline:                       # scheduled changes
  - day: 180
    platform: main              # a platform name or "all"
    set: {controls.dm_policy.under_16: connected_only}  # dotted or nested keys
    policy: industry_teen_accounts                      # optional bundle
    description: "teen defaults for under-16s"
    # risk_response: {...}      # optional: replaces the platform's risk response from this day on
expect: []                      # reserved for the test harness
```

Resolution order, later values overriding earlier ones:

1. the `extends` parent, fully resolved (recursively, with its own policies);
2. this file's own values (a platform with an existing name is changed field
   by field; new names are appended in file order);
3. this file's `policies`, in order;
4. for the scenario given on the command line only: `--set key.path=value`
   overrides (`platforms.*.` for every platform), then `--policy NAME` bundles.

The timeline is then sorted by day (events on the same day keep file order);
each event starts from the platform as left by earlier events, applies its
bundle, then its `set` keys.

A platform's `risk_response` (allowed under `platforms.<name>`,
`platform_defaults` and `platform_series[].platform`) is resolved against the
platform's final keys, and again against each timeline state, so the platform
that fires keeps every later timeline change with its response on top. It runs
from the day after the end of the first review cycle (`controls.risk_assessment`)
whose measured rate reached the threshold, for the rest of the run; the metric
`risk_response_active` shows when. The response may change controls only.
A resolved dump writes each response in full, so it needs no bundle files.

Policy bundles (`NAME.yaml`) are looked up in the `policies/` folder beside
the file that names them, then beside the root scenario, then in the
installed `scenarios/policies/`. A bundle has `bundle` (its file name),
`title`, `as_of` (the date its statuses describe), an optional
`jurisdiction`, `summary`, `sources`, an optional default condition
`applies_to`, and `measures`: each with `id`, `text`, `source`, its legal
`status` (`in_force`, `lapsed`, `proposed` or `practice`, with `since` and
`until` dates), its own optional trigger `applies_to` (platform kinds,
`min_users` in users of the bundle's jurisdiction, `surfaces`, `risk: found`)
and the `platform` keys it sets. A measure in force on the law date and whose
trigger matches is applied; one that waits for risk goes into the platform's
risk response. The resolved dump lists, per bundle and platform, what was
applied, what waits for risk and what was not applied and why (`# policy:`
lines). scenarios/policies/README.md tables every measure with its source.

Unknown keys are errors (with a suggestion for the closest key), and every
value is checked against its kind and bounds. Errors name the file, line,
column and key path: `x.yaml:12:5: platforms.main.controls.dm_polcy: unknown
key 'dm_polcy' (did you mean 'dm_policy'?)`.

## Conventions

- Rates and probabilities are **per day** and durations are **in hours**,
  unless the unit column says otherwise.
- Kinds: `prob` is a number in [0, 1]; `rate` a number >= 0; `real` any finite
  number; `count` a whole number >= 0; `integer` a whole number; `boolean`
  `true` or `false`; `choice` one of the listed names; `text` free text;
  `path` a file path relative to the scenario file. Bounds narrower than the
  kind's own are shown beside it.
- Sources marked "assumption" are modelling choices without a published
  figure; weakly grounded ones (offender behaviour) are meant for
  sensitivity analysis.

## Parameters
)";

/// Every key, scenario-level then platform keys: what both the Markdown
/// dictionary and parameter_table() are made from.
std::pair<std::vector<Row>, std::vector<Row>> collect_rows() {
  ScenarioSpec s = default_scenario();
  Collector c;
  c.depth_of = scenario_depth;
  describe(c, s);
  Collector pc;
  pc.root = "platforms.<name>";
  pc.depth_of = platform_depth;
  describe(pc, s.platforms.front());
  // Operator keys follow the platform keys (one table, operators.<name>).
  OperatorSpec op;
  Collector oc;
  oc.root = "operators.<name>";
  oc.depth_of = platform_depth;
  describe(oc, op);
  pc.rows.insert(pc.rows.end(), oc.rows.begin(), oc.rows.end());
  return {std::move(c.rows), std::move(pc.rows)};
}

}  // namespace

std::string parameter_dictionary_markdown() {
  std::string out = kIntro;
  const auto [scenario_rows, platform_rows] = collect_rows();
  write_tables(out, scenario_rows);
  write_tables(out, platform_rows);

  out += "\n## Output metrics\n\n";
  out += "Flows are counted per day (run total: sum over days, or distinct minors for `minors_*`); levels are\n";
  out += "observed at the end of each day (run total: mean over days); derived figures are computed from totals.\n\n";
  out += "| name | kind | unit | meaning |\n|---|---|---|---|\n";
  for (const auto& m : kMetrics) {
    const char* kind = m.kind == MetricKind::flow ? "flow" : m.kind == MetricKind::level ? "level" : "derived";
    out += "| `" + std::string(m.name) + "` | " + kind + " | " + cell(std::string(m.unit)) + " | " +
           cell(std::string(m.meaning)) + " |\n";
  }
  return out;
}

std::vector<ParameterInfo> parameter_table() {
  std::vector<ParameterInfo> out;
  const auto [scenario_rows, platform_rows] = collect_rows();
  for (const auto* rows : {&scenario_rows, &platform_rows})
    for (const Row& r : *rows) out.push_back(r.info);
  return out;
}

}  // namespace safesim
