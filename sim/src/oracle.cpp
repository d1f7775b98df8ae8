// Analytic oracle of the dyad process (MODEL.md section 7): the embedded jump
// chain of the absorbing continuous-time Markov chain run by grooming.cpp,
// solved with the fundamental matrix, and its mixture over supervision and
// the vulnerability of the minors who open dyads. See safesim/oracle.hpp.
#include "safesim/oracle.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace safesim {
namespace {

double stage_hours(const StageHours& h, int s) {
  switch (s) {
    case 0: return h.engaged;
    case 1: return h.trust;
    case 2: return h.isolation;
    default: return h.solicitation;
  }
}
double stage_rate(const StageRates& r, int s) {
  switch (s) {
    case 0: return r.engaged;
    case 1: return r.trust;
    case 2: return r.isolation;
    default: return r.solicitation;
  }
}

/// Report completion and intent factor as in reporting.cpp (no nudges).
double report_multiplier(const PlatformSpec& p, const ResponseSpec& r, bool supervised) {
  const ReportingSpec& rep = p.controls.reporting;
  const auto steps = static_cast<double>(rep.steps + (rep.in_product ? 0 : r.external_form_steps));
  double f = 1.0;
  if (rep.child_friendly) f *= r.child_friendly_factor;
  if (rep.feedback) f *= r.feedback_factor;
  if (supervised) f *= r.supervision_report_factor;
  return f * std::pow(r.step_completion, steps);
}

/// Gauss-Jacobi nodes with weights normalised to sum 1, and log of the
/// weight's integral (kept apart so that large exponents do not overflow).
void gauss_jacobi_normalised(int n, double a, double b, Eigen::VectorXd& nodes, Eigen::VectorXd& weights,
                             double& log_mu0) {
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
  log_mu0 = (ab + 1.0) * std::log(2.0) + std::lgamma(a + 1.0) + std::lgamma(b + 1.0) - std::lgamma(ab + 2.0);
  if (n == 1) {
    nodes = diag;
    weights = Eigen::VectorXd::Ones(1);
    return;
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es;
  es.computeFromTridiagonal(diag, sub.head(n - 1), Eigen::ComputeEigenvectors);
  if (es.info() != Eigen::Success) throw std::runtime_error("gauss_jacobi: eigen solver failed");
  nodes = es.eigenvalues();
  weights = es.eigenvectors().row(0).transpose().array().square();
  weights /= weights.sum();
}

/// One quadrature point of the vulnerability mixture: v and log weight.
struct Node {
  double v, log_w;
};

constexpr int kNodes = 96;  // per piece; the integrands are smooth on each piece
constexpr double kAcceptCap = 0.95;

/// Append nodes for the unnormalised density min(cap, k v) v^(alpha-1) (1-v)^(beta-1) on [0, 1],
/// scaled by `mass` (> 0). The integral is split at v = cap / k where the minimum kinks.
void add_accept_nodes(std::vector<Node>& out, double alpha, double beta, double k, double mass) {
  if (!(k > 0) || !(mass > 0)) return;
  Eigen::VectorXd x, w;
  double log_mu0;
  const double log_mass = std::log(mass);
  const double c = std::min(1.0, kAcceptCap / k);  // the cap binds above c
  if (c >= 1.0) {
    // k v v^(alpha-1) (1-v)^(beta-1) on [0,1]: v = (1+x)/2, Jacobi a = beta-1, b = alpha.
    gauss_jacobi_normalised(kNodes, beta - 1.0, alpha, x, w, log_mu0);
    const double base = log_mass + std::log(k) + log_mu0 - (alpha + beta) * std::log(2.0);
    for (int i = 0; i < x.size(); ++i) out.push_back({(1.0 + x(i)) / 2.0, base + std::log(w(i))});
    return;
  }
  // [0, c]: k v^alpha (1-v)^(beta-1), v = c (1+x)/2, Jacobi a = 0, b = alpha.
  gauss_jacobi_normalised(kNodes, 0.0, alpha, x, w, log_mu0);
  {
    const double base = log_mass + std::log(k) + (alpha + 1.0) * std::log(c / 2.0) + log_mu0;
    for (int i = 0; i < x.size(); ++i) {
      const double v = c * (1.0 + x(i)) / 2.0;
      out.push_back({v, base + std::log(w(i)) + (beta - 1.0) * std::log1p(-v)});
    }
  }
  // [c, 1]: cap v^(alpha-1) (1-v)^(beta-1), v = c + (1-c)(1+x)/2, Jacobi a = beta-1, b = 0.
  gauss_jacobi_normalised(kNodes, beta - 1.0, 0.0, x, w, log_mu0);
  {
    const double h = (1.0 - c) / 2.0;
    const double base = log_mass + std::log(kAcceptCap) + beta * std::log(h) + log_mu0;
    for (int i = 0; i < x.size(); ++i) {
      const double v = c + h * (1.0 + x(i));
      out.push_back({v, base + std::log(w(i)) + (alpha - 1.0) * std::log(v)});
    }
  }
}

void accumulate(DyadOutcome& acc, const DyadOutcome& o, double w) {
  acc.exploited += w * o.exploited;
  acc.reported += w * o.reported;
  acc.exited += w * o.exited;
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
}

}  // namespace

void gauss_jacobi(int n, double a, double b, Eigen::VectorXd& nodes, Eigen::VectorXd& weights) {
  double log_mu0;
  gauss_jacobi_normalised(n, a, b, nodes, weights, log_mu0);
  weights *= std::exp(log_mu0);
}

DyadChain dyad_chain(const OffenderTypeSpec& t, const PlatformSpec& platform, const ResponseSpec& response,
                     double vulnerability, bool supervised) {
  DyadChain c;
  c.Q.setZero();
  c.R.setZero();
  c.hold_hours.setZero();
  c.exploit_prob.setZero();
  const double v = std::clamp(vulnerability, 0.0, 1.0);
  const double report_mult = report_multiplier(platform, response, supervised);
  const double move = t.move_request_prob * t.move_accept_prob;
  const double repeat = t.repeat_prob;

  // Fill one state: stage s (0..3), on or off the platform, and where progress leads.
  auto fill = [&](int state, int stage, bool on_platform, auto&& on_progress) {
    const double progress = 1.0 / stage_hours(t.dwell_hours, stage);
    const double exit = stage_rate(t.exit_per_day, stage) / 24.0 * (1.0 - v);
    const double report = on_platform ? stage_rate(t.report_per_day, stage) / 24.0 * report_mult : 0.0;
    const double total = progress + exit + report;
    c.hold_hours(state) = 1.0 / total;
    c.R(state, kEndExited) = exit / total;
    c.R(state, kEndReported) = report / total;
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
  const Mat I_minus_Q = Mat::Identity() - c.Q;
  // First row of N = (I - Q)^-1: solve (I - Q)^T n = e_0.
  Vec e0 = Vec::Zero();
  e0(kEngaged) = 1.0;
  const Vec n = I_minus_Q.transpose().fullPivLu().solve(e0);
  const Eigen::Matrix<double, 1, kDyadAbsorbing> b = n.transpose() * c.R;

  DyadOutcome o;
  o.reported = b(kEndReported);
  o.exited = b(kEndExited);
  o.closed_after_exploitation = b(kEndClosedAfterExploitation);
  // First-pass states (engaged .. solicitation) are visited at most once.
  for (int j = kEngaged; j <= kSolicitationMoved; ++j) {
    o.reported_before_exploitation += n(j) * c.R(j, kEndReported);
    o.exited_before_exploitation += n(j) * c.R(j, kEndExited);
  }
  o.exploited = n(kSolicitationOn) * c.exploit_prob(kSolicitationOn) +
                n(kSolicitationMoved) * c.exploit_prob(kSolicitationMoved);
  o.reach_trust = n(kTrust);
  o.reach_isolation = n(kIsolationOn) + n(kIsolationMoved);
  o.reach_solicitation = n(kSolicitationOn) + n(kSolicitationMoved);
  o.moved = n(kIsolationMoved);
  o.exploitation_events = n.dot(c.exploit_prob);
  o.expected_days = n.dot(c.hold_hours) / 24.0;
  // Second moment of the time to absorption. From state i, T_i = H_i + T_next
  // with H_i exponential (mean h_i) independent of the jump, so
  // E[T^2] = N (2 h^2 + 2 h * (Q E[T])), with E[T] = N h for every start state.
  const auto lu = I_minus_Q.fullPivLu();
  const Vec mean_hours = lu.solve(c.hold_hours);
  const Vec rhs = 2.0 * c.hold_hours.cwiseProduct(c.hold_hours + c.Q * mean_hours);
  const Vec second = lu.solve(rhs);
  o.days_second_moment = second(kEngaged) / (24.0 * 24.0);
  return o;
}

DyadOutcome dyad_outcome(const OffenderTypeSpec& type, const PlatformSpec& platform, const ResponseSpec& response,
                         double vulnerability, bool supervised) {
  return solve_dyad_chain(dyad_chain(type, platform, response, vulnerability, supervised));
}

const OffenderTypeSpec& offender_type(const ScenarioSpec& spec, int type) {
  switch (type) {
    case 0: return spec.offenders.groomer;
    case 1: return spec.offenders.sextortion;
    case 2: return spec.offenders.distributor;
    default: throw std::out_of_range("offender_type: type must be 0 (groomer), 1 (sextortion) or 2 (distributor)");
  }
}

DyadOutcome dyad_outcome_mixed(const ScenarioSpec& spec, std::size_t platform, int type) {
  if (platform >= spec.platforms.size()) throw std::out_of_range("dyad_outcome_mixed: no such platform");
  const OffenderTypeSpec& t = offender_type(spec, type);
  const PlatformSpec& p = spec.platforms[platform];
  const ResponseSpec& r = spec.response;
  const double alpha = spec.population.vulnerability.alpha, beta = spec.population.vulnerability.beta;

  // Vulnerability among dyads: accounts posing as teens accept at a higher rate.
  std::vector<Node> nodes;
  add_accept_nodes(nodes, alpha, beta, r.accept_scale, 1.0 - t.claims_teen_prob);
  add_accept_nodes(nodes, alpha, beta, r.accept_scale * r.teen_disguise_factor, t.claims_teen_prob);
  if (nodes.empty()) {
    // Nobody accepts (accept_scale 0): fall back to the plain Beta mean.
    nodes.push_back({alpha / (alpha + beta), 0.0});
  }
  double max_log = -std::numeric_limits<double>::infinity();
  for (const Node& nd : nodes) max_log = std::max(max_log, nd.log_w);
  std::vector<double> w(nodes.size());
  double sum = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) sum += w[i] = std::exp(nodes[i].log_w - max_log);

  const double uptake = p.controls.parental_supervision.uptake;
  DyadOutcome acc;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const double wi = w[i] / sum;
    if (wi < 1e-300) continue;
    if (uptake < 1.0) accumulate(acc, dyad_outcome(t, p, r, nodes[i].v, false), wi * (1.0 - uptake));
    if (uptake > 0.0) accumulate(acc, dyad_outcome(t, p, r, nodes[i].v, true), wi * uptake);
  }
  return acc;
}

}  // namespace safesim
