// The rights side of the trade-off (docs/model/submodels/review-enforcement.md,
// "Burdens on ordinary users"; docs/model/submodels/detection.md, "Private
// content inspected"): what detection and enforcement cost people who did
// nothing wrong, in privacy and in wrongful actions.
//
// Privacy. Benign volume is drawn in aggregate (detection.cpp), so the private
// items a detector inspects are counted as an expected volume: direct-message
// uploads a detector reads (unencrypted, or scanned on the device), uploads to
// encrypted groups scanned on the device, and conversation-days of benign
// conversations with minors that grooming detection reads. A false flag's
// share of private items is that of the volume its channel scanned. A
// moderator who reviews a benign private item, or an appeal of an automated
// action on one, sees it: benign_private_items_reviewed.
//
// Whose items and accounts. Benign flags have no owner in the aggregate, so
// each one a person is needed for (reviewed private items, wrongful actions)
// gets one here, drawn from the platform's members (not removed) with the
// stream benign_identity at (platform, tick), one cursor per platform and tick:
//   uploads (hash, classifier) and benign user reports: any member, uniformly
//   grooming detection: the minor of the conversation and, as the flagged
//     party, a peer (a minor) with the peer share of benign contacts, or else
//     an adult
//   behavioural risk, shared signals: an adult
// Uniform attribution gives the most distinct people for a number of items (an
// upper estimate: active uploaders are flagged more often).
//
// Distinct people (users_private_content_reviewed, minors_*) are kept as
// marks (kind, scope, user) in one open-addressing set: 8 bytes per slot at
// most half full, so about 16 bytes per person marked and scope (at most 3
// scopes: ecosystem, platform, operator), nothing for anyone never marked.
//
// Wrongful actions. A benign account actioned on a child-safety finding
// (detector flag, behavioural risk, shared signal) is banned under zero
// tolerance (or one strike): accounts_wrongly_banned. An upheld appeal
// reinstates it benign.appeal_delay_days later. A platform that confirms
// child exploitation in review or by an automated detector reports it to the
// clearinghouse, wrongly confirmed benign items included (hash matches are
// reported where they are drawn, detection.cpp); such reports take law
// enforcement capacity and lead to nothing (clearinghouse.cpp).
#include <algorithm>

#include "safesim/rng.hpp"
#include "safesim/streams.hpp"
#include "state.hpp"

