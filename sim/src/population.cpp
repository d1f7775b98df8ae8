// Population, platform membership, declared and believed ages, and settings.
//
// Every per-user draw is keyed by the user id (and platform), never by the
// order of a loop, so two scenarios that differ in a control give each user
// the same age, vulnerability and propensities (common random numbers).
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "parallel.hpp"
#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim {

double share_aged(const PopulationSpec& ps, double lo, double hi) {
  const auto years_in = [lo, hi](double from, double to) {
    return std::max(0.0, std::min(hi, to) - std::max(lo, from) + 1.0);
  };
  const double youngest = static_cast<double>(ps.youngest_age), oldest = static_cast<double>(ps.oldest_age);
  return ps.minor_share * years_in(youngest, 17) / std::max(1.0, 18 - youngest) +
         (1.0 - ps.minor_share) * years_in(18, oldest) / std::max(1.0, oldest - 17);
}

}  // namespace safesim

namespace safesim::detail {

namespace {

/// A person's traits from draws keyed by their id: writes only entry id.
void draw_traits(State& s, std::uint32_t id, bool minor) {
  const PopulationSpec& ps = s.spec->population;
  Population& pop = s.pop;
  const double sigma = ps.activity_sigma;
  pop.boy[id] = rng::uniform_at(s.seed, streams::user_gender, id, 0, 0) < ps.boy_share ? 1 : 0;
  if (minor) {
    rng::Draw v(s.seed, streams::user_vulnerability, id, 0);
    pop.vulnerability[id] = static_cast<float>(v.beta(ps.vulnerability.alpha, ps.vulnerability.beta));
  }
  rng::Draw a(s.seed, streams::user_activity, id, 0);
  pop.activity[id] = static_cast<float>(a.lognormal(-0.5 * sigma * sigma, sigma));
}

}  // namespace

void draw_person(State& s, std::uint32_t id, bool minor) {
  draw_traits(s, id, minor);
  if (minor) s.pop.minors.push_back(id);
}

void build_population(State& s) {
  const PopulationSpec& ps = s.spec->population;
  const auto n = static_cast<std::size_t>(ps.users);
  Population& pop = s.pop;
  pop.age.resize(n);
  pop.boy.resize(n);
  pop.vulnerability.assign(n, 0.0f);
  pop.activity.resize(n);
  pop.reached.assign(n, 0);
  const int youngest = static_cast<int>(ps.youngest_age);
  const int oldest = static_cast<int>(ps.oldest_age);
  // Systematic sampling (share_aged, spec.hpp, states the distribution): exactly n x minor_share minors (rounded),
  // spread over the ids from a random start, with ages spread evenly over the minors' years (a low-discrepancy sequence
  // over their ranks).
  rng::Draw start(s.seed, streams::user_age, 0xFFFFFFFFu, 0);
  const double phase = start.uniform(), age_phase = start.uniform();
  const auto is_minor = [&](std::size_t i) {
    const double at = phase + static_cast<double>(i) * ps.minor_share;
    return at - std::floor(at) < ps.minor_share;
  };
  // Which ids are minors needs no draw: listed first, so each block of ids
  // knows its first minor's rank; then the blocks' draws on the build threads.
  pop.minors.clear();
  for (std::size_t i = 0; i < n; ++i)
    if (is_minor(i)) pop.minors.push_back(static_cast<std::uint32_t>(i));
  constexpr std::size_t kIds = 65536;
  parallel_for((n + kIds - 1) / kIds, s.threads, [&](std::size_t b, std::size_t) {
    const std::size_t i0 = b * kIds, i1 = std::min(n, i0 + kIds);
    auto rank =
        static_cast<std::size_t>(std::lower_bound(pop.minors.begin(), pop.minors.end(), i0) - pop.minors.begin());
    for (std::size_t i = i0; i < i1; ++i) {
      const auto id = static_cast<std::uint32_t>(i);
      rng::Draw d(s.seed, streams::user_age, id, 0);
      const bool minor = is_minor(i);
      const double a_at = age_phase + static_cast<double>(rank) * 0.6180339887498949;
      const int age = minor ? youngest + static_cast<int>((a_at - std::floor(a_at)) * (18 - youngest))
                            : 18 + static_cast<int>(d.below(static_cast<std::uint32_t>(oldest - 17)));
      if (minor) ++rank;
      pop.age[i] = static_cast<std::uint8_t>(age);
      draw_traits(s, id, minor);
    }
  });
  if (ps.ageing) build_joiners(s, pop.minors.size());
}

namespace {

/// The age a platform believes, given its age-assurance method.
int believe_age(const State& s, const AgeAssuranceSpec& aa, std::uint32_t user, std::size_t p, int true_age,
                int declared, bool is_minor) {
  if (aa.method == AgeAssurance::self_declaration) return declared;
  rng::Draw d(s.seed, streams::age_check, user, static_cast<std::uint32_t>(p));
  const double u_cover = d.uniform();
  const double u_circ = d.uniform();
  const double z = d.normal();
  if (u_cover >= aa.coverage) return declared;
  if (is_minor && u_circ < aa.circumvention) return declared;
  return s.spec->age_methods.estimate(aa.method, true_age, z);
}

/// The two uniforms that decide a minor's declaration on joining: whether a
/// child below the minimum age joins (join) and whether a minor declares an
/// adult age (adult).
struct DeclarationDraws {
  double join = 0, adult = 0;
};

/// Declaration uniforms stratified per true age (systematic sampling, as the
/// ages are): the r-th candidate minor of age a on a platform, in user order,
/// gets {phi_a + r g1} and {psi_a + r g2}, with phi_a and psi_a uniform per
/// run, platform and age, and (g1, g2) the R2 sequence's steps (1/rho, 1/rho^2,
/// rho the plastic number). Each user's pair is uniform on the unit square,
/// but the liars of an age are n x probability up to a few, not a binomial
/// count: how many minors a platform believes in each age band no longer
/// varies from seed to seed, which made the paired effect of a control on
/// legit_contacts_blocked vary (issue 21). A candidate's rank depends only on
/// the membership draws, so two designs give every minor the same pair.
class DeclarationStrata {
 public:
  DeclarationStrata(std::uint64_t seed, std::uint32_t pid) {
    for (std::uint32_t a = 0; a < kAges; ++a) {
      phase_[a][0] = rng::uniform_at(seed, streams::declared_age, kStrataEntity, pid, 2 * a);
      phase_[a][1] = rng::uniform_at(seed, streams::declared_age, kStrataEntity, pid, 2 * a + 1);
    }
  }
  DeclarationDraws next(int age) {
    const auto a = static_cast<std::size_t>(age);
    const auto r = static_cast<double>(rank_[a]++);
    const auto frac = [](double x) { return x - std::floor(x); };
    return {frac(phase_[a][0] + r * kStep1), frac(phase_[a][1] + r * kStep2)};
  }

