// Benign background in aggregate (MODEL.md 3): legitimate contacts with minors
// and benign reports are drawn as Poisson counts per platform, age band and
// tick, never per user, so their cost does not grow with the population.
//
// For each believed age band the share of each kind of legitimate contact
// that the platform's controls stop is computed from the controls alone:
//   family and coaches  connected, trusted: stopped only by DMs disabled, or by
//                       age-band segregation without the trusted-link exemption
//   stranger adults     stopped by age-band segregation, mutuals-required
//                       filtering and the DM policy (unseen requests count)
//   stranger peers      same, where segregation stops cross-band peers
// Minors the platform believes are adults get no protections, so nothing of
// theirs is blocked: weak age assurance lowers this burden and the protection.
#include <algorithm>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {
namespace {

/// Share of unconnected contacts the DM policy lets through.
double dm_pass(const ResponseSpec& r, DmPolicy policy) {
  switch (policy) {
    case DmPolicy::open:
      return 1.0;
    case DmPolicy::requests_inbox:
    case DmPolicy::confirm_before_view:
      return r.requests_seen_prob;
    case DmPolicy::connected_only:
      return r.request_fallback_prob;
    case DmPolicy::disabled:
      return 0.0;
  }
  return 1.0;
}

}  // namespace

void benign_background(State& s) {
  const BenignSpec& b = s.spec->benign;
  const ResponseSpec& r = s.spec->response;
  const double dt_days = s.dt_hours / 24.0;
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    PlatformState& P = s.platforms[p];
    const ControlsSpec& c = P.spec->controls;
    rng::Draw d(s.seed, streams::benign, static_cast<std::uint32_t>(p), s.tick);
    double blocked = 0;
    for (int band = 0; band < 3; ++band) {  // band 3 (believed adults) has no protections
      const auto minors = static_cast<double>(P.minors_by_band[band].size());
      if (minors == 0) continue;
      const DmPolicy dm = band == 0 ? c.dm_policy.under_13 : band == 1 ? c.dm_policy.under_16 : c.dm_policy.under_18;
      const bool seg = c.age_band_segregation.enabled;
      const bool adult_segregated = seg && (adult - band) > c.age_band_segregation.max_band_gap;
      const double mutual = c.request_filtering.mutuals_required ? b.stranger_mutual_share : 1.0;
      // Family and coaches.
      const double family_block =
          (dm == DmPolicy::disabled || (adult_segregated && !c.age_band_segregation.trusted_links_exempt)) ? 1.0 : 0.0;
      const std::uint64_t family = d.poisson(minors * b.family_contacts_per_minor_day * dt_days);
      blocked += static_cast<double>(d.binomial(family, family_block));
      // Stranger adults.
      const double adult_pass = adult_segregated ? 0.0 : mutual * dm_pass(r, dm);
      const std::uint64_t strangers = d.poisson(minors * b.stranger_adult_contacts_per_minor_day * dt_days);
      blocked += static_cast<double>(d.binomial(strangers, 1.0 - adult_pass));
      // Stranger peers.
      const double cross_block = seg && c.age_band_segregation.max_band_gap < 1 ? b.peer_other_band_share : 0.0;
      const double peer_pass = (1.0 - cross_block) * mutual * dm_pass(r, dm);
      const std::uint64_t peers = d.poisson(minors * b.peer_stranger_contacts_per_minor_day * dt_days);
      blocked += static_cast<double>(d.binomial(peers, 1.0 - peer_pass));
    }
    s.add(p, Metric::legit_contacts_blocked, blocked);
    // Benign reports against ordinary users: the same friction applies.
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
            static_cast<double>(filed) * steps + static_cast<double>(intended - filed) * abandoned_steps);
      if (filed > 0) {
        s.add(p, Metric::user_reports, static_cast<double>(filed));
        queue_review(s, p,
                     {s.hour, kNone, static_cast<std::uint32_t>(filed), ItemKind::benign,
                      Metric::offenders_detected_user_report},
                     false);
      }
    }
  }
}

}  // namespace safesim::detail
