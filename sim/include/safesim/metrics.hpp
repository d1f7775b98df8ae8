// safesim: output metrics. Names are part of the interface (docs/model/design-concepts.md).
//
// A metric is either a flow (counted per day; the run total is the sum over
// days, or a distinct count for the `minors_*` metrics), a level (a stock
// observed at the end of each day; the run total is the mean over days), or a
// derived figure computed from other totals at the end of a run.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace safesim {

enum class MetricKind : std::uint8_t { flow, level, derived };

#define SAFESIM_METRICS(X)                                                                                             \
  X(minors_contacted, flow, "minors", "distinct minors reached by at least one offender contact attempt")              \
  X(minors_engaged, flow, "minors", "distinct minors who replied to an offender (dyad reached engaged)")               \
  X(minors_solicited, flow, "minors", "distinct minors who reached the solicitation stage")                            \
  X(minors_exploited, flow, "minors",                                                                                  \
    "distinct minors exploited: the union of minors_images_obtained, minors_sextorted and minors_met_offline")         \
  X(minors_images_obtained, flow, "minors", "distinct minors from whom an offender obtained sexual images")            \
  X(minors_sextorted, flow, "minors",                                                                                  \
    "distinct minors who received a sextortion demand (a threat to spread images, their own or harvested ones)")       \
  X(minors_met_offline, flow, "minors", "distinct minors who met an offender offline (a meeting arranged and held)")   \
  /* All perpetrators, adult offenders and peers (the metrics above count adult offenders only). */                    \
  X(minors_contacted_any, flow, "minors",                                                                              \
    "distinct minors reached by a contact attempt of any perpetrator: an adult offender or a peer (offenders.peer)")   \
  X(minors_solicited_any, flow, "minors", "distinct minors who reached the solicitation stage with any perpetrator")   \
  X(minors_exploited_any, flow, "minors",                                                                              \
    "distinct minors exploited (any kind) by any perpetrator: the union of minors_images_obtained_any, "               \
    "minors_sextorted_any and minors_met_offline_any")                                                                 \
  X(minors_images_obtained_any, flow, "minors",                                                                        \
    "distinct minors from whom any perpetrator, an adult offender or a peer, obtained sexual images")                  \
  X(minors_sextorted_any, flow, "minors", "distinct minors who received a sextortion demand from any perpetrator")     \
  X(minors_met_offline_any, flow, "minors",                                                                            \
    "distinct minors who met any perpetrator offline (a meeting arranged and held)")                                   \
  X(peer_contact_attempts, flow, "attempts", "peer perpetrators' contact attempts to minors, reached or blocked")      \
  X(peer_contacts_prevented, flow, "attempts", "peer perpetrators' contact attempts to minors blocked by a control")   \
  X(peer_dyads_opened, flow, "dyads", "conversations of a peer perpetrator with a minor opened (the minor replied)")   \
  X(peer_exposure_days, flow, "minor-days", "minor-days spent in open conversations with peer perpetrators")           \
  X(peer_exploitation_events, flow, "events", "exploitation events by peer perpetrators, counting repeats")            \
  X(minors_contacted_per_1k, derived, "per 1,000 minors", "minors_contacted per 1,000 minors on the platform")         \
  X(minors_engaged_per_1k, derived, "per 1,000 minors", "minors_engaged per 1,000 minors on the platform")             \
  X(minors_solicited_per_1k, derived, "per 1,000 minors", "minors_solicited per 1,000 minors on the platform")         \
  X(minors_exploited_per_1k, derived, "per 1,000 minors", "minors_exploited per 1,000 minors on the platform")         \
  X(exploitation_events, flow, "events", "exploitation events, counting sextortion repeats")                           \
  X(dyads_opened, flow, "dyads",                                                                                       \
    "adult offender-minor conversations opened (the minor replied; peers' in peer_dyads_opened)")                      \
  X(dyads_exploited, flow, "dyads", "dyads that reached exploitation (first time; adult and peer perpetrators)")       \
  X(dyads_reported, flow, "dyads", "dyads ended by the minor's completed report (adult and peer perpetrators)")        \
  X(dyads_exited, flow, "dyads", "dyads ended by the minor stopping (safe exit; adult and peer perpetrators)")         \
  X(dyads_ended_by_ban, flow, "dyads",                                                                                 \
    "on-platform dyads ended because the account was banned (adult and peer perpetrators)")                            \
  X(dyads_detected, flow, "dyads", "dyads interrupted by grooming detection (adult and peer perpetrators)")            \
  X(exposure_days, flow, "minor-days",                                                                                 \
    "minor-days spent in open offender dyads, on the platform the conversation is on (or left, if off all platforms)") \
  X(exposure_days_off_platform, flow, "minor-days",                                                                    \
    "the part of exposure_days in dyads moved off all platforms, charged to the platform they left")                   \
  X(moved_off_platform, flow, "dyads", "dyads moved to another platform or off all platforms")                         \
  X(contact_attempts, flow, "attempts", "offender contact attempts to minors, reached or blocked")                     \
  X(contacts_prevented, flow, "attempts", "offender contact attempts to minors blocked by a control")                  \
  X(minors_protected, level, "minors",                                                                                 \
    "minors on the platform whom the platform treats as minors (protections apply)")                                   \
  X(minors_protected_share, level, "share", "minors_protected as a share of minors on the platform")                   \
  X(underage_removed, level, "minors", "children below the minimum age removed by age assurance")                      \
  X(risk_response_active, level, "platforms",                                                                          \
    "platforms running their risk response (1 or 0 per platform): their risk assessment has fired")                    \
  X(offenders_detected, flow, "accounts", "offender accounts actioned after detection (all channels)")                 \
  X(offenders_detected_user_report, flow, "accounts", "offender accounts actioned after a user report")                \
  X(offenders_detected_trusted_flagger, flow, "accounts",                                                              \
    "offender accounts actioned after a trusted flagger's notice")                                                     \
  X(offenders_detected_linkage, flow, "accounts", "returning offender accounts caught by ban-evasion linkage")         \
  X(offenders_detected_hash, flow, "accounts", "offender accounts actioned after a hash match")                        \
  X(offenders_detected_url, flow, "accounts", "offender accounts actioned after a URL-list hit")                       \
  X(offenders_detected_classifier, flow, "accounts", "offender accounts actioned after the new-material classifier")   \
  X(offenders_detected_grooming, flow, "accounts", "offender accounts actioned after grooming detection")              \
  X(offenders_detected_behavioural, flow, "accounts", "offender accounts actioned after behavioural risk scoring")     \
  X(offenders_detected_signal_sharing, flow, "accounts",                                                               \
    "offender accounts actioned on a signal shared by another platform or a sibling service's ban (operators)")        \
  X(offenders_detected_law_enforcement, flow, "accounts", "offender accounts removed by law-enforcement action")       \
  X(time_to_detection_days, derived, "days", "mean days from an offender account's first contact to its ban")          \
  X(user_reports, flow, "reports", "user reports filed (completed)")                                                   \
  X(child_safety_reports, flow, "reports",                                                                             \
    "user reports about offender accounts or abuse material (the child-safety category of user_reports)")              \
  X(minor_reports, flow, "reports", "reports by minors about an offender account that contacted them (completed)")     \
  X(bystander_reports, flow, "reports", "reports by people who saw abuse material in a group (completed)")             \
  X(minor_blocks, flow, "blocks", "offender accounts blocked by a minor they contacted")                               \
  X(minors_blocking, flow, "minors", "distinct minors who blocked an offender account at least once")                  \
  X(minors_reporting, flow, "minors",                                                                                  \
    "distinct minors who completed a report about an offender account at least once")                                  \
  X(recontacts_after_block, flow, "attempts",                                                                          \
    "contact attempts by any account of a person on a minor who blocked or reported one of his accounts")              \
  X(minors_recontacted, flow, "minors",                                                                                \
    "distinct minors contacted again by a person after blocking or reporting one of his accounts")                     \
  X(minors_accepted_stranger, flow, "minors",                                                                          \
    "distinct minors who accepted a request or message from someone they did not know (benign or offender)")           \
  /* Cohort measures (population.ageing; docs/model/submodels/ageing.md): counted on the day a cohort member, a */     \
  /* child who joined at youngest_age during the measured horizon, turns 18. Ecosystem scope only. */                  \
  X(cohort_completed, flow, "minors",                                                                                  \
    "cohort members who turned 18 (joined at youngest_age in the horizon): the denominator of the *_ever measures")    \
  X(minors_contacted_ever, flow, "minors", "cohort_completed members contacted by an adult offender at some age")      \
  X(minors_engaged_ever, flow, "minors", "cohort_completed members who replied to an adult offender at some age")      \
  X(minors_solicited_ever, flow, "minors", "cohort_completed members solicited by an adult offender at some age")      \
  X(minors_exploited_ever, flow, "minors", "cohort_completed members exploited by an adult offender at some age")      \
  X(minors_images_obtained_ever, flow, "minors",                                                                       \
    "cohort_completed members from whom an adult offender obtained images at some age")                                \
  X(minors_sextorted_ever, flow, "minors",                                                                             \
    "cohort_completed members who received an adult offender's sextortion demand")                                     \
  X(minors_met_offline_ever, flow, "minors", "cohort_completed members who met an adult offender offline")             \
  X(minors_accepted_stranger_ever, flow, "minors", "cohort_completed members who accepted a stranger at some age")     \
  X(minors_contacted_any_ever, flow, "minors",                                                                         \
    "cohort_completed members contacted by any perpetrator (adult offender or peer) at some age")                      \
  X(minors_solicited_any_ever, flow, "minors", "cohort_completed members solicited by any perpetrator at some age")    \
  X(minors_exploited_any_ever, flow, "minors",                                                                         \
    "cohort_completed members exploited (any kind) by any perpetrator at some age")                                    \
  X(minors_images_obtained_any_ever, flow, "minors",                                                                   \
    "cohort_completed members from whom any perpetrator obtained images at some age")                                  \
  X(minors_sextorted_any_ever, flow, "minors",                                                                         \
    "cohort_completed members who received a sextortion demand from any perpetrator at some age")                      \
  X(minors_met_offline_any_ever, flow, "minors",                                                                       \
    "cohort_completed members who met any perpetrator offline at some age")                                            \
  X(dyads_aged_out, flow, "dyads", "open offender dyads ended because the minor turned 18 (population.ageing)")        \
  X(trusted_flagger_reports, flow, "notices", "trusted flaggers' notices of abuse-material copies")                    \
  X(reports_actioned, flow, "reports", "reports that led to an action after review")                                   \
  X(review_backlog, level, "reports", "reports waiting for review at the end of the day")                              \
  X(review_sla_breaches, flow, "reports",                                                                              \
    "child-safety items reviewed after their SLA, or still waiting when it passed")                                    \
  X(surge_reviews, flow, "reviews", "reviews bought beyond capacity to keep the SLA (in review_hours)")                \
  X(offenders_banned, flow, "accounts", "offender accounts banned")                                                    \
  X(ban_evasions, flow, "accounts", "banned offenders who returned with a new account")                                \
  X(detections, flow, "flags", "detector flags, true and false, sent to review or auto-actioned")                      \
  X(actioned_by_detection, flow, "actions", "accounts or items actioned that a detector found")                        \
  X(actioned_by_report, flow, "actions",                                                                               \
    "accounts or items actioned that a user report or trusted flagger's notice found")                                 \
  X(proactive_share, derived, "share", "share of actioned items found by detectors rather than reports")               \
  X(material_copies, flow, "copies", "abuse-material copies uploaded or shared")                                       \
  X(material_removed, flow, "copies", "abuse-material copies removed by the platform")                                 \
  X(material_never_detected, flow, "copies", "abuse-material copies that went away without ever being detected")       \
  X(abuse_material_views, flow, "views", "views of abuse material before removal (re-victimisation)")                  \
  X(time_to_removal_hours, derived, "hours", "median hours from upload to removal, removed copies")                    \
  X(time_to_removal_hours_known, derived, "hours", "median hours from upload to removal, known (hashed) material")     \
  X(time_to_removal_hours_new, derived, "hours", "median hours from upload to removal, new material")                  \
  X(new_material_hashed, flow, "items", "new items confirmed and added to the shared hash list (learning loop)")       \
  X(clearinghouse_reports, flow, "reports", "reports the platform sent to the clearinghouse")                          \
  X(clearinghouse_actionable, flow, "reports", "clearinghouse reports complete enough to act on")                      \
  X(clearinghouse_files, flow, "files",                                                                                \
    "abuse-material copies carried by the clearinghouse reports: one per copy reported, several in a bundled report")  \
  X(clearinghouse_unreported, flow, "findings",                                                                        \
    "findings a provider confirmed but did not report: it is unregistered or its clearinghouse reporting is off")      \
  X(law_enforcement_actions, flow, "offenders", "offenders removed from every platform by law enforcement")            \
  X(evidence_expired, flow, "reports", "actionable reports law enforcement could not act on: evidence gone")           \
  X(appeals, flow, "appeals", "appeals by benign users against wrongful actions")                                      \
  X(appeals_upheld, flow, "appeals", "appeals that reversed a wrongful action")                                        \
  X(false_positive_actions, flow, "actions", "benign users wrongly actioned")                                          \
  /* The rights side (docs/model/submodels/review-enforcement.md, "Burdens on ordinary users"). */                     \
  X(minors_wrongly_actioned, flow, "minors",                                                                           \
    "distinct minors wrongly actioned: their account hit by a false finding or a wrong review decision")               \
  X(accounts_wrongly_banned, flow, "accounts",                                                                         \
    "benign accounts banned on a false child-safety finding (detector, behavioural risk, shared signal)")              \
  X(accounts_reinstated, flow, "accounts", "wrongly banned accounts reinstated after a successful appeal")             \
  X(reinstatement_wait_days, flow, "account-days",                                                                     \
    "days wrongly banned accounts waited for reinstatement (benign.appeal_delay_days per upheld appeal)")              \
  X(clearinghouse_reports_benign, flow, "reports",                                                                     \
    "clearinghouse reports about benign users (false reports: a wrongful child-safety action)")                        \
  X(law_enforcement_benign_cases, flow, "cases",                                                                       \
    "actionable clearinghouse reports about benign users that took law-enforcement capacity")                          \
  X(private_items_scanned, flow, "items",                                                                              \
    "benign private items inspected by a content detector, server-side or on the device: images, videos and files "    \
    "in direct messages or encrypted groups, and conversation-days of conversations with minors")                      \
  X(minor_private_items_scanned, flow, "items",                                                                        \
    "the part of private_items_scanned that is minors' own: their uploads and their conversations")                    \
  X(benign_private_items_flagged, flow, "items", "benign private items a content detector wrongly flagged")            \
  X(benign_private_items_reviewed, flow, "items",                                                                      \
    "benign private items a human moderator saw: false flags reviewed, and appeals of automated actions")              \
  X(minor_private_items_reviewed, flow, "items", "the part of benign_private_items_reviewed that is minors' own")      \
  X(users_private_content_reviewed, flow, "users",                                                                     \
    "distinct benign users (minors included) with at least one private item a moderator saw")                          \
  X(minors_private_content_reviewed, flow, "minors", "distinct minors with at least one private item a moderator saw") \
  X(private_reviewed_per_million_scanned, derived, "per million items",                                                \
    "benign_private_items_reviewed per million private_items_scanned")                                                 \
  X(legit_contacts_blocked, flow, "contacts", "benign adult-minor or peer contacts a control prevented")               \
  X(review_hours, flow, "hours", "moderator workload")                                                                 \
  X(reporting_effort, flow, "steps", "steps users spent on reports, completed or abandoned")                           \
  /* Moderation at platform scale (moderation.cpp; review-enforcement.md, "Other harm categories"). */                 \
  X(other_harm_violations, flow, "items",                                                                              \
    "items breaking a rule of another harm category (not child safety) posted: ground truth")                          \
  X(other_harm_reports, flow, "reports",                                                                               \
    "user reports in other harm categories, founded and unfounded (in user_reports)")                                  \
  X(unfounded_reports, flow, "reports", "the part of other_harm_reports about content that breaks no rule")            \
  X(other_harm_flags, flow, "flags", "detector flags in other harm categories, true and false")                        \
  X(other_harm_reports_reviewed, flow, "reports", "other_harm_reports a moderator reviewed")                           \
  X(other_harm_reports_actioned, flow, "reports",                                                                      \
    "other_harm_reports that led to an action after review, rightly or wrongly")                                       \
  X(other_harm_proactive_actions, flow, "actions",                                                                     \
    "other-harm actions on detector flags, automated or reviewed, rightly or wrongly")                                 \
  X(other_harm_wrongful_actions, flow, "actions",                                                                      \
    "other-harm actions on content that broke no rule (in false_positive_actions)")                                    \
  X(other_harm_appeals, flow, "appeals", "appeals against other-harm actions, rightful and wrongful")                  \
  X(other_harm_restored, flow, "actions", "other-harm actions reversed on appeal, rightful and wrongful")              \
  X(other_harm_wrongly_restored, flow, "actions",                                                                      \
    "the part of other_harm_restored that broke a rule (an appeal review error)")                                      \
  X(child_safety_reports_reviewed, flow, "reports", "child_safety_reports a moderator reviewed")                       \
  X(child_safety_reports_actioned, flow, "reports", "child_safety_reports that led to an action after review")         \
  X(report_action_share, derived, "share", "share of user reports actioned after review, both categories")             \
  X(child_safety_report_action_share, derived, "share", "child_safety_reports_actioned / child_safety_reports")        \
  X(other_harm_report_action_share, derived, "share", "other_harm_reports_actioned / other_harm_reports")              \
  X(restored_share, derived, "share", "share of actions reversed on appeal, both categories")                          \
  X(child_safety_restored_share, derived, "share",                                                                     \
    "child-safety actions (right or wrong) reversed on appeal, as a share of them")                                    \
  X(other_harm_restored_share, derived, "share",                                                                       \
    "other_harm_restored / other-harm actions (reports and detector flags)")                                           \
  X(other_harm_proactive_share, derived, "share",                                                                      \
    "share of other-harm actions found by detectors rather than reports")                                              \
  X(proactive_share_all, derived, "share",                                                                             \
    "share of actions found by detectors, both categories (child safety as in proactive_share)")                       \
  X(users, level, "users",                                                                                             \
    "members of the population with an account on the platform, not removed (ecosystem: distinct people)")             \
  X(minors, level, "minors", "users under 18: the denominator of the minors_*_per_1k metrics")                         \
  X(adults, level, "users", "users aged 18 or over")

