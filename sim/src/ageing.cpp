// Ageing, joiners and cohorts (population.ageing; docs/model/submodels/ageing.md).
//
// Every user under 18 at build has a birthday, a day of the year keyed by the
// user id (common random numbers). Users are bucketed by birthday once, so a
// day's ageing costs the users whose birthday it is, never the population.
// On a birthday a minor's true age, and each platform's declared and believed
// age of them, go up by one year (a declared age is a birth-year claim); a
// believed band that changes moves the minor between the platform's band lists.
// At 18 the user leaves the minor pool: out of the platforms' minor lists and
// counts, their open offender dyads ended (dyads_aged_out, grooming.cpp), and
// no minor metric counts them again (add_minor, mark_reached).
//
// Children join at youngest_age so the minor pool stays stationary: each year
// minors / (18 - youngest_age) turn 18, and as many joiners are pre-allocated
// at build as users after the population (ids first_joiner..), with their
// memberships and graph ties, each with a join day spread evenly over the run
// (systematic, keyed jitter). Before it a joiner is in no minor list and no
// count; on it the joiner enters them, aged youngest_age, with a birthday on
// that day of the year.
//
// The cohort: joiners whose join day falls in the measured horizon and who
// have an account (not removed). Each carries the Stage bits reached since it
// joined; on each birthday (turning a + 1) the member is tallied in row a of
// the cohort table, with the outcomes reached by then, and on the 18th the
// ecosystem's cohort_completed and *_ever metrics count it.
#include <algorithm>
#include <cmath>

#include "safesim/rng.hpp"
#include "safesim/simulation.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {

namespace {

constexpr std::uint32_t kYear = 365;

/// The Stage of each kCohortColumns column after "members".
constexpr std::array<Stage, kCohortColumns.size() - 1> kCohortStages = {
    contacted,        engaged,   solicitation,   exploited,         images_obtained,
    sextorted,        met_offline, accepted_stranger, blocked_offender, reported_offender};
/// The *_ever metric counted at 18 for a column, where there is one.
constexpr std::array<std::pair<Stage, Metric>, 8> kEverMetrics = {{
    {contacted, Metric::minors_contacted_ever},
    {engaged, Metric::minors_engaged_ever},
    {solicitation, Metric::minors_solicited_ever},
    {exploited, Metric::minors_exploited_ever},
    {images_obtained, Metric::minors_images_obtained_ever},
    {sextorted, Metric::minors_sextorted_ever},
    {met_offline, Metric::minors_met_offline_ever},
    {accepted_stranger, Metric::minors_accepted_stranger_ever},
}};

void list_add(std::vector<std::uint32_t>& list, std::vector<std::uint32_t>& pos, std::uint32_t k) {
  pos[k] = static_cast<std::uint32_t>(list.size());
  list.push_back(k);
}

void list_remove(std::vector<std::uint32_t>& list, std::vector<std::uint32_t>& pos, std::uint32_t k) {
  const std::uint32_t at = pos[k];
  if (at == kNone) return;
  const std::uint32_t last = list.back();
  list[at] = last;
  pos[last] = at;
  list.pop_back();
  pos[k] = kNone;
}

bool cohort_member(const State& s, std::uint32_t u) {
  return u >= s.pop.first_joiner && s.pop.joiner_day[u - s.pop.first_joiner] >= s.warmup && s.ageing.present[u];
}

/// Joiner u's join day has come: into every minor list and count of its platforms.
void join(State& s, std::uint32_t u) {
  AgeingState& g = s.ageing;
  ++g.joins;
  const bool measured = s.day >= s.warmup;
  if (g.present[u]) {
    g.eco_minors += 1;
    g.eco_joined += 1;
    if (measured) g.eco_minors_ever += 1;
  }
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    PlatformState& P = s.platforms[p];
    const std::uint32_t m = P.local_of[u];
    if (m == kNone) continue;
    list_add(P.minors, P.minor_pos, m);
    if ((P.settings[m] & kRemoved) != 0) {
      ++P.underage_removed;
      continue;
    }
    ++P.minors_active;
    if (P.believed_age[m] < 18) ++P.minors_protected;
    const int band = band_of(P.believed_age[m]);
    list_add(P.minors_by_band[static_cast<std::size_t>(band)], P.band_pos, m);
    stranger_enter(s, p, m, band);
    if (measured) g.platform_minors_ever[p] += 1;
  }
}

