// The run loop. The step order of docs/model/process.md is written once, in two
// adjacent functions: step_day() runs the day-level stages (timeline, returns
// and arrivals before the ticks; signals, clearinghouse, metrics and risk
// assessment after them) around step_tick()'s stages, which run every tick.
// Each stage is a named function in its own file.
#include "safesim/simulation.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>

#include <sys/mman.h>
#include <unistd.h>

#include "parallel.hpp"
#include "state.hpp"

namespace safesim {
namespace detail {

// ---------------------------------------------------------------- PairSet
namespace {
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}
}  // namespace

bool PairSet::contains(std::uint64_t k) const {
  if (slots_.empty()) return false;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = mix(k) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == 0) return false;
    if (slots_[i] == k + 1) return true;
  }
}

void PairSet::insert(std::uint64_t k) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = mix(k) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == k + 1) return;
    if (slots_[i] == 0) {
      slots_[i] = k + 1;
      ++size_;
      return;
    }
  }
}

void PairSet::grow() {
  std::vector<std::uint64_t> old = std::move(slots_);
  slots_.assign(std::max<std::size_t>(64, old.size() * 2), 0);
  size_ = 0;
  for (std::uint64_t v : old)
    if (v != 0) insert(v - 1);
}

// ---------------------------------------------------------------- structure cache
// A sweep runs many scenarios that differ only in controls on the same seeds:
// their population, memberships and graphs are identical, and building them is
// most of a small run (11 of 13 ms at 10,000 users). The build is cached per
// process, keyed by the seed and every field it reads; a hit copies the
// cached arrays, which gives exactly what a fresh build would. Only
// populations up to kCacheMaxUsers are cached, so large runs never hold a
// second copy of their graph.
namespace {

constexpr std::int64_t kCacheMaxUsers = 250000;
constexpr std::size_t kCacheEntries = 2;

struct PlatformStructure {
  std::vector<std::uint32_t> user;
  std::vector<std::uint8_t> declared_age;
  std::vector<std::uint16_t> join_day;
  std::vector<std::uint32_t> minors;
  LocalIndex local_of;
  Graph graph;
  Groups groups;
};

struct Structure {
  Population pop;
  std::vector<PlatformStructure> platforms;
};

/// Appends every field of a described spec group to a key.
struct KeyWriter {
  std::string& out;
  template <class T>
  void value(const char* key, T& x, const Meta&) {
    out += key;
    out += '=';
    if constexpr (std::is_same_v<T, std::string>) {
      out += x;
    } else if constexpr (std::is_enum_v<T>) {
      out += std::to_string(static_cast<int>(x));
    } else if constexpr (std::is_floating_point_v<T>) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", static_cast<double>(x));
      out += buf;
    } else {
      out += std::to_string(x);
    }
    out += ';';
  }
  template <class F>
  void group(const char* key, F&& body) {
    out += key;
    out += '{';
    body();
    out += '}';
  }
};

/// Everything the structure build reads: seed, horizon and warm-up (join days),
/// population, graph, and each platform's user share and minimum age.
std::string structure_key(const ScenarioSpec& spec, std::uint64_t seed) {
  std::string key =
      std::to_string(seed) + "|" + std::to_string(spec.horizon_days) + "|" + std::to_string(spec.warmup_days) + "|";
  KeyWriter w{key};
  PopulationSpec pop = spec.population;
  GraphSpec graph = spec.graph;
  describe(w, pop);
  describe(w, graph);
  for (const PlatformSpec& p : spec.platforms) {
    double share = p.user_share;
    std::int64_t min_age = p.controls.minimum_age;
    w.value("user_share", share, Meta{});
    w.value("minimum_age", min_age, Meta{});
  }
  // An edge list is named by its path: its size and modification time join
  // the key, so a file rewritten between two runs of one process is read
  // again rather than served from the cache.
  if (!spec.graph.edge_list.empty()) {
    std::error_code ec_size, ec_time;
    const auto size = std::filesystem::file_size(spec.graph.edge_list, ec_size);
    const auto time = std::filesystem::last_write_time(spec.graph.edge_list, ec_time);
    key += "|edges:" + (ec_size ? std::string("?") : std::to_string(size)) + ":" +
           (ec_time ? std::string("?") : std::to_string(time.time_since_epoch().count()));
  }
  return key;
}