 private:
  static constexpr std::uint32_t kAges = 18;
  static constexpr std::uint32_t kStrataEntity = 0xFFFFFFFFu;  // never a user id
  static constexpr double kStep1 = 0.7548776662466927, kStep2 = 0.5698402909980532;
  double phase_[kAges][2] = {};
  std::uint32_t rank_[kAges] = {};
};

/// The age a user declares on joining platform `pid` with controls `c`;
/// false for an honest child below the minimum age, who does not join. With
/// population.ageing and `of_age` given, such a child joins instead, honestly,
/// from the birthday that brings the minimum age (`*of_age`, a day).
bool declares_age(const State& s, const ControlsSpec& c, std::uint32_t id, std::uint32_t pid, int age, int& declared,
                  std::int64_t* of_age = nullptr, const DeclarationDraws* draws = nullptr) {
  const PopulationSpec& ps = s.spec->population;
  declared = age;
  if (age >= 18) return true;
  DeclarationDraws u{};
  if (draws != nullptr) {
    u = *draws;
  } else {
    rng::Draw d(s.seed, streams::declared_age, id, pid);
    u.join = d.uniform();
    u.adult = d.uniform();
  }
  // The false age is read from the deciding uniform below its probability (uniform on [0, 1) there), so a
  // stratum's liars spread evenly over the declared ages as well (DeclarationStrata).
  const auto spread = static_cast<double>(ps.declared_age_spread_years);
  const auto offset_of = [spread](double v, double prob) {
    return static_cast<int>(std::min(spread - 1, std::floor(v / prob * spread)));
  };
  if (age < c.minimum_age) {
    if (!(u.join < ps.underage_join_prob)) {
      if (of_age == nullptr || !ps.ageing) return false;  // honest child below the minimum age: not on the platform
      *of_age = minimum_age_day(s, id, static_cast<int>(c.minimum_age));
    } else {
      declared = static_cast<int>(c.minimum_age) + offset_of(u.join, ps.underage_join_prob);
    }
  }
  if (u.adult < ps.declared_adult_share) declared = 18 + offset_of(u.adult, ps.declared_adult_share);
  return true;
}

/// Minors removed from a platform for being under its minimum age move on
/// (population.displaced_join_prob): each removed minor joins each other
/// platform he is not on with that probability, from the day of his first
/// removal. Removal is foreseen here from the platform's controls at day 0 and
/// after each of its timeline events (the same keyed age checks apply_controls
/// makes later; a risk response's controls are not foreseen). Members stay in
/// user order, so the platform's indices are rebuilt.
void displace_removed_minors(State& s) {
  const PopulationSpec& ps = s.spec->population;
  if (!(ps.displaced_join_prob > 0)) return;
  const std::size_t n = s.pop.size();
  const auto warmup = static_cast<std::int64_t>(s.spec->warmup_days);
  constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
  std::vector<std::int64_t> removed_day(n, kNever);
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    const PlatformState& P = s.platforms[p];
    // The platform's controls over time: at day 0, then after each of its timeline events.
    std::vector<std::pair<std::int64_t, const ControlsSpec*>> phases{{0, &s.spec->platforms[p].controls}};
    for (const TimelineEvent& e : s.spec->timeline)
      if (e.platform == p) phases.emplace_back(warmup + e.day, &e.after.controls);
    for (std::uint32_t k : P.minors) {
      const std::uint32_t id = P.user[k];
      for (const auto& [day, c] : phases) {
        if (!c->age_assurance.enforce_minimum_age) continue;
        const int believed = believe_age(s, c->age_assurance, id, p, s.pop.age[id], P.declared_age[k], true);
        if (believed >= c->minimum_age) continue;
        removed_day[id] = std::min(removed_day[id], std::max<std::int64_t>(day, P.join_day[k]));
        break;  // the first phase that removes him
      }
    }
  }
  for (std::size_t q = 0; q < s.platforms.size(); ++q) {
    PlatformState& Q = s.platforms[q];
    const ControlsSpec& c = s.spec->platforms[q].controls;
    const auto qid = static_cast<std::uint32_t>(q);
    struct Arrival {
      std::uint32_t user;
      std::uint8_t declared;
      std::uint16_t day;
    };
    std::vector<Arrival> arrivals;  // in user order (pop.minors is)
    for (std::uint32_t id : s.pop.minors) {
      if (removed_day[id] == kNever || Q.local_of[id] != kNone) continue;
      if (rng::uniform_at(s.seed, streams::membership, id, qid, 2) >= ps.displaced_join_prob) continue;
      int declared = 0;
      if (!declares_age(s, c, id, qid, s.pop.age[id], declared)) continue;
      arrivals.push_back(
          {id, static_cast<std::uint8_t>(std::min(declared, 255)), static_cast<std::uint16_t>(removed_day[id])});
    }
    if (arrivals.empty()) continue;
    std::vector<std::uint32_t> user;
    std::vector<std::uint8_t> declared;
    std::vector<std::uint16_t> join_day;
    const std::size_t total = Q.user.size() + arrivals.size();
    user.reserve(total);
    declared.reserve(total);
    join_day.reserve(total);
    std::size_t k = 0;
    for (const Arrival& a : arrivals) {
      for (; k < Q.user.size() && Q.user[k] < a.user; ++k) {
        user.push_back(Q.user[k]);
        declared.push_back(Q.declared_age[k]);
        join_day.push_back(Q.join_day[k]);
      }
      user.push_back(a.user);
      declared.push_back(a.declared);
      join_day.push_back(a.day);
    }
    for (; k < Q.user.size(); ++k) {
      user.push_back(Q.user[k]);
      declared.push_back(Q.declared_age[k]);
      join_day.push_back(Q.join_day[k]);
    }
    Q.user = std::move(user);
    Q.declared_age = std::move(declared);
    Q.join_day = std::move(join_day);
    Q.minors.clear();
    for (std::size_t j = 0; j < Q.user.size(); ++j)
      if (s.pop.age[Q.user[j]] < 18) Q.minors.push_back(static_cast<std::uint32_t>(j));
    Q.local_of.build(Q.user, n);
  }
}

}  // namespace