enum class Metric : std::uint16_t {
#define SAFESIM_X(name, kind, unit, meaning) name,
  SAFESIM_METRICS(SAFESIM_X)
#undef SAFESIM_X
};

struct MetricInfo {
  std::string_view name;
  MetricKind kind;
  std::string_view unit;
  std::string_view meaning;
};

inline constexpr std::array kMetrics = {
#define SAFESIM_X(name, kind, unit, meaning) MetricInfo{#name, MetricKind::kind, unit, meaning},
    SAFESIM_METRICS(SAFESIM_X)
#undef SAFESIM_X
};
inline constexpr std::size_t kMetricCount = kMetrics.size();

constexpr std::size_t idx(Metric m) { return static_cast<std::size_t>(m); }

/// Metrics about minors that are also counted by the minor's age (0 to 17,
/// at the event) and gender: RunOutput::group_totals. A distinct count
/// (minors_*) counts each minor once, in the group they were in when first
/// counted, so the groups of a scope add up to its total.
inline constexpr std::array kGroupMetrics = {
    Metric::minors_contacted,           Metric::minors_engaged,         Metric::minors_solicited,
    Metric::minors_exploited,           Metric::minors_images_obtained, Metric::minors_sextorted,
    Metric::minors_met_offline,         Metric::minors_blocking,        Metric::minors_reporting,
    Metric::minors_recontacted,         Metric::exposure_days,          Metric::contact_attempts,
    Metric::contacts_prevented,         Metric::minor_blocks,           Metric::minor_reports,
    Metric::recontacts_after_block,     Metric::dyads_opened,           Metric::exploitation_events,
    Metric::minors_accepted_stranger,   Metric::minors_contacted_any,   Metric::minors_solicited_any,
    Metric::minors_exploited_any,       Metric::peer_contact_attempts,  Metric::peer_contacts_prevented,
    Metric::peer_dyads_opened,          Metric::peer_exposure_days,     Metric::peer_exploitation_events,
    Metric::minors_images_obtained_any, Metric::minors_sextorted_any,   Metric::minors_met_offline_any};
