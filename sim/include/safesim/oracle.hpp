// safesim: analytic oracle of the dyad process (docs/model/submodels/oracle.md).
//
// With bans switched off (review capacity 0), a dyad is an absorbing
// continuous-time Markov chain with the hazards of sim/src/grooming.cpp:
//   progress = 1 / dwell_hours[s]
//   exit     = exit_per_day[s] / 24 * (1 - v)
//   report   = report_per_day[s] / 24 * intent factor * completion   (0 once moved)
//   detect   = grooming_detection.recall_per_day[s] / 24 if grooming detection
//              is on and the conversation is readable (not end-to-end
//              encrypted, or client-side scanning on)            (0 once moved)
// per hour in stage s, where v is the minor's vulnerability, the intent factor
// is child_friendly x feedback x supervision x education (nudges do not enter
// the dyad hazard) and completion = step_completion ^ steps. What one dyad's
// chain depends on besides the offender type, platform and response is its
// DyadContext. On entering isolation the
// dyad moves off the platform with probability move_request x move_accept.
// In solicitation, progress is multiplied by sensitive_media_shield.exploit_factor
// on the platform (shield on) and by response.harvest_leverage_factor on and
// off it when the offender saved the minor's images (harvested).
//
// The embedded jump chain has eight transient states
//   engaged, trust, isolation (on / moved), solicitation (on / moved),
//   repeat solicitation (on / moved)  -- after a first exploitation that
//                                        the offender repeats (repeat_prob)
// and three absorbing ones: reported, exited, closed after an exploitation.
// Q (transient -> transient) and R (transient -> absorbing) are the jump
// probabilities, N = (I - Q)^-1 the fundamental matrix; from the start state
// (engaged) the absorption probabilities are the first row of N R and the
// expected time is sum_j N[0, j] * (mean holding hours of j). Every
// first-pass state is visited at most once, so N[0, j] is the probability of
// ever reaching j: that gives the per-stage reach probabilities.
//
// The same solver is a fast estimator of per-dyad outcomes for any scenario
// in which bans are rare during a dyad's life.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include <Eigen/Dense>

#include "safesim/spec.hpp"

