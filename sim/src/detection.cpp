// Detection that is not tied to one upload (MODEL.md 4.7): behavioural risk
// scoring of offender accounts, false positives of every detector over the
// benign volume (drawn in aggregate), and how visible a platform's detection
// is to offenders choosing where to operate.
//
// Behavioural risk: an account earns 1 point per contact attempt to a minor
// it claims to be at least 5 years older than, and 3 points per block or
// report it receives; past the threshold it is sent to review. For every
// offender sent, (1 - precision) / precision benign accounts are sent too.
#include <algorithm>
#include <cmath>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {

// Two streams: keyed by (platform, tick) and by (account key, 0) in one
// stream, platform 7's draws on tick 0 equalled account 7's.
rng::Draw benign_detection_draw(std::uint64_t seed, std::size_t platform, std::uint32_t tick) {
  return {seed, streams::benign_detection, static_cast<std::uint32_t>(platform), tick};
}
rng::Draw behavioural_false_positive_draw(std::uint64_t seed, std::uint32_t account_key) {
  return {seed, streams::behavioural_false_positives, account_key, 0};
}

void add_risk(State& s, std::uint32_t a, float points, double hour) {
  Accounts& A = s.accounts;
  A.risk_score[a] += points;
  const std::size_t p = A.platform[a];
  const BehaviouralRiskSpec& b = s.platforms[p].spec->controls.behavioural_risk;
  if (!b.enabled || A.risk_flagged[a] || A.risk_score[a] < b.threshold || A.banned[a]) return;
  A.risk_flagged[a] = 1;
  s.add(p, Metric::detections, 1);
  queue_review(s, p, {hour, a, 1, ItemKind::account, Metric::offenders_detected_behavioural}, true);
  const double benign_per_true = b.precision > 0 ? (1.0 - b.precision) / b.precision : 0.0;
  rng::Draw d = behavioural_false_positive_draw(s.seed, A.key[a]);
  const std::uint64_t benign = d.poisson(benign_per_true);
  if (benign > 0) {
    s.add(p, Metric::detections, static_cast<double>(benign));
    queue_review(
        s, p,
        {hour, kNone, static_cast<std::uint32_t>(benign), ItemKind::benign, Metric::offenders_detected_behavioural},
        true);
  }
}

void benign_detections(State& s) {
  const double dt_days = s.dt_hours / 24.0;
  const ContentSpec& cs = s.spec->content;
  const BenignSpec& bs = s.spec->benign;
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    PlatformState& P = s.platforms[p];
    const ControlsSpec& c = P.spec->controls;
    rng::Draw d = benign_detection_draw(s.seed, p, s.tick);
    const double uploads = static_cast<double>(P.user.size()) * cs.benign_uploads_per_user_day * dt_days;
    // Benign uploads: in groups (public) or in messages (readable unless encrypted).
    const double readable_share = c.client_side_scanning ? 1.0 : 1.0 - c.e2ee_share;
    const double public_uploads = uploads * cs.group_share;
    const double private_uploads = uploads * (1.0 - cs.group_share) * readable_share;
    const HashMatchingSpec& h = c.hash_matching;
    if (h.enabled) {
      const double scanned = (h.public_surfaces ? public_uploads : 0.0) + (h.private_surfaces ? private_uploads : 0.0);
      const std::uint64_t fp = d.poisson(scanned * h.fp_per_million / 1e6);
      if (fp > 0) {
        // Automated: wrongful removal and account action without review, and a report.
        s.add(p, Metric::detections, static_cast<double>(fp));
        wrongful_actions(s, p, fp, d);
        for (std::uint64_t k = 0; k < fp; ++k) report_to_clearinghouse(s, p, kNone);
      }
    }
    const ClassifierSpec& cl = c.new_material_classifier;
    if (cl.enabled) {
      const double scanned = public_uploads + (cl.private_surfaces ? private_uploads : 0.0);
      const std::uint64_t fp = d.poisson(scanned * cl.fp_per_million / 1e6);
      if (fp > 0) {
        s.add(p, Metric::detections, static_cast<double>(fp));
        queue_review(
            s, p,
            {s.hour, kNone, static_cast<std::uint32_t>(fp), ItemKind::benign, Metric::offenders_detected_classifier},
            true);
      }
    }
    const GroomingDetectionSpec& g = c.grooming_detection;
    if (g.enabled) {
      // Benign conversations with minors that the detector can read.
      const auto minors = static_cast<double>(P.minors_active);
      const double conversations = minors *
                                   (bs.family_contacts_per_minor_day + bs.peer_stranger_contacts_per_minor_day +
                                    bs.stranger_adult_contacts_per_minor_day) *
                                   dt_days * readable_share;
      const std::uint64_t fp = d.poisson(conversations * g.fp_per_million / 1e6);
      if (fp > 0) {
        s.add(p, Metric::detections, static_cast<double>(fp));
        queue_review(
            s, p,
            {s.hour, kNone, static_cast<std::uint32_t>(fp), ItemKind::benign, Metric::offenders_detected_grooming},
            true);
      }
    }
  }
}

void update_detection_risk(State& s, std::size_t p) {
  PlatformState& P = s.platforms[p];
  const ControlsSpec& c = P.spec->controls;
  const double visible = c.client_side_scanning ? 1.0 : 1.0 - c.e2ee_share;
  double r = 0;
  if (c.hash_matching.enabled) r += 0.3 * (c.hash_matching.private_surfaces ? visible : 0.5);
  if (c.new_material_classifier.enabled) r += 0.2 * visible;
  if (c.grooming_detection.enabled) r += 0.3 * visible;
  if (c.behavioural_risk.enabled) r += 0.2;
  P.detection_risk = r;
}

}  // namespace safesim::detail