inline constexpr std::size_t kGroupMetricCount = kGroupMetrics.size();
/// The peer perpetrators' counterpart of an adult offender's minor-level flow
/// (State::add_by), or the metric itself if it has none (not counted for peers).
constexpr Metric peer_metric(Metric m) {
  switch (m) {
    case Metric::contact_attempts:
      return Metric::peer_contact_attempts;
    case Metric::contacts_prevented:
      return Metric::peer_contacts_prevented;
    case Metric::dyads_opened:
      return Metric::peer_dyads_opened;
    case Metric::exposure_days:
      return Metric::peer_exposure_days;
    case Metric::exploitation_events:
      return Metric::peer_exploitation_events;
    default:
      return m;
  }
}
/// Groups: age 0..17 x gender (0 girl, 1 boy); group = age * 2 + boy.
inline constexpr std::size_t kGroupAges = 18;
inline constexpr std::size_t kGroupCount = kGroupAges * 2;
constexpr std::size_t group_of(int age, bool boy) { return static_cast<std::size_t>(age) * 2 + (boy ? 1 : 0); }
/// The slot of metric m in kGroupMetrics, or kGroupMetricCount if it has none.
constexpr std::size_t group_slot(Metric m) {
  for (std::size_t k = 0; k < kGroupMetricCount; ++k)
    if (kGroupMetrics[k] == m) return k;
  return kGroupMetricCount;
}

}  // namespace safesim