std::mutex cache_mutex;
std::list<std::pair<std::string, std::shared_ptr<const Structure>>> cache;  // most recent first

std::shared_ptr<const Structure> cache_get(const std::string& key) {
  std::lock_guard<std::mutex> lock(cache_mutex);
  for (auto it = cache.begin(); it != cache.end(); ++it)
    if (it->first == key) {
      cache.splice(cache.begin(), cache, it);
      return cache.front().second;
    }
  return nullptr;
}

void cache_put(const std::string& key, std::shared_ptr<const Structure> value) {
  std::lock_guard<std::mutex> lock(cache_mutex);
  for (const auto& entry : cache)
    if (entry.first == key) return;
  cache.emplace_front(key, std::move(value));
  while (cache.size() > kCacheEntries) cache.pop_back();
}

}  // namespace

void clear_cache() {
  std::lock_guard<std::mutex> lock(cache_mutex);
  cache.clear();
}

void build_structure(State& s) {
  // Displaced minors' memberships depend on every platform's age checks and timeline, which the key leaves out.
  const bool cacheable = s.spec->population.users <= kCacheMaxUsers && !(s.spec->population.displaced_join_prob > 0);
  const std::string key = cacheable ? structure_key(*s.spec, s.seed) : std::string();
  if (cacheable) {
    if (const auto hit = cache_get(key)) {
      s.pop = hit->pop;
      s.platforms.resize(hit->platforms.size());
      for (std::size_t p = 0; p < hit->platforms.size(); ++p) {
        const PlatformStructure& c = hit->platforms[p];
        PlatformState& P = s.platforms[p];
        P.user = c.user;
        P.declared_age = c.declared_age;
        P.join_day = c.join_day;
        P.minors = c.minors;
        P.local_of = c.local_of;
        P.graph = c.graph;
        P.groups = c.groups;
      }
      return;
    }
  }
  build_population(s);
  build_platforms(s);
  build_graphs(s, s.threads);
  if (!cacheable) return;
  auto snapshot = std::make_shared<Structure>();
  snapshot->pop = s.pop;
  for (const PlatformState& P : s.platforms)
    snapshot->platforms.push_back({P.user, P.declared_age, P.join_day, P.minors, P.local_of, P.graph, P.groups});
  cache_put(key, std::move(snapshot));
}

// ---------------------------------------------------------------- stages
void apply_timeline(State& s) {
  const auto& events = s.spec->timeline;
  while (s.next_event < events.size() && events[s.next_event].day + s.warmup <= s.day) {
    const TimelineEvent& e = events[s.next_event++];
    // A platform whose risk assessment has fired runs the event's state with
    // its risk response applied (resolved by the loader).
    s.platforms[e.platform].spec =
        s.platforms[e.platform].risk_fired && e.after.on_risk ? e.after.on_risk.get() : &e.after;
    apply_controls(s, e.platform, false);
    update_detection_risk(s, e.platform);
  }
}

