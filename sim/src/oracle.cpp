// Analytic oracle of the dyad process (docs/model/submodels/oracle.md): the embedded jump
// chain of the absorbing continuous-time Markov chain run by grooming.cpp,
// solved with the fundamental matrix, and its mixture over the declared
// dimensions (education, encryption, harvested images, supervision: kMixture)
// and the vulnerability of the minors who open dyads. See safesim/oracle.hpp.
//
// This is a second implementation of the dyad process, independent of the
// engine's: it must not call the simulation code.
#include "safesim/oracle.hpp"
#include "safesim/rng.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace safesim {
namespace {

/// Report completion and intent factor as in reporting.cpp (no nudges).
double report_multiplier(const PlatformSpec& p, const ResponseSpec& r, bool supervised, bool educated) {
  const ReportingSpec& rep = p.controls.reporting;
  const auto steps = static_cast<double>(rep.steps + (rep.in_product ? 0 : r.external_form_steps));
  double f = 1.0;
  if (rep.child_friendly) f *= r.child_friendly_factor;
  if (rep.feedback) f *= r.feedback_factor;
  if (supervised) f *= r.supervision_report_factor;
  if (educated) f *= p.controls.education.report_factor;
  return f * std::pow(r.step_completion, steps);
}

/// Gauss-Jacobi nodes and the logs of their weights normalised to sum 1, and
/// the log of the weight function's integral. Nodes are the eigenvalues of the
/// Jacobi matrix (Golub-Welsch); the weights come from the Christoffel function
/// 1 / sum_k p_k(x)^2 over the orthonormal polynomials, evaluated with the
/// three-term recurrence in scaled form. Unlike squared eigenvector components,
/// this keeps tiny weights (far tails of a peaked weight) accurate in relative
/// terms, which matters when they multiply a large integrand.
void gauss_jacobi_log(int n, double a, double b, Eigen::VectorXd& nodes, Eigen::VectorXd& log_w, double& log_mu0) {
  if (n < 1 || !(a > -1.0) || !(b > -1.0)) throw std::invalid_argument("gauss_jacobi: need n >= 1, a > -1, b > -1");
  Eigen::VectorXd diag(n), sub(std::max(n - 1, 1));
  const double ab = a + b;
  diag(0) = (b - a) / (ab + 2.0);
  for (int k = 1; k < n; ++k) {
    const double t = 2.0 * k + ab;
    diag(k) = (b * b - a * a) / (t * (t + 2.0));
  }
  for (int k = 1; k < n; ++k) {
    const double kk = k, t = 2.0 * k + ab;
    double beta;
    if (k == 1)
      beta = 4.0 * (1.0 + a) * (1.0 + b) / ((2.0 + ab) * (2.0 + ab) * (3.0 + ab));
    else
      beta = 4.0 * kk * (kk + a) * (kk + b) * (kk + ab) / (t * t * (t + 1.0) * (t - 1.0));
    sub(k - 1) = std::sqrt(beta);
  }
  log_mu0 = (ab + 1.0) * std::log(2.0) + rng::log_gamma(a + 1.0) + rng::log_gamma(b + 1.0) - rng::log_gamma(ab + 2.0);
  if (n == 1) {
    nodes = diag;
    log_w = Eigen::VectorXd::Zero(1);
    return;
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es;
  es.computeFromTridiagonal(diag, sub.head(n - 1), Eigen::EigenvaluesOnly);
  if (es.info() != Eigen::Success) throw std::runtime_error("gauss_jacobi: eigen solver failed");
  nodes = es.eigenvalues();
  log_w.resize(n);
  constexpr double kBig = 1e100;
  for (int i = 0; i < n; ++i) {
    const double x = nodes(i);
    double prev = 0.0, cur = 1.0, sum = 1.0, log_scale = 0.0;  // p_0 = 1 (weights normalised)
    for (int k = 0; k + 1 < n; ++k) {
      const double next = ((x - diag(k)) * cur - (k > 0 ? sub(k - 1) * prev : 0.0)) / sub(k);
      sum += next * next;
      prev = cur;
      cur = next;
      if (std::abs(cur) > kBig) {
        prev /= kBig;
        cur /= kBig;
        sum /= kBig * kBig;
        log_scale += std::log(kBig);
      }
    }
    log_w(i) = -(std::log(sum) + 2.0 * log_scale);
  }
}

/// The mixture dimensions: the one declaration that dyad_outcome_mixed
/// iterates over, in nesting order (outermost first). A dimension with an
/// accept_factor changes who opens dyads, so it is folded into the
/// vulnerability nodes; the others are mixed at each node. Each dimension's two
/// arms are taken in the order: the DyadContext default first.
constexpr std::array<MixtureDimension, 4> kMixture{{
    {"educated", &DyadContext::educated, "educated_share",
     "share of the minors reached by an education campaign (default controls.education.uptake); they reply at "
     "education.accept_factor times the rate, so they are fewer among dyads, and report at "
     "education.report_factor times the intent",
     [](const ScenarioSpec& spec, std::size_t platform) { return spec.platforms[platform].controls.education.uptake; },
     [](const ScenarioSpec&, std::size_t, int, double share) { return share; },
     [](const PlatformSpec& p) { return p.controls.education.accept_factor; }},
    {"readable", &DyadContext::readable, "readable_share",
     "share of the conversations grooming detection can read (default 1 - e2ee_share, or 1 with "
     "client_side_scanning on)",
     [](const ScenarioSpec& spec, std::size_t platform) {
       const ControlsSpec& c = spec.platforms[platform].controls;
       return c.client_side_scanning ? 1.0 : 1.0 - c.e2ee_share;
     },
     [](const ScenarioSpec&, std::size_t, int, double share) { return share; }, nullptr},
    {"harvested", &DyadContext::harvested, "public_share",
     "share of the dyads' minors with a public profile, whose images a sextortion offender saves (leverage, "
     "response.harvest_leverage_factor) unless download_restrictions stop it (bar the download_circumvention "
     "share); default 1, an upper bound on the leverage; no effect for groomers and distributors",
     [](const ScenarioSpec&, std::size_t) { return 1.0; }, &harvested_share, nullptr},
    {"supervised", &DyadContext::supervised, "supervised_share",
     "share of the dyads' minors supervised by a parent (default controls.parental_supervision.uptake, which "
     "overstates it when parental_supervision.locks_settings keeps supervised minors private)",
     [](const ScenarioSpec& spec, std::size_t platform) {
       return spec.platforms[platform].controls.parental_supervision.uptake;
     },
     [](const ScenarioSpec&, std::size_t, int, double share) { return share; }, nullptr},
}};

/// Share of the minors with the flag set, per dimension of kMixture.
using FlagShares = std::array<double, kMixture.size()>;

/// Calls f(context, weight) for every combination of the arms of the
/// dimensions `dims` (indices into kMixture, nested in that order), starting
/// from `context` and weight `w`; an arm's weight is its share, and arms of
/// weight 0 are left out.
template <class F>
void for_each_arm(std::span<const std::size_t> dims, const FlagShares& shares, DyadContext context, double w, F&& f) {
  if (dims.empty()) {
    f(context, w);
    return;
  }
  const MixtureDimension& dim = kMixture[dims.front()];
  const double share = shares[dims.front()];
  const bool first = DyadContext{}.*dim.flag;
  for (const bool set : {first, !first}) {
    const double arm = set ? share : 1.0 - share;
    if (!(arm > 0.0)) continue;
    context.*dim.flag = set;
    for_each_arm(dims.subspan(1), shares, context, w * arm, f);
  }
}

/// One quadrature point of the vulnerability mixture: log |weight|, the
/// weight's sign, and the context of its minors (v and the flags of the
/// dimensions folded into the nodes).
struct Node {
  double log_w, sign;
  DyadContext context;
};

constexpr int kNodes = 64;
constexpr double kAcceptCap = 0.95;

/// Append nodes for the unnormalised density min(cap, k v) v^(alpha-1) (1-v)^(beta-1)
/// on [0, 1], scaled by `mass` (> 0). With c = cap / k,
///   min(cap, k v) = k v - k (v - c)^+ ,
/// so the integral is a size-biased Beta integral, whose Jacobi weight
/// (1-v)^(beta-1) v^alpha is integrated exactly however peaked it is, minus a
/// tail integral over [c, 1] with Jacobi weight (1-v)^(beta-1) (v-c); what is
/// left for the rule, v^(alpha-1) f(v), is smooth there (and a polynomial for
/// integer alpha, so the tail rule gets alpha / 2 more nodes).
void add_accept_nodes(std::vector<Node>& out, double alpha, double beta, double k, double mass,
                      const DyadContext& context) {
  auto node = [&context](double v, double log_w, double sign) {
    Node n{log_w, sign, context};
    n.context.vulnerability = v;
    return n;
  };
  if (!(k > 0) || !(mass > 0)) return;
  Eigen::VectorXd x, lw;
  double log_mu0;
  const double log_mass = std::log(mass);
  // k v v^(alpha-1) (1-v)^(beta-1) on [0,1]: v = (1+x)/2, Jacobi a = beta-1, b = alpha.
  gauss_jacobi_log(kNodes, beta - 1.0, alpha, x, lw, log_mu0);
  const double base = log_mass + std::log(k) + log_mu0 - (alpha + beta) * std::log(2.0);
  for (int i = 0; i < x.size(); ++i) out.push_back(node((1.0 + x(i)) / 2.0, base + lw(i), 1.0));
  const double c = kAcceptCap / k;  // the cap binds above c
  if (c >= 1.0) return;
  // - k (v-c) v^(alpha-1) (1-v)^(beta-1) on [c,1]: v = c + h (1+x), h = (1-c)/2, Jacobi a = beta-1, b = 1.
  const int n_tail = static_cast<int>(std::clamp(kNodes + alpha / 2.0, double{kNodes}, 256.0));
  gauss_jacobi_log(n_tail, beta - 1.0, 1.0, x, lw, log_mu0);
  const double h = (1.0 - c) / 2.0;
  const double tail = log_mass + std::log(k) + (beta + 1.0) * std::log(h) + log_mu0;
  for (int i = 0; i < x.size(); ++i) {
    const double v = c + h * (1.0 + x(i));
    out.push_back(node(v, tail + lw(i) + (alpha - 1.0) * std::log(v), -1.0));
  }
}

void accumulate(DyadOutcome& acc, const DyadOutcome& o, double w) {
  acc.exploited += w * o.exploited;
  acc.images_obtained += w * o.images_obtained;
  acc.sextorted += w * o.sextorted;
  acc.met_offline += w * o.met_offline;
  acc.reported += w * o.reported;
  acc.exited += w * o.exited;
  acc.detected += w * o.detected;
  acc.detected_before_exploitation += w * o.detected_before_exploitation;
  acc.detected_days += w * o.detected_days;
  acc.closed_after_exploitation += w * o.closed_after_exploitation;
  acc.reported_before_exploitation += w * o.reported_before_exploitation;
  acc.exited_before_exploitation += w * o.exited_before_exploitation;
  acc.reach_trust += w * o.reach_trust;
  acc.reach_isolation += w * o.reach_isolation;
  acc.reach_solicitation += w * o.reach_solicitation;
  acc.moved += w * o.moved;
  acc.exploitation_events += w * o.exploitation_events;
  acc.expected_days += w * o.expected_days;
  acc.days_second_moment += w * o.days_second_moment;
  acc.exploited_days += w * o.exploited_days;
  acc.reported_days += w * o.reported_days;
  acc.exited_days += w * o.exited_days;
}

}  // namespace

void gauss_jacobi(int n, double a, double b, Eigen::VectorXd& nodes, Eigen::VectorXd& weights) {
  double log_mu0;
  Eigen::VectorXd log_w;
  gauss_jacobi_log(n, a, b, nodes, log_w, log_mu0);
  weights = (log_w.array() + log_mu0).exp().matrix();
}

std::span<const MixtureDimension> mixture_dimensions() { return kMixture; }

DyadChain dyad_chain(const OffenderTypeSpec& t, const PlatformSpec& platform, const ResponseSpec& response,
                     const DyadContext& context) {
  DyadChain c;
  c.Q.setZero();
  c.R.setZero();
  c.hold_hours.setZero();
  c.exploit_prob.setZero();
  const double v = std::clamp(context.vulnerability, 0.0, 1.0);
  const double report_mult = report_multiplier(platform, response, context.supervised, context.educated);
  const double move = t.move_request_prob * t.move_accept_prob;
  const double repeat = t.repeat_prob;

  // Fill one state: stage s (0..3), on or off the platform, and where progress leads.
  auto fill = [&](int state, int stage, bool on_platform, auto&& on_progress) {
    double progress = 1.0 / t.dwell_hours.at(stage);
    const SensitiveMediaShield& shield = platform.controls.sensitive_media_shield;
    if (stage == 3 && on_platform && shield.enabled) progress *= shield.exploit_factor;  // as grooming.cpp
    if (stage == 3 && context.harvested) progress *= response.harvest_leverage_factor;   // on and off the platform
    const double exit = t.exit_per_day.at(stage) / 24.0 * (1.0 - v);
    const double report = on_platform ? t.report_per_day.at(stage) / 24.0 * report_mult : 0.0;
    const GroomingDetectionSpec& g = platform.controls.grooming_detection;
    const double detect = on_platform && g.enabled && context.readable ? g.recall_per_day.at(stage) / 24.0 : 0.0;
    const double total = progress + exit + report + detect;
    c.hold_hours(state) = 1.0 / total;
    c.R(state, kEndExited) = exit / total;
    c.R(state, kEndReported) = report / total;
    c.R(state, kEndDetected) = detect / total;
    on_progress(progress / total);
  };
  fill(kEngaged, 0, true, [&](double p) { c.Q(kEngaged, kTrust) = p; });
  fill(kTrust, 1, true, [&](double p) {
    c.Q(kTrust, kIsolationOn) = p * (1.0 - move);
    c.Q(kTrust, kIsolationMoved) = p * move;
  });
  fill(kIsolationOn, 2, true, [&](double p) { c.Q(kIsolationOn, kSolicitationOn) = p; });
  fill(kIsolationMoved, 2, false, [&](double p) { c.Q(kIsolationMoved, kSolicitationMoved) = p; });
  // Solicitation (first or repeat): progress is an exploitation, repeated with
  // probability repeat_prob (back to solicitation), otherwise the dyad closes.
  auto exploit = [&](int from, int repeat_state) {
    return [&, from, repeat_state](double p) {
      c.exploit_prob(from) = p;
      c.Q(from, repeat_state) += p * repeat;
      c.R(from, kEndClosedAfterExploitation) = p * (1.0 - repeat);
    };
  };
  fill(kSolicitationOn, 3, true, exploit(kSolicitationOn, kRepeatOn));
  fill(kSolicitationMoved, 3, false, exploit(kSolicitationMoved, kRepeatMoved));
  fill(kRepeatOn, 3, true, exploit(kRepeatOn, kRepeatOn));
  fill(kRepeatMoved, 3, false, exploit(kRepeatMoved, kRepeatMoved));
  return c;
}

DyadOutcome solve_dyad_chain(const DyadChain& c) {
  using Mat = Eigen::Matrix<double, kDyadTransient, kDyadTransient>;
  using Vec = Eigen::Matrix<double, kDyadTransient, 1>;
  // N = (I - Q)^-1 (8 x 8). Q is block upper triangular: first-pass states
  // (engaged .. solicitation) never return from the repeat states.
  const Mat N = (Mat::Identity() - c.Q).partialPivLu().inverse();
  const Vec n = N.row(kEngaged).transpose();
  const Eigen::Matrix<double, kDyadTransient, kDyadAbsorbing> B = N * c.R;
  const Eigen::Matrix<double, 1, kDyadAbsorbing> b = B.row(kEngaged);

  DyadOutcome o;
  o.reported = b(kEndReported);
  o.exited = b(kEndExited);
  o.detected = b(kEndDetected);
  o.closed_after_exploitation = b(kEndClosedAfterExploitation);
  // First-pass states (engaged .. solicitation) are visited at most once.
  for (int j = kEngaged; j <= kSolicitationMoved; ++j) {
    o.reported_before_exploitation += n(j) * c.R(j, kEndReported);
    o.exited_before_exploitation += n(j) * c.R(j, kEndExited);
    o.detected_before_exploitation += n(j) * c.R(j, kEndDetected);
  }
  o.exploited =
      n(kSolicitationOn) * c.exploit_prob(kSolicitationOn) + n(kSolicitationMoved) * c.exploit_prob(kSolicitationMoved);
  o.reach_trust = n(kTrust);
  o.reach_isolation = n(kIsolationOn) + n(kIsolationMoved);
  o.reach_solicitation = n(kSolicitationOn) + n(kSolicitationMoved);
  o.moved = n(kIsolationMoved);
  o.exploitation_events = n.dot(c.exploit_prob);
  o.expected_days = n.dot(c.hold_hours) / 24.0;
  // Second moment of the time to absorption. From state i, T_i = H_i + T_next
  // with H_i exponential (mean h_i) independent of the jump, so
  // E[T^2] = N (2 h^2 + 2 h * (Q E[T])), with E[T] = N h for every start state.
  const Vec mean_hours = N * c.hold_hours;
  const Vec rhs = 2.0 * c.hold_hours.cwiseProduct(c.hold_hours + c.Q * mean_hours);
  const Vec second = N * rhs;
  o.days_second_moment = second(kEngaged) / (24.0 * 24.0);
  // Time-weighted outcomes: E[T 1{k}] = sum_j n_j h_j P(k | j) (Markov property).
  const Vec nh = n.cwiseProduct(c.hold_hours) / 24.0;
  o.reported_days = nh.dot(B.col(kEndReported));
  o.exited_days = nh.dot(B.col(kEndExited));
  o.detected_days = nh.dot(B.col(kEndDetected));
  // First exploitation: the first-pass states alone, with exploitation
  // absorbing; by the block structure their fundamental matrix is N's corner.
  constexpr int F = kSolicitationMoved + 1;
  const Eigen::Matrix<double, F, 1> x1 = N.topLeftCorner<F, F>() * c.exploit_prob.head<F>();
  o.exploited_days = nh.head<F>().dot(x1);
  return o;
}

DyadOutcome dyad_outcome(const OffenderTypeSpec& type, const PlatformSpec& platform, const ResponseSpec& response,
                         const DyadContext& context) {
  DyadOutcome o = solve_dyad_chain(dyad_chain(type, platform, response, context));
  // The kind of the first exploitation, as grooming.cpp's exploitation_kind
  // draws it: a demand (with the minor's images unless harvested), a meeting,
  // or images alone.
  o.sextorted = o.exploited * type.sextortion_share;
  o.met_offline = o.exploited * type.meeting_share;
  o.images_obtained = o.exploited * (1.0 - type.sextortion_share - type.meeting_share +
                                     (context.harvested ? 0.0 : type.sextortion_share));
  return o;
}

const OffenderTypeSpec& offender_type(const ScenarioSpec& spec, int type) {
  switch (type) {
    case 0:
      return spec.offenders.groomer;
    case 1:
      return spec.offenders.sextortion;
    case 2:
      return spec.offenders.distributor;
    case 3:
      return spec.offenders.peer;
    default:
      throw std::out_of_range("offender_type: type must be 0 (groomer), 1 (sextortion), 2 (distributor) or 3 (peer)");
  }
}

double teen_presenting_share(const ScenarioSpec& spec, int type) {
  const OffenderTypeSpec& t = offender_type(spec, type);
  if (type != 3) return t.claims_teen_prob;
  // Peer perpetrators under 18 present their own age; the adults among them
  // pose as teens with claims_teen_prob. Their ages follow the population's:
  // minors spread evenly over youngest_age..17 (population.cpp), adults
  // uniform over 18..oldest_age, both cut to peer_age_min..peer_age_max.
  const PopulationSpec& ps = spec.population;
  const auto overlap = [](std::int64_t lo, std::int64_t hi, std::int64_t a, std::int64_t b) {
    return static_cast<double>(std::max<std::int64_t>(0, std::min(hi, b) - std::max(lo, a) + 1));
  };
  const OffendersSpec& os = spec.offenders;
  const double minors = ps.minor_share * overlap(ps.youngest_age, 17, os.peer_age_min, os.peer_age_max) /
                        static_cast<double>(18 - ps.youngest_age);
  const double adults = (1.0 - ps.minor_share) * overlap(18, ps.oldest_age, os.peer_age_min, os.peer_age_max) /
                        static_cast<double>(ps.oldest_age - 17);
  if (minors + adults <= 0) return t.claims_teen_prob;
  const double minor_share = minors / (minors + adults);
  return minor_share + (1.0 - minor_share) * t.claims_teen_prob;
}

double harvested_share(const ScenarioSpec& spec, std::size_t platform, int type, double public_share) {
  if (type != 1) return 0.0;  // sextortion only, as contact.cpp
  const bool restricted = spec.platforms.at(platform).controls.download_restrictions;
  return public_share * (restricted ? spec.response.download_circumvention : 1.0);
}

DyadOutcome dyad_outcome_mixed(const ScenarioSpec& spec, std::size_t platform, int type, const MixtureShares& shares) {
  if (platform >= spec.platforms.size()) throw std::out_of_range("dyad_outcome_mixed: no such platform");
  for (const auto& entry : shares) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const std::string& name = entry.first;
    const double share = entry.second;
    if (std::none_of(kMixture.begin(), kMixture.end(), [&](const MixtureDimension& d) { return d.share == name; })) {
      std::string known;
      for (const MixtureDimension& d : kMixture) {
        if (!known.empty()) known += ", ";
        known += d.share;
      }
      throw std::invalid_argument("dyad_outcome_mixed: no mixture share '" + name + "' (shares: " + known + ")");
    }
    if (!(share >= 0.0 && share <= 1.0))
      throw std::invalid_argument("dyad_outcome_mixed: " + name + " must be in [0, 1]");
  }
  const OffenderTypeSpec& t = offender_type(spec, type);
  const double teen = teen_presenting_share(spec, type);  // accounts that present as teens
  const PlatformSpec& p = spec.platforms[platform];
  const ResponseSpec& r = spec.response;
  const double alpha = spec.population.vulnerability.alpha, beta = spec.population.vulnerability.beta;