namespace safesim::detail {

namespace {

enum MarkKind : std::uint64_t { kPrivateReviewed = 0, kWronglyActioned = 1 };

/// The platform's identity draws for this tick (stream benign_identity at (platform, tick)).
rng::Draw& identity(State& s, std::size_t p) {
  RightsState& R = s.rights;
  if (R.draws.size() != s.platforms.size()) {
    R.draws.assign(s.platforms.size(), rng::Draw(0, 0, 0, 0));
    R.ticks.assign(s.platforms.size(), kNone);
  }
  if (R.ticks[p] != s.tick) {
    R.draws[p] = rng::Draw(s.seed, streams::benign_identity, static_cast<std::uint32_t>(p), s.tick);
    R.ticks[p] = s.tick;
  }
  return R.draws[p];
}

constexpr int kTries = 16;

/// A member (global user id) not removed, uniformly; with `adult`, 18 or over. kNone if none found.
std::uint32_t any_member(const State& s, const PlatformState& P, rng::Draw& g, bool adult) {
  if (P.user.empty()) return kNone;
  for (int t = 0; t < kTries; ++t) {
    const std::uint32_t k = g.below(static_cast<std::uint32_t>(P.user.size()));
    const std::uint32_t u = P.user[k];
    if ((P.settings[k] & kRemoved) != 0 || (adult && s.pop.age[u] < 18)) continue;
    return u;
  }
  return kNone;
}

/// A minor member (global user id) not removed, uniformly. kNone if none found.
std::uint32_t any_minor(const PlatformState& P, rng::Draw& g) {
  if (P.minors.empty()) return kNone;
  for (int t = 0; t < kTries; ++t) {
    const std::uint32_t k = P.minors[g.below(static_cast<std::uint32_t>(P.minors.size()))];
    if ((P.settings[k] & kRemoved) == 0) return P.user[k];
  }
  return kNone;
}

/// Whose benign item or account a channel found (see the head of this file).
std::uint32_t owner(const State& s, std::size_t p, Channel channel, rng::Draw& g) {
  const PlatformState& P = s.platforms[p];
  switch (channel) {
    case Channel::grooming: {
      const BenignSpec& b = s.spec->benign;
      const double all = b.family_contacts_per_minor_day + b.stranger_adult_contacts_per_minor_day +
                         b.peer_stranger_contacts_per_minor_day;
      const double peer = all > 0 ? b.peer_stranger_contacts_per_minor_day / all : 0.0;
      return g.uniform() < peer ? any_minor(P, g) : any_member(s, P, g, true);
    }
    case Channel::behavioural:
    case Channel::signal_sharing:
      return any_member(s, P, g, true);
    default:
      return any_member(s, P, g, false);
  }
}

/// Count a person once per scope (ecosystem, platform, operator) for a kind of mark.
void mark(State& s, std::size_t p, std::uint32_t user, MarkKind kind) {
  if (user == kNone) return;
  const bool minor = s.pop.age[user] < 18;
  if (kind == kWronglyActioned && !minor) return;  // only minors are counted as people here
  for (const std::uint32_t scope : {std::uint32_t{0}, static_cast<std::uint32_t>(p + 1), s.platforms[p].op_scope}) {
    if (scope == kNone) continue;
    const std::uint64_t key =
        (static_cast<std::uint64_t>(kind) << 62) | (static_cast<std::uint64_t>(scope) << 32) | user;
    if (s.rights.marks.contains(key)) continue;
    s.rights.marks.insert(key);
    double* row = s.metrics.row(scope, s.day);
    if (kind == kWronglyActioned) {
      row[idx(Metric::minors_wrongly_actioned)] += 1;
    } else {
      row[idx(Metric::users_private_content_reviewed)] += 1;
      if (minor) row[idx(Metric::minors_private_content_reviewed)] += 1;
    }
  }
}

/// Successes among k draws without replacement from n items of which `good` are successes.
std::uint64_t hypergeometric(rng::Draw& g, std::uint64_t n, std::uint64_t good, std::uint64_t k) {
  std::uint64_t hits = 0;
  for (std::uint64_t i = 0; i < k && i < n && hits < good; ++i)
    if (g.uniform() * static_cast<double>(n - i) < static_cast<double>(good - hits)) ++hits;
  return hits;
}

}  // namespace

void count_private_scanned(State& s, std::size_t p, const PrivateScan& v) {
  const PlatformState& P = s.platforms[p];
  const ControlsSpec& c = P.spec->controls;
  const HashMatchingSpec& h = c.hash_matching;
  const ClassifierSpec& cl = c.new_material_classifier;
  // An item is inspected once however many detectors read it.
  const bool groups = (h.enabled && h.public_surfaces) || cl.enabled;
  const bool messages = (h.enabled && h.private_surfaces) || (cl.enabled && cl.private_surfaces);
  const double uploads = (groups ? v.group_private : 0.0) + (messages ? v.dm : 0.0);
  const double conversations = c.grooming_detection.enabled ? v.conversations : 0.0;
  if (uploads + conversations <= 0) return;
  const auto members = static_cast<double>(P.minors_active + P.adults_active);
  const double minor_share = members > 0 ? static_cast<double>(P.minors_active) / members : 0.0;
  s.add(p, Metric::private_items_scanned, uploads + conversations);
  s.add(p, Metric::minor_private_items_scanned, uploads * minor_share + conversations);
}

std::uint64_t private_flags(State& s, std::size_t p, std::uint64_t flagged, double items, double private_items) {
  if (flagged == 0 || private_items <= 0 || items <= 0) return 0;
  const std::uint64_t k = identity(s, p).binomial(flagged, std::min(1.0, private_items / items));
  s.add(p, Metric::benign_private_items_flagged, static_cast<double>(k));
  return k;
}

void private_items_reviewed(State& s, std::size_t p, Channel channel, std::uint64_t n) {
  if (n == 0) return;
  rng::Draw& g = identity(s, p);
  double minors = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (channel == Channel::grooming) {
      // A conversation with a minor: both sides' messages are seen.
      minors += 1;
      mark(s, p, any_minor(s.platforms[p], g), kPrivateReviewed);
      mark(s, p, owner(s, p, channel, g), kPrivateReviewed);
    } else {
      const std::uint32_t u = owner(s, p, channel, g);
      if (u != kNone && s.pop.age[u] < 18) minors += 1;
      mark(s, p, u, kPrivateReviewed);
    }
  }
  s.add(p, Metric::benign_private_items_reviewed, static_cast<double>(n));
  s.add(p, Metric::minor_private_items_reviewed, minors);
}

std::uint64_t wrongful_actions(State& s, std::size_t p, std::uint64_t n, rng::Draw& d, Channel channel,
                               std::uint64_t unseen_private) {
  if (n == 0) return 0;
  const BenignSpec& b = s.spec->benign;
  const ControlsSpec& c = s.platforms[p].spec->controls;
  s.add(p, Metric::false_positive_actions, static_cast<double>(n));
  const std::uint64_t appeals = d.binomial(n, b.appeal_prob);
  const std::uint64_t upheld = d.binomial(appeals, b.appeal_success);
  s.add(p, Metric::appeals, static_cast<double>(appeals));
  s.add(p, Metric::appeals_upheld, static_cast<double>(upheld));
  // Each appeal is a second review.
  s.add(p, Metric::review_hours, static_cast<double>(appeals) * c.review.minutes_per_review / 60.0);
  // The consequences draw from the identity stream, so the draws above stay as they were.
  rng::Draw& g = identity(s, p);
  // An appeal of an automated action on a private item puts it in front of a moderator.
  if (unseen_private > 0 && appeals > 0)
    private_items_reviewed(s, p, channel, hypergeometric(g, n, unseen_private, appeals));
  const ChannelInfo& ch = info(channel);
  if (ch.found_by == FoundBy::detection) {  // a child-safety finding; user reports are about other harms
    if (c.enforcement.zero_tolerance || c.enforcement.strikes_to_ban <= 1) {
      s.add(p, Metric::accounts_wrongly_banned, static_cast<double>(n));
      s.add(p, Metric::accounts_reinstated, static_cast<double>(upheld));
      s.add(p, Metric::reinstatement_wait_days, static_cast<double>(upheld) * b.appeal_delay_days);
    }
    // Confirmed here in review: reported like a true finding (automated ones where they are drawn).
    if (ch.confirmed_here && !ch.automated)
      for (std::uint64_t j = 0; j < n; ++j) report_to_clearinghouse(s, p, kNone);
  }
  for (std::uint64_t j = 0; j < n; ++j) mark(s, p, owner(s, p, channel, g), kWronglyActioned);
  return upheld;
}

void reset_rights_marks(State& s) { s.rights.marks = PairSet{}; }

}  // namespace safesim::detail
