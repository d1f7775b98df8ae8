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
    contacted, engaged,     solicitation,      exploited,        images_obtained,
    sextorted, met_offline, accepted_stranger, blocked_offender, reported_offender};
/// The *_ever metric counted at 18 for a column, where there is one.
constexpr std::array<std::pair<Stage, Metric>, 14> kEverMetrics = {{
    {contacted, Metric::minors_contacted_ever},
    {engaged, Metric::minors_engaged_ever},
    {solicitation, Metric::minors_solicited_ever},
    {exploited, Metric::minors_exploited_ever},
    {images_obtained, Metric::minors_images_obtained_ever},
    {sextorted, Metric::minors_sextorted_ever},
    {met_offline, Metric::minors_met_offline_ever},
    {accepted_stranger, Metric::minors_accepted_stranger_ever},
    {contacted_any, Metric::minors_contacted_any_ever},
    {solicited_any, Metric::minors_solicited_any_ever},
    {exploited_any, Metric::minors_exploited_any_ever},
    {images_obtained_any, Metric::minors_images_obtained_any_ever},
    {sextorted_any, Metric::minors_sextorted_any_ever},
    {met_offline_any, Metric::minors_met_offline_any_ever},
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
  return u >= s.pop.first_joiner && s.pop.joiner_day[u - s.pop.first_joiner] >= s.warmup && s.ageing.member[u];
}

/// Member k's join day on platform p has come: into its counts and, as a minor, its minor lists.
void platform_join(State& s, std::size_t p, std::uint32_t k) {
  PlatformState& P = s.platforms[p];
  AgeingState& g = s.ageing;
  const ControlsSpec& c = P.spec->controls;
  const std::uint32_t u = P.user[k];
  // An honest child joins at the minimum age: the removal rule of apply_controls, applied now.
  const bool removed = c.age_assurance.enforce_minimum_age && P.believed_age[k] < c.minimum_age;
  P.settings[k] = static_cast<std::uint8_t>((P.settings[k] & ~kRemoved) | (removed ? kRemoved : 0));
  const bool minor = s.pop.age[u] < 18;
  const bool measured = s.day >= s.warmup;
  if (!removed && g.platforms_on[u]++ == 0) {  // on a platform for the first time
    g.eco_joined += 1;
    if (minor) g.eco_minors += 1;
    if (minor && measured) g.eco_minors_ever += 1;
  }
  if (!minor) {
    if (!removed) ++P.adults_active;
    return;
  }
  list_add(P.minors, P.minor_pos, k);
  if (removed) {
    ++P.underage_removed;
    return;
  }
  ++P.minors_active;
  if (P.believed_age[k] < 18) ++P.minors_protected;
  const int band = band_of(P.believed_age[k]);
  list_add(P.minors_by_band[static_cast<std::size_t>(band)], P.band_pos, k);
  stranger_enter(s, p, k, band);
  if (measured) g.platform_minors_ever[p] += 1;
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

/// User u's birthday (the person has joined; a platform it joins later only ages its claims).
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
  if (adult && g.platforms_on[u] > 0) g.eco_minors -= 1;
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    PlatformState& P = s.platforms[p];
    const std::uint32_t m = P.local_of[u];
    if (m == kNone) continue;
    if (P.declared_age[m] < 255) ++P.declared_age[m];
    const int was = P.believed_age[m];
    if (was < 255) ++P.believed_age[m];
    // Not on the platform yet (its join, even if today, comes after the birthdays): counted then, at its age then.
    if (P.join_day[m] > 0 && P.join_day[m] >= s.day) continue;
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
    pop.boy.push_back(0);
    pop.vulnerability.push_back(0.0f);
    pop.activity.push_back(0.0f);
    pop.reached.push_back(0);
    draw_person(s, id, true);
  }
  // Birthdays, bucketed by day of the year (counting sort): a joiner's is its join day's.
  std::vector<std::uint16_t> day_of(pop.size(), 0);
  pop.birthday_start.assign(kYear + 1, 0);
  for (std::uint32_t u : pop.minors) {
    day_of[u] = static_cast<std::uint16_t>(birthday_of(s, u));
    ++pop.birthday_start[day_of[u] + 1u];
  }
  for (std::uint32_t b = 0; b < kYear; ++b) pop.birthday_start[b + 1] += pop.birthday_start[b];
  pop.birthday_users.resize(pop.minors.size());
  std::vector<std::uint32_t> fill(pop.birthday_start.begin(), pop.birthday_start.end() - 1);
  for (std::uint32_t u : pop.minors) pop.birthday_users[fill[day_of[u]]++] = u;
}