void assess_risk(State& s) {
  double active = 0;
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    PlatformState& P = s.platforms[p];
    s.m(p, Metric::risk_response_active) = P.risk_fired ? 1.0 : 0.0;
    active += P.risk_fired ? 1.0 : 0.0;
    const RiskAssessmentSpec& ra = P.spec->controls.risk_assessment;
    // Cycles count from the end of the warm-up: the assessment is a policy,
    // which the horizon's timeline and metrics are about.
    const std::int64_t day = s.day - s.warmup;
    if (!ra.enabled || P.risk_fired || day < 0 || (day + 1) % ra.cycle_days != 0) continue;
    // What the platform itself measured over the cycle, per 1,000 members.
    double measured = 0;
    for (std::int64_t d = std::max<std::int64_t>(s.warmup, s.day + 1 - ra.cycle_days); d <= s.day; ++d) {
      const double* row = s.metrics.row(p + 1, d);
      switch (ra.signal) {
        case RiskSignal::child_safety_reports:
          measured += row[idx(Metric::child_safety_reports)] + row[idx(Metric::trusted_flagger_reports)];
          break;
        case RiskSignal::detections:
          measured += row[idx(Metric::actioned_by_detection)];
          break;
        case RiskSignal::actioned:
          measured += row[idx(Metric::actioned_by_detection)] + row[idx(Metric::actioned_by_report)];
          break;
      }
    }
    const double members = static_cast<double>(P.user.size());
    if (members <= 0 || 1000.0 * measured / members < ra.threshold_per_1k) continue;
    P.risk_fired = true;  // the response runs from the next day on
    if (P.spec->on_risk) {
      P.spec = P.spec->on_risk.get();
      apply_controls(s, p, false);
      update_detection_risk(s, p);
    }
  }
  s.metrics.row(0, s.day)[idx(Metric::risk_response_active)] = active;
}

void end_of_day_metrics(State& s) {
  double backlog_all = 0;
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    const PlatformState& P = s.platforms[p];
    double backlog = 0;
    for (const ReviewQueue* q : {&P.queue_high, &P.queue_flagger, &P.queue_normal})
      for (const auto& r : q->items) backlog += r.count;
    s.m(p, Metric::review_backlog) = backlog;
    s.m(p, Metric::minors_protected) = static_cast<double>(P.minors_protected);
    s.m(p, Metric::minors_protected_share) =
        P.minors_active > 0 ? static_cast<double>(P.minors_protected) / static_cast<double>(P.minors_active) : 0.0;
    s.m(p, Metric::underage_removed) = static_cast<double>(P.underage_removed);
    s.m(p, Metric::minors) = static_cast<double>(P.minors_active);
    s.m(p, Metric::adults) = static_cast<double>(P.adults_active);
    s.m(p, Metric::users) = static_cast<double>(P.minors_active + P.adults_active);
    backlog_all += backlog;
  }
  double protected_all = 0, active_all = 0, removed_all = 0;
  for (const auto& P : s.platforms) {
    protected_all += static_cast<double>(P.minors_protected);
    active_all += static_cast<double>(P.minors_active);
    removed_all += static_cast<double>(P.underage_removed);
  }
  double* eco = s.metrics.row(0, s.day);
  eco[idx(Metric::review_backlog)] = backlog_all;
  eco[idx(Metric::minors_protected)] = protected_all;
  eco[idx(Metric::minors_protected_share)] = active_all > 0 ? protected_all / active_all : 0.0;
  eco[idx(Metric::underage_removed)] = removed_all;
}

/// The end of the warm-up: what has happened so far is not counted. Distinct
/// counts start afresh (a minor contacted during the warm-up counts again when
/// contacted in the horizon), as do the time-to-detection and removal-time
/// samples; daily rows before this day are dropped from the output. A minor
/// in an open conversation is in contact during the horizon: counted as
/// contacted, engaged and at the conversation's current stage, so the stage
/// counts stay nested (a survey's "in the past year" counts such a minor).
void start_measurement(State& s) {
  std::fill(s.pop.reached.begin(), s.pop.reached.end(), ReachedMask{0});
  for (PlatformState& P : s.platforms) std::fill(P.reached.begin(), P.reached.end(), ReachedMask{0});
  for (OperatorState& O : s.operators) std::fill(O.reached.begin(), O.reached.end(), ReachedMask{0});
  reset_rights_marks(s);
  std::fill(s.metrics.ttd_sum.begin(), s.metrics.ttd_sum.end(), 0.0);
  std::fill(s.metrics.ttd_count.begin(), s.metrics.ttd_count.end(), 0.0);
  std::fill(s.metrics.groups.begin(), s.metrics.groups.end(), 0.0);
  for (auto& v : s.removal_hours_known) v.clear();
  for (auto& v : s.removal_hours_new) v.clear();
  // Each platform's strangers' order is its own (as in finish_platforms):
  // side by side on the run's threads, largest platforms first.
  const std::vector<std::size_t> by_size = platforms_largest_first(s);
  parallel_for(by_size.size(), s.threads,
               [&](std::size_t j, std::size_t) { schedule_strangers(s, by_size[j], true, 1); });
  start_ageing_measurement(s);
  const Dyads& D = s.dyads;
  for (std::size_t i = 0; i < D.size(); ++i) {
    for (std::uint8_t stage = contacted; stage <= std::min<std::uint8_t>(D.stage[i], solicitation); ++stage)
      mark_reached(s, D.platform[i], D.minor[i], static_cast<Stage>(stage), D.account[i]);
    mark_reached(s, D.platform[i], D.minor[i], accepted_stranger, D.account[i]);
  }
}

