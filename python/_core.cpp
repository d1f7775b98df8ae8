// safesim._core: the one thin binding file (STYLE.md habit 12). It only wraps
// the C++ interface; the experiment API (Scenario, replicate, results) lives
// in the pure-Python package that re-exports it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "safesim/metrics.hpp"
#include "safesim/oracle.hpp"
#include "safesim/scenario.hpp"
#include "safesim/simulation.hpp"
#include "safesim/spec.hpp"

#ifndef SAFESIM_VERSION
#define SAFESIM_VERSION "unknown"
#endif
#ifndef SAFESIM_BUILD_TYPE
#define SAFESIM_BUILD_TYPE "unknown"
#endif

namespace py = pybind11;

namespace {

using Overrides = std::vector<std::pair<std::string, std::string>>;
using Names = std::vector<std::string>;

safesim::LoadOptions make_options(Overrides overrides, Names policies, Names policy_dirs) {
  safesim::LoadOptions options;
  options.overrides = std::move(overrides);
  options.extra_policies = std::move(policies);
  options.policy_dirs = std::move(policy_dirs);
  return options;
}

/// Hands a vector to NumPy without copying: a capsule owns the moved vector
/// and frees it when the last array viewing it goes away.
py::array_t<double> adopt(std::vector<double>&& values, std::vector<py::ssize_t> shape) {
  auto* owner = new std::vector<double>(std::move(values));
  py::capsule free_when_done(owner, [](void* p) noexcept { delete static_cast<std::vector<double>*>(p); });
  return py::array_t<double>(std::move(shape), owner->data(), free_when_done);
}

/// A finished run with its fingerprint, computed while the GIL is released.
struct Finished {
  safesim::RunOutput out;
  std::uint64_t hash = 0;
};

py::dict to_dict(Finished&& done) {
  auto& out = done.out;
  const auto scopes = static_cast<py::ssize_t>(out.scopes());
  const auto days = static_cast<py::ssize_t>(out.days);
  const auto metrics = static_cast<py::ssize_t>(safesim::kMetricCount);
  py::dict d;
  d["platforms"] = out.platforms;
  d["days"] = out.days;
  d["seed"] = out.seed;
  d["totals"] = adopt(std::move(out.totals), {scopes, metrics});
  d["daily"] = adopt(std::move(out.daily), {scopes, days, metrics});
  // Declared operators only (none: every platform is its own operator).
  const auto n_ops = static_cast<py::ssize_t>(out.operators.size());
  d["operators"] = out.operators;
  d["operator_totals"] = adopt(std::move(out.operator_totals), {n_ops, metrics});
  d["operator_daily"] = adopt(std::move(out.operator_daily), {n_ops, days, metrics});
  const auto groups = static_cast<py::ssize_t>(safesim::kGroupCount);
  d["group_totals"] =
      adopt(std::move(out.group_totals), {scopes, groups, static_cast<py::ssize_t>(safesim::kGroupMetricCount)});
  d["group_minors"] = adopt(std::move(out.group_minors), {scopes, groups});
  // population.ageing's cohort table (0 rows without it).
  const auto cohort_rows = static_cast<py::ssize_t>(out.cohort.empty() ? 0 : safesim::kCohortAges);
  d["cohort"] = adopt(std::move(out.cohort), {cohort_rows, static_cast<py::ssize_t>(safesim::kCohortColumns.size())});
  d["build_seconds"] = out.build_seconds;
  d["run_seconds"] = out.run_seconds;
  d["hash"] = done.hash;
  return d;
}

const char* kind_name(safesim::MetricKind kind) {
  switch (kind) {
    case safesim::MetricKind::flow:
      return "flow";
    case safesim::MetricKind::level:
      return "level";
    case safesim::MetricKind::derived:
      return "derived";
  }
  return "unknown";
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "safesim C++ core (private; use the safesim package)";
  m.attr("version") = SAFESIM_VERSION;
  m.attr("build_type") = SAFESIM_BUILD_TYPE;

  // safesim::ScenarioError -> safesim.errors.ScenarioError (imported lazily so
  // the Python class stays the single definition).
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const safesim::ScenarioError& e) {
      py::object cls;
      try {
        cls = py::module_::import("safesim.errors").attr("ScenarioError");
      } catch (py::error_already_set&) {
        PyErr_SetString(PyExc_ValueError, e.what());
        return;
      }
      py::object exc = cls(e.what(), e.file(), e.line(), e.column(), e.key_path(), e.message());
      PyErr_SetObject(cls.ptr(), exc.ptr());
    }
  });

  py::class_<safesim::ScenarioSpec>(m, "ScenarioSpec", "A resolved, validated scenario (immutable).")
      .def_property_readonly("name", [](const safesim::ScenarioSpec& s) { return s.name; })
      .def_property_readonly("description", [](const safesim::ScenarioSpec& s) { return s.description; })
      .def_property_readonly("seed", [](const safesim::ScenarioSpec& s) { return s.seed; })
      .def_property_readonly("horizon_days", [](const safesim::ScenarioSpec& s) { return s.horizon_days; })
      .def_property_readonly("users", [](const safesim::ScenarioSpec& s) { return s.population.users; })
      .def_property_readonly("platforms",
                             [](const safesim::ScenarioSpec& s) {
                               Names names;
                               for (const auto& p : s.platforms) names.push_back(p.name);
                               return names;
                             })
      .def_property_readonly("policies", [](const safesim::ScenarioSpec& s) { return s.policies; })
      .def_property_readonly("policy_log", [](const safesim::ScenarioSpec& s) { return s.policy_log; })
      .def_property_readonly("operators",
                             [](const safesim::ScenarioSpec& s) {
                               // Every operator with its platforms: the declared ones in
                               // order, then each platform no operator names, as its own.
                               std::vector<std::pair<std::string, Names>> out;
                               std::vector<bool> owned(s.platforms.size(), false);
                               for (const auto& o : s.operators) {
                                 Names names;
                                 for (std::size_t p : o.platforms) {
                                   names.push_back(s.platforms[p].name);
                                   owned[p] = true;
                                 }
                                 out.emplace_back(o.name, std::move(names));
                               }
                               for (std::size_t p = 0; p < s.platforms.size(); ++p)
                                 if (!owned[p]) out.emplace_back(s.platforms[p].name, Names{s.platforms[p].name});
                               return out;
                             })
      .def_property_readonly("burdens",
                             [](const safesim::ScenarioSpec& s) {
                               std::vector<std::pair<std::string, std::vector<std::pair<std::string, double>>>> out;
                               for (const auto& b : s.burdens) out.emplace_back(b.name, b.weights);
                               return out;
                             })
      .def_property_readonly("population_age_bands",
                             [](const safesim::ScenarioSpec& s) { return s.population.age_bands; })
      .def_property_readonly("population_youngest_age",
                             [](const safesim::ScenarioSpec& s) { return s.population.youngest_age; })
      .def_property_readonly("source_file", [](const safesim::ScenarioSpec& s) { return s.source_file; })
      .def(
          "dump", [](const safesim::ScenarioSpec& s) { return safesim::dump_scenario(s); },
          "The resolved scenario as YAML, every field included.")
      .def("__repr__", [](const safesim::ScenarioSpec& s) {
        return "<safesim._core.ScenarioSpec '" + s.name + "', " + std::to_string(s.platforms.size()) +
               " platform(s), " + std::to_string(s.population.users) + " users, " + std::to_string(s.horizon_days) +
               " days>";
      });

  m.def(
      "load_scenario",
      [](const std::string& path, Overrides overrides, Names policies, Names policy_dirs) {
        auto options = make_options(std::move(overrides), std::move(policies), std::move(policy_dirs));
        py::gil_scoped_release release;
        return safesim::load_scenario(path, options);
      },
      py::arg("path"), py::arg("overrides") = Overrides{}, py::arg("policies") = Names{},
      py::arg("policy_dirs") = Names{}, "Load, resolve and validate a scenario file.");

  m.def(
      "load_scenario_text",
      [](const std::string& text, const std::string& name, Overrides overrides, Names policies, Names policy_dirs) {
        auto options = make_options(std::move(overrides), std::move(policies), std::move(policy_dirs));
        py::gil_scoped_release release;
        return safesim::load_scenario_text(text, name, options);
      },
      py::arg("text"), py::arg("name"), py::arg("overrides") = Overrides{}, py::arg("policies") = Names{},
      py::arg("policy_dirs") = Names{}, "Load a scenario from YAML text.");

  m.def(
      "run",
      [](const safesim::ScenarioSpec& spec, std::uint64_t seed, int threads) {
        Finished done;
        {
          py::gil_scoped_release release;
          done.out = safesim::run(spec, seed, threads);
          done.hash = safesim::output_hash(done.out);
        }
        return to_dict(std::move(done));
      },
      py::arg("spec"), py::arg("seed"), py::arg("threads") = 1,
      "Run one replicate; returns a dict of NumPy arrays and timings. The graphs are built on `threads` threads "
      "(the same result at any thread count).");

  m.def("clear_structure_cache", &safesim::clear_structure_cache,
        "Forget the per-process cache of built populations and graphs (results are the same either way).");

  m.def(
      "run_many",
      [](const safesim::ScenarioSpec& spec, const std::vector<std::uint64_t>& seeds, int threads) {
        std::vector<Finished> done;
        {
          py::gil_scoped_release release;
          auto outs = safesim::run_many(spec, seeds, threads);
          done.reserve(outs.size());
          for (auto& out : outs) {
            const auto hash = safesim::output_hash(out);
            done.push_back(Finished{std::move(out), hash});
          }
        }
        py::list result;
        for (auto& d : done) result.append(to_dict(std::move(d)));
        return result;
      },
      py::arg("spec"), py::arg("seeds"), py::arg("threads") = 1,
      "Run one replicate per seed on `threads` threads; results in seed order.");

  m.def(
      "output_hash",
      [](const py::array_t<double, py::array::c_style | py::array::forcecast>& totals,
         const py::array_t<double, py::array::c_style | py::array::forcecast>& daily,
         const py::array_t<double, py::array::c_style | py::array::forcecast>& operator_totals,
         const py::array_t<double, py::array::c_style | py::array::forcecast>& operator_daily,
         const py::array_t<double, py::array::c_style | py::array::forcecast>& group_totals,
         const py::array_t<double, py::array::c_style | py::array::forcecast>& group_minors) {
        safesim::RunOutput out;
        auto copy = [](const auto& a, std::vector<double>& v) { v.assign(a.data(), a.data() + a.size()); };
        copy(totals, out.totals);
        copy(daily, out.daily);
        copy(operator_totals, out.operator_totals);
        copy(operator_daily, out.operator_daily);
        copy(group_totals, out.group_totals);
        copy(group_minors, out.group_minors);
        return safesim::output_hash(out);
      },
      py::arg("totals"), py::arg("daily"), py::arg("operator_totals") = py::array_t<double>(0),
      py::arg("operator_daily") = py::array_t<double>(0), py::arg("group_totals") = py::array_t<double>(0),
      py::arg("group_minors") = py::array_t<double>(0),
      "The engine's output hash of a run's arrays (a run read back from disk is checked by it).");

  m.def(
      "metrics",
      [] {
        std::vector<std::tuple<std::string, std::string, std::string, std::string>> rows;
        for (const auto& info : safesim::kMetrics)
          rows.emplace_back(std::string(info.name), kind_name(info.kind), std::string(info.unit),
                            std::string(info.meaning));
        return rows;
      },
      "Output metrics as (name, kind, unit, meaning), in the column order of totals and daily.");

  m.def(
      "cohort_columns",
      [] {
        std::vector<std::string> names;
        for (const std::string_view c : safesim::kCohortColumns) names.emplace_back(c);
        return names;
      },
      "Columns of a run's cohort table (population.ageing): members, then the outcomes; rows are ages 0-17.");

  m.def(
      "group_metrics",
      [] {
        std::vector<std::string> names;
        for (const safesim::Metric g : safesim::kGroupMetrics)
          names.emplace_back(safesim::kMetrics[safesim::idx(g)].name);
        return names;
      },
      "Metrics counted by age and gender (the last axis of group_totals); groups are age * 2 + boy, ages 0-17.");

  m.def(
      "dyad_outcome",
      [](const safesim::ScenarioSpec& spec, std::size_t platform, int offender_type,
         const safesim::MixtureShares& shares) {
        if (platform >= spec.platforms.size()) throw py::index_error("platform index out of range");
        if (offender_type < 0 || offender_type > 3) throw py::index_error("offender_type must be 0, 1, 2 or 3");
        safesim::DyadOutcome o;
        {
          py::gil_scoped_release release;  // a bad share throws std::invalid_argument: ValueError
          o = safesim::dyad_outcome_mixed(spec, platform, offender_type, shares);
        }
        py::dict d;
        d["exploited"] = o.exploited;
        d["images_obtained"] = o.images_obtained;
        d["sextorted"] = o.sextorted;
        d["met_offline"] = o.met_offline;
        d["reported"] = o.reported;
        d["exited"] = o.exited;
        d["detected"] = o.detected;
        d["closed_after_exploitation"] = o.closed_after_exploitation;
        d["reported_before_exploitation"] = o.reported_before_exploitation;
        d["exited_before_exploitation"] = o.exited_before_exploitation;
        d["detected_before_exploitation"] = o.detected_before_exploitation;
        d["reach_trust"] = o.reach_trust;
        d["reach_isolation"] = o.reach_isolation;
        d["reach_solicitation"] = o.reach_solicitation;
        d["moved"] = o.moved;
        d["exploitation_events"] = o.exploitation_events;
        d["expected_days"] = o.expected_days;
        d["days_second_moment"] = o.days_second_moment;
        d["exploited_days"] = o.exploited_days;
        d["reported_days"] = o.reported_days;
        d["exited_days"] = o.exited_days;
        d["detected_days"] = o.detected_days;
        return d;
      },
      py::arg("spec"), py::arg("platform") = 0, py::arg("offender_type") = 0,
      py::arg("shares") = safesim::MixtureShares{},
      "Analytic per-dyad outcome (absorbing Markov chain, docs/model/submodels/oracle.md) for one platform and "
      "offender "
      "type (0 groomer, 1 sextortion, 2 distributor, 3 peer); shares: mixture shares by name (see dyad_mixture), "
      "e.g. {'public_share': 0.7}; a share not given takes its default.");
  m.def(
      "dyad_mixture",
      [] {
        std::vector<std::tuple<std::string, std::string, std::string>> rows;
        for (const auto& d : safesim::mixture_dimensions())
          rows.emplace_back(std::string(d.share), std::string(d.flag_name), std::string(d.meaning));
        return rows;
      },
      "The binary dimensions the oracle mixes over, as (share, context flag, meaning): the share names are "
      "the keys dyad_outcome accepts.");

  m.def("parameter_dictionary", &safesim::parameter_dictionary_markdown,
        "The parameter dictionary as Markdown (scenarios/README.md).");
  m.def(
      "parameters",
      [] {
        py::list out;
        for (const auto& p : safesim::parameter_table()) out.append(py::make_tuple(p.key, p.kind, p.unit, p.lo, p.hi));
        return out;
      },
      "Every scenario key of the parameter dictionary as (key, kind, unit, low, high): platform keys as "
      "platforms.<name>.KEY, bounds the kind's own narrowed by the key's (infinite where unbounded; both "
      "infinite for non-numeric kinds).");
}
