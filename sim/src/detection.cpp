// Detection that is not tied to one upload (docs/model/submodels/detection.md): behavioural risk
// scoring of offender accounts, false positives of every detector over the
// benign volume (drawn in aggregate), and how visible a platform's detection
// is to offenders choosing where to operate.
//
// Behavioural risk: an account earns contact_points per contact attempt to a
// minor it claims to be at least age_gap_years older than, and flag_points
// per block or report it receives; past the threshold it is sent to review.
// For every offender sent, (1 - precision) / precision benign accounts are
// sent too. The detectors and their false-positive models are the rows of
// channels.hpp.
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

void add_risk(State& s, std::uint32_t a, RiskEvent event, double hour) {
  Accounts& A = s.accounts;
  const std::size_t p = A.platform[a];
  const BehaviouralRiskSpec& b = s.platforms[p].spec->controls.behavioural_risk;
  A.risk_score[a] += static_cast<float>(event == RiskEvent::contact ? b.contact_points : b.flag_points);
  if (!b.enabled || A.risk_flagged[a] || A.risk_score[a] < b.threshold || A.banned[a]) return;
  A.risk_flagged[a] = 1;
  s.add(p, Metric::detections, 1);
  queue_review(s, p, {hour, a, 1, ItemKind::account, Channel::behavioural}, true);
  const double benign_per_true = b.precision > 0 ? (1.0 - b.precision) / b.precision : 0.0;
  rng::Draw d = behavioural_false_positive_draw(s.seed, A.key[a]);
  const std::uint64_t benign = d.poisson(benign_per_true);
  if (benign > 0) {
    s.add(p, Metric::detections, static_cast<double>(benign));
    queue_review(s, p, {hour, kNone, static_cast<std::uint32_t>(benign), ItemKind::benign, Channel::behavioural}, true);
  }
}

namespace {

/// The benign volume a platform's detectors may scan in one tick.
struct BenignVolume {
  double public_uploads;   // group posts
  double private_uploads;  // messages readable by a detector (not end-to-end encrypted, or scanned on the device)
  double conversations;    // readable benign conversations with minors
  double group_private;    // of public_uploads, posts to encrypted groups scanned on the device (private)
};

/// A channel that scans benign volume: whether it is on, how many benign
/// items it scans and its false-positive rate per million.
struct Scan {
  bool enabled = false;
  double items = 0;
  double fp_per_million = 0;
  double private_items = 0;  // of `items`, private ones (rights.cpp)
};

Scan benign_scan(Channel channel, const ControlsSpec& c, const BenignVolume& v) {
  switch (channel) {
    case Channel::hash: {
      const HashMatchingSpec& h = c.hash_matching;
      const double dm = h.private_surfaces ? v.private_uploads : 0.0;
      return {h.enabled, (h.public_surfaces ? v.public_uploads : 0.0) + dm, h.fp_per_million,
              (h.public_surfaces ? v.group_private : 0.0) + dm};
    }
    case Channel::classifier: {
      const ClassifierSpec& cl = c.new_material_classifier;
      const double dm = cl.private_surfaces ? v.private_uploads : 0.0;
      return {cl.enabled, v.public_uploads + dm, cl.fp_per_million, v.group_private + dm};
    }
    case Channel::grooming:
      return {c.grooming_detection.enabled, v.conversations, c.grooming_detection.fp_per_million, v.conversations};
    default:
      return {};
  }
}

/// How much of a channel's detection offenders can see on a platform (0 when
/// it is off): the share of messages it reads, or all of it for behaviour.
double seen_coverage(Channel channel, const ControlsSpec& c, const DetectionVisibilitySpec& w, double readable) {
  const double group_readable = c.client_side_scanning ? 1.0 : 1.0 - c.e2ee_group_share;
  switch (channel) {
    case Channel::hash:
      return c.hash_matching.enabled ? (c.hash_matching.private_surfaces ? readable : w.public_only * group_readable)
                                     : 0.0;
    case Channel::classifier:
      return c.new_material_classifier.enabled ? readable : 0.0;
    case Channel::grooming:
      return c.grooming_detection.enabled ? readable : 0.0;
    case Channel::behavioural:
      return c.behavioural_risk.enabled ? 1.0 : 0.0;
    default:
      return 0.0;
  }
}

}  // namespace