void build_platforms(State& s) {
  const PopulationSpec& ps = s.spec->population;
  const std::size_t n = s.pop.size();
  s.platforms.resize(s.spec->platforms.size());
  // Late joiners join during the measured horizon, after the warm-up.
  const auto horizon = static_cast<std::uint32_t>(s.spec->horizon_days);
  const auto warmup = static_cast<std::uint32_t>(s.spec->warmup_days);
  const std::int64_t total = s.spec->warmup_days + s.spec->horizon_days;
  // Platforms side by side on the build threads: each reads the population
  // and writes only its own members (their draws are keyed by user and
  // platform), so the memberships do not depend on the thread count.
  parallel_for(s.platforms.size(), s.threads, [&](std::size_t p, std::size_t) {
    PlatformState& P = s.platforms[p];
    P.spec = &s.spec->platforms[p];
    const ControlsSpec& c = P.spec->controls;
    const auto pid = static_cast<std::uint32_t>(p);
    DeclarationStrata strata(s.seed, pid);  // candidates come in user order, both ways below
    auto join = [&](std::size_t i) {
      const auto id = static_cast<std::uint32_t>(i);
      const int age = s.pop.age[i];
      int declared = age;
      std::int64_t of_age = 0;  // population.ageing: the day an honest child reaches the minimum age and joins
      const DeclarationDraws draws = age < 18 ? strata.next(age) : DeclarationDraws{};
      if (!declares_age(s, c, id, pid, age, declared, &of_age, &draws) || of_age >= total) return;
      P.user.push_back(id);
      P.declared_age.push_back(static_cast<std::uint8_t>(std::min(declared, 255)));
      const bool late = rng::uniform_at(s.seed, streams::user_join, id, pid, 0) < ps.signup_share;
      auto jd =
          late ? static_cast<std::uint16_t>(warmup + rng::Draw(s.seed, streams::user_join, id, pid, 1).below(horizon))
               : std::uint16_t{0};
      if (id >= s.pop.first_joiner) jd = std::max(jd, s.pop.joiner_day[id - s.pop.first_joiner]);  // not before
      jd = std::max(jd, static_cast<std::uint16_t>(of_age));
      P.join_day.push_back(jd);
      if (age < 18) P.minors.push_back(static_cast<std::uint32_t>(P.user.size() - 1));
    };
    const double share = P.spec->user_share;
    // Room for the expected members and six standard deviations more, so that
    // a large platform's columns are not copied as they grow (a member fewer
    // or more changes nothing: the vectors grow as usual past it).
    const double expected = std::min(1.0, std::max(0.0, share)) * static_cast<double>(n);
    const auto room = static_cast<std::size_t>(expected + 6.0 * std::sqrt(expected) + 64.0);
    P.user.reserve(room);
    P.declared_age.reserve(room);
    P.join_day.reserve(room);
    if (share >= 0.5) {
      // Large platforms: one keyed draw per user (best common random numbers).
      for (std::size_t i = 0; i < n; ++i)
        if (rng::uniform_at(s.seed, streams::membership, static_cast<std::uint32_t>(i), pid, 0) < share) join(i);
    } else if (share > 0) {
      // Small platforms: geometric gaps between members, so the cost is the
      // number of members rather than the population (long tails of platforms).
      // Members are found kAhead at a time and their ages prefetched before
      // any joins: a member is a miss in the population's columns.
      constexpr std::size_t kAhead = 16;
      const double log_q = std::log1p(-share);
      std::size_t i = 0;
      std::uint32_t j = 0;
      for (bool done = false; !done;) {
        std::size_t found[kAhead];
        std::size_t got = 0;
        while (got < kAhead) {
          const double u = rng::uniform_at(s.seed, streams::membership, j++, pid, 1);
          const double gap = std::floor(std::log(u) / log_q);
          if (gap >= static_cast<double>(n - i)) {
            done = true;
            break;
          }
          i += static_cast<std::size_t>(gap);
          __builtin_prefetch(&s.pop.age[i]);
          found[got++] = i;
          if (++i >= n) {
            done = true;
            break;
          }
        }
        for (std::size_t f = 0; f < got; ++f) join(found[f]);
      }
    }
    P.local_of.build(P.user, n);
  });
  displace_removed_minors(s);
}