/// A cohort member's birthday, turning age + 1: tallied in row `age`, and at 18 in the *_ever metrics.
void tally_cohort(State& s, std::uint32_t u, int age) {
  AgeingState& g = s.ageing;
  const ReachedMask ever = g.ever[u - s.pop.first_joiner];
  double* row = &g.cohort[static_cast<std::size_t>(age) * kCohortColumns.size()];
  row[0] += 1;
  for (std::size_t c = 0; c < kCohortStages.size(); ++c)
    if ((ever >> kCohortStages[c]) & 1u) row[c + 1] += 1;
  if (age + 1 < 18) return;
  double* eco = s.metrics.row(0, s.day);
  eco[idx(Metric::cohort_completed)] += 1;
  for (const auto& [stage, metric] : kEverMetrics)
    if ((ever >> stage) & 1u) eco[idx(metric)] += 1;
}

/// User u's birthday (already joined).
void birthday(State& s, std::uint32_t u) {
  AgeingState& g = s.ageing;
  ++g.birthdays;
  const int old = s.pop.age[u];
  if (old >= 18) {  // an adult ages; nothing in the run reads it
    if (old < 255) s.pop.age[u] = static_cast<std::uint8_t>(old + 1);
    return;
  }
  if (cohort_member(s, u)) tally_cohort(s, u, old);
  const int now = old + 1;
  s.pop.age[u] = static_cast<std::uint8_t>(now);
  const bool adult = now >= 18;
  if (adult && g.present[u]) g.eco_minors -= 1;
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    PlatformState& P = s.platforms[p];
    const std::uint32_t m = P.local_of[u];
    if (m == kNone) continue;
    if (P.declared_age[m] < 255) ++P.declared_age[m];
    const int was = P.believed_age[m];
    if (was < 255) ++P.believed_age[m];
    const int believed = P.believed_age[m];
    const bool removed = (P.settings[m] & kRemoved) != 0;
    if (adult) list_remove(P.minors, P.minor_pos, m);
    if (removed) {
      if (adult) --P.underage_removed;
      continue;
    }
    if (was < 18 && (adult || believed >= 18)) --P.minors_protected;
    const int from = band_of(was), to = band_of(believed);
    if (adult) {
      --P.minors_active;
      ++P.adults_active;
      list_remove(P.minors_by_band[static_cast<std::size_t>(from)], P.band_pos, m);
      stranger_enter(s, p, m, -1);
    } else if (from != to) {
      list_remove(P.minors_by_band[static_cast<std::size_t>(from)], P.band_pos, m);
      list_add(P.minors_by_band[static_cast<std::size_t>(to)], P.band_pos, m);
      stranger_enter(s, p, m, to);
    }
  }
}

}  // namespace

void build_joiners(State& s, std::size_t minors) {
  const PopulationSpec& ps = s.spec->population;
  Population& pop = s.pop;
  const std::size_t n = pop.size();
  const auto total = static_cast<double>(s.spec->warmup_days + s.spec->horizon_days);
  const int youngest = static_cast<int>(ps.youngest_age);
  // Stationary pool: minors / (18 - youngest) turn 18 each year; as many join.
  const auto joiners = static_cast<std::size_t>(
      std::llround(static_cast<double>(minors) / static_cast<double>(18 - youngest) * total / kYear));
  pop.first_joiner = static_cast<std::uint32_t>(n);
  pop.joiner_day.resize(joiners);
  for (std::size_t j = 0; j < joiners; ++j) {
    const auto id = static_cast<std::uint32_t>(n + j);
    // Systematic over days 1 .. total - 1, a keyed jitter within each joiner's slot.
    const double u = rng::uniform_at(s.seed, streams::joiner, static_cast<std::uint32_t>(j), 0, 0);
    const double at = 1.0 + (static_cast<double>(j) + u) * (total - 1.0) / static_cast<double>(joiners);
    pop.joiner_day[j] = static_cast<std::uint16_t>(std::min(total - 1.0, std::floor(at)));
    pop.age.push_back(static_cast<std::uint8_t>(youngest));
    pop.boy.push_back(rng::uniform_at(s.seed, streams::user_gender, id, 0, 0) < ps.boy_share ? 1 : 0);
    rng::Draw v(s.seed, streams::user_vulnerability, id, 0);
    pop.vulnerability.push_back(static_cast<float>(v.beta(ps.vulnerability.alpha, ps.vulnerability.beta)));
    rng::Draw a(s.seed, streams::user_activity, id, 0);
    const double sigma = ps.activity_sigma;
    pop.activity.push_back(static_cast<float>(a.lognormal(-0.5 * sigma * sigma, sigma)));
    pop.reached.push_back(0);
    pop.minors.push_back(id);
  }
  // Birthdays, bucketed by day of the year (counting sort): a joiner's is its join day's.
  std::vector<std::uint16_t> day_of(pop.size(), 0);
  pop.birthday_start.assign(kYear + 1, 0);
  for (std::uint32_t u : pop.minors) {
    day_of[u] = u >= pop.first_joiner
                    ? static_cast<std::uint16_t>(pop.joiner_day[u - pop.first_joiner] % kYear)
                    : static_cast<std::uint16_t>(rng::Draw(s.seed, streams::birthday, u, 0).below(kYear));
    ++pop.birthday_start[day_of[u] + 1u];
  }
  for (std::uint32_t b = 0; b < kYear; ++b) pop.birthday_start[b + 1] += pop.birthday_start[b];
  pop.birthday_users.resize(pop.minors.size());
  std::vector<std::uint32_t> fill(pop.birthday_start.begin(), pop.birthday_start.end() - 1);
  for (std::uint32_t u : pop.minors) pop.birthday_users[fill[day_of[u]]++] = u;
}