  // Each dimension's share of minors with the flag set; the dimensions that
  // change who opens dyads go into the nodes, the others are mixed per node.
  FlagShares flag_share{};
  std::vector<std::size_t> in_nodes, per_node;
  for (std::size_t d = 0; d < kMixture.size(); ++d) {
    const MixtureDimension& dim = kMixture[d];
    const auto given = shares.find(dim.share);
    const double share = given != shares.end() ? given->second : dim.default_share(spec, platform);
    flag_share[d] = dim.flag_share(spec, platform, type, share);
    (dim.accept_factor ? in_nodes : per_node).push_back(d);
  }

  // Vulnerability among dyads: accounts posing as teens accept at a higher
  // rate; minors in an arm of a dimension with an accept factor (education)
  // at that factor times the rate, with the arm's share as mass.
  std::vector<Node> nodes;
  for_each_arm(in_nodes, flag_share, DyadContext{}, 1.0, [&](const DyadContext& context, double share) {
    double factor = 1.0;
    for (const std::size_t d : in_nodes)
      if (context.*kMixture[d].flag) factor *= kMixture[d].accept_factor(p);
    add_accept_nodes(nodes, alpha, beta, r.accept_scale * factor, share * (1.0 - teen), context);
    add_accept_nodes(nodes, alpha, beta, r.accept_scale * r.teen_disguise_factor * factor, share * teen, context);
  });
  if (nodes.empty()) {
    // Nobody accepts (accept_scale 0): fall back to the plain Beta mean.
    nodes.push_back({0.0, 1.0, DyadContext{.vulnerability = alpha / (alpha + beta)}});
  }
  double max_log = -std::numeric_limits<double>::infinity();
  for (const Node& nd : nodes) max_log = std::max(max_log, nd.log_w);
  std::vector<double> w(nodes.size());
  double sum = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) sum += w[i] = nodes[i].sign * std::exp(nodes[i].log_w - max_log);

  DyadOutcome acc;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const double wi = w[i] / sum;
    if (std::abs(wi) < 1e-300) continue;
    for_each_arm(per_node, flag_share, nodes[i].context, wi, [&](const DyadContext& context, double weight) {
      accumulate(acc, dyad_outcome(t, p, r, context), weight);
    });
  }
  return acc;
}

}  // namespace safesim