void finish_platforms(State& s) {
  // Side by side on the build threads, as in build_platforms: apply_controls
  // writes only the platform's own state. (It also counts the people present
  // ecosystem-wide when s.ageing.on, but prepare_ageing sets that after this.)
  if (s.ageing.on) throw std::logic_error("finish_platforms: called after prepare_ageing");
  parallel_for(s.platforms.size(), s.threads, [&](std::size_t p, std::size_t) {
    PlatformState& P = s.platforms[p];
    P.spec = &s.spec->platforms[p];
    const std::size_t members = P.user.size();
    P.believed_age.assign(members, 0);
    P.settings.assign(members, 0);
    P.reached.assign(members, 0);
    apply_controls(s, p, true);
  });
}

void apply_controls(State& s, std::size_t p, bool reset_existing_defaults) {
  PlatformState& P = s.platforms[p];
  const ControlsSpec& c = P.spec->controls;
  const ResponseSpec& r = s.spec->response;
  const auto pid = static_cast<std::uint32_t>(p);
  const bool reset_all = reset_existing_defaults || c.private_by_default.applies_to_existing;
  P.minors_active = 0;
  P.minors_protected = 0;
  P.adults_active = 0;
  for (auto& b : P.minors_by_band) b.clear();
  const bool ageing = s.spec->population.ageing;
  if (ageing) P.band_pos.assign(P.user.size(), kNone);
  constexpr std::size_t kAhead = 16;  // a small platform's members are misses in the population's columns
  for (std::size_t k = 0; k < P.user.size(); ++k) {
    if (k + kAhead < P.user.size()) __builtin_prefetch(&s.pop.age[P.user[k + kAhead]]);
    const std::uint32_t id = P.user[k];
    const int age = s.pop.age[id];
    const bool minor = age < 18;
    // With population.ageing a member is counted from its join day (ageing.cpp
    // platform_join); it has its settings before.
    const bool joined = !ageing || P.join_day[k] <= s.day;
    const int believed = believe_age(s, c.age_assurance, id, p, age, P.declared_age[k], minor);
    P.believed_age[k] = static_cast<std::uint8_t>(believed);
    std::uint8_t bits = P.settings[k] & kPrivate;
    const bool removed = c.age_assurance.enforce_minimum_age && believed < c.minimum_age;
    if (removed) bits |= kRemoved;
    rng::Draw d(s.seed, streams::settings, id, pid);
    const double u_supervised = d.uniform();
    const double u_change = d.uniform();
    const double u_voluntary = d.uniform();
    const double u_educated = d.uniform();
    const bool supervised = minor && u_supervised < c.parental_supervision.uptake;
    if (supervised) bits |= kSupervised;
    if (minor && u_educated < c.education.uptake) bits |= kEducated;
    if (reset_all || P.join_day[k] > s.day) {
      // Accounts that exist when the default is set may have their own threshold; later joiners use age_threshold.
      const PrivateByDefault& pd = c.private_by_default;
      const bool existing = P.join_day[k] <= s.day;
      const std::int64_t threshold =
          existing && pd.existing_age_threshold >= 0 ? pd.existing_age_threshold : pd.age_threshold;
      bool priv;
      if (believed < threshold) {
        // Below minors_can_change_from_age a minor needs a parent to loosen it: counted as kept.
        const bool locked = !pd.minors_can_change || believed < pd.minors_can_change_from_age ||
                            (supervised && c.parental_supervision.locks_settings);
        priv = locked || u_change >= pd.change_prob;
      } else {
        priv = u_voluntary < r.voluntary_private_share;
      }
      bits = static_cast<std::uint8_t>((bits & ~kPrivate) | (priv ? kPrivate : 0));
    }
    P.settings[k] = bits;
    if (!joined) continue;
    if (!minor && !removed) ++P.adults_active;
    if (minor && !removed && joined) {
      ++P.minors_active;
      if (believed < 18) ++P.minors_protected;
      auto& band = P.minors_by_band[band_of(believed)];
      if (ageing) P.band_pos[k] = static_cast<std::uint32_t>(band.size());
      band.push_back(static_cast<std::uint32_t>(k));
    }
  }
  P.underage_removed = 0;
  for (std::size_t k = 0; k < P.user.size(); ++k)
    if ((P.settings[k] & kRemoved) != 0 && s.pop.age[P.user[k]] < 18 && (!ageing || P.join_day[k] <= s.day))
      ++P.underage_removed;
  schedule_strangers(s, p, false, 0);  // bands may have moved
  if (s.ageing.on) count_presence(s);  // people on at least one platform, now
}

}  // namespace safesim::detail