void prepare_ageing(State& s) {
  AgeingState& g = s.ageing;
  g.on = true;
  const std::size_t joiners = s.pop.joiner_day.size();
  g.ever.assign(joiners, 0);
  g.cohort.assign(kCohortAges * kCohortColumns.size(), 0.0);
  g.platform_minors_ever.assign(s.platforms.size(), 0.0);
  g.eco_daily_minors.assign(static_cast<std::size_t>(s.total_days), 0.0);
  g.eco_daily_users.assign(static_cast<std::size_t>(s.total_days), 0.0);
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    PlatformState& P = s.platforms[p];
    // The graph was built with the joiners as minors; from now on they are minors from their join day.
    std::erase_if(P.minors, [&](std::uint32_t m) { return s.pop.unjoined(P.user[m], s.day); });
    P.minor_pos.assign(P.user.size(), kNone);
    for (std::size_t i = 0; i < P.minors.size(); ++i) P.minor_pos[P.minors[i]] = static_cast<std::uint32_t>(i);
    g.platform_minors_ever[p] = static_cast<double>(P.minors_active);
  }
}

void start_ageing_measurement(State& s) {
  if (!s.ageing.on) return;
  s.ageing.eco_minors_ever = s.ageing.eco_minors;
  for (std::size_t p = 0; p < s.platforms.size(); ++p)
    s.ageing.platform_minors_ever[p] = static_cast<double>(s.platforms[p].minors_active);
}

void record_ageing_day(State& s) {
  if (!s.ageing.on) return;
  s.ageing.eco_daily_minors[static_cast<std::size_t>(s.day)] = s.ageing.eco_minors;
  s.ageing.eco_daily_users[static_cast<std::size_t>(s.day)] = s.ageing.eco_joined;
}

void age_population(State& s) {
  if (!s.ageing.on) return;
  const Population& pop = s.pop;
  const auto b = static_cast<std::size_t>(s.day % kYear);
  const std::uint32_t* first = pop.birthday_users.data() + pop.birthday_start[b];
  const std::uint32_t* last = pop.birthday_users.data() + pop.birthday_start[b + 1];
  const auto joins_today = [&](std::uint32_t u) {
    return u >= pop.first_joiner && pop.joiner_day[u - pop.first_joiner] >= s.day;
  };
  // Those turning 18 first: their conversations end while they are still 17.
  auto& out = s.ageing.aged_out;
  out.clear();
  for (const std::uint32_t* it = first; it != last; ++it)
    if (pop.age[*it] == 17 && !joins_today(*it)) out.push_back(*it);
  if (!out.empty()) {
    std::sort(out.begin(), out.end());
    close_dyads_aged_out(s, out);
  }
  for (const std::uint32_t* it = first; it != last; ++it) {
    const std::uint32_t u = *it;
    if (u >= pop.first_joiner) {
      const std::int64_t jd = pop.joiner_day[u - pop.first_joiner];
      if (jd > s.day) continue;  // not born into the pool yet
      if (jd == s.day) {
        join(s, u);
        continue;
      }
    }
    birthday(s, u);
  }
}

}  // namespace safesim::detail