/// One tick, in the order of docs/model/process.md. Timeline and ban returns run
/// at the start of each day (in run()).
void step_tick(State& s);

/// One day: the day-level stages around the day's ticks.
void step_day(State& s) {
  if (s.day == s.warmup && s.warmup > 0) start_measurement(s);  // 0. the warm-up ends
  s.metrics.start_day(s.day);                                   //    the day's rows start at 0
  age_population(s);                                            //    birthdays and joins (population.ageing)
  apply_timeline(s);                                            // 1. timeline
  return_banned_offenders(s);                                   // 10. ban evasion (new accounts appear at day start)
  offender_arrivals(s);                                         //     and new offenders arrive
  std::fill(s.accounts.requests_today.begin(), s.accounts.requests_today.end(), 0u);
  const int ticks_per_day = static_cast<int>(std::lround(24.0 / s.dt_hours));
  for (int k = 0; k < ticks_per_day; ++k) step_tick(s);
  act_on_signals(s);                     // 10. cross-platform signal sharing
  clearinghouse_and_law_enforcement(s);  // 11.
  end_of_day_metrics(s);                 // 12. metrics
  record_ageing_day(s);                  //     the day's minors (population.ageing)
  assess_risk(s);                        //     platforms review what they measured
  operator_levels(s);                    //     operators' levels from their services'
}

/// One tick: contact, dyads, material, benign background, review.
void step_tick(State& s) {
  const double t_end = s.hour + s.dt_hours;
  revisit_targets(s, t_end);  // 2: returns to remembered minors from the person's other accounts
  discover_and_contact(s);    // 2-4: discovery, contact, response (reports filed as they happen: 8)
  progress_dyads(s, t_end);   // 5: dyad progression (grooming detection is one of its hazards: 7)
  share_material(s);          // 6: distributors upload; detection at upload (7)
  view_material(s, t_end);    // 6: views before removal, expiry, bystander reports (8)
  benign_background(s);       // 3 and 8 for ordinary users, in aggregate
  benign_detections(s);       // 7: false positives over benign volume, in aggregate
  other_harms(s);             // 7-8 for the other harm categories, in aggregate (moderation.cpp)
  review_reports(s, t_end);   // 9-10: review and enforcement
  s.hour = t_end;
  ++s.tick;
}

}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;

/// Median (NaN when empty); copies the values since nth_element reorders.
double median(std::vector<float> v) {
  if (v.empty()) return std::nan("");
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) m = 0.5 * (m + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid)));
  return m;
}