namespace safesim {

/// Transient states of the dyad chain, in the order of DyadChain's rows.
enum DyadState : int {
  kEngaged = 0,
  kTrust,
  kIsolationOn,
  kIsolationMoved,
  kSolicitationOn,
  kSolicitationMoved,
  kRepeatOn,      ///< back in solicitation after an exploitation (repeat demand), on the platform
  kRepeatMoved,   ///< same, off the platform
  kDyadTransient  ///< number of transient states
};
/// Absorbing states of the dyad chain, in the order of DyadChain's R columns.
enum DyadEnd : int { kEndReported = 0, kEndExited, kEndDetected, kEndClosedAfterExploitation, kDyadAbsorbing };

/// The embedded jump chain of one dyad (one offender type, platform, minor).
struct DyadChain {
  Eigen::Matrix<double, kDyadTransient, kDyadTransient> Q;  ///< transient -> transient jump probabilities
  Eigen::Matrix<double, kDyadTransient, kDyadAbsorbing> R;  ///< transient -> absorbing jump probabilities
  Eigen::Matrix<double, kDyadTransient, 1> hold_hours;      ///< mean holding time in each transient state (hours)
  Eigen::Matrix<double, kDyadTransient, 1>
      exploit_prob;  ///< probability that the jump out of a state is an exploitation
};

/// Per-dyad outcome probabilities and expectations, from the dyad's opening
/// (stage engaged, on the platform).
///
/// Engine metric analogues (divide by dyads_opened, bans off, no censoring):
///   exploited <-> dyads_exploited, reported <-> dyads_reported,
///   exited <-> dyads_exited, expected_days <-> exposure_days,
///   exploitation_events <-> exploitation_events, moved <-> moved_off_platform.
/// With repeat_prob = 0, exploited + reported + exited = 1. With repeats, a
/// dyad may be reported or exited after its first exploitation, and
/// reported + exited + closed_after_exploitation = 1 instead.
struct DyadOutcome {
  double exploited = 0;                     ///< P(ever exploited)
  double images_obtained = 0;               ///< P(exploited and the offender obtains images from the minor)
  double sextorted = 0;                     ///< P(exploited by a sextortion demand)
  double met_offline = 0;                   ///< P(exploited by an offline meeting)
  double reported = 0;                      ///< P(dyad ends by a completed report), at any stage
  double exited = 0;                        ///< P(dyad ends by the minor's exit), at any stage
  double detected = 0;                      ///< P(dyad ends by grooming detection), at any stage
  double closed_after_exploitation = 0;     ///< P(dyad ends right after an exploitation that is not repeated)
  double reported_before_exploitation = 0;  ///< P(reported before any exploitation)
  double exited_before_exploitation = 0;    ///< P(exited before any exploitation)
  double detected_before_exploitation = 0;  ///< P(detected before any exploitation); + exploited + the above = 1
  double reach_trust = 0;                   ///< P(dyad ever reaches stage trust)
  double reach_isolation = 0;               ///< P(ever reaches isolation)
  double reach_solicitation = 0;            ///< P(ever reaches solicitation): analogue of minors_solicited per dyad
  double moved = 0;                         ///< P(dyad moves off the platform)
  double exploitation_events = 0;           ///< expected exploitation events, repeats included
  double expected_days = 0;                 ///< expected days from opening to the dyad's end (exposure per dyad)
  double days_second_moment = 0;            ///< E[days^2] of that time (mixes linearly; sd = sqrt(this - mean^2))
  /// Time-weighted outcomes, E[time of the event in days x 1{event}], for
  /// right-censoring: if dyads open at r per day until the horizon, about
  /// r x exploited_days of them are exploited only after it (likewise for
  /// reported, exited), and r x days_second_moment / 2 exposure days fall after it.
  double exploited_days = 0;  ///< time of the first exploitation
  double reported_days = 0;
  double exited_days = 0;
  double detected_days = 0;
};

/// Everything one dyad's chain depends on besides the offender type, the
/// platform and the response: the minor's vulnerability and the binary
/// conditions that dyad_outcome_mixed mixes over (see MixtureDimension).
struct DyadContext {
  double vulnerability = 0.0;  ///< the minor's vulnerability v (clamped to [0, 1])
  bool supervised = false;     ///< a parent supervises the minor (report intent x supervision_report_factor)
  bool readable = true;        ///< grooming detection can read the conversation (not end-to-end encrypted)
  bool harvested = false;      ///< the offender saved the minor's public images (sextortion leverage, grooming.cpp)
  bool educated = false;  ///< the minor was reached by an education campaign (report intent x education.report_factor)
};

/// Build the jump chain for one offender type on one platform for a minor in `context`.
DyadChain dyad_chain(const OffenderTypeSpec& type, const PlatformSpec& platform, const ResponseSpec& response,
                     const DyadContext& context);

/// Solve a chain from the start state (engaged): N = (I - Q)^-1, B = N R.
DyadOutcome solve_dyad_chain(const DyadChain& chain);

/// Outcome for one minor: dyad_chain + solve_dyad_chain.
DyadOutcome dyad_outcome(const OffenderTypeSpec& type, const PlatformSpec& platform, const ResponseSpec& response,
                         const DyadContext& context);

/// One binary dimension of the mixture in dyad_outcome_mixed: it splits the
/// dyads into those with `flag` set in their DyadContext and the rest. The
/// dimensions are declared once, in a table in oracle.cpp
/// (mixture_dimensions()), which the mixing code iterates over; each has a
/// share the caller may give by name (MixtureShares) instead of its default.
struct MixtureDimension {
  std::string_view flag_name;  ///< name of the DyadContext flag
  bool DyadContext::*flag;     ///< the flag it sets
  std::string_view share;      ///< name of the caller's share (a MixtureShares key)
  std::string_view meaning;    ///< what the share is, and its default
  /// The share's default, from the scenario, for platform `platform`.
  double (*default_share)(const ScenarioSpec& spec, std::size_t platform);
  /// Share of the minors of dyads of `type` on `platform` with the flag set, given the share.
  double (*flag_share)(const ScenarioSpec& spec, std::size_t platform, int type, double share);
  /// Reply-rate factor of minors with the flag set, if the flag changes who
  /// opens dyads (then flag_share is their share among the minors contacted
  /// and the vulnerability weights carry the rest); nullptr if it does not.
  double (*accept_factor)(const PlatformSpec& platform);
};

/// The mixture dimensions, in the order dyad_outcome_mixed nests them.
std::span<const MixtureDimension> mixture_dimensions();

/// Shares given by the caller, by MixtureDimension::share ("public_share");
/// each in [0, 1]. A dimension not named takes its default.
using MixtureShares = std::map<std::string, double, std::less<>>;

/// Offender type by index (0 groomer, 1 sextortion, 2 distributor, 3 peer).
const OffenderTypeSpec& offender_type(const ScenarioSpec& spec, int type);

/// Share of the type's accounts that present as teens (a claimed age under
/// 18): claims_teen_prob, and for peer perpetrators also those under 18, who
/// present their own age (their share from the population's ages in
/// offenders.peer_age_min..peer_age_max). They reply at teen_disguise_factor.
double teen_presenting_share(const ScenarioSpec& spec, int type);

/// Outcome averaged over the minors who open dyads with offender type
/// `type` (0 groomer, 1 sextortion, 2 distributor, 3 peer) on platform `platform`.
/// The binary conditions of a dyad's context are mixed over with the shares of
/// the dimensions of mixture_dimensions() (in `shares`, or their defaults):
///  - education (educated_share, default controls.education.uptake): minors
///    reached by a campaign reply at education.accept_factor times the rate (so
///    they are fewer among dyads than in the population: their vulnerability
///    nodes carry k x accept_factor and mass educated_share) and report at
///    education.report_factor times the intent. Like supervision, it is drawn
///    independently of vulnerability.
///  - encryption (readable_share, default 1 - e2ee_share, or 1 with
///    client_side_scanning on): the share of conversations grooming detection
///    can read.
///  - harvested images (public_share, default 1; sextortion only): a share
///    public_share x (download circumvention if controls.download_restrictions,
///    else 1) of the dyads has the offender holding the minor's images.
///    `public_share` is the share of the type's dyads whose minor has a public
///    profile; the engine knows it only by simulation (private defaults, change
///    rates, discovery), so the caller gives it. The default 1 is an upper
///    bound on the leverage, exact when nobody is private
///    (private_by_default.age_threshold 0, response.voluntary_private_share 0).
///  - supervision (supervised_share, default controls.parental_supervision.uptake):
///    the share of the dyads' minors who are supervised. The default assumes
///    supervision does not change who is contacted; with
///    parental_supervision.locks_settings, supervised minors keep private
///    defaults and are contacted less often, so the uptake overstates their share.
/// Vulnerability is mixed over continuously: the engine opens a dyad when the
/// contacted minor accepts with probability min(0.95, accept_scale x v x
/// disguise), so among dyads v has density proportional to min(0.95, k v) x
/// Beta(v; alpha, beta), with k = accept_scale x teen_disguise_factor for the
/// share teen_presenting_share() of accounts presenting as teens and k = accept_scale
/// otherwise. The cap is handled exactly (the integral is split at v = 0.95 /
/// k). Other reply factors (DM gates, nudges) and their effect on the cap are
/// ignored; they only matter where k v would exceed 0.95.
/// The integrals use Gauss-Jacobi quadrature (Golub-Welsch), which absorbs the
/// Beta density (end-point singularities, or a sharp peak for large alpha and
/// beta) into the weight: min(0.95, k v) = k v - k (v - 0.95/k)^+ gives a
/// size-biased Beta(alpha + 1, beta) integral minus a tail integral.
/// The sensitive-media shield is in the chain itself.
/// Also assumed: every minor in a dyad is believed a minor by the platform
/// (the shield and download restrictions protect all of them; the engine
/// leaves out minors who declared an adult age), and each account-minor pair
/// is contacted about once. An account that keeps contacting the same minor
/// (who neither replied nor blocked) makes the opening chance concave in v and
/// weakens the size bias.
/// Throws std::invalid_argument for a share name that no dimension declares
/// or a share outside [0, 1].
DyadOutcome dyad_outcome_mixed(const ScenarioSpec& spec, std::size_t platform, int type,
                               const MixtureShares& shares = {});

/// Share of dyads of `type` on `platform` in which the offender holds the
/// minor's images, given the share of them with a public profile.
double harvested_share(const ScenarioSpec& spec, std::size_t platform, int type, double public_share);

/// Gauss-Jacobi rule on [-1, 1] for the weight (1 - x)^a (1 + x)^b, a, b > -1:
/// nodes and weights (the weights sum to the weight's integral).
void gauss_jacobi(int n, double a, double b, Eigen::VectorXd& nodes, Eigen::VectorXd& weights);

}  // namespace safesim
