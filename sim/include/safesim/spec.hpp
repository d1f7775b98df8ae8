// safesim: scenario description as plain spec structs with defaults.
//
// The structs are the model's parameters (docs/model/submodels). One function
// template per struct, `describe(V&, T&)`, lists every field once with its
// key, kind, unit, meaning and source. Every consumer walks that one list:
//   - the YAML loader (the only translation unit that includes yaml-cpp) sets
//     fields and validates them,
//   - the parameter dictionary (scenarios/README.md) is generated from it,
//   - the resolved scenario is dumped from it for provenance and Python.
// Adding a control means: a field here, a line in its describe(), and the
// engine code that reads it. Nothing else has to change.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "safesim/limits.hpp"

namespace safesim {

// ---------------------------------------------------------------- enums
enum class PlatformKind : std::uint8_t { social, messaging, gaming, video, file_hosting };
enum class DmPolicy : std::uint8_t { open, requests_inbox, confirm_before_view, connected_only, disabled };
enum class NetworkExpansion : std::uint8_t { on, mutuals, off };
enum class AgeAssurance : std::uint8_t { self_declaration, estimation, verification, inference };
enum class RiskSignal : std::uint8_t { child_safety_reports, detections, actioned };
enum class ProtectionsAgainst : std::uint8_t { per_surface, believed_adults, all_unconnected };
enum class OperatorReporting : std::uint8_t { per_platform, registered, unregistered };

inline std::span<const char* const> enum_names(PlatformKind) {
  static constexpr const char* n[] = {"social", "messaging", "gaming", "video", "file_hosting"};
  return n;
}
inline std::span<const char* const> enum_names(DmPolicy) {
  static constexpr const char* n[] = {"open", "requests_inbox", "confirm_before_view", "connected_only", "disabled"};
  return n;
}
inline std::span<const char* const> enum_names(NetworkExpansion) {
  static constexpr const char* n[] = {"on", "mutuals", "off"};
  return n;
}
inline std::span<const char* const> enum_names(AgeAssurance) {
  static constexpr const char* n[] = {"self_declaration", "estimation", "verification", "inference"};
  return n;
}
inline std::span<const char* const> enum_names(RiskSignal) {
  static constexpr const char* n[] = {"child_safety_reports", "detections", "actioned"};
  return n;
}
inline std::span<const char* const> enum_names(ProtectionsAgainst) {
  static constexpr const char* n[] = {"per_surface", "believed_adults", "all_unconnected"};
  return n;
}
inline std::span<const char* const> enum_names(OperatorReporting) {
  static constexpr const char* n[] = {"per_platform", "registered", "unregistered"};
  return n;
}
template <class E>
const char* enum_name(E e) {
  return enum_names(E{})[static_cast<std::size_t>(e)];
}

// ---------------------------------------------------------------- field metadata
/// What kind of value a field holds; decides validation and documentation.
enum class Kind : std::uint8_t {
  prob,     ///< double in [0, 1]
  rate,     ///< double >= 0 (per day, per hour, a multiplier ...)
  real,     ///< any finite double within [lo, hi]
  count,    ///< integer >= 0
  integer,  ///< integer within [lo, hi]
  boolean,
  choice,  ///< one of an enum's names
  text,    ///< free text
  path,    ///< a file path, relative to the scenario file
};

/// Documentation and bounds of one field. `lo`/`hi` narrow the kind's range.
struct Meta {
  Kind kind;
  const char* unit;
  const char* meaning;
  const char* source;
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
};

inline constexpr const char* kAssumption = "assumption";

// ---------------------------------------------------------------- population
struct VulnerabilitySpec {
  double alpha = 1.0;  // Beta(alpha, beta): mean 0.125, most minors low, a minority high
  double beta = 7.0;
};

struct PopulationSpec {
  std::int64_t users = 10000;
  double minor_share = 0.20;
  std::int64_t youngest_age = 8;
  std::int64_t oldest_age = 70;
  double boy_share = 0.5;
  VulnerabilitySpec vulnerability;
  double activity_sigma = 0.8;
  double signup_share = 0.10;
  double underage_join_prob = 0.6;
  double declared_adult_share = 0.08;
  double displaced_join_prob = 0.0;
  std::int64_t declared_age_spread_years = 5;
  std::string age_bands;  // "9-12,13-15,16-17"; empty: youngest_age-12, 13-15, 16-17
  bool ageing = false;    // birthdays, 18-year-olds leave, children join (ageing.cpp)
};

/// Expected share of users aged lo..hi years (inclusive) under the population's
/// age distribution: minors spread evenly over youngest_age..17, adults over
/// 18..oldest_age (population.cpp, which draws the ages this way).
double share_aged(const PopulationSpec& ps, double lo, double hi);

template <class V>
void describe(V& v, VulnerabilitySpec& s) {
  v.value("alpha", s.alpha,
          {Kind::rate, "1", "Beta shape alpha of minors' vulnerability (propensity to answer strangers)",
           "assumption; concentrated victimisation (Finkelhor, Turner & Colburn 2022)", 0.01, 1000});
  v.value("beta", s.beta, {Kind::rate, "1", "Beta shape beta of minors' vulnerability", kAssumption, 0.01, 1000});
}

template <class V>
void describe(V& v, PopulationSpec& s) {
  v.value(
      "users", s.users,
      {Kind::count, "users", "number of synthetic users in the population", "docs/model/initialization.md", 1, 2e9});
  v.value("minor_share", s.minor_share,
          {Kind::prob, "share", "share of users under 18", "docs/model/initialization.md (20% minors)"});
  v.value("youngest_age", s.youngest_age,
          {Kind::integer, "years",
           "youngest age in the population (children below a platform's minimum age exist and may lie)", kAssumption, 5,
           17});
  v.value("oldest_age", s.oldest_age, {Kind::integer, "years", "oldest adult age", kAssumption, 18, 110});
  v.value("boy_share", s.boy_share, {Kind::prob, "share", "share of minors who are boys", "census (about half)"});
  v.group("vulnerability", [&] { describe(v, s.vulnerability); });
  v.value("activity_sigma", s.activity_sigma,
          {Kind::rate, "log units", "sigma of the log-normal activity multiplier (mean 1) of each user", kAssumption, 0,
           5});
  v.value("signup_share", s.signup_share,
          {Kind::prob, "share",
           "share of accounts created during the horizon (uniform join day); the rest exist at day 0", kAssumption});
  v.value("underage_join_prob", s.underage_join_prob,
          {Kind::prob, "probability",
           "probability that a child below the minimum age joins anyway by declaring an older age",
           "assumption; Ofcom 2024 Children's Media Lives: most under-13s on social media"});
  v.value("declared_adult_share", s.declared_adult_share,
          {Kind::prob, "share", "share of minors old enough to join who declare an adult age at sign-up", kAssumption});
  v.value("displaced_join_prob", s.displaced_join_prob,
          {Kind::prob, "probability",
           "probability that a minor removed from a platform for being under its minimum age (at day 0, or when a "
           "timeline change raises it) opens an account on each other platform of the scenario he is not on, from "
           "the day of removal (that platform's own minimum age then applies to him)",
           "assumption, range 0 to 0.8 (safesim issue 22: children removed by Australia's under-16 law move to "
           "services outside it; no published rate used)"});
  v.value("declared_age_spread_years", s.declared_age_spread_years,
          {Kind::count, "years",
           "a minor who declares a false age picks one uniformly among this many years from the minimum age (or "
           "from 18, when declaring an adult)",
           kAssumption, 1, 50});
  v.value("age_bands", s.age_bands,
          {Kind::text, "",
           "age bands for results by age (Results.summary(by='age_band'), --json groups), as LOW-HIGH ranges in "
           "increasing order, for example \"9-12,13-15,16-17\"; empty: youngest_age to 12, 13-15 and 16-17",
           "user (surveys report by these bands)"});
  v.value("ageing", s.ageing,
          {Kind::boolean, "",
           "minors age: each has a birthday (a day of the year), turns 18 and leaves the minor pool, and new "
           "children join at youngest_age at the rate that keeps the minor pool stationary; enables the cohort "
           "measures (*_ever, cohort_completed, Results.cohort()). Off: ages are fixed for the run",
           "docs/model/submodels/ageing.md (design choice; off by default, see the performance note there)"});
}

// ---------------------------------------------------------------- social graph
struct GraphSpec {
  double mean_degree = 50.0;
  std::int64_t class_size = 25;
  double community_share = 0.6;
  std::int64_t group_size = 150;
  double groups_per_user = 3.0;
  double family_adults_per_minor = 2.0;
  double coach_share = 0.02;
  double coach_minor_ties = 15.0;
  bool on_demand = false;
  std::string edge_list;
};

template <class V>
void describe(V& v, GraphSpec& s) {
  v.value("mean_degree", s.mean_degree,
          {Kind::rate, "ties per user", "mean number of distinct peer ties per user (each pair held once)",
           "docs/model/initialization.md (about 50)", 0, 5000});
  v.value("class_size", s.class_size,
          {Kind::count, "users", "size of an age-assortative community (a school class, or an adult peer circle)",
           kAssumption, 2, 100000});
  v.value("community_share", s.community_share,
          {Kind::prob, "share", "share of a user's peer ties inside the own community (the rest to similar-age users)",
           kAssumption});
  v.value("group_size", s.group_size,
          {Kind::count, "members", "mean size of an interest group (mixed ages)", kAssumption, 2, 1e7});
  v.value("groups_per_user", s.groups_per_user,
          {Kind::rate, "groups", "mean number of interest groups a user belongs to", kAssumption, 0, 1000});
  v.value("family_adults_per_minor", s.family_adults_per_minor,
          {Kind::rate, "ties", "mean number of adult family members connected to each minor (trusted links)",
           kAssumption, 0, 100});
  v.value("coach_share", s.coach_share,
          {Kind::prob, "share", "share of benign adults with a legitimate role with minors (teachers, coaches)",
           kAssumption});
  v.value("coach_minor_ties", s.coach_minor_ties,
          {Kind::rate, "ties", "mean number of minors connected to each teacher or coach (trusted links)", kAssumption,
           0, 10000});
  v.value("on_demand", s.on_demand,
          {Kind::boolean, "",
           "generate each user's peer ties when they are read instead of storing them: ties outside the class "
           "run between paired classes of the age window, with the stored graph's mean degree, degree spread and "
           "class ties; about 21 bytes per membership instead of about 210, for national-size ecosystems (a loaded "
           "edge_list is stored as it is)",
           "docs/model/initialization.md (design choice; off by default)"});
  v.value("edge_list", s.edge_list,
          {Kind::path, "file", "optional edge list (two user indices per line) loaded instead of the generated graph",
           "user data"});
}

// ---------------------------------------------------------------- offenders
/// Mean dwell time in each grooming stage before progressing, in hours.
struct StageHours {
  double engaged = 72;
  double trust = 168;
  double isolation = 72;
  double solicitation = 48;
  /// By open stage: 0 engaged, 1 trust, 2 isolation, 3 solicitation.
  double at(int stage) const {
    return stage == 0 ? engaged : stage == 1 ? trust : stage == 2 ? isolation : solicitation;
  }
};
/// Per-day hazard in each stage (exit or report).
struct StageRates {
  double engaged = 0.10;
  double trust = 0.05;
  double isolation = 0.05;
  double solicitation = 0.15;
  /// By open stage: 0 engaged, 1 trust, 2 isolation, 3 solicitation.
  double at(int stage) const {
    return stage == 0 ? engaged : stage == 1 ? trust : stage == 2 ? isolation : solicitation;
  }
};

struct ChannelWeights {
  double friend_suggestions = 0.3;
  double search = 0.3;
  double public_content = 0.3;
  double groups = 0.1;
};

/// What an offender type needs of a platform when choosing where to open an
/// account (offenders.cpp, platform choice): per surface, the log weight a
/// platform offering it in full gains (exp(need) times the weight of one
/// without it). Matched to PlatformSpec::surfaces.
struct SurfaceNeeds {
  double public_discovery = 1.0;  // a public surface to find victims
  double private_messages = 1.0;  // a private channel to groom
  double file_transfer = 0.0;     // a file channel to share material
};

/// One offender type. The member defaults are the groomer's (the most common
/// type); OffendersSpec() sets the sextortion and distributor values.
struct OffenderTypeSpec {
  double share = 0.6;
  double accounts = 1.5;
  double contacts_per_day = 0.1;
  std::int64_t max_open_dyads = 5;
  double claims_teen_prob = 0.25;
  std::int64_t claimed_teen_age_min = 15;
  std::int64_t claimed_teen_age_max = 17;
  double age_understatement_years = 5.0;
  std::int64_t target_age_min = 11;
  std::int64_t target_age_max = 16;
  double target_boys_share = 0.25;
  double target_selectivity = 0.8;
  ChannelWeights channels{0.35, 0.25, 0.25, 0.15};
  StageHours dwell_hours{12, 30, 12, 36};
  StageRates exit_per_day{0.8, 0.4, 0.4, 1.5};
  StageRates report_per_day{0.01, 0.005, 0.01, 0.05};
  double move_request_prob = 0.67;
  double move_accept_prob = 0.5;
  double repeat_prob = 0.0;
  double reentry_prob = 0.6;
  double reentry_delay_days = 14.0;
  // What an exploitation is (grooming.cpp): the rest of sextortion_share and
  // meeting_share is images obtained without a demand or a meeting.
  double sextortion_share = 0.1;
  double meeting_share = 0.2;
  // Target memory (revisits.cpp): the person returns to a minor who blocked or
  // reported one of his accounts, from another account.
  double revisit_prob = 0.3;
  double revisit_delay_days = 14.0;
  SurfaceNeeds needs;
};

/// How visible each detector is to offenders choosing where to operate
/// (offenders.risk_aversion acts on the sum): weights per detector in use,
/// scaled by the share of messages it can read.
struct DetectionVisibilitySpec {
  double hash = 0.3;
  double classifier = 0.2;
  double grooming = 0.3;
  double behavioural = 0.2;
  double public_only = 0.5;  // hash matching of public surfaces only, as a share of full visibility
};

struct OffendersSpec {
  double share_of_adults = 0.005;
  // Peer perpetrators (offenders.peer): a share of the users aged
  // peer_age_min..peer_age_max, minors among them; 0 = none (docs/model/submodels/offenders.md).
  double peer_share = 0.01;
  std::int64_t peer_age_min = 13;
  std::int64_t peer_age_max = 24;
  bool replacement = true;
  double replacement_interval_days = 30.0;
  double arrivals_per_year = 0.0;
  double risk_aversion = 1.0;
  double readable_channel_value = 0.5;  // a channel the platform can read, as a share of an encrypted one
  DetectionVisibilitySpec detection_visibility;
  OffenderTypeSpec groomer;
  OffenderTypeSpec sextortion;
  OffenderTypeSpec distributor;
  OffenderTypeSpec peer;  // peer-aged perpetrators: sized by peer_share, not by the type shares
  OffendersSpec();
};

template <class V>
void describe(V& v, StageHours& s) {
  v.value("engaged", s.engaged,
          {Kind::rate, "hours", "mean dwell in stage engaged before trust",
           "Lorenzo-Dus & Izura 2016 (18 minutes to 82 hours to first sexual request)", 0.001, 1e6});
  v.value("trust", s.trust,
          {Kind::rate, "hours", "mean dwell in stage trust before isolation", "Lorenzo-Dus & Izura 2016", 0.001, 1e6});
  v.value("isolation", s.isolation,
          {Kind::rate, "hours", "mean dwell in stage isolation before solicitation", "Lorenzo-Dus & Izura 2016", 0.001,
           1e6});
  v.value("solicitation", s.solicitation,
          {Kind::rate, "hours", "mean dwell in stage solicitation before exploitation",
           "NCMEC (sextortion escalates in minutes to hours)", 0.001, 1e6});
}

template <class V>
void describe(V& v, StageRates& s, const char* source) {
  v.value("engaged", s.engaged, {Kind::rate, "per day", "hazard in stage engaged", source, 0, 1000});
  v.value("trust", s.trust, {Kind::rate, "per day", "hazard in stage trust", source, 0, 1000});
  v.value("isolation", s.isolation, {Kind::rate, "per day", "hazard in stage isolation", source, 0, 1000});
  v.value("solicitation", s.solicitation, {Kind::rate, "per day", "hazard in stage solicitation", source, 0, 1000});
}

template <class V>
void describe(V& v, ChannelWeights& s) {
  v.value("friend_suggestions", s.friend_suggestions,
          {Kind::rate, "weight", "relative use of friend suggestions (friends of minors already connected)",
           kAssumption, 0, 1e6});
  v.value("search", s.search,
          {Kind::rate, "weight", "relative use of search and public profiles", kAssumption, 0, 1e6});
  v.value("public_content", s.public_content,
          {Kind::rate, "weight", "relative use of public posts and comments", kAssumption, 0, 1e6});
  v.value("groups", s.groups,
          {Kind::rate, "weight", "relative use of shared groups and communities", kAssumption, 0, 1e6});
}

template <class V>
void describe(V& v, SurfaceNeeds& s) {
  const char* unit = "log weight";
  const char* src = "assumption (docs/model/submodels/offenders.md: defaults and plausible ranges per type)";
  v.value("public_discovery", s.public_discovery,
          {Kind::rate, unit,
           "how much the type values a public surface to find victims (surfaces.public_discovery): a platform "
           "offering it in full has exp(this) times the choice weight of one without it",
           src, 0, 20});
  v.value("private_messages", s.private_messages,
          {Kind::rate, unit,
           "how much the type values a private channel to groom (surfaces.private_messages, worth more the more "
           "of it is end-to-end encrypted and unscanned; offenders.readable_channel_value)",
           src, 0, 20});
  v.value("file_transfer", s.file_transfer,
          {Kind::rate, unit,
           "how much the type values a file channel to share material (surfaces.file_transfer, worth more the more "
           "of the material sent there is end-to-end encrypted and unscanned)",
           src, 0, 20});
}

template <class V>
void describe(V& v, OffenderTypeSpec& s, bool typed_share = true) {
  if (typed_share)  // the peer type is sized by offenders.peer_share instead
    v.value("share", s.share,
            {Kind::prob, "share", "share of offenders of this type (the three shares sum to 1)", kAssumption});
  v.value(
      "accounts", s.accounts,
      {Kind::rate, "accounts",
       "mean number of accounts an offender runs at once (at most 200 at the start and 256 over a run: the key space)",
       "Meta 2025 (3.7 linked accounts per removed account); Meta 2024 (about 125 per sextortion operator)", 1, 128});
  v.value("contacts_per_day", s.contacts_per_day,
          {Kind::rate, "attempts per account-day", "contact attempts to candidate minors per active account per day",
           "assumption (weakly grounded, docs/validation.md)", 0, 1e5});
  v.value("max_open_dyads", s.max_open_dyads,
          {Kind::count, "dyads", "most open dyads an account keeps at once; it stops hunting when full", kAssumption, 1,
           1e6});
  v.value("claims_teen_prob", s.claims_teen_prob,
          {Kind::prob, "probability",
           "probability that an account poses as a teen (a claimed age from claimed_teen_age_min to _max)",
           "Lorenzo-Dus & Izura 2016; NCMEC (sextortion)"});
  v.value("claimed_teen_age_min", s.claimed_teen_age_min,
          {Kind::integer, "years", "youngest age an account posing as a teen claims", kAssumption, 5, 17});
  v.value("claimed_teen_age_max", s.claimed_teen_age_max,
          {Kind::integer, "years", "oldest age an account posing as a teen claims (uniform in between)", kAssumption, 5,
           17});
  v.value("age_understatement_years", s.age_understatement_years,
          {Kind::rate, "years", "years by which an adult-presenting account understates its owner's age",
           "Lorenzo-Dus & Izura 2016 (about 5 years)", 0, 80});
  v.value("target_age_min", s.target_age_min,
          {Kind::integer, "years", "youngest preferred target age", kAssumption, 0, 17});
  v.value(
      "target_age_max", s.target_age_max,
      {Kind::integer, "years", "oldest preferred target age", "Thorn & NCMEC 2024 (sextortion: boys 14-17)", 0, 17});
  v.value(
      "target_boys_share", s.target_boys_share,
      {Kind::prob, "share", "share of preferred targets who are boys", "Thorn & NCMEC 2024 (sextortion: 90% boys)"});
  v.value("target_selectivity", s.target_selectivity,
          {Kind::prob, "probability", "probability of passing over a candidate outside the preferred age and gender",
           kAssumption});
  v.group("channels", [&] { describe(v, s.channels); });
  v.group("dwell_hours", [&] { describe(v, s.dwell_hours); });
  v.group("exit_per_day", [&] { describe(v, s.exit_per_day, "assumption (minor stops replying or blocks)"); });
  v.group("report_per_day", [&] { describe(v, s.report_per_day, "assumption (intent to report, before friction)"); });
  v.value("move_request_prob", s.move_request_prob,
          {Kind::prob, "probability", "probability the offender asks to move the conversation at isolation",
           "Thorn 2022 Online Grooming (about two thirds asked to move platform)"});
  v.value("move_accept_prob", s.move_accept_prob,
          {Kind::prob, "probability", "probability the minor agrees to move", kAssumption});
  v.value("repeat_prob", s.repeat_prob,
          {Kind::prob, "probability",
           "probability that an exploited dyad returns to solicitation (repeat demands after payment)",
           "NCMEC (sextortion repeats after payment)"});
  v.value("reentry_prob", s.reentry_prob,
          {Kind::prob, "probability", "probability a banned account comes back as a new account (ban evasion)",
           "assumption (weakly grounded, docs/validation.md)"});
  v.value("reentry_delay_days", s.reentry_delay_days,
          {Kind::rate, "days", "mean delay before a banned offender returns with a new account", kAssumption, 0, 1e5});
  v.value("sextortion_share", s.sextortion_share,
          {Kind::prob, "share",
           "share of exploitations that are a sextortion demand (a threat to spread images); the images come from the "
           "minor, or from the saved public images of a harvested dyad",
           "assumption (Thorn & NCMEC 2024: sextortion is the financially motivated offenders' aim)"});
  v.value("meeting_share", s.meeting_share,
          {Kind::prob, "share",
           "share of exploitations that are an offline meeting, arranged and taking place (no images counted); the "
           "remaining share is images obtained from the minor with no demand or meeting",
           "assumption (Wolak, Finkelhor, Mitchell & Ybarra 2008: offline meetings are part of internet-initiated "
           "offending)"});
  v.value("revisit_prob", s.revisit_prob,
          {Kind::prob, "probability",
           "probability that the person returns to a minor who blocked or reported one of his accounts, from another "
           "account (his own target list survives blocks, reports and bans)",
           "assumption (returning from new accounts is described by Thorn 2021 and NCMEC for sextortion)"});
  v.value("revisit_delay_days", s.revisit_delay_days,
          {Kind::rate, "days",
           "mean delay (exponential) before such a return; retried at the same mean delay while the person has no "
           "usable account",
           kAssumption, 0, 1e5});
  v.group("needs", [&] { describe(v, s.needs); });
}

template <class V>
void describe(V& v, OffendersSpec& s) {
  v.value("share_of_adults", s.share_of_adults,
          {Kind::prob, "share", "share of adult users who are offenders",
           "docs/model/initialization.md (0.5%); weakly grounded"});
  v.value("peer_share", s.peer_share,
          {Kind::prob, "share",
           "share of users aged peer_age_min to peer_age_max who are peer perpetrators (type offenders.peer; those "
           "under 18 are minors on the platforms); 0 = none. Default 0.01 (range 0.003-0.03): by head count peers "
           "are then about a third of perpetrators, as online abusers under 18 were a third in Finkelhor, Turner & "
           "Colburn 2022 (an order of magnitude, not a fit; the calibrated scenarios fit it)",
           "assumption (docs/model/submodels/offenders.md)"});
  v.value("peer_age_min", s.peer_age_min,
          {Kind::integer, "years", "youngest age of a peer perpetrator", "assumption (older minors)", 10, 110});
  v.value("peer_age_max", s.peer_age_max,
          {Kind::integer, "years", "oldest age of a peer perpetrator (young adults up to this age)",
           "assumption (most YISS solicitors were under 25: Mitchell, Jones, Finkelhor & Wolak 2013)", 10, 110});
  v.value("replacement", s.replacement,
          {Kind::boolean, "",
           "a person who stops for good (removed by law enforcement, or banned with no live account and no return "
           "pending) is replaced by a new offender of the same type (see replacement_interval_days), so the "
           "offender population is stationary",
           "assumption (a stationary offending population; docs/model/entities.md)"});
  v.value("replacement_interval_days", s.replacement_interval_days,
          {Kind::rate, "days",
           "mean days between a person's keyed replacement times (exponential gaps from day 0): one who stops is "
           "replaced at the first of them after he stops, so two designs that move a departure a little replace "
           "him on the same day (common random numbers); below 1, the next day",
           "assumption (vacancies last about half this on average)", 0, 3650});
  v.value("arrivals_per_year", s.arrivals_per_year,
          {Kind::rate, "per year",
           "new offenders arriving per year beyond replacements, as a share of the offenders at day 0 (growth of the "
           "offending population)",
           "assumption (weakly grounded, docs/validation.md)", 0, 100});
  v.value("risk_aversion", s.risk_aversion,
          {Kind::rate, "1",
           "how strongly offenders avoid platforms with visible detection when choosing where to open accounts (0 = go "
           "only where the children are)",
           "assumption (adaptation, docs/model/entities.md)", 0, 100});
  v.value("readable_channel_value", s.readable_channel_value,
          {Kind::prob, "share",
           "what a private or file channel the platform can read (not end-to-end encrypted, or scanned on the "
           "device) is worth to an offender who needs it, as a share of one it cannot read (platform choice)",
           "assumption (offenders prefer encrypted channels; range 0.2-1, 1 = encryption does not matter)"});
  v.group("detection_visibility", [&] {
    auto& w = s.detection_visibility;
    const char* unit = "weight";
    v.value(
        "hash", w.hash,
        {Kind::rate, unit, "visibility of hash matching that covers private messages (scaled by the readable share)",
         kAssumption, 0, 100});
    v.value("classifier", w.classifier,
            {Kind::rate, unit, "visibility of a new-material classifier (scaled by the readable share)", kAssumption, 0,
             100});
    v.value("grooming", w.grooming,
            {Kind::rate, unit, "visibility of grooming detection (scaled by the readable share)", kAssumption, 0, 100});
    v.value("behavioural", w.behavioural,
            {Kind::rate, unit, "visibility of behavioural risk scoring (encryption does not hide behaviour)",
             kAssumption, 0, 100});
    v.value("public_only", w.public_only,
            {Kind::prob, "share", "visibility of hash matching on public surfaces only, as a share of hash's weight",
             kAssumption});
  });
  v.group("groomer", [&] { describe(v, s.groomer); });
  v.group("sextortion", [&] { describe(v, s.sextortion); });
  v.group("distributor", [&] { describe(v, s.distributor); });
  v.group("peer", [&] { describe(v, s.peer, false); });
}

// ---------------------------------------------------------------- controls
struct PrivateByDefault {
  std::int64_t age_threshold = 16;  // minors believed younger than this get a private profile by default
  bool applies_to_existing = false;
  bool minors_can_change = true;
  std::int64_t minors_can_change_from_age = 0;  // believed younger: cannot switch the default off (0 = no band locked)
  std::int64_t existing_age_threshold = -1;     // threshold for accounts that already exist (-1 = age_threshold)
  double change_prob = 0.2;
};
struct NetworkExpansionSpec {
  NetworkExpansion mode = NetworkExpansion::on;
  std::int64_t mutuals_threshold = 2;
  bool exclude_suspicious_adults = false;
};
struct DmPolicyByBand {
  DmPolicy under_13 = DmPolicy::requests_inbox;
  DmPolicy under_16 = DmPolicy::requests_inbox;
  DmPolicy under_18 = DmPolicy::open;
};
struct RequestFiltering {
  bool mutuals_required = false;
  std::int64_t daily_limit_to_minors = 0;  // 0 = no limit
};
struct AgeBandSegregation {
  bool enabled = false;
  std::int64_t max_band_gap = 1;
  bool trusted_links_exempt = true;
};
struct SafetyNudges {
  bool enabled = false;
};
struct SensitiveMediaShield {
  bool enabled = false;
  double exploit_factor = 0.7;
  double forward_factor = 0.5;
};
struct EducationSpec {
  double uptake = 0.0;
  double accept_factor = 0.7;
  double block_factor = 1.3;
  double report_factor = 1.5;
};
struct SuspiciousAdultRestrictions {
  bool enabled = false;
  std::int64_t flag_threshold = 2;
};
struct ParentalSupervision {
  double uptake = 0.05;
  bool locks_settings = true;
};
struct AgeAssuranceSpec {
  AgeAssurance method = AgeAssurance::self_declaration;
  double coverage = 1.0;
  double circumvention = 0.1;
  bool enforce_minimum_age = true;
};
struct ReportingSpec {
  std::int64_t steps = 5;
  bool in_product = true;
  bool child_friendly = false;
  bool feedback = false;
  bool combined_block_report = false;
};
struct ReviewSpec {
  double capacity_per_day = 200;
  double accuracy = 0.9;
  double delay_hours = 24;
  double minutes_per_review = 6;
  double sla_hours = 0;               // 0 = no service-level target for the child-safety class
  double surge_capacity_per_day = 0;  // extra reviews bought to keep the SLA
};
struct TrustedFlaggersSpec {
  bool channel = false;
  double delay_hours = 2;
};
struct EnforcementSpec {
  std::int64_t strikes_to_ban = 3;
  bool zero_tolerance = true;
  double linkage_detection = 0.1;
};

// Detection (docs/model/submodels/detection.md). Content detectors read only surfaces the platform
// can see: end-to-end encrypted messages are invisible unless client-side
// scanning is on. Rates of false positives are per million benign items.
struct HashMatchingSpec {
  bool enabled = false;
  bool public_surfaces = true;    // public posts, comments, public groups
  bool private_surfaces = false;  // private groups, unencrypted messages, storage
  double list_coverage = 0.9;
  double edit_recall = 0.5;
  double fp_per_million = 0.02;
};
struct UrlBlockingSpec {
  bool enabled = false;
  double coverage = 0.5;
};
struct ClassifierSpec {
  bool enabled = false;
  bool private_surfaces = false;
  double recall = 0.6;
  double fp_per_million = 20.0;
};
struct GroomingDetectionSpec {
  bool enabled = false;
  StageRates recall_per_day{0.01, 0.02, 0.04, 0.08};
  double fp_per_million = 5.0;  // benign conversations flagged per million per day
};
struct BehaviouralRiskSpec {
  bool enabled = false;
  double threshold = 6.0;
  double precision = 0.3;
  double contact_points = 1.0;     // per contact attempt to a believed minor across the age gap
  std::int64_t age_gap_years = 5;  // claimed-age gap that makes an attempt count
  double flag_points = 3.0;        // per block or report received from a minor
};
struct SignalSharingSpec {
  bool participates = false;
  double latency_days = 7.0;
  double recall = 0.5;
  double precision = 0.95;
};
/// A platform's own risk assessment (docs/model/submodels, "Platform behaviour"):
/// every `cycle_days` it looks at what it measured over the cycle, per 1,000
/// members, and when that crosses `threshold_per_1k` it switches to its risk
/// response (the platform-level `risk_response`: a policy bundle and keys),
/// for the rest of the run. It sees only its own figures: a platform that
/// detects nothing and makes reporting hard measures little and may never
/// cross the threshold however much harm it hosts.
struct RiskAssessmentSpec {
  bool enabled = false;
  RiskSignal signal = RiskSignal::child_safety_reports;
  double threshold_per_1k = 1.0;
  std::int64_t cycle_days = 90;
};
struct ClearinghouseReportingSpec {
  bool enabled = true;
  double completeness = 0.49;
  double delay_days = 3.0;
};

struct ControlsSpec {
  PrivateByDefault private_by_default;
  NetworkExpansionSpec network_expansion;
  bool hide_connection_lists = false;
  ProtectionsAgainst contact_protections_against = ProtectionsAgainst::per_surface;
  bool group_add_consent = false;
  bool location_hidden = false;
  bool search_restriction = false;
  bool recommender_safety = false;
  bool livestream_restrictions = false;
  std::int64_t livestream_age_threshold = 18;  // believed younger: restricted (18 = every believed minor)
  bool download_restrictions = false;
  DmPolicyByBand dm_policy;
  RequestFiltering request_filtering;
  AgeBandSegregation age_band_segregation;
  SafetyNudges safety_nudges;
  SensitiveMediaShield sensitive_media_shield;
  EducationSpec education;
  SuspiciousAdultRestrictions suspicious_adult_restrictions;
  ParentalSupervision parental_supervision;
  AgeAssuranceSpec age_assurance;
  std::int64_t minimum_age = 13;
  ReportingSpec reporting;
  TrustedFlaggersSpec trusted_flaggers;
  ReviewSpec review;
  EnforcementSpec enforcement;
  HashMatchingSpec hash_matching;
  UrlBlockingSpec url_blocking;
  ClassifierSpec new_material_classifier;
  GroomingDetectionSpec grooming_detection;
  BehaviouralRiskSpec behavioural_risk;
  double e2ee_share = 0.0;        // direct messages (the surface this key always meant)
  double e2ee_group_share = 0.0;  // group chats
  double e2ee_file_share = 0.0;   // files sent within chats through the file-transfer surface
  bool client_side_scanning = false;
  SignalSharingSpec signal_sharing;
  ClearinghouseReportingSpec clearinghouse_reporting;
  double evidence_retention_days = 90;
  RiskAssessmentSpec risk_assessment;
};

template <class V>
void describe(V& v, ControlsSpec& c) {
  v.group("private_by_default", [&] {
    auto& s = c.private_by_default;
    v.value("age_threshold", s.age_threshold,
            {Kind::integer, "years",
             "minors the platform believes younger than this get a private profile by default (0 = none)",
             "Meta 2021 (private by default under 16)", 0, 18});
    v.value("applies_to_existing", s.applies_to_existing,
            {Kind::boolean, "", "a change of this default also resets existing accounts (otherwise only new accounts)",
             kAssumption});
    v.value("minors_can_change", s.minors_can_change,
            {Kind::boolean, "", "minors may switch the default off", kAssumption});
    v.value("minors_can_change_from_age", s.minors_can_change_from_age,
            {Kind::integer, "years",
             "when minors_can_change is true, only minors the platform believes at least this old may switch the "
             "default off themselves; younger ones need a parent, which the model counts as keeping it (0 = every "
             "minor may)",
             "Meta 2024 teen accounts (under-16s need a parent's permission to loosen a setting; 16-17 may change it)",
             0, 18});
    v.value("existing_age_threshold", s.existing_age_threshold,
            {Kind::integer, "years",
             "the age_threshold for accounts that already exist when the default is set (at day 0, or at a timeline "
             "change with applies_to_existing); accounts that join later use age_threshold (-1 = age_threshold for "
             "both)",
             "Meta 2021 (new under-16 accounts private; existing ones only prompted); assumption otherwise", -1, 18});
    v.value("change_prob", s.change_prob,
            {Kind::prob, "probability", "probability a minor switches a protective default off",
             "Meta 2021 (80% accepted private at sign-up); Meta 2025 (97% of 13-15 kept teen defaults)"});
  });
  v.group("network_expansion", [&] {
    auto& s = c.network_expansion;
    v.value("mode", s.mode,
            {Kind::choice, "", "minors in adults' friend suggestions: on, only with enough mutual friends, or off",
             "Ofcom ICU F1"});
    v.value("mutuals_threshold", s.mutuals_threshold,
            {Kind::count, "friends", "mutual friends needed for a suggestion in mode mutuals", kAssumption, 0, 1000});
    v.value("exclude_suspicious_adults", s.exclude_suspicious_adults,
            {Kind::boolean, "", "flagged adults never get minors suggested", "Meta 2021"});
  });
  v.value(
      "hide_connection_lists", c.hide_connection_lists,
      {Kind::boolean, "", "minors' friend lists hidden: friends of friends are no longer browsable", "Ofcom ICU F1"});
  v.value("contact_protections_against", c.contact_protections_against,
          {Kind::choice, "",
           "against whom minors' contact protections apply (friend suggestions, connection lists, search, the DM "
           "policy with mutuals filtering, safety nudges): per_surface (suggestions, lists, search and nudges against "
           "accounts believed adult; DMs against every unconnected account), believed_adults (all of them against "
           "accounts believed adult only: unconnected peers reach minors), all_unconnected (all of them against "
           "every unconnected account, teens and accounts posing as teens included)",
           "Meta 2024 teen accounts (messages only from people followed or connected); Ofcom ICU F1 (unconnected "
           "accounts); per_surface: assumption (the pre-2024 defaults)"});
  v.value(
      "group_add_consent", c.group_add_consent,
      {Kind::boolean, "",
       "minors the platform believes under 18 cannot be added to a group chat by an account their contact "
       "protections apply to (contact_protections_against, as for DMs) and that they are not connected to: "
       "such adds (response.group_add_share of group-channel contacts) are stopped",
       "Meta 2024 teen accounts (only people a teen follows or is connected to can add them to group chats); EU "
       "DSA Art. 28 guidelines (no group add without consent); Ofcom children's codes (decline group invitations)"});
  v.value("location_hidden", c.location_hidden,
          {Kind::boolean, "", "minors' location hidden: removes the 'nearby' share of search discovery",
           "Ofcom ICU F1; EU DSA Art. 28 guidelines"});
  v.value("search_restriction", c.search_restriction,
          {Kind::boolean, "", "minors' profiles are not shown in adults' search results", "Ofcom ICU F1"});
  v.value("recommender_safety", c.recommender_safety,
          {Kind::boolean, "", "minors' public content is not recommended to adults who are not connected",
           "EU DSA Art. 28 guidelines"});
  v.value("livestream_restrictions", c.livestream_restrictions,
          {Kind::boolean, "",
           "minors cannot livestream to strangers: removes the livestream share of public-content discovery "
           "(response.livestream_share)",
           "docs/model/submodels; Ofcom children's codes"});
  v.value("livestream_age_threshold", c.livestream_age_threshold,
          {Kind::integer, "years",
           "when livestream_restrictions is true, only minors the platform believes younger than this are "
           "restricted; older ones may go live, which the model counts as the livestream share of discovery "
           "staying open for them (18 = every believed minor)",
           "Meta 2025 teen accounts (under-16s cannot go Live without a parent's permission, which the model counts "
           "as not going live)",
           0, 18});
  v.value("download_restrictions", c.download_restrictions,
          {Kind::boolean, "",
           "other accounts cannot download minors' images: removes the sextortion leverage of harvested images "
           "(response.harvest_leverage_factor) except for response.download_circumvention (screenshots)",
           "EU DSA Art. 28 guidelines (no download or screenshot of minors' content)"});
  v.group("dm_policy", [&] {
    auto& s = c.dm_policy;
    const char* src = "Meta 2024 teen accounts; Ofcom ICU F1";
    v.value("under_13", s.under_13,
            {Kind::choice, "", "who may message a user the platform believes is under 13", src});
    v.value("under_16", s.under_16,
            {Kind::choice, "", "who may message a user the platform believes is 13 to 15", src});
    v.value("under_18", s.under_18,
            {Kind::choice, "", "who may message a user the platform believes is 16 or 17", src});
  });
  v.group("request_filtering", [&] {
    auto& s = c.request_filtering;
    v.value("mutuals_required", s.mutuals_required,
            {Kind::boolean, "", "requests to minors need at least one mutual connection", kAssumption});
    v.value("daily_limit_to_minors", s.daily_limit_to_minors,
            {Kind::count, "requests per account-day",
             "most requests an adult account may send to minors per day (0 = no limit)", kAssumption, 0, 1e6});
  });
  v.group("age_band_segregation", [&] {
    auto& s = c.age_band_segregation;
    v.value("enabled", s.enabled,
            {Kind::boolean, "", "contact only within nearby believed age bands (<13, 13-15, 16-17, 18+)",
             "Roblox 2024; Yubo"});
    v.value("max_band_gap", s.max_band_gap,
            {Kind::integer, "bands", "largest allowed gap between age bands", kAssumption, 0, 3});
    v.value("trusted_links_exempt", s.trusted_links_exempt,
            {Kind::boolean, "", "family and verified trusted links are exempt", kAssumption});
  });
  v.group("safety_nudges", [&] {
    v.value("enabled", c.safety_nudges.enabled,
            {Kind::boolean, "", "warning at first contact from a stranger adult (effects under response.nudge_*)",
             "Ofcom ICU F2; Meta 2024"});
  });
  v.group("sensitive_media_shield", [&] {
    auto& s = c.sensitive_media_shield;
    v.value("enabled", s.enabled,
            {Kind::boolean, "", "nudity sent to minors is blurred or blocked",
             "Apple Communication Safety; Meta 2024 (nudity protection)"});
    v.value("exploit_factor", s.exploit_factor,
            {Kind::prob, "multiplier",
             "multiplier on the solicitation-to-exploitation rate of on-platform dyads with a believed minor",
             kAssumption});
    v.value("forward_factor", s.forward_factor,
            {Kind::prob, "multiplier",
             "multiplier on the onward sharing of new material from exploitation on the platform (deters forwarding)",
             kAssumption});
  });
  v.group("education", [&] {
    auto& s = c.education;
    v.value("uptake", s.uptake,
            {Kind::prob, "share", "share of minors (and their parents) reached by a safety education campaign",
             "assumption; docs/model/submodels"});
    v.value("accept_factor", s.accept_factor,
            {Kind::prob, "multiplier", "reply multiplier for an educated minor contacted by a stranger", kAssumption});
    v.value("block_factor", s.block_factor,
            {Kind::rate, "multiplier", "block multiplier for an educated minor", kAssumption, 0, 100});
    v.value("report_factor", s.report_factor,
            {Kind::rate, "multiplier", "report intent multiplier for an educated minor (at contact and in a dyad)",
             kAssumption, 0, 100});
  });
  v.group("suspicious_adult_restrictions", [&] {
    auto& s = c.suspicious_adult_restrictions;
    v.value(
        "enabled", s.enabled,
        {Kind::boolean, "",
         "adults flagged by minors' blocks and reports are hidden from minors and cannot message them", "Meta 2021"});
    v.value("flag_threshold", s.flag_threshold,
            {Kind::count, "blocks or reports", "blocks plus reports from minors that flag an adult account",
             kAssumption, 1, 1e6});
  });
  v.group("parental_supervision", [&] {
    auto& s = c.parental_supervision;
    v.value("uptake", s.uptake,
            {Kind::prob, "share", "share of minors under parental supervision", "assumption; Meta 2024 (low uptake)"});
    v.value("locks_settings", s.locks_settings,
            {Kind::boolean, "", "supervised minors cannot switch protective defaults off", kAssumption});
  });
  v.group("age_assurance", [&] {
    auto& s = c.age_assurance;
    v.value("method", s.method,
            {Kind::choice, "", "how the platform learns ages; error per method under age_methods.*",
             "Ofcom 2025 age assurance guidance; EU DSA Art. 28 guidelines"});
    v.value("coverage", s.coverage, {Kind::prob, "share", "share of accounts the method is applied to", kAssumption});
    v.value(
        "circumvention", s.circumvention,
        {Kind::prob, "probability", "probability a minor circumvents the check (keeps the declared age)", kAssumption});
    v.value("enforce_minimum_age", s.enforce_minimum_age,
            {Kind::boolean, "", "accounts believed under the minimum age are removed", kAssumption});
  });
  v.value("minimum_age", c.minimum_age,
          {Kind::integer, "years", "minimum age in the terms of service", "COPPA (13)", 0, 18});
  v.group("reporting", [&] {
    auto& s = c.reporting;
    v.value("steps", s.steps,
            {Kind::count, "steps", "steps to complete a report in the product", "eSafety Commissioner 2022", 1, 100});
    v.value("in_product", s.in_product,
            {Kind::boolean, "", "report from where the harm happens (otherwise an external form, more steps)",
             "Ofcom ICU D1/D2"});
    v.value("child_friendly", s.child_friendly,
            {Kind::boolean, "", "reporting designed for children (raises intent)", "EU DSA Art. 28 guidelines"});
    v.value("feedback", s.feedback,
            {Kind::boolean, "", "reporters hear the outcome (raises later reporting)", "Ofcom ICU D1/D2"});
    v.value("combined_block_report", s.combined_block_report,
            {Kind::boolean, "", "block and report in one action", "Meta 2024"});
  });
  v.group("trusted_flaggers", [&] {
    auto& s = c.trusted_flaggers;
    v.value("channel", s.channel,
            {Kind::boolean, "",
             "notices from trusted flaggers (hotlines) go to the child-safety queue after delay_hours; otherwise "
             "they take the ordinary route (normal queue, review.delay_hours)",
             "EU DSA Art. 22 (priority, without undue delay)"});
    v.value("delay_hours", s.delay_hours,
            {Kind::rate, "hours", "delay from a trusted flagger's notice to entering review through the channel",
             "assumption; EU DSA Art. 22 (without undue delay)", 0, 1e5});
  });
  v.group("review", [&] {
    auto& s = c.review;
    v.value("capacity_per_day", s.capacity_per_day,
            {Kind::rate, "reviews per day", "reviews the platform's moderators complete per day", kAssumption, 0, 1e9});
    v.value("accuracy", s.accuracy,
            {Kind::prob, "probability", "probability a review reaches the right decision",
             "assumption; eSafety 2022 (re-review)"});
    v.value("delay_hours", s.delay_hours,
            {Kind::rate, "hours", "fixed delay from filing to entering review", "eSafety 2022 (4 minutes to 2 days)", 0,
             1e5});
    v.value("minutes_per_review", s.minutes_per_review,
            {Kind::rate, "minutes", "moderator time per review (review_hours)", kAssumption, 0, 1e4});
    v.value("sla_hours", s.sla_hours,
            {Kind::rate, "hours",
             "service-level target from filing to review for the child-safety (high-priority) class; 0 = none",
             "assumption; NetzDG s. 3(2) (24 hours for manifestly unlawful content)", 0, 1e5});
    v.value("surge_capacity_per_day", s.surge_capacity_per_day,
            {Kind::rate, "reviews per day",
             "extra reviews per day the platform buys, used only for child-safety items about to miss the SLA",
             kAssumption, 0, 1e9});
  });
  v.group("enforcement", [&] {
    auto& s = c.enforcement;
    v.value("strikes_to_ban", s.strikes_to_ban,
            {Kind::count, "strikes", "confirmed violations before a ban (other harms)", kAssumption, 1, 100});
    v.value("zero_tolerance", s.zero_tolerance,
            {Kind::boolean, "", "one confirmed child-exploitation violation bans",
             "industry practice (Meta, Google policies)"});
    v.value("linkage_detection", s.linkage_detection,
            {Kind::prob, "probability",
             "probability a returning banned offender's new account is linked and banned at once",
             "assumption (weakly grounded)"});
  });
  v.group("hash_matching", [&] {
    auto& s = c.hash_matching;
    v.value("enabled", s.enabled,
            {Kind::boolean, "", "hash matching of known abuse material (PhotoDNA/PDQ-like)", "Ofcom ICU C9; NCMEC"});
    v.value("public_surfaces", s.public_surfaces,
            {Kind::boolean, "", "scan public posts, comments and public groups", "Ofcom ICU C9"});
    v.value("private_surfaces", s.private_surfaces,
            {Kind::boolean, "", "scan private groups, unencrypted messages and storage", "eSafety 2024 standards"});
    v.value("list_coverage", s.list_coverage,
            {Kind::prob, "share", "share of hashed (known) material whose hash is in the lists this platform uses",
             "assumption; NCMEC (fewer than 50 ESPs used its hash sharing in 2022)"});
    v.value("edit_recall", s.edit_recall,
            {Kind::prob, "probability", "probability an edited (cropped, re-encoded) copy still matches",
             "Steinebach 2024 (perceptual hashes fragile to cropping); ThreatExchange PDQ"});
    v.value("fp_per_million", s.fp_per_million,
            {Kind::rate, "per million uploads", "benign uploads wrongly matched",
             "eSafety 2022 (PhotoDNA about 1 in 50 billion, vendor claim)", 0, 1e6});
  });
  v.group("url_blocking", [&] {
    auto& s = c.url_blocking;
    v.value("enabled", s.enabled,
            {Kind::boolean, "", "block links to known abuse-material URLs (IWF-like list)", "Ofcom ICU C10"});
    v.value("coverage", s.coverage,
            {Kind::prob, "share", "share of shared links to abuse material that the list knows", kAssumption});
  });
  v.group("new_material_classifier", [&] {
    auto& s = c.new_material_classifier;
    v.value("enabled", s.enabled,
            {Kind::boolean, "", "classifier for new (unhashed) abuse material", "Thorn Safer; Google CSAI"});
    v.value("private_surfaces", s.private_surfaces,
            {Kind::boolean, "", "also scan private, unencrypted surfaces", kAssumption});
    v.value("recall", s.recall,
            {Kind::prob, "probability", "probability a new item is flagged at upload", kAssumption});
    v.value("fp_per_million", s.fp_per_million,
            {Kind::rate, "per million uploads", "benign uploads wrongly flagged (go to review)", kAssumption, 0, 1e6});
  });
  v.group("grooming_detection", [&] {
    auto& s = c.grooming_detection;
    v.value("enabled", s.enabled,
            {Kind::boolean, "", "text classifier for grooming on readable conversations",
             "Morris & Hirst 2012 (PAN-2012 F1 0.77-0.83)"});
    v.group("recall_per_day",
            [&] { describe(v, s.recall_per_day, "assumption; PAN-2012 benchmark is optimistic (decoy chats)"); });
    v.value("fp_per_million", s.fp_per_million,
            {Kind::rate, "per million conversation-days", "benign conversations wrongly flagged", kAssumption, 0, 1e6});
  });
  v.group("behavioural_risk", [&] {
    auto& s = c.behavioural_risk;
    v.value("enabled", s.enabled,
            {Kind::boolean, "", "risk score from behaviour: requests to many minors, age gaps, blocks received",
             "Meta 2021 (suspicious adults)"});
    v.value("threshold", s.threshold,
            {Kind::rate, "score",
             "score that sends an account to review (contact_points per attempt across the age gap, flag_points per "
             "block or report)",
             kAssumption, 0, 1e6});
    v.value("contact_points", s.contact_points,
            {Kind::rate, "score",
             "points per contact attempt to a believed minor at least age_gap_years younger than the account claims",
             "assumption (Meta 2021: adults messaging many unconnected teens)", 0, 1e6});
    v.value("age_gap_years", s.age_gap_years,
            {Kind::count, "years", "claimed-age gap over the believed minor that makes a contact attempt score",
             kAssumption, 0, 100});
    v.value("flag_points", s.flag_points,
            {Kind::rate, "score", "points per block or report the account receives from a minor",
             "assumption (Meta 2021: blocks and reports from teens)", 0, 1e6});
    v.value("precision", s.precision,
            {Kind::prob, "share",
             "share of accounts sent to review that are offenders (the rest are benign, in aggregate)", kAssumption});
  });
  v.value("e2ee_share", c.e2ee_share,
          {Kind::prob, "share",
           "share of direct messages (one-to-one conversations and the material sent in them) that are end-to-end "
           "encrypted: the direct-message surface (docs/how-to/operators-and-encryption.md)",
           "docs/model/entities.md"});
  v.value("e2ee_group_share", c.e2ee_group_share,
          {Kind::prob, "share",
           "share of group chats (material posted in groups) that are end-to-end encrypted: the group surface",
           "scenario choice (a rollout encrypts what the real one did)"});
  v.value("e2ee_file_share", c.e2ee_file_share,
          {Kind::prob, "share",
           "share of files sent within chats through the file-transfer surface (content.file_share of chat "
           "material) that are end-to-end encrypted",
           "scenario choice (a rollout encrypts what the real one did)"});
  v.value("client_side_scanning", c.client_side_scanning,
          {Kind::boolean, "",
           "content detectors (hash matching, classifier, grooming detection) also run on end-to-end encrypted "
           "surfaces, on the device",
           "eSafety 2024 standards (alternatives under encryption)"});
  v.group("signal_sharing", [&] {
    auto& s = c.signal_sharing;
    v.value("participates", s.participates,
            {Kind::boolean, "", "shares and receives signals on confirmed offenders (Lantern-like)",
             "Tech Coalition Lantern 2023"});
    v.value("latency_days", s.latency_days,
            {Kind::rate, "days", "delay before a shared signal is acted on", kAssumption, 0, 1e4});
    v.value("recall", s.recall,
            {Kind::prob, "probability", "probability a signal finds the offender's account here", kAssumption});
    v.value("precision", s.precision,
            {Kind::prob, "share", "share of acted-on signals that hit the right person (others are wrongful actions)",
             kAssumption});
  });
  v.group("clearinghouse_reporting", [&] {
    auto& s = c.clearinghouse_reporting;
    v.value("enabled", s.enabled,
            {Kind::boolean, "", "reports confirmed material and enticement to the clearinghouse", "18 U.S.C. 2258A"});
    v.value("completeness", s.completeness,
            {Kind::prob, "share", "completeness of reports; a report is actionable with this probability",
             "NCMEC 2022 (about 49% of ESP reports actionable)"});
    v.value("delay_days", s.delay_days,
            {Kind::rate, "days", "delay from confirmation to the report", kAssumption, 0, 1e4});
  });
  v.value("evidence_retention_days", c.evidence_retention_days,
          {Kind::rate, "days", "days the platform keeps evidence; later law-enforcement requests fail",
           "REPORT Act 2024 (1 year); 90 days before", 0, 1e5});
  v.group("risk_assessment", [&] {
    auto& s = c.risk_assessment;
    const char* src = "Ofcom ICU A1-A7 (risk assessment and review); EU DSA Art. 34-35";
    v.value("enabled", s.enabled,
            {Kind::boolean, "",
             "the platform reviews its measured risk every cycle and switches to its risk_response (platform key) "
             "when the threshold is crossed",
             src});
    v.value("signal", s.signal,
            {Kind::choice, "",
             "what it measures: child-safety reports and trusted flaggers' notices received "
             "(child_safety_reports), accounts and items actioned after detection "
             "(detections), or all child-safety actions (actioned: after detection or report)",
             src});
    v.value("threshold_per_1k", s.threshold_per_1k,
            {Kind::rate, "per 1,000 members per cycle", "measured rate over one cycle that triggers the response",
             kAssumption, 0, 1e9});
    v.value("cycle_days", s.cycle_days,
            {Kind::count, "days", "days between reviews of the measured risk (Ofcom: at least yearly)", src, 1, 36500});
  });
}

// ---------------------------------------------------------------- platform
/// The surfaces a platform offers, as offenders choosing where to open an
/// account see them (offenders.cpp, platform choice; matched to each type's
/// offenders.<type>.needs). 1 = the surface in full, 0 = none. The engine's
/// contact, grooming and sharing mechanics run on every platform whatever
/// these say; they weigh only the choice.
struct SurfacesSpec {
  double public_discovery = 1.0;  // public profiles, search, suggestions, public content and communities
  double private_messages = 1.0;  // one-to-one messages
  double file_transfer = 1.0;     // sending files and albums
};

template <class V>
void describe(V& v, SurfacesSpec& s) {
  const char* src = "scenario choice (docs/model/submodels/offenders.md, platform choice)";
  v.value("public_discovery", s.public_discovery,
          {Kind::prob, "share",
           "how fully the platform offers a public surface to find people (public profiles, search, suggestions, "
           "public content, open communities): 1 = in full, 0 = none (a messenger reached by phone number)",
           src});
  v.value("private_messages", s.private_messages,
          {Kind::prob, "share", "how fully the platform offers one-to-one private messages", src});
  v.value("file_transfer", s.file_transfer,
          {Kind::prob, "share", "how fully the platform offers sending files (images, videos, albums)", src});
}

struct PlatformSpec {
  std::string name = "main";
  PlatformKind kind = PlatformKind::social;
  double user_share = 1.0;
  SurfacesSpec surfaces;
  ControlsSpec controls;
  /// The platform as it runs after its risk assessment fires: this platform
  /// with its `risk_response` applied (resolved by the loader, like a
  /// timeline event). Null when there is no response to switch to.
  std::shared_ptr<const PlatformSpec> on_risk;
  std::string risk_response_description;  ///< the bundle and keys, for the log
};

template <class V>
void describe(V& v, PlatformSpec& p) {
  v.value("kind", p.kind, {Kind::choice, "", "kind of service", "docs/model/entities.md"});
  v.value("user_share", p.user_share,
          {Kind::prob, "share", "share of the population with an account here", kAssumption});
  v.group("surfaces", [&] { describe(v, p.surfaces); });
  v.group("controls", [&] { describe(v, p.controls); });
}

// ---------------------------------------------------------------- behaviour of users
struct AgeMethodError {
  double sd_years = 0;    // error of the age estimate
  double bias_years = 0;  // systematic error (positive = overestimates)
};
struct AgeMethodsSpec {
  AgeMethodError estimation{2.0, 0.5};
  AgeMethodError verification{0.1, 0.0};
  AgeMethodError inference{3.0, 1.0};
  /// The age a method estimates for `true_age`, given a standard normal draw
  /// `z`, rounded and kept in [5, 99]. Not for self_declaration.
  int estimate(AgeAssurance method, int true_age, double z) const {
    const AgeMethodError& e = method == AgeAssurance::estimation     ? estimation
                              : method == AgeAssurance::verification ? verification
                                                                     : inference;
    const long age = std::lround(true_age + e.bias_years + e.sd_years * z);
    return static_cast<int>(age < 5 ? 5 : age > 99 ? 99 : age);
  }
};

struct ResponseSpec {
  double accept_scale = 0.7;
  double teen_disguise_factor = 1.8;
  double block_prob = 0.15;
  double report_intent = 0.06;
  double requests_seen_prob = 0.6;
  double confirm_accept_factor = 0.6;
  double request_fallback_prob = 0.5;
  double connection_accept_factor = 0.6;
  double nudge_accept_factor = 0.7;
  double nudge_block_factor = 1.5;
  double nudge_report_factor = 1.5;
  double step_completion = 0.85;
  std::int64_t external_form_steps = 4;
  double child_friendly_factor = 1.5;
  double feedback_factor = 1.3;
  double combined_report_share = 0.3;
  double supervision_report_factor = 2.0;
  double nearby_share = 0.2;
  double list_browsing_share = 0.5;
  double private_discovery_factor = 0.3;
  double recommender_share = 0.7;
  double voluntary_private_share = 0.3;
  double livestream_share = 0.2;
  double group_add_share = 0.2;
  double harvest_leverage_factor = 1.3;
  double download_circumvention = 0.3;
  double max_accept_prob = 0.95;
  double public_activity_cap = 3.0;
};

template <class V>
void describe(V& v, AgeMethodError& s, const char* source) {
  v.value("sd_years", s.sd_years, {Kind::rate, "years", "standard deviation of the age estimate", source, 0, 50});
  v.value("bias_years", s.bias_years,
          {Kind::real, "years", "mean error of the age estimate (+ = too old)", source, -20, 20});
}

template <class V>
void describe(V& v, AgeMethodsSpec& s) {
  v.group("estimation", [&] {
    describe(v, s.estimation, "Yoti 2023 white paper (facial age estimation MAE about 1.5-2 years for 13-17)");
  });
  v.group("verification", [&] { describe(v, s.verification, "assumption (document checks)"); });
  v.group("inference", [&] { describe(v, s.inference, kAssumption); });
}

template <class V>
void describe(V& v, ResponseSpec& s) {
  v.value("accept_scale", s.accept_scale,
          {Kind::rate, "multiplier", "probability a minor replies to a stranger = accept_scale x vulnerability",
           kAssumption, 0, 100});
  v.value("teen_disguise_factor", s.teen_disguise_factor,
          {Kind::rate, "multiplier", "reply multiplier when the account poses as a teen", kAssumption, 0, 100});
  v.value("block_prob", s.block_prob,
          {Kind::prob, "probability", "probability a minor blocks an unwanted contact", kAssumption});
  v.value("report_intent", s.report_intent,
          {Kind::prob, "probability", "probability a minor sets out to report an unwanted contact (before friction)",
           "Thorn 2021 Responding to Online Threats (few minors report)"});
  v.value("requests_seen_prob", s.requests_seen_prob,
          {Kind::prob, "probability", "probability a message in the requests inbox is ever seen", kAssumption});
  v.value("confirm_accept_factor", s.confirm_accept_factor,
          {Kind::prob, "multiplier", "reply multiplier when the minor must confirm before viewing", kAssumption});
  v.value("request_fallback_prob", s.request_fallback_prob,
          {Kind::prob, "probability",
           "probability an offender blocked from messaging sends a connection request instead", kAssumption});
  v.value("connection_accept_factor", s.connection_accept_factor,
          {Kind::prob, "multiplier", "reply multiplier for a connection request compared with a message", kAssumption});
  v.value("nudge_accept_factor", s.nudge_accept_factor,
          {Kind::prob, "multiplier", "reply multiplier from a safety nudge", "assumption; Meta 2024 (nudges)"});
  v.value("nudge_block_factor", s.nudge_block_factor,
          {Kind::rate, "multiplier", "block multiplier from a safety nudge", kAssumption, 0, 100});
  v.value("nudge_report_factor", s.nudge_report_factor,
          {Kind::rate, "multiplier", "report multiplier from a safety nudge", kAssumption, 0, 100});
  v.value("step_completion", s.step_completion,
          {Kind::prob, "probability", "probability a reporter completes each step; completion = step_completion^steps",
           "assumption; eSafety 2022 (friction)"});
  v.value("external_form_steps", s.external_form_steps,
          {Kind::count, "steps", "extra steps when reporting is not in-product", kAssumption, 0, 100});
  v.value("child_friendly_factor", s.child_friendly_factor,
          {Kind::rate, "multiplier", "report intent multiplier of child-friendly reporting", kAssumption, 0, 100});
  v.value("feedback_factor", s.feedback_factor,
          {Kind::rate, "multiplier", "report intent multiplier of feedback on earlier reports", kAssumption, 0, 100});
  v.value("combined_report_share", s.combined_report_share,
          {Kind::prob, "share", "share of blocks that also report when block and report are one action", kAssumption});
  v.value("supervision_report_factor", s.supervision_report_factor,
          {Kind::rate, "multiplier", "report multiplier when a parent supervises (parent sees contacts)", kAssumption,
           0, 100});
  v.value("nearby_share", s.nearby_share,
          {Kind::prob, "share", "share of search discovery that relies on visible location", kAssumption});
  v.value("list_browsing_share", s.list_browsing_share,
          {Kind::prob, "share",
           "share of friend-of-friend discovery done by browsing connection lists (closed by hide_connection_lists)",
           kAssumption});
  v.value("private_discovery_factor", s.private_discovery_factor,
          {Kind::prob, "multiplier",
           "chance an offender pursues a private profile found by search, relative to a public one", kAssumption});
  v.value("recommender_share", s.recommender_share,
          {Kind::prob, "share",
           "share of public-content discovery that comes from recommendations (closed by recommender_safety)",
           kAssumption});
  v.value("livestream_share", s.livestream_share,
          {Kind::prob, "share",
           "share of public-content discovery that comes from minors' livestreams (closed by livestream_restrictions)",
           kAssumption});
  v.value("group_add_share", s.group_add_share,
          {Kind::prob, "share",
           "share of offender contacts through shared groups made by adding the minor to a new group chat rather "
           "than by a direct message: such a contact passes no DM policy or mutuals filter, only "
           "controls.group_add_consent (and age-band segregation); legitimate adds are benign.group_adds_per_minor_day",
           "assumption, range 0 to 0.5 (no published share found; 0 is the pre-2024 model, in which every group "
           "contact is a DM). Qualitative: FBI San Francisco 'group grooming' warning (6 July 2023, as reported by "
           "Yahoo News); UK police advice to stop children being added to groups by people they do not know "
           "(Derbyshire Constabulary, as reported by brumdaily.uk)"});
  v.value("voluntary_private_share", s.voluntary_private_share,
          {Kind::prob, "share", "share of minors without a private default who make their profile private themselves",
           kAssumption});
  v.value("harvest_leverage_factor", s.harvest_leverage_factor,
          {Kind::rate, "multiplier",
           "multiplier on the solicitation-to-exploitation rate of sextortion dyads whose target had a public profile "
           "and whose images the offender could save (threats with manipulated images)",
           "assumption; FBI public service announcement I-060523-PSA (June 2023)", 1, 100});
  v.value("download_circumvention", s.download_circumvention,
          {Kind::prob, "share",
           "share of sextortion dyads with a public target in which the offender saves images despite "
           "download_restrictions (screenshots, screen recording)",
           kAssumption});
  v.value("max_accept_prob", s.max_accept_prob,
          {Kind::prob, "probability",
           "cap on a minor's probability of replying to an offender, whatever the product of the factors above",
           kAssumption});
  v.value("public_activity_cap", s.public_activity_cap,
          {Kind::rate, "x mean activity",
           "activity at which a minor's public posts are always found through public content (below it, in "
           "proportion to activity)",
           kAssumption, 0.001, 1000});
}

// ---------------------------------------------------------------- benign background
struct BenignSpec {
  double family_contacts_per_minor_day = 0.5;
  double stranger_adult_contacts_per_minor_day = 0.02;
  double peer_stranger_contacts_per_minor_day = 0.2;
  double false_reports_per_1k_users_day = 0.5;
  double stranger_mutual_share = 0.5;
  double appeal_prob = 0.3;
  double appeal_success = 0.8;
  double peer_other_band_share = 0.2;
  double appeal_delay_days = 7.0;
  double group_adds_per_minor_day = 0.01;
};

template <class V>
void describe(V& v, BenignSpec& s) {
  v.value("family_contacts_per_minor_day", s.family_contacts_per_minor_day,
          {Kind::rate, "contacts per minor-day", "legitimate messages from connected family, teachers and coaches",
           kAssumption, 0, 1e4});
  v.value("stranger_adult_contacts_per_minor_day", s.stranger_adult_contacts_per_minor_day,
          {Kind::rate, "contacts per minor-day", "benign first contacts from unconnected adults (new coach, relative)",
           kAssumption, 0, 1e4});
  v.value("peer_stranger_contacts_per_minor_day", s.peer_stranger_contacts_per_minor_day,
          {Kind::rate, "contacts per minor-day", "benign first contacts from unconnected minors (new classmates)",
           kAssumption, 0, 1e4});
  v.value("false_reports_per_1k_users_day", s.false_reports_per_1k_users_day,
          {Kind::rate, "reports per 1,000 user-days",
           "user reports against benign users (review work, wrongful actions)", kAssumption, 0, 1e6});
  v.value("appeal_prob", s.appeal_prob,
          {Kind::prob, "probability", "probability a wrongly actioned benign user appeals", kAssumption});
  v.value("appeal_success", s.appeal_success,
          {Kind::prob, "probability", "probability an appeal of a wrongful action succeeds", kAssumption});
  v.value("appeal_delay_days", s.appeal_delay_days,
          {Kind::rate, "days", "days from a wrongful ban to reinstatement when the appeal succeeds (a fixed delay)",
           kAssumption, 0, 3650});
  v.value("stranger_mutual_share", s.stranger_mutual_share,
          {Kind::prob, "share", "share of benign stranger contacts that share a mutual connection", kAssumption});
  v.value("peer_other_band_share", s.peer_other_band_share,
          {Kind::prob, "share", "share of benign peer contacts that cross into a neighbouring age band", kAssumption});
  v.value("group_adds_per_minor_day", s.group_adds_per_minor_day,
          {Kind::rate, "adds per minor-day",
           "legitimate adds of a minor to a group chat by a peer the minor is not connected to (a class or club "
           "chat); controls.group_add_consent blocks them (legit_contacts_blocked)",
           "assumption, range 0 to 0.1 (about 3.7 adds a year by an unconnected peer; no published rate found; 0 is "
           "the pre-2024 model without group adds)",
           0, 1e4});
}

// ---------------------------------------------------------------- moderation at platform scale
/// Other harm categories (not child safety) in aggregate (sim/src/moderation.cpp). Orders of magnitude
/// only: large platforms' public transparency reports give tens of millions of items actioned a quarter
/// outside spam and fake accounts, for billions of users; every value is an assumption with its range.
struct ModerationSpec {
  double violations_per_1k_users_day = 0.3;
  double detection_share = 0.7;
  double detection_precision = 0.9;
  double auto_action_share = 0.5;
  double report_prob = 0.1;
  double review_accuracy = 0.9;
  double appeal_prob_actioned = 0.05;
  double urgent_share = 0.05;
};

template <class V>
void describe(V& v, ModerationSpec& s) {
  v.value("violations_per_1k_users_day", s.violations_per_1k_users_day,
          {Kind::rate, "items per 1,000 user-days",
           "items breaking a rule of another harm category (hate, harassment, violence, nudity, self-harm, fraud; "
           "not spam or fake accounts) posted; 0 turns other harms off",
           "assumption, range 0.03 to 3 (order of magnitude of large platforms' transparency reports)", 0, 1e6});
  v.value("detection_share", s.detection_share,
          {Kind::prob, "share", "share of other-harm violations a detector flags before any user reports them",
           "assumption, range 0.3 to 0.97 (published proactive rates: high for nudity, low for harassment)"});
  v.value("detection_precision", s.detection_precision,
          {Kind::prob, "share", "share of other-harm detector flags that are violations (the rest flag benign items)",
           "assumption, range 0.6 to 0.99"});
  v.value("auto_action_share", s.auto_action_share,
          {Kind::prob, "share",
           "share of other-harm detector flags actioned automatically, without review (no review capacity used)",
           "assumption, range 0 to 0.95"});
  v.value("report_prob", s.report_prob,
          {Kind::prob, "probability",
           "probability that a user sets out to report an undetected violation (the platform's reporting friction "
           "then applies)",
           "assumption, range 0.01 to 0.5"});
  v.value("review_accuracy", s.review_accuracy,
          {Kind::prob, "probability",
           "probability a review of an other-harm item (a report, founded or not, or a detector flag) or of an "
           "appeal reaches the right decision (context-dependent rules: below child-safety review.accuracy)",
           "assumption, range 0.8 to 0.98"});
  v.value("appeal_prob_actioned", s.appeal_prob_actioned,
          {Kind::prob, "probability",
           "probability that a user rightly actioned for another harm appeals (wrongly actioned users appeal with "
           "benign.appeal_prob)",
           "assumption, range 0.01 to 0.3"});
  v.value("urgent_share", s.urgent_share,
          {Kind::prob, "share",
           "share of other-harm reports and flags sent to review that are triaged urgent (imminent harm: threats, "
           "self-harm) and join the child-safety queue, sharing its capacity in order of arrival; the rest wait "
           "behind all child-safety items",
           "assumption, range 0 to 0.3"});
}

// ---------------------------------------------------------------- abuse material
struct ContentSpec {
  double new_items_per_exploitation = 1.0;
  double exploitation_share_prob = 0.3;
  double uploads_per_day = 0.5;
  double new_share = 0.1;
  double group_share = 0.6;
  double link_share = 0.2;
  double edited_share = 0.3;
  double initial_hashed_share = 0.7;
  double views_per_day_group = 10.0;
  double views_per_day_message = 1.0;
  double lifetime_days = 30.0;
  double viewer_report_per_day = 0.02;
  double trusted_flagger_find_per_day = 0.02;
  double auto_removal_hours = 1.0;
  double benign_uploads_per_user_day = 1.0;
  double reshare_share = 0.5;
  double file_share = 0.0;
};

template <class V>
void describe(V& v, ContentSpec& s) {
  v.value("new_items_per_exploitation", s.new_items_per_exploitation,
          {Kind::rate, "items", "mean new abuse-material items created per exploitation event", kAssumption, 0, 1000});
  v.value("exploitation_share_prob", s.exploitation_share_prob,
          {Kind::prob, "probability", "probability a new item from exploitation is shared onward on the platform",
           kAssumption});
  v.value("uploads_per_day", s.uploads_per_day,
          {Kind::rate, "uploads per account-day", "abuse-material uploads or shares per distributor account per day",
           kAssumption, 0, 1e5});
  v.value("new_share", s.new_share,
          {Kind::prob, "share", "share of distributor uploads that are new (unhashed) material",
           "NCMEC 2022 (mostly known material)"});
  v.value("group_share", s.group_share,
          {Kind::prob, "share", "share of uploads posted to groups (the rest sent in direct messages)", kAssumption});
  v.value("link_share", s.link_share,
          {Kind::prob, "share", "share of shares that are links to material hosted elsewhere (URL lists apply)",
           kAssumption});
  v.value("edited_share", s.edited_share,
          {Kind::prob, "share", "share of copies edited (cropped, re-encoded) to evade hashes", "Steinebach 2024"});
  v.value("initial_hashed_share", s.initial_hashed_share,
          {Kind::prob, "share", "share of already-circulating material whose hash is in the shared list at day 0",
           kAssumption});
  v.value("views_per_day_group", s.views_per_day_group,
          {Kind::rate, "views per item-day", "views of a copy posted in a group, per day until removal", kAssumption, 0,
           1e6});
  v.value("views_per_day_message", s.views_per_day_message,
          {Kind::rate, "views per item-day", "views of a copy sent in a message, per day until removal", kAssumption, 0,
           1e6});
  v.value("lifetime_days", s.lifetime_days,
          {Kind::rate, "days", "mean days a copy stays visible if nobody removes it (deleted, group closed)",
           kAssumption, 0.01, 1e5});
  v.value("viewer_report_per_day", s.viewer_report_per_day,
          {Kind::rate, "per copy-day", "hazard that a bystander reports a visible copy in a group (before friction)",
           kAssumption, 0, 1e3});
  v.value("trusted_flagger_find_per_day", s.trusted_flagger_find_per_day,
          {Kind::rate, "per copy-day",
           "hazard that a trusted flagger (hotline searching public surfaces) finds a visible copy in a group and "
           "sends a notice (no reporting friction)",
           "assumption; IWF (proactive searching since 2014)", 0, 1e3});
  v.value("auto_removal_hours", s.auto_removal_hours,
          {Kind::rate, "hours", "time from a hash match to removal (automated, no human review)", kAssumption, 0, 1e4});
  v.value("benign_uploads_per_user_day", s.benign_uploads_per_user_day,
          {Kind::rate, "uploads per user-day",
           "benign image and video uploads (drawn in aggregate; matter only through false positives)", kAssumption, 0,
           1e4});
  v.value("reshare_share", s.reshare_share,
          {Kind::prob, "share",
           "of a distributor's uploads that are not new material, the share re-sharing an item already seen in the "
           "run (the rest bring circulating material)",
           kAssumption});
  v.value("file_share", s.file_share,
          {Kind::prob, "share",
           "share of material sent in chats (direct messages or groups) through the file-transfer surface, whose "
           "encryption is controls.e2ee_file_share; 0 = attachments travel inline and share their chat's encryption",
           kAssumption});
}

// ---------------------------------------------------------------- clearinghouse and law enforcement
struct ClearinghouseSpec {
  double le_capacity_per_million_users_day = 5.0;
  double le_delay_days = 30.0;
  double le_action_prob = 0.5;
  double bundle_window_days = 0.0;
};

template <class V>
void describe(V& v, ClearinghouseSpec& s) {
  v.value("le_capacity_per_million_users_day", s.le_capacity_per_million_users_day,
          {Kind::rate, "reports per million users per day",
           "actionable reports law enforcement can start work on per day, scaled to the population",
           "assumption; NCMEC (law-enforcement capacity far below report volume)", 0, 1e9});
  v.value("le_delay_days", s.le_delay_days,
          {Kind::rate, "days", "delay from starting on a report to acting (evidence requested from the platform)",
           kAssumption, 0, 1e5});
  v.value("le_action_prob", s.le_action_prob,
          {Kind::prob, "probability",
           "probability that work on an actionable report leads to action against the offender", kAssumption});
  v.value("bundle_window_days", s.bundle_window_days,
          {Kind::rate, "days",
           "bundling: copies of one item that one reporting account (an operator, or a platform of its own) confirms "
           "within this many days of the first are one report carrying a file each (clearinghouse_files); 0 = one "
           "report per copy",
           "NCMEC's bundling of reports about one viral incident (docs/model/submodels/clearinghouse.md)", 0, 3650});
}

// ---------------------------------------------------------------- timeline and whole scenario
/// A scheduled change: from `day` on, platform `platform` runs with `after`.
/// The loader resolves key paths and policy bundles into the full platform spec.
struct TimelineEvent {
  std::int64_t day = 0;
  std::size_t platform = 0;  // index into ScenarioSpec::platforms
  std::string description;   // the keys or bundle that changed, for the log
  PlatformSpec after;
};

/// A company running one or more platforms (docs/how-to/operators-and-encryption.md).
/// Each platform belongs to exactly one operator; a platform not named by any
/// declared operator is its own. An operator keeps one enforcement record
/// (a confirmed ban on one service reaches the person's accounts on the
/// others with `enforcement_reach`), one review organisation (capacity pooled
/// when `pooled_review`) and one clearinghouse reporting account (its reports
/// are counted together in the operator's output scope).
struct OperatorSpec {
  std::string name;
  std::vector<std::size_t> platforms;  // indices into ScenarioSpec::platforms (set by the loader)
  double enforcement_reach = 0.5;
  bool pooled_review = true;
  // One clearinghouse reporting account (clearinghouse.cpp): per_platform
  // leaves each service's controls.clearinghouse_reporting in force;
  // registered and unregistered override them with these.
  OperatorReporting reporting = OperatorReporting::per_platform;
  double completeness = 0.49;
  double delay_days = 3.0;
};

template <class V>
void describe(V& v, OperatorSpec& o) {
  v.value("enforcement_reach", o.enforcement_reach,
          {Kind::prob, "probability",
           "probability that a ban confirmed on one of the operator's services also bans each of the person's "
           "accounts on its other services (one enforcement record; 0 = services enforce alone)",
           "assumption (linking a person's accounts across one company's services is partial)"});
  v.value("pooled_review", o.pooled_review,
          {Kind::boolean, "",
           "one review organisation: the services' review capacities form one pool that works their queues in "
           "order of readiness (false = each service reviews with its own capacity)",
           kAssumption});
  v.value("reporting", o.reporting,
          {Kind::choice, "",
           "the operator's clearinghouse reporting, overriding its services' controls.clearinghouse_reporting: "
           "per_platform (each service's own keys), registered (every service reports all it confirms, from "
           "detection or from users' reports, with the operator's completeness and delay_days) or unregistered "
           "(no service reports; what they confirm counts as clearinghouse_unreported)",
           "18 U.S.C. 2258A(a) (a provider reports once it has actual knowledge; 2258A(f): no duty to scan)"});
  v.value("completeness", o.completeness,
          {Kind::prob, "share",
           "completeness of the operator's reports when registered: a report is actionable with this probability",
           "NCMEC 2022 (about 49% of ESP reports actionable)"});
  v.value("delay_days", o.delay_days,
          {Kind::rate, "days", "delay from confirmation to the report when registered", kAssumption, 0, 1e4});
}

/// A named weighted burden (scenario key `burden: {name: {metric: weight}}`):
/// the weighted sum of metric totals the frontier, reports and checks can use
/// as one burden axis (python/safesim/results.py). Weights are per unit of
/// each metric, in the scenario author's own unit of burden.
struct NamedBurden {
  std::string name;
  std::vector<std::pair<std::string, double>> weights;  // metric name, weight, in the order written
};

struct ScenarioSpec {
  std::string name = "unnamed";
  std::string description;
  std::int64_t seed = 1;
  std::int64_t horizon_days = 365;
  std::int64_t warmup_days = 90;
  double dt_hours = 24.0;
  PopulationSpec population;
  GraphSpec graph;
  OffendersSpec offenders;
  ResponseSpec response;
  AgeMethodsSpec age_methods;
  BenignSpec benign;
  ModerationSpec moderation;
  ContentSpec content;
  ClearinghouseSpec clearinghouse;
  std::vector<PlatformSpec> platforms;  // at least one; order is the run order
  std::vector<TimelineEvent> timeline;  // sorted by day
  std::vector<OperatorSpec> operators;  // declared operators (platforms not named are their own)
  std::vector<std::string> policies;    // bundles applied, for provenance
  /// What each bundle application did, per platform: measures applied, those
  /// waiting for the risk assessment, and those not applied with the reason
  /// ("no measure applies" where a bundle changes nothing), for provenance.
  std::vector<std::string> policy_log;
  /// Users the population stands for per jurisdiction (bundles' size triggers), as declared.
  std::vector<std::pair<std::string, double>> jurisdiction_users;
  std::vector<NamedBurden> burdens;  // named weighted burdens, in order of first definition
  std::string source_file;           // for provenance only
};

/// Scenario-level fields (platforms and timeline are handled by the loader,
/// which describes each platform with describe(V&, PlatformSpec&)).
template <class V>
void describe(V& v, ScenarioSpec& s) {
  v.value("name", s.name, {Kind::text, "", "scenario name", "user"});
  v.value("description", s.description, {Kind::text, "", "what the scenario represents", "user"});
  v.value("seed", s.seed, {Kind::count, "", "base random seed (replicate r uses seed + r)", "user", 0, 9.0e15});
  v.value(
      "horizon_days", s.horizon_days,
      {Kind::count, "days", "simulated days", "docs/model/entities.md (365)", 1, static_cast<double>(kMaxHorizonDays)});
  v.value("warmup_days", s.warmup_days,
          {Kind::count, "days",
           "days simulated before day 0 and not counted: conversations, review queues, flags and bans reach their "
           "running level first (timeline days and metrics count from the end of the warm-up)",
           "docs/model/initialization.md (stationarity check in tests/cpp/test_fidelity.cpp)", 0,
           static_cast<double>(kMaxHorizonDays)});
  v.value("dt_hours", s.dt_hours,
          {Kind::rate, "hours", "tick length for discovery and contact; dyads run in continuous time (must divide 24)",
           "docs/model/entities.md", 0.25, 24});
  v.group("population", [&] { describe(v, s.population); });
  v.group("graph", [&] { describe(v, s.graph); });
  v.group("offenders", [&] { describe(v, s.offenders); });
  v.group("response", [&] { describe(v, s.response); });
  v.group("age_methods", [&] { describe(v, s.age_methods); });
  v.group("benign", [&] { describe(v, s.benign); });
  v.group("moderation", [&] { describe(v, s.moderation); });
  v.group("content", [&] { describe(v, s.content); });
  v.group("clearinghouse", [&] { describe(v, s.clearinghouse); });
}

/// Default offender types (docs/model/entities.md).
inline OffendersSpec::OffendersSpec() {
  // groomer: OffenderTypeSpec's member defaults.
  sextortion.share = 0.03;
  sextortion.accounts = 4.0;
  sextortion.contacts_per_day = 0.5;
  sextortion.max_open_dyads = 20;
  sextortion.claims_teen_prob = 0.8;
  sextortion.age_understatement_years = 0.0;
  sextortion.target_age_min = 14;
  sextortion.target_age_max = 17;
  sextortion.target_boys_share = 0.9;
  sextortion.channels = {0.4, 0.3, 0.2, 0.1};
  sextortion.dwell_hours = {1.0, 1.0, 2.0, 6.0};
  sextortion.exit_per_day = {6.0, 3.0, 3.0, 4.0};
  sextortion.report_per_day = {0.1, 0.1, 0.2, 0.4};
  sextortion.move_request_prob = 0.5;
  sextortion.move_accept_prob = 0.4;
  sextortion.repeat_prob = 0.4;
  sextortion.reentry_prob = 0.95;
  sextortion.reentry_delay_days = 1.0;
  sextortion.sextortion_share = 1.0;
  sextortion.meeting_share = 0.0;
  sextortion.revisit_prob = 0.5;
  sextortion.revisit_delay_days = 2.0;
  sextortion.needs = {1.5, 1.0, 0.0};

  distributor.share = 0.37;
  distributor.accounts = 2.0;
  distributor.contacts_per_day = 0.05;
  distributor.max_open_dyads = 2;
  distributor.claims_teen_prob = 0.1;
  distributor.age_understatement_years = 0.0;
  distributor.target_age_min = 10;
  distributor.target_age_max = 17;
  distributor.target_boys_share = 0.5;
  distributor.channels = {0.2, 0.2, 0.2, 0.4};
  distributor.dwell_hours = {72, 240, 96, 96};
  distributor.exit_per_day = {0.15, 0.05, 0.05, 0.2};
  distributor.report_per_day = {0.01, 0.005, 0.01, 0.05};
  distributor.move_request_prob = 0.6;
  distributor.move_accept_prob = 0.4;
  distributor.repeat_prob = 0.0;
  distributor.reentry_prob = 0.7;
  distributor.reentry_delay_days = 7.0;
  distributor.sextortion_share = 0.05;
  distributor.meeting_share = 0.05;
  distributor.revisit_prob = 0.1;
  distributor.revisit_delay_days = 14.0;
  distributor.needs = {0.0, 0.5, 1.5};

  // Peer perpetrators (older minors and young adults): assumptions, documented
  // in docs/model/submodels/offenders.md. They present their own age (no
  // posing as a teen, no understatement), target minors near their own ages,
  // reach them mostly through people they share (friend suggestions, groups),
  // escalate faster than groomers, move conversations less, meet offline more
  // and persist less after a ban.
  peer.share = 0.0;  // unused: offenders.peer_share sizes the type
  peer.accounts = 1.2;
  peer.contacts_per_day = 0.1;
  peer.max_open_dyads = 3;
  peer.claims_teen_prob = 0.0;
  peer.age_understatement_years = 0.0;
  peer.target_age_min = 13;
  peer.target_age_max = 17;
  peer.target_boys_share = 0.3;
  peer.channels = {0.45, 0.15, 0.2, 0.2};
  peer.dwell_hours = {24, 48, 24, 24};
  peer.exit_per_day = {0.8, 0.4, 0.4, 1.5};
  peer.report_per_day = {0.01, 0.005, 0.01, 0.05};
  peer.move_request_prob = 0.3;
  peer.move_accept_prob = 0.5;
  peer.repeat_prob = 0.1;
  peer.reentry_prob = 0.3;
  peer.reentry_delay_days = 30.0;
  peer.sextortion_share = 0.1;
  peer.meeting_share = 0.3;
  peer.revisit_prob = 0.2;
  peer.revisit_delay_days = 14.0;
  peer.needs = {1.0, 1.0, 0.0};  // as a groomer: a public surface to meet, a private channel to talk
}

/// A scenario with defaults and one platform named "main".
inline ScenarioSpec default_scenario() {
  ScenarioSpec s;
  s.platforms.emplace_back();
  return s;
}

}  // namespace safesim