/// The rates a transparency report publishes, per category and overall, from one
/// pool of counts (docs/model/submodels/review-enforcement.md, "Other harm
/// categories"). Child-safety actions are the rightful ones (actioned_by_*) and
/// the wrongful ones that are not other-harm; their reversals on appeal are the
/// upheld appeals that are not other-harm. Each overall share is the mix of the
/// two categories' shares weighted by their denominators.
void moderation_shares(double* tot) {
  auto at = [&](Metric m) { return tot[idx(m)]; };
  auto share = [](double num, double den) { return den > 0 ? num / den : std::nan(""); };
  const double cs_reports = at(Metric::child_safety_reports), oh_reports = at(Metric::other_harm_reports);
  const double cs_rep_act = at(Metric::child_safety_reports_actioned);
  const double oh_rep_act = at(Metric::other_harm_reports_actioned);
  tot[idx(Metric::child_safety_report_action_share)] = share(cs_rep_act, cs_reports);
  tot[idx(Metric::other_harm_report_action_share)] = share(oh_rep_act, oh_reports);
  tot[idx(Metric::report_action_share)] = share(cs_rep_act + oh_rep_act, cs_reports + oh_reports);
  const double cs_right = at(Metric::actioned_by_detection) + at(Metric::actioned_by_report);
  const double cs_actions =
      cs_right + std::max(0.0, at(Metric::false_positive_actions) - at(Metric::other_harm_wrongful_actions));
  const double oh_upheld = at(Metric::other_harm_restored) - at(Metric::other_harm_wrongly_restored);
  const double cs_restored = std::max(0.0, at(Metric::appeals_upheld) - oh_upheld);
  const double oh_actions = oh_rep_act + at(Metric::other_harm_proactive_actions);
  tot[idx(Metric::child_safety_restored_share)] = share(cs_restored, cs_actions);
  tot[idx(Metric::other_harm_restored_share)] = share(at(Metric::other_harm_restored), oh_actions);
  tot[idx(Metric::restored_share)] = share(cs_restored + at(Metric::other_harm_restored), cs_actions + oh_actions);
  tot[idx(Metric::other_harm_proactive_share)] = share(at(Metric::other_harm_proactive_actions), oh_actions);
  tot[idx(Metric::proactive_share_all)] =
      share(at(Metric::actioned_by_detection) + at(Metric::other_harm_proactive_actions), cs_right + oh_actions);
}

