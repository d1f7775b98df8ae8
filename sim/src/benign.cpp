// Benign background in aggregate (docs/model/submodels/benign.md): legitimate contacts with minors
// and benign reports are drawn as Poisson counts per platform, age band and
// tick, never per user, so their cost does not grow with the population.
//
// For each believed age band the share of each kind of legitimate contact
// that the platform's controls stop is the complement of the pass probability
// of the contact gates in gates.hpp, the same gates contact.cpp samples for
// offenders (pass_probability there is the probability sample_gate reaches):
//   family and coaches  adult, trusted link: stopped only by DMs disabled, or
//                       by age-band segregation without the trusted-link
//                       exemption
//   stranger adults     adult stranger: segregation, mutuals-required filtering
//                       (stranger_mutual_share of pairs have a mutual) and the
//                       DM policy (unseen requests count as blocked)
//   stranger peers      same band, or for peer_other_band_share of them the
//                       neighbouring band, which segregation may stop
//   group adds          a peer the minor is not connected to adds the minor to
//                       a group chat: stopped by group_add_consent (drawn from
//                       their own cursor, so the counts above keep their numbers)
// Minors the platform believes are adults get no protections, so nothing of
// theirs is blocked: weak age assurance lowers this burden and the protection.
#include <algorithm>

#include "gates.hpp"
#include "parallel.hpp"
#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {
namespace {

/// One platform's benign background for this tick. It writes only the
/// platform's own state and rows; what lies beyond them goes to `later`.
void benign_platform(State& s, std::size_t p, ScopeEffects& later) {
  const BenignSpec& b = s.spec->benign;
  const ResponseSpec& r = s.spec->response;
  const double dt_days = s.dt_hours / 24.0;
  {
    PlatformState& P = s.platforms[p];
    const ControlsSpec& c = P.spec->controls;
    rng::Draw d(s.seed, streams::benign, static_cast<std::uint32_t>(p), s.tick);
    rng::Draw d_adds(s.seed, streams::benign, static_cast<std::uint32_t>(p), s.tick, 1u << 24);
    double blocked = 0;
    for (int band = 0; band < 3; ++band) {  // band 3 (believed adults) has no protections
      const auto minors = static_cast<double>(P.minors_by_band[band].size());
      // No skip for an empty band: every count takes its uniform, so the
      // counts after it keep their numbers whatever the band sizes.
      const auto minor = static_cast<AgeBand>(band);
      // Family and coaches.
      const ContactGate family_gate = contact_gate(c, r, adult, minor, Link::trusted);
      const double family_block = 1.0 - pass_probability(family_gate, b.stranger_mutual_share);
      const std::uint64_t family = d.poisson(minors * b.family_contacts_per_minor_day * dt_days);
      blocked += static_cast<double>(d.binomial(family, family_block));
      // Stranger adults.
      const ContactGate adult_gate = contact_gate(c, r, adult, minor, Link::stranger);
      const double adult_pass = pass_probability(adult_gate, b.stranger_mutual_share);
      const std::uint64_t strangers = d.poisson(minors * b.stranger_adult_contacts_per_minor_day * dt_days);
      blocked += static_cast<double>(d.binomial(strangers, 1.0 - adult_pass));
      // Stranger peers: same band, or the neighbouring band (one band apart).
      const auto neighbour = static_cast<AgeBand>(band == 0 ? 1 : band - 1);
      const ContactGate peer_gate = contact_gate(c, r, minor, minor, Link::stranger);
      const bool cross_segregated = contact_gate(c, r, neighbour, minor, Link::stranger).segregated;
      const double cross_block = cross_segregated ? b.peer_other_band_share : 0.0;
      const double peer_pass = pass_probability(peer_gate, b.stranger_mutual_share, 1.0 - cross_block);
      const std::uint64_t peers = d.poisson(minors * b.peer_stranger_contacts_per_minor_day * dt_days);
      blocked += static_cast<double>(d.binomial(peers, 1.0 - peer_pass));
      if (b.group_adds_per_minor_day > 0) {
        const std::uint64_t adds = d_adds.poisson(minors * b.group_adds_per_minor_day * dt_days);
        if (group_add_stopped(c, minor, minor)) blocked += static_cast<double>(adds);  // same band: never segregated
      }
      // Which minors accept one of the stranger contacts that reach them (strangers.cpp).
      advance_strangers(
          s, p, band,
          (b.stranger_adult_contacts_per_minor_day * adult_pass + b.peer_stranger_contacts_per_minor_day * peer_pass) *
              dt_days,
          later);
    }
    // Minors believed adult: nothing stops strangers.
    advance_strangers(s, p, adult,
                      (b.stranger_adult_contacts_per_minor_day + b.peer_stranger_contacts_per_minor_day) * dt_days,
                      later);
    s.add(p, Metric::legit_contacts_blocked, blocked, later);
    // Benign (unfounded) reports against ordinary users: the same friction applies.
    const auto users = static_cast<double>(P.user.size());
    const std::uint64_t intended = d.poisson(users * b.false_reports_per_1k_users_day / 1000.0 * dt_days);
    if (intended > 0) {
      const int steps = report_steps(s, *P.spec);
      const double step = r.step_completion;
      const std::uint64_t filed = d.binomial(intended, report_completion(s, *P.spec));
      // Mean steps taken by those who give up: sum_j j c^(j-1) (1-c) / (1 - c^steps).
      double partial = 0, mass = 0, reach = 1;
      for (int j = 1; j <= steps; ++j) {
        partial += j * reach * (1.0 - step);
        mass += reach * (1.0 - step);
        reach *= step;
      }
      const double abandoned_steps = mass > 0 ? partial / mass : 0.0;
      s.add(p, Metric::reporting_effort,
            static_cast<double>(filed) * steps + static_cast<double>(intended - filed) * abandoned_steps, later);
      if (filed > 0) {
        // Unfounded reports in the other harm categories (moderation.cpp): they join its queues and review.
        s.add(p, Metric::user_reports, static_cast<double>(filed), later);
        s.add(p, Metric::other_harm_reports, static_cast<double>(filed), later);
        s.add(p, Metric::unfounded_reports, static_cast<double>(filed), later);
        queue_other(s, p, filed, 0, ItemKind::other_report, d);
      }
    }
  }
}

}  // namespace

void benign_background(State& s) {
  // Platforms side by side on the run's threads when there is work enough
  // per tick to pay for starting them (a thread costs tens of microseconds):
  // each writes only its own state and rows, and what lies beyond them is
  // applied afterwards in platform order, so the result is the same on any
  // number of threads (tests/cpp/test_parallel_build.cpp).
  const std::size_t np = s.platforms.size();
  s.scope_effects.resize(np);
  const double users_per_tick = static_cast<double>(s.pop.size()) * s.dt_hours / 24.0;
  const int threads = users_per_tick >= side_by_side_users ? s.threads : 1;
  parallel_for(np, threads, [&](std::size_t p, std::size_t) {
    s.scope_effects[p].clear();
    benign_platform(s, p, s.scope_effects[p]);
  });
  for (std::size_t p = 0; p < np; ++p) apply_scope_effects(s, p, s.scope_effects[p]);
}

}  // namespace safesim::detail