std::uint32_t birthday_of(const State& s, std::uint32_t u) {
  if (u >= s.pop.first_joiner) return s.pop.joiner_day[u - s.pop.first_joiner] % kYear;
  return rng::Draw(s.seed, streams::birthday, u, 0).below(kYear);
}

std::int64_t minimum_age_day(const State& s, std::uint32_t u, int minimum_age) {
  const int age = s.pop.age[u];  // at build (a joiner's: youngest_age, from its join day)
  if (u >= s.pop.first_joiner)   // a joiner's birthdays come a year apart from its join day
    return s.pop.joiner_day[u - s.pop.first_joiner] + std::int64_t{kYear} * (minimum_age - age);
  return birthday_of(s, u) + std::int64_t{kYear} * (minimum_age - age - 1);  // the first birthday is day b
}

void count_presence(State& s) {
  AgeingState& g = s.ageing;
  g.platforms_on.assign(s.pop.size(), 0);
  for (const PlatformState& P : s.platforms)
    for (std::size_t k = 0; k < P.user.size(); ++k)
      if (P.join_day[k] <= s.day && (P.settings[k] & kRemoved) == 0) ++g.platforms_on[P.user[k]];
  g.eco_minors = 0;
  g.eco_joined = 0;
  for (std::size_t u = 0; u < g.platforms_on.size(); ++u)
    if (g.platforms_on[u] > 0) {
      g.eco_joined += 1;
      if (s.pop.age[u] < 18) g.eco_minors += 1;
    }
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
  g.member.assign(s.pop.size(), 0);
  g.join_start.assign(s.platforms.size(), {});
  g.join_members.assign(s.platforms.size(), {});
  const auto days = static_cast<std::size_t>(s.total_days);
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    PlatformState& P = s.platforms[p];
    for (std::uint32_t u : P.user) g.member[u] = 1;
    // The graph was built with every member; the minor lists hold those on the platform now.
    std::erase_if(P.minors, [&](std::uint32_t m) { return P.join_day[m] > s.day; });
    P.minor_pos.assign(P.user.size(), kNone);
    for (std::size_t i = 0; i < P.minors.size(); ++i) P.minor_pos[P.minors[i]] = static_cast<std::uint32_t>(i);
    // Members joining later, by day (counting sort).
    auto& start = g.join_start[p];
    auto& members = g.join_members[p];
    start.assign(days + 1, 0);
    const auto later = [&](std::size_t k) { return P.join_day[k] > s.day && P.join_day[k] < days; };
    for (std::size_t k = 0; k < P.user.size(); ++k)
      if (later(k)) ++start[P.join_day[k] + 1u];
    for (std::size_t d = 0; d < days; ++d) start[d + 1] += start[d];
    members.resize(start[days]);
    std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
    for (std::size_t k = 0; k < P.user.size(); ++k)
      if (later(k)) members[fill[P.join_day[k]]++] = static_cast<std::uint32_t>(k);
    g.platform_minors_ever[p] = static_cast<double>(P.minors_active);
  }
  count_presence(s);
  g.eco_minors_ever = g.eco_minors;
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
      if (jd == s.day) {         // joins the population at youngest_age; its platforms from their join days
        ++s.ageing.joins;
        continue;
      }
    }
    birthday(s, u);
  }
  // Then today's platform joins: joiners, honest children reaching the minimum
  // age (after their birthday above) and late sign-ups.
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    const auto& start = s.ageing.join_start[p];
    const auto d = static_cast<std::size_t>(s.day);
    for (std::uint32_t i = start[d]; i < start[d + 1]; ++i) platform_join(s, p, s.ageing.join_members[p][i]);
  }
}

}  // namespace safesim::detail