/// Minors of each scope (the denominator of the per-1k rates): the ecosystem's
/// distinct minors, each platform's, then each declared operator's distinct minors.
void finish_totals(const detail::State& s, RunOutput& out, const std::vector<double>& minors_of) {
  const std::size_t scopes = minors_of.size();
  out.totals.assign(scopes * kMetricCount, 0.0);
  const auto days = static_cast<std::size_t>(out.days);
  for (std::size_t sc = 0; sc < scopes; ++sc) {
    double* tot = &out.totals[sc * kMetricCount];
    for (std::size_t d = 0; d < days; ++d) {
      const double* row = &out.daily[(sc * days + d) * kMetricCount];
      for (std::size_t k = 0; k < kMetricCount; ++k)
        if (kMetrics[k].kind != MetricKind::derived) tot[k] += row[k];
    }
    for (std::size_t k = 0; k < kMetricCount; ++k)
      if (kMetrics[k].kind == MetricKind::level) tot[k] /= static_cast<double>(days);
    const double minors = minors_of[sc];
    auto per_1k = [&](Metric count, Metric rate) {
      tot[idx(rate)] = minors > 0 ? 1000.0 * tot[idx(count)] / minors : 0.0;
    };
    per_1k(Metric::minors_contacted, Metric::minors_contacted_per_1k);
    per_1k(Metric::minors_engaged, Metric::minors_engaged_per_1k);
    per_1k(Metric::minors_solicited, Metric::minors_solicited_per_1k);
    per_1k(Metric::minors_exploited, Metric::minors_exploited_per_1k);
    tot[idx(Metric::time_to_detection_days)] =
        s.metrics.ttd_count[sc] > 0 ? s.metrics.ttd_sum[sc] / s.metrics.ttd_count[sc] : std::nan("");
    const double acted = tot[idx(Metric::actioned_by_detection)] + tot[idx(Metric::actioned_by_report)];
    tot[idx(Metric::proactive_share)] = acted > 0 ? tot[idx(Metric::actioned_by_detection)] / acted : std::nan("");
    moderation_shares(tot);
    const double scanned = tot[idx(Metric::private_items_scanned)];
    tot[idx(Metric::private_reviewed_per_million_scanned)] =
        scanned > 0 ? 1e6 * tot[idx(Metric::benign_private_items_reviewed)] / scanned : std::nan("");
    std::vector<float> all(s.removal_hours_known[sc]);
    all.insert(all.end(), s.removal_hours_new[sc].begin(), s.removal_hours_new[sc].end());
    tot[idx(Metric::time_to_removal_hours)] = median(all);
    tot[idx(Metric::time_to_removal_hours_known)] = median(s.removal_hours_known[sc]);
    tot[idx(Metric::time_to_removal_hours_new)] = median(s.removal_hours_new[sc]);
  }
  // Daily derived series: cumulative per-1k rates, so a plot reads as exposure so far.
  for (std::size_t sc = 0; sc < scopes; ++sc) {
    const double minors = minors_of[sc];
    const Metric pairs[4][2] = {{Metric::minors_contacted, Metric::minors_contacted_per_1k},
                                {Metric::minors_engaged, Metric::minors_engaged_per_1k},
                                {Metric::minors_solicited, Metric::minors_solicited_per_1k},
                                {Metric::minors_exploited, Metric::minors_exploited_per_1k}};
    for (const auto& pr : pairs) {
      double cum = 0;
      for (std::size_t d = 0; d < days; ++d) {
        double* row = &out.daily[(sc * days + d) * kMetricCount];
        cum += row[idx(pr[0])];
        row[idx(pr[1])] = minors > 0 ? 1000.0 * cum / minors : 0.0;
      }
    }
    // Derived figures without a meaningful daily value are NaN in the series.
    for (Metric m : {Metric::time_to_detection_days, Metric::proactive_share, Metric::time_to_removal_hours,
                     Metric::time_to_removal_hours_known, Metric::time_to_removal_hours_new,
                     Metric::private_reviewed_per_million_scanned, Metric::report_action_share,
                     Metric::child_safety_report_action_share, Metric::other_harm_report_action_share,
                     Metric::restored_share, Metric::child_safety_restored_share, Metric::other_harm_restored_share,
                     Metric::other_harm_proactive_share, Metric::proactive_share_all})
      for (std::size_t d = 0; d < days; ++d) out.daily[(sc * days + d) * kMetricCount + idx(m)] = std::nan("");
  }
}

// Gives the pages past a vector's size back to the system without copying it:
// its capacity stays (address space only), its resident memory is its size.
// Copying it into a compact array instead raised the run's peak by the output's
// size when the freed state's memory was still resident (the driver's malloc
// settings keep freed blocks under 64 MB), and not compacting it at all kept the
// split-off rows (declared operators') resident in every output a caller holds.
void release_unused_pages(std::vector<double>& v) {
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto used_end = reinterpret_cast<std::uintptr_t>(v.data() + v.size());
  const auto end = reinterpret_cast<std::uintptr_t>(v.data() + v.capacity()) / page * page;
  const std::uintptr_t from = (used_end + page - 1) / page * page;  // whole pages only: nothing in use is touched
  if (end > from) madvise(reinterpret_cast<void*>(from), end - from, MADV_DONTNEED);
}

}  // namespace