void benign_detections(State& s) {
  const double dt_days = s.dt_hours / 24.0;
  const ContentSpec& cs = s.spec->content;
  const BenignSpec& bs = s.spec->benign;
  for (std::size_t p = 0; p < s.platforms.size(); ++p) {
    PlatformState& P = s.platforms[p];
    const ControlsSpec& c = P.spec->controls;
    rng::Draw d = benign_detection_draw(s.seed, p, s.tick);
    const double uploads = static_cast<double>(P.user.size()) * cs.benign_uploads_per_user_day * dt_days;
    // Benign uploads: in groups or in messages, some through the file-transfer
    // surface; each readable unless its surface encrypts it (or scanned on the device).
    const bool css = c.client_side_scanning;
    const double readable_share = css ? 1.0 : 1.0 - c.e2ee_share;
    const double group_readable = css ? 1.0 : 1.0 - c.e2ee_group_share;
    const double file_readable = css ? 1.0 : 1.0 - c.e2ee_file_share;
    const double f = cs.file_share;
    const BenignVolume volume{
        uploads * cs.group_share * ((1.0 - f) * group_readable + f * file_readable),
        uploads * (1.0 - cs.group_share) * ((1.0 - f) * readable_share + f * file_readable),
        static_cast<double>(P.minors_active) *
            (bs.family_contacts_per_minor_day + bs.peer_stranger_contacts_per_minor_day +
             bs.stranger_adult_contacts_per_minor_day) *
            dt_days * readable_share,
        css ? uploads * cs.group_share * ((1.0 - f) * c.e2ee_group_share + f * c.e2ee_file_share) : 0.0};
    count_private_scanned(s, p, {volume.group_private, volume.private_uploads, volume.conversations});
    // One draw per scanning channel on, in the table's order.
    for (std::size_t k = 0; k < kChannels.size(); ++k) {
      if (kChannels[k].false_positives != FalsePositives::scanned) continue;
      const auto channel = static_cast<Channel>(k);
      const Scan scan = benign_scan(channel, c, volume);
      if (!scan.enabled) continue;
      const std::uint64_t fp = d.poisson(scan.items * scan.fp_per_million / 1e6);
      if (fp == 0) continue;
      s.add(p, Metric::detections, static_cast<double>(fp));
      const std::uint64_t private_fp = private_flags(s, p, fp, scan.items, scan.private_items);
      if (kChannels[k].automated) {
        // Wrongful removal and account action without review, and a report.
        wrongful_actions(s, p, fp, d, channel, private_fp);
        for (std::uint64_t j = 0; j < fp; ++j) report_to_clearinghouse(s, p, kNone);
      } else {
        queue_review(s, p,
                     {s.hour, kNone, static_cast<std::uint32_t>(fp), ItemKind::benign, channel,
                      static_cast<std::uint32_t>(private_fp)},
                     true);
      }
    }
  }
}

void update_detection_risk(State& s, std::size_t p) {
  PlatformState& P = s.platforms[p];
  const ControlsSpec& c = P.spec->controls;
  const DetectionVisibilitySpec& w = s.spec->offenders.detection_visibility;
  const double readable = c.client_side_scanning ? 1.0 : 1.0 - c.e2ee_share;
  double r = 0;
  for (std::size_t k = 0; k < kChannels.size(); ++k) {
    const auto weight = kChannels[k].visibility;
    if (weight == nullptr) continue;
    const double seen = seen_coverage(static_cast<Channel>(k), c, w, readable);
    if (seen > 0) r += w.*weight * seen;
  }
  P.detection_risk = r;
  s.choice_stale = true;  // offenders' platform choice weighs it (offenders.cpp); its members may have moved too
}

}  // namespace safesim::detail