RunOutput run(const ScenarioSpec& spec, std::uint64_t seed, int threads) {
  const auto t0 = Clock::now();
  detail::State s;
  s.spec = &spec;
  s.seed = seed;
  s.threads = std::max(threads, 1);
  s.dt_hours = spec.dt_hours;
  const std::size_t np = spec.platforms.size();
  const std::size_t n_scopes = np + 1 + spec.operators.size();  // ecosystem, platforms, declared operators
  s.warmup = spec.warmup_days;
  s.total_days = spec.warmup_days + spec.horizon_days;
  const auto total = static_cast<std::size_t>(s.total_days);
  s.metrics.scopes = n_scopes;
  s.metrics.warmup = s.warmup;
  s.metrics.days = spec.horizon_days;
  s.metrics.daily.assign(s.metrics.scopes * static_cast<std::size_t>(spec.horizon_days) * kMetricCount, 0.0);
  s.metrics.warm.assign(s.warmup > 0 ? s.metrics.scopes * kMetricCount : 0, 0.0);
  s.metrics.ttd_sum.assign(n_scopes, 0.0);
  s.metrics.ttd_count.assign(n_scopes, 0.0);
  s.metrics.groups.assign((np + 1) * kGroupCount * kGroupMetricCount, 0.0);
  s.returns_by_day.resize(total);
  s.signals_by_day.resize(total);
  s.replacements_by_day.resize(total);
  s.removal_hours_known.resize(n_scopes);
  s.removal_hours_new.resize(n_scopes);

  detail::build_structure(s);  // population, memberships, graphs (cached for small populations)
  detail::build_operators(s);
  detail::finish_platforms(s);
  for (std::size_t p = 0; p < np; ++p) detail::update_detection_risk(s, p);
  detail::build_offenders(s);
  if (spec.population.ageing) detail::prepare_ageing(s);  // joiners out of the minor lists until they join
  // Minors with an account (not removed) on at least one platform: marked
  // platform by platform over each one's own minors, so the cost is the
  // number of memberships, not minors x platforms.
  // The same per age and gender group: the groups' denominators.
  std::uint64_t eco_minors = 0;
  std::vector<double> group_minors((np + 1) * kGroupCount, 0.0);
  std::uint64_t eco_users = 0;  // distinct people with an account not removed, minors included
  {
    std::vector<std::uint8_t> present(s.pop.size(), 0);
    for (std::size_t p = 0; p < np; ++p) {
      const auto& P = s.platforms[p];
      // (With population.ageing, only those on the platform at day 0; the rest join later.)
      for (std::size_t k = 0; k < P.user.size(); ++k)
        if ((P.settings[k] & detail::kRemoved) == 0 && (!s.ageing.on || P.join_day[k] == 0)) present[P.user[k]] = 1;
      for (std::uint32_t m : P.minors)
        if ((P.settings[m] & detail::kRemoved) == 0) {
          const std::uint32_t u = P.user[m];
          group_minors[(p + 1) * kGroupCount + group_of(s.pop.age[u], s.pop.boy[u] != 0)] += 1;
        }
    }
    for (std::uint32_t u : s.pop.minors)
      if (present[u]) {
        ++eco_minors;
        group_minors[group_of(s.pop.age[u], s.pop.boy[u] != 0)] += 1;
      }
    for (std::uint8_t here : present) eco_users += here;
  }
  const auto t_built = Clock::now();

  for (s.day = 0; s.day < s.total_days; ++s.day) detail::step_day(s);

  RunOutput out;
  for (const auto& p : spec.platforms) out.platforms.push_back(p.name);
  out.days = spec.horizon_days;
  out.seed = seed;
  out.daily = std::move(s.metrics.daily);  // the horizon's rows (the warm-up's were not kept)
  // The ecosystem's population counts: distinct people, fixed when the run is
  // built (as the ecosystem's *_per_1k denominator is).
  // With population.ageing they change day by day (joins, 18th birthdays), and
  // the *_per_1k denominators are the distinct minors of the horizon.
  for (std::size_t d = 0; d < static_cast<std::size_t>(out.days); ++d) {
    double* row = &out.daily[d * kMetricCount];
    const std::size_t at = static_cast<std::size_t>(s.warmup) + d;
    const double users = s.ageing.on ? s.ageing.eco_daily_users[at] : static_cast<double>(eco_users);
    const double minors = s.ageing.on ? s.ageing.eco_daily_minors[at] : static_cast<double>(eco_minors);
    row[idx(Metric::users)] = users;
    row[idx(Metric::minors)] = minors;
    row[idx(Metric::adults)] = users - minors;
  }
  std::vector<double> minors_of{s.ageing.on ? s.ageing.eco_minors_ever : static_cast<double>(eco_minors)};
  for (std::size_t p = 0; p < s.platforms.size(); ++p)
    minors_of.push_back(s.ageing.on ? s.ageing.platform_minors_ever[p]
                                    : static_cast<double>(s.platforms[p].minors_active));
  for (std::size_t o = 0; o < s.operators.size(); ++o) {
    // An operator's population counts are distinct people too, like the ecosystem's.
    const detail::OperatorPeople people = detail::operator_people(s, o);
    const auto minors = static_cast<double>(people.minors);
    const auto users = static_cast<double>(people.users);
    minors_of.push_back(minors);
    for (std::size_t d = 0; d < static_cast<std::size_t>(out.days); ++d) {
      double* row = &out.daily[(s.operators[o].scope * static_cast<std::size_t>(out.days) + d) * kMetricCount];
      row[idx(Metric::users)] = users;
      row[idx(Metric::minors)] = minors;
      row[idx(Metric::adults)] = users - minors;
    }
  }
  finish_totals(s, out, minors_of);
  out.group_totals = std::move(s.metrics.groups);
  out.group_minors = std::move(group_minors);
  out.cohort = std::move(s.ageing.cohort);
  if (!spec.operators.empty()) {
    // Operator scopes go to their own arrays: totals and daily keep their layout.
    for (const auto& o : spec.operators) out.operators.push_back(o.name);
    const std::size_t split_totals = (np + 1) * kMetricCount;
    const std::size_t split_daily = split_totals * static_cast<std::size_t>(out.days);
    out.operator_totals.assign(out.totals.begin() + static_cast<std::ptrdiff_t>(split_totals), out.totals.end());
    out.operator_daily.assign(out.daily.begin() + static_cast<std::ptrdiff_t>(split_daily), out.daily.end());
    out.totals.resize(split_totals);
    out.daily.resize(split_daily);
  }
  // After the operators' rows are split off the daily array.
  release_unused_pages(out.daily);
  const auto t1 = Clock::now();
  out.build_seconds = std::chrono::duration<double>(t_built - t0).count();
  out.run_seconds = std::chrono::duration<double>(t1 - t0).count();
  return out;
}

RunOutput run(const ScenarioSpec& spec, std::uint64_t seed) { return run(spec, seed, 1); }

std::vector<RunOutput> run_many(const ScenarioSpec& spec, std::span<const std::uint64_t> seeds, int threads) {
  std::vector<RunOutput> outs(seeds.size());
  const std::size_t n_threads = std::clamp<std::size_t>(threads > 0 ? static_cast<std::size_t>(threads) : 1, 1,
                                                        std::max<std::size_t>(1, seeds.size()));
  // Threads left over when there are fewer runs than threads build each run's graphs.
  const int build_threads = std::max(1, threads / static_cast<int>(std::max<std::size_t>(1, seeds.size())));
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (std::size_t i = next++; i < seeds.size(); i = next++) {
      try {
        outs[i] = run(spec, seeds[i], build_threads);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  };
  if (n_threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < n_threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
  return outs;
}

void clear_structure_cache() { detail::clear_cache(); }

std::uint64_t output_hash(const RunOutput& out) {
  // FNV-1a over 64-bit words (a word at a time: hashing byte by byte was 9%
  // of a cached sweep run), with a final avalanche so every bit mixes.
  std::uint64_t h = 1469598103934665603ULL;
  auto feed = [&](const std::vector<double>& v) {
    for (double x : v) {
      std::uint64_t bits;
      std::memcpy(&bits, &x, sizeof bits);
      if (std::isnan(x)) bits = 0x7ff8000000000000ULL;  // one NaN pattern
      h = (h ^ bits) * 1099511628211ULL;
      h ^= h >> 29;
    }
  };
  feed(out.totals);
  feed(out.daily);
  feed(out.operator_totals);  // empty without declared operators: the hash is as before
  feed(out.operator_daily);
  feed(out.group_totals);
  feed(out.group_minors);
  return detail::mix(h);
}

}  // namespace safesim
