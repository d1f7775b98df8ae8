// safesim: loading, resolving, validating and dumping scenario files.
//
// This is the only translation unit that includes yaml-cpp (STYLE.md habit 6).
// Every field is found through the spec's describe() lists: a FieldTable maps
// dotted key paths ("controls.dm_policy.under_16") to typed pointers into one
// spec object, so the loader needs no per-field code. Input mappings are
// flattened into (dotted path, node) entries first, which makes nested maps,
// dotted keys ("controls.dm_policy.under_16: x") and --set overrides the same
// thing, while each entry keeps its yaml-cpp mark for error messages.
//
// Resolution order (later values override earlier ones):
//   extends parent (fully resolved) -> this file's values -> this file's
//   policies -> [root only] LoadOptions::overrides -> extra_policies
// then cross-field checks, the timeline (cumulative per platform) and the
// memory guard.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include <yaml-cpp/yaml.h>

#include "safesim/memory_estimate.hpp"
#include "safesim/metrics.hpp"
#include "safesim/scenario.hpp"

namespace fs = std::filesystem;

namespace safesim {

// ---------------------------------------------------------------- ScenarioError
namespace {

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string format_error(const std::string& file, int line, int column, const std::string& key_path,
                         const std::string& message) {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  out += ": ";
  if (!key_path.empty()) out += key_path + ": ";
  out += message;
  return one_line(out);
}

std::string too_many_platforms(std::uint64_t n) {
  return "at most " + std::to_string(kMaxPlatforms) + " platforms fit the engine's 16-bit platform index, got " +
         std::to_string(n);
}

}  // namespace

ScenarioError::ScenarioError(std::string file, int line, int column, std::string key_path, std::string message)
    : std::runtime_error(format_error(file, line, column, key_path, message)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      key_path_(std::move(key_path)),
      message_(one_line(std::move(message))) {}

// ---------------------------------------------------------------- memory estimate
std::uint64_t estimate_memory_bytes(const ScenarioSpec& spec) {
  const double users = static_cast<double>(spec.population.users);
  double bytes = users * 64.0;
  double share_sum = 0, share_max = 0;
  for (const auto& p : spec.platforms) {
    share_sum += p.user_share;
    share_max = std::max(share_max, p.user_share);
  }
  if (spec.platforms.empty()) share_sum = share_max = 1.0;
  // Frozen graphs: 4 bytes and 1 bit per directed edge (target, trusted flag)
  // on every platform; the largest platform's build also holds two 4-byte
  // scatter arrays (graph.cpp builds platforms largest first, one at a time).
  const auto& gs = spec.graph;
  if (gs.on_demand && gs.edge_list.empty()) {
    // Peer ties generated when read: per membership the community order and
    // position, the activity by position and the row start (16 bytes), a
    // partner class per round (4 bytes per round over the class size), and the
    // stored family and coach ties; the largest platform's community sort
    // holds 20 bytes per member. Lists already generated are kept for the
    // run: at most kTieCacheMaxTies ties and kTieCacheMaxLists lists.
    bytes += static_cast<double>(kTieCacheBytes);
    const double cls = static_cast<double>(std::max<std::int64_t>(gs.class_size, 1));
    const double rounds = std::min(std::ceil(gs.mean_degree), 120.0);  // at most c_out rounds, c_out <= mean_degree
    const double trusted = 2.0 * (spec.population.minor_share * gs.family_adults_per_minor +
                                  (1.0 - spec.population.minor_share) * gs.coach_share * gs.coach_minor_ties);
    bytes += users * (share_sum * (16.0 + 4.0 * rounds / cls + 4.125 * trusted) + share_max * (20.0 + 8.0 * trusted));
  } else {
    bytes += users * (share_sum * 4.125 + share_max * 8.0) * gs.mean_degree;
  }
  // Offender accounts: bookkeeping plus their open dyads.
  const auto& o = spec.offenders;
  const double offenders = users * (1.0 - spec.population.minor_share) * o.share_of_adults;
  double per_offender = 0;
  for (const auto* t : {&o.groomer, &o.sextortion, &o.distributor})
    per_offender += t->share * t->accounts * (256.0 + 64.0 * static_cast<double>(t->max_open_dyads));
  bytes += offenders * per_offender;
  // Peer perpetrators: at most peer_share of all users (those in the age range are fewer).
  bytes += users * o.peer_share * o.peer.accounts * (256.0 + 64.0 * static_cast<double>(o.peer.max_open_dyads));
  // Group memberships: a 4-byte member id per membership, on each platform.
  bytes += users * share_sum * spec.graph.groups_per_user * 4.0;
  bytes += 2.0 * users * static_cast<double>(spec.operators.size());  // each declared operator's distinct-minor marks
  // The daily output array: the horizon's rows only (the warm-up's days share
  // one day of rows, a day's worth more), and no second array of it is made,
  // in the engine or in Python.
  const double output = static_cast<double>(daily_output_bytes(spec));
  bytes += output * (1.0 + 1.0 / static_cast<double>(std::max<std::int64_t>(spec.horizon_days, 1)));
  if (!(bytes < 1.8e19)) return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(bytes);
}

std::uint64_t daily_output_bytes(const ScenarioSpec& spec) {
  const double bytes = static_cast<double>(spec.platforms.size() + 1 + spec.operators.size()) *
                       static_cast<double>(std::max<std::int64_t>(spec.horizon_days, 0)) *
                       static_cast<double>(kMetricCount) * 8.0;
  if (!(bytes < 1.8e19)) return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(bytes);
}

namespace {
/// A limit read from a cgroup file: a number of bytes, or 0 for "max", missing or unreadable.
std::uint64_t cgroup_limit(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return 0;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return 0;
  return value >= (std::uint64_t{1} << 62) ? 0 : value;  // v1 reports "unlimited" as a huge number
}

/// This process's cgroup v2 folder (from /proc/self/cgroup's "0::/path" line), or "".
std::string cgroup_v2_dir() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) return "/sys/fs/cgroup" + line.substr(3);
  return "";
}
}  // namespace

std::uint64_t memory_limit_bytes() {
  std::uint64_t limit = physical_memory_bytes();
  auto lower = [&limit](std::uint64_t v) {
    if (v != 0 && (limit == 0 || v < limit)) limit = v;
  };
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    struct rlimit rl {};
    if (getrlimit(resource, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) lower(static_cast<std::uint64_t>(rl.rlim_cur));
  }
  const std::string v2 = cgroup_v2_dir();
  if (!v2.empty()) lower(cgroup_limit(v2 + "/memory.max"));
  lower(cgroup_limit("/sys/fs/cgroup/memory.max"));
  lower(cgroup_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
  return limit;
}

std::uint64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return 0;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}

namespace {

// ---------------------------------------------------------------- small utilities
const std::string kSetFile = "<--set>";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::string join(const std::vector<std::string>& parts, std::size_t n, const std::string& sep = ".") {
  std::string out;
  for (std::size_t i = 0; i < n && i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string join_all(const std::vector<std::string>& parts, const std::string& sep = ", ") {
  return join(parts, parts.size(), sep);
}

std::string dotted(const std::string& prefix, const std::string& key) {
  if (prefix.empty()) return key;
  if (key.empty()) return prefix;
  return prefix + "." + key;
}

/// Optimal-string-alignment (restricted Damerau-Levenshtein) distance.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

/// The closest candidate, if it is close enough to be a plausible typo.
std::optional<std::string> closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_d = std::numeric_limits<std::size_t>::max();
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  if (!best) return std::nullopt;
  const std::size_t len = std::max(word.size(), best->size());
  const std::size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : std::max<std::size_t>(3, len / 3);
  if (best_d == 0 || best_d > limit) return std::nullopt;
  return best;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  if (auto c = closest(word, candidates)) return " (did you mean '" + *c + "'?)";
  return {};
}

/// Shortest text that reads back to the same double, in a form every YAML
/// reader (including PyYAML's YAML 1.1 rules) takes for a float: "24.0",
/// "0.2", "1.0e-05".
std::string yaml_double(double x) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  (void)ec;
  std::string s(buf, end);
  if (s.find_first_of("in") != std::string::npos) return s;  // inf/nan never pass validation
  const auto e = s.find('e');
  if (s.find('.') == std::string::npos) {
    if (e == std::string::npos)
      s += ".0";
    else
      s.insert(e, ".0");
  }
  return s;
}

/// A number for messages: whole numbers without a fraction, others shortest.
std::string human(double x) {
  if (std::isinf(x)) return x > 0 ? "infinity" : "-infinity";
  if (std::abs(x) < 1e15 && x == std::floor(x)) return std::to_string(static_cast<long long>(x));
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  (void)ec;
  return std::string(buf, end);
}

/// A computed number for messages, without float noise (0.9, not 0.8999999999999999).
std::string approx(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.12g", x);
  return buf;
}

std::string yaml_quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

/// Plain scalars that YAML 1.1 readers (PyYAML) would turn into booleans or
/// numbers; the dump quotes them so every reader sees text.
std::string yaml_plain_or_quoted(const std::string& s) {
  // "Null" and "NULL" too: yaml-cpp reads them as null, so a platform named
  // "Null" (quoted in its file) would dump to a key that does not load.
  static const std::set<std::string> ambiguous = {
      "y",   "Y",   "yes", "Yes",  "YES",  "n",    "N",     "no",    "No",    "NO",   "on",   "On",   "ON",
      "off", "Off", "OFF", "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~"};
  if (ambiguous.count(s) || s.empty() || (s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '.')
    return yaml_quoted(s);
  return s;
}

bool valid_name(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::optional<double> parse_double(std::string s) {
  if (!s.empty() && s[0] == '+') s.erase(0, 1);
  if (s.empty()) return std::nullopt;
  double x = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return x;
}

std::optional<std::int64_t> parse_int(std::string s) {
  if (!s.empty() && s[0] == '+') s.erase(0, 1);
  if (s.empty()) return std::nullopt;
  std::int64_t x = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (ec == std::errc() && ptr == s.data() + s.size()) return x;
  // "1e6" and "2.0" are whole numbers too.
  if (auto d = parse_double(s); d && std::isfinite(*d) && *d == std::floor(*d) && std::abs(*d) < 9.2e18)
    return static_cast<std::int64_t>(*d);
  return std::nullopt;
}

/// The first byte that breaks UTF-8, as (line, column, byte), 1-based.
struct BadByte {
  int line, column;
  unsigned char byte;
};
std::optional<BadByte> find_invalid_utf8(const std::string& s) {
  int line = 1;
  std::size_t line_start = 0;
  const std::size_t n = s.size();
  auto cont = [&](std::size_t k) { return k < n && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80; };
  for (std::size_t i = 0; i < n;) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    bool ok = true;
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      ok = cont(i + 1);
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      ok = cont(i + 1) && cont(i + 2);
      if (ok && c == 0xE0) ok = static_cast<unsigned char>(s[i + 1]) >= 0xA0;
      if (ok && c == 0xED) ok = static_cast<unsigned char>(s[i + 1]) <= 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      ok = cont(i + 1) && cont(i + 2) && cont(i + 3);
      if (ok && c == 0xF0) ok = static_cast<unsigned char>(s[i + 1]) >= 0x90;
      if (ok && c == 0xF4) ok = static_cast<unsigned char>(s[i + 1]) <= 0x8F;
    } else {
      ok = false;
    }
    if (!ok) return BadByte{line, static_cast<int>(i - line_start) + 1, c};
    if (c == '\n') {
      ++line;
      line_start = i + 1;
    }
    i += len;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- locations and errors
struct Loc {
  std::string file;
  int line = 0;
  int column = 0;
};

/// Where a document came from: its name in messages and the folder that
/// relative paths (extends, edge lists, policies/) are resolved against.
struct Ctx {
  std::string file;
  fs::path folder;
  bool marks = true;  ///< false for --set values, whose marks mean nothing
};

Loc loc_of(const Ctx& ctx, const YAML::Node& node) {
  if (!ctx.marks || !node.IsDefined()) return {ctx.file, 0, 0};
  const YAML::Mark m = node.Mark();
  if (m.line < 0 || m.column < 0) return {ctx.file, 0, 0};
  return {ctx.file, m.line + 1, m.column + 1};
}

/// The mark of a value, or of its key when the value (a null) has none.
Loc loc_of(const Ctx& ctx, const YAML::Node& value, const YAML::Node& key) {
  Loc l = loc_of(ctx, value);
  if (l.line == 0 || value.IsNull()) {
    Loc k = loc_of(ctx, key);
    if (k.line != 0) return k;
  }
  return l;
}

[[noreturn]] void fail(const Loc& loc, const std::string& key_path, const std::string& message) {
  throw ScenarioError(loc.file, loc.line, loc.column, key_path, message);
}

std::string got(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  return "'" + n.Scalar() + "'";
}

const std::set<std::string> kTrue = {"true", "True", "TRUE"};
const std::set<std::string> kFalse = {"false", "False", "FALSE"};

// ---------------------------------------------------------------- field tables
using FieldPtr = std::variant<double*, std::int64_t*, bool*, std::string*, PlatformKind*, DmPolicy*, NetworkExpansion*,
                              AgeAssurance*, RiskSignal*, ProtectionsAgainst*, OperatorReporting*>;

struct FieldRef {
  FieldPtr ptr;
  Meta meta;
};

/// All fields of one spec object by dotted path, and the group structure
/// (for unknown-key suggestions). Built by walking describe().
struct FieldTable {
  std::map<std::string, FieldRef> fields;
  std::map<std::string, std::vector<std::string>> children;  // group path ("" = root) -> child names
  std::string prefix;

  template <class T>
  void value(const char* key, T& field, const Meta& meta) {
    children[prefix].push_back(key);
    fields.emplace(dotted(prefix, key), FieldRef{FieldPtr{&field}, meta});
  }
  template <class F>
  void group(const char* key, F&& fn) {
    children[prefix].push_back(key);
    const std::string saved = prefix;
    prefix = dotted(prefix, key);
    children[prefix];
    fn();
    prefix = saved;
  }
  bool is_group(const std::string& path) const { return children.count(path) != 0; }
};

FieldTable table_of(ScenarioSpec& s) {
  FieldTable t;
  t.children[""];
  describe(t, s);
  return t;
}
FieldTable table_of(OperatorSpec& o) {
  FieldTable t;
  t.children[""];
  describe(t, o);
  return t;
}

FieldTable table_of(PlatformSpec& p) {
  FieldTable t;
  t.children[""];
  describe(t, p);
  return t;
}

std::string expected(const Meta& m, const std::vector<std::string>& choices) {
  switch (m.kind) {
    case Kind::prob:
      return "a probability (a number in [0, 1])";
    case Kind::rate:
      return std::string("a non-negative number") + (m.unit && *m.unit ? std::string(" (") + m.unit + ")" : "");
    case Kind::real:
      return "a number";
    case Kind::count:
      return "a count (a non-negative whole number)";
    case Kind::integer:
      return "a whole number";
    case Kind::boolean:
      return "true or false";
    case Kind::choice:
      return "one of " + join_all(choices);
    case Kind::text:
      return "text";
    case Kind::path:
      return "a file path";
  }
  return "a value";
}

/// Range check shared by numbers of every kind.
void check_range(double x, const Meta& m, const Loc& loc, const std::string& key) {
  double lo = m.lo, hi = m.hi;
  if (m.kind == Kind::prob) {
    lo = std::max(lo, 0.0);
    hi = std::min(hi, 1.0);
    if (lo == 0.0 && hi == 1.0 && (x < 0 || x > 1))
      fail(loc, key, "expected a probability (a number in [0, 1]), got " + human(x));
  }
  if (m.kind == Kind::rate || m.kind == Kind::count) {
    if (x < 0) fail(loc, key, "must not be negative, got " + human(x));
    lo = std::max(lo, 0.0);
  }
  if (x < lo || x > hi) {
    if (std::isfinite(lo) && std::isfinite(hi))
      fail(loc, key, "must be in [" + human(lo) + ", " + human(hi) + "], got " + human(x));
    if (x < lo) fail(loc, key, "must be at least " + human(lo) + ", got " + human(x));
    fail(loc, key, "must be at most " + human(hi) + ", got " + human(x));
  }
}

template <class E>
std::vector<std::string> names_of() {
  std::vector<std::string> out;
  for (const char* n : enum_names(E{})) out.emplace_back(n);
  return out;
}

template <class E>
E parse_choice(const YAML::Node& v, const Loc& loc, const std::string& key) {
  const auto names = names_of<E>();
  if (!v.IsScalar()) fail(loc, key, "expected one of " + join_all(names) + ", got " + got(v));
  const std::string& s = v.Scalar();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == s) return static_cast<E>(i);
  fail(loc, key, "unknown choice '" + s + "'; expected one of " + join_all(names) + did_you_mean(s, names));
}

std::vector<std::string> choices_of(const FieldRef& f) {
  return std::visit(
      [](auto* p) -> std::vector<std::string> {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_enum_v<T>)
          return names_of<T>();
        else
          return {};
      },
      f.ptr);
}

void set_field(const FieldRef& f, const YAML::Node& v, const Loc& loc, const std::string& key, const Ctx& ctx) {
  const Meta& m = f.meta;
  std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, double>) {
          std::optional<double> x;
          if (v.IsScalar()) x = parse_double(v.Scalar());
          if (!x) fail(loc, key, "expected " + expected(m, {}) + ", got " + got(v));
          if (!std::isfinite(*x)) fail(loc, key, "expected a finite number, got " + got(v));
          if ((m.kind == Kind::count || m.kind == Kind::integer) && *x != std::floor(*x))
            fail(loc, key, "expected " + expected(m, {}) + ", got " + got(v));
          check_range(*x, m, loc, key);
          *p = *x;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          std::optional<std::int64_t> x;
          if (v.IsScalar()) x = parse_int(v.Scalar());
          if (!x) fail(loc, key, "expected " + expected(m, {}) + ", got " + got(v));
          check_range(static_cast<double>(*x), m, loc, key);
          *p = *x;
        } else if constexpr (std::is_same_v<T, bool>) {
          if (v.IsScalar() && kTrue.count(v.Scalar()))
            *p = true;
          else if (v.IsScalar() && kFalse.count(v.Scalar()))
            *p = false;
          else
            fail(loc, key, "expected true or false, got " + got(v));
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (v.IsNull()) {
            p->clear();
          } else if (!v.IsScalar()) {
            fail(loc, key, "expected " + expected(m, {}) + ", got " + got(v));
          } else if (find_invalid_utf8(v.Scalar())) {
            // The file is valid UTF-8, but yaml-cpp 0.7 can still hand over other
            // bytes (it mangles a NUL byte); the dump could not be read back.
            fail(loc, key, "text is not valid UTF-8 (after YAML escapes)");
          } else if (m.kind == Kind::path && !v.Scalar().empty()) {
            fs::path path(v.Scalar());
            if (path.is_relative()) path = ctx.folder / path;
            std::error_code ec;
            fs::path abs = fs::absolute(path, ec);
            *p = (ec ? path : abs).lexically_normal().string();
          } else {
            *p = v.Scalar();
          }
        } else {
          *p = parse_choice<T>(v, loc, key);
        }
      },
      f.ptr);
}

// ---------------------------------------------------------------- flattening
/// One key of an input mapping, as a dotted path relative to the table root.
struct Entry {
  std::vector<std::string> path;
  YAML::Node key;
  YAML::Node value;
};

/// Bounds on what one mapping may expand to. YAML aliases let a small file
/// describe a cyclic tree (`a: &a {b: *a}`: unbounded recursion) or an
/// exponential one (each level two aliases of the one below); no scenario
/// comes near either bound (found by tests/fuzz).
constexpr std::size_t kMaxKeyDepth = 64;
constexpr std::size_t kMaxEntries = 10000;

void flatten(const YAML::Node& map, std::vector<std::string>& prefix, const Ctx& ctx, const std::string& key_prefix,
             std::vector<Entry>& out, const std::set<std::string>* skip = nullptr) {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node k = it->first;
    const YAML::Node v = it->second;
    const std::string here = dotted(key_prefix, join_all(prefix, "."));
    if (!k.IsScalar()) fail(loc_of(ctx, k), here, "keys must be plain names, got " + got(k));
    const std::string& name = k.Scalar();
    if (!seen.insert(name).second) fail(loc_of(ctx, k), dotted(here, name), "duplicate key '" + name + "'");
    if (prefix.empty() && skip && skip->count(name)) continue;
    const auto parts = split(name, '.');
    for (const auto& part : parts)
      if (part.empty()) fail(loc_of(ctx, k), dotted(here, name), "empty component in key '" + name + "'");
    const std::size_t depth = prefix.size();
    if (depth + parts.size() > kMaxKeyDepth)
      fail(loc_of(ctx, k), dotted(here, name),
           "keys nested more than " + std::to_string(kMaxKeyDepth) + " levels deep (a cyclic alias?)");
    if (out.size() >= kMaxEntries)
      fail(loc_of(ctx, k), dotted(here, name),
           "more than " + std::to_string(kMaxEntries) + " keys (aliases expanding?)");
    prefix.insert(prefix.end(), parts.begin(), parts.end());
    out.push_back(Entry{prefix, k, v});
    if (v.IsMap()) flatten(v, prefix, ctx, key_prefix, out);
    prefix.resize(depth);
  }
}

std::vector<Entry> flatten(const YAML::Node& map, const Ctx& ctx, const std::string& key_prefix,
                           const std::set<std::string>* skip = nullptr) {
  std::vector<Entry> out;
  std::vector<std::string> prefix;
  flatten(map, prefix, ctx, key_prefix, out, skip);
  return out;
}

using LocMap = std::map<std::string, Loc>;

/// Apply flattened entries to the object behind `t`. `key_prefix` is the
/// full key path of the table root, for messages; `extra_root_names` are
/// other keys valid at the root (for suggestions only).
void apply_entries(const FieldTable& t, const std::vector<Entry>& entries, const Ctx& ctx,
                   const std::string& key_prefix, LocMap* locs = nullptr,
                   const std::vector<std::string>& extra_root_names = {}) {
  for (const Entry& e : entries) {
    std::string cur;
    for (std::size_t i = 0; i < e.path.size(); ++i) {
      const std::string next = dotted(cur, e.path[i]);
      const bool last = i + 1 == e.path.size();
      if (auto f = t.fields.find(next); f != t.fields.end()) {
        const std::string key = dotted(key_prefix, next);
        if (!last) fail(loc_of(ctx, e.key), key, "'" + e.path[i] + "' takes a value, not sub-keys");
        if (e.value.IsMap())
          fail(loc_of(ctx, e.value, e.key), key,
               "expected " + expected(f->second.meta, choices_of(f->second)) + ", got a mapping");
        const Loc loc = loc_of(ctx, e.value, e.key);
        set_field(f->second, e.value, loc, key, ctx);
        if (locs) (*locs)[key] = loc;
        break;
      }
      if (t.is_group(next)) {
        if (last && !e.value.IsMap() && !e.value.IsNull())
          fail(loc_of(ctx, e.value, e.key), dotted(key_prefix, next),
               "expected a mapping of keys, got " + got(e.value));
        cur = next;
        continue;
      }
      if (cur.empty() &&
          std::find(extra_root_names.begin(), extra_root_names.end(), e.path[i]) != extra_root_names.end())
        fail(loc_of(ctx, e.key), e.path[i], "write '" + e.path[i] + "' as a nested mapping, not as a dotted key");
      std::vector<std::string> candidates = t.children.at(cur);
      if (cur.empty()) candidates.insert(candidates.end(), extra_root_names.begin(), extra_root_names.end());
      fail(loc_of(ctx, e.key), dotted(key_prefix, next),
           "unknown key '" + e.path[i] + "'" + did_you_mean(e.path[i], candidates));
    }
  }
}

void check_keys(const YAML::Node& map, const std::vector<std::string>& allowed, const Ctx& ctx,
                const std::string& key_prefix) {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node k = it->first;
    if (!k.IsScalar()) fail(loc_of(ctx, k), key_prefix, "keys must be plain names, got " + got(k));
    const std::string& name = k.Scalar();
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      fail(loc_of(ctx, k), dotted(key_prefix, name), "unknown key '" + name + "'" + did_you_mean(name, allowed));
    if (!seen.insert(name).second) fail(loc_of(ctx, k), dotted(key_prefix, name), "duplicate key '" + name + "'");
  }
}

/// A key's node and value in a mapping that passed check_keys.
struct KeyValue {
  YAML::Node key, value;
  bool found = false;
  explicit operator bool() const { return found; }
};
KeyValue find_key(const YAML::Node& map, const std::string& name) {
  for (auto it = map.begin(); it != map.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == name) return {it->first, it->second, true};
  return {};
}

std::string scalar_text(const KeyValue& kv, const Ctx& ctx, const std::string& key) {
  if (kv.value.IsNull()) return {};
  if (!kv.value.IsScalar()) fail(loc_of(ctx, kv.value, kv.key), key, "expected text, got " + got(kv.value));
  if (find_invalid_utf8(kv.value.Scalar()))
    fail(loc_of(ctx, kv.value, kv.key), key, "text is not valid UTF-8 (after YAML escapes)");
  return kv.value.Scalar();
}

std::vector<std::string> text_list(const KeyValue& kv, const Ctx& ctx, const std::string& key) {
  std::vector<std::string> out;
  if (kv.value.IsScalar()) return {kv.value.Scalar()};
  if (!kv.value.IsSequence())
    fail(loc_of(ctx, kv.value, kv.key), key, "expected a list of names, got " + got(kv.value));
  for (std::size_t i = 0; i < kv.value.size(); ++i) {
    const YAML::Node item = kv.value[i];
    if (!item.IsScalar())
      fail(loc_of(ctx, item, kv.key), key + "[" + std::to_string(i) + "]", "expected a name, got " + got(item));
    out.push_back(item.Scalar());
  }
  return out;
}

// ---------------------------------------------------------------- documents
/// A file a resolution read (its text) or looked for and did not find (nullopt).
using FileDeps = std::vector<std::pair<std::string, std::optional<std::string>>>;
/// Where this thread's resolution records the files it depends on (see resolve()).
thread_local FileDeps* t_file_deps = nullptr;

std::optional<std::string> read_file_unrecorded(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> read_file(const fs::path& path) {
  auto text = read_file_unrecorded(path);
  if (t_file_deps) t_file_deps->emplace_back(path.string(), text);
  return text;
}

/// Parse YAML text into a top-level mapping, with UTF-8, syntax, emptiness
/// and shape checks. `what` names the document in messages.
YAML::Node parse_document(const std::string& text, const Ctx& ctx, const std::string& what) {
  if (auto bad = find_invalid_utf8(text)) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", bad->byte);
    fail({ctx.file, bad->line, bad->column}, "", what + " is not valid UTF-8 (byte " + buf + ")");
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    fail({ctx.file, e.mark.line + 1, e.mark.column + 1}, "", "invalid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    fail({ctx.file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0}, "",
         "invalid YAML: " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) fail({ctx.file, 0, 0}, "", what + " is empty");
  if (!root.IsMap()) fail(loc_of(ctx, root), "", "expected a mapping of keys at the top level, got " + got(root));
  return root;
}

fs::path folder_of(const std::string& file) {
  fs::path f = fs::path(file).parent_path();
  return f.empty() ? fs::path(".") : f;
}

std::string display_path(const fs::path& folder, const std::string& rel) {
  fs::path p(rel);
  if (p.is_relative()) p = folder / p;
  return p.lexically_normal().string();
}

// ---------------------------------------------------------------- policy bundles
// A bundle is a list of measures. Each measure carries its legal status (in
// force since, lapsed, proposed, or industry practice), the keys it sets and,
// optionally, its own trigger (`applies_to`: kinds, users in the bundle's
// jurisdiction, surfaces, and whether the platform's risk assessment must find
// risk first). Applying a bundle applies the measures in force on a date (the
// bundle's `as_of`, or the `law_on` date of the policy entry or timeline event)
// whose trigger the platform meets; measures that wait for the risk assessment
// go into the platform's risk response. Every application is written to
// ScenarioSpec::policy_log, including where a bundle has no measure to apply.

/// A calendar date (YYYY-MM-DD) as a day number, for comparisons.
struct Date {
  std::int64_t days = 0;  // days since 1970-01-01
  std::string text;
};

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static const int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

std::optional<Date> parse_date_text(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  const int y = std::stoi(s.substr(0, 4)), m = std::stoi(s.substr(5, 2)), d = std::stoi(s.substr(8, 2));
  if (y < 1970 || y > 2200 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return std::nullopt;
  std::int64_t n = 0;
  for (int yy = 1970; yy < y; ++yy) n += is_leap(yy) ? 366 : 365;
  for (int mm = 1; mm < m; ++mm) n += days_in_month(y, mm);
  return Date{n + d - 1, s};
}

Date parse_date(const KeyValue& kv, const Ctx& ctx, const std::string& key) {
  std::optional<Date> d;
  if (kv.value.IsScalar()) d = parse_date_text(kv.value.Scalar());
  if (!d) fail(loc_of(ctx, kv.value, kv.key), key, "expected a date YYYY-MM-DD (1970-2200), got " + got(kv.value));
  return *d;
}

/// A measure's legal status on the bundle's `as_of` date.
enum class LegalStatus { in_force, lapsed, proposed, practice };
const std::vector<std::string> kStatusNames = {"in_force", "lapsed", "proposed", "practice"};

/// Surfaces a trigger can name (the model's platform kinds carry no behaviour,
/// so a surface is read from the kind or from the controls).
const std::vector<std::string> kSurfaceNames = {"file_sharing", "encrypted_messages"};

/// Which platforms a bundle, or one of its measures, applies to.
struct Condition {
  std::vector<PlatformKind> kinds;  // empty = any kind
  double min_users = 0;             // users in the jurisdiction (see Resolver::users_in_scope)
  std::vector<std::string> surfaces;
  bool risk_found = false;  // only once the platform's own risk assessment finds risk
  bool matches(const PlatformSpec& p, double users) const { return why_not(p, users).empty(); }
  /// Why `p` (with `users` in scope) does not meet the condition, or "" when it does (risk aside).
  std::string why_not(const PlatformSpec& p, double users) const {
    if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), p.kind) == kinds.end()) {
      std::vector<std::string> names;
      for (auto k : kinds) names.emplace_back(enum_name(k));
      return std::string("kind ") + enum_name(p.kind) + " not in [" + join_all(names) + "]";
    }
    if (users < min_users) return approx(users) + " users < " + approx(min_users);
    for (const auto& s : surfaces) {
      if (s == "file_sharing" && p.kind != PlatformKind::file_hosting) return "no file sharing (kind not file_hosting)";
      if (s == "encrypted_messages" && p.controls.e2ee_share <= 0) return "no encrypted messages (e2ee_share 0)";
    }
    return {};
  }
};

Condition parse_condition_map(const YAML::Node& node, const Loc& loc, const Ctx& ctx, const std::string& key,
                              bool allow_risk) {
  if (!node.IsMap()) fail(loc, key, "expected a mapping like {kinds: [social], min_users: 700000}, got " + got(node));
  std::vector<std::string> allowed = {"kinds", "min_users", "surfaces"};
  if (allow_risk) allowed.emplace_back("risk");
  check_keys(node, allowed, ctx, key);
  Condition c;
  if (auto k = find_key(node, "kinds")) {
    const auto names = text_list(k, ctx, key + ".kinds");
    for (const auto& n : names) {
      YAML::Node v(n);
      c.kinds.push_back(parse_choice<PlatformKind>(v, loc_of(ctx, k.value, k.key), key + ".kinds"));
    }
  }
  if (auto k = find_key(node, "min_users")) {
    std::optional<double> x;
    if (k.value.IsScalar()) x = parse_double(k.value.Scalar());
    if (!x || !std::isfinite(*x))
      fail(loc_of(ctx, k.value, k.key), key + ".min_users", "expected a number of users, got " + got(k.value));
    if (*x < 0) fail(loc_of(ctx, k.value, k.key), key + ".min_users", "must not be negative, got " + human(*x));
    c.min_users = *x;
  }
  if (auto k = find_key(node, "surfaces")) {
    for (const auto& s : text_list(k, ctx, key + ".surfaces")) {
      if (std::find(kSurfaceNames.begin(), kSurfaceNames.end(), s) == kSurfaceNames.end())
        fail(loc_of(ctx, k.value, k.key), key + ".surfaces",
             "unknown surface '" + s + "'; surfaces are " + join_all(kSurfaceNames) + did_you_mean(s, kSurfaceNames));
      c.surfaces.push_back(s);
    }
  }
  if (auto k = find_key(node, "risk")) {
    const std::string r = scalar_text(k, ctx, key + ".risk");
    const std::vector<std::string> levels = {"any", "found"};
    if (r != "any" && r != "found")
      fail(loc_of(ctx, k.value, k.key), key + ".risk",
           "expected any or found (the platform's risk assessment finds risk), got '" + r + "'" +
               did_you_mean(r, levels));
    c.risk_found = r == "found";
  }
  return c;
}

Condition parse_condition(const KeyValue& kv, const Ctx& ctx, const std::string& key) {
  return parse_condition_map(kv.value, loc_of(ctx, kv.value, kv.key), ctx, key, false);
}

/// A trigger: one condition, or a list of conditions of which any may hold.
std::vector<Condition> parse_trigger(const KeyValue& kv, const Ctx& ctx, const std::string& key, bool allow_risk) {
  std::vector<Condition> out;
  if (kv.value.IsSequence()) {
    if (kv.value.size() == 0) fail(loc_of(ctx, kv.value, kv.key), key, "expected at least one condition, got []");
    for (std::size_t i = 0; i < kv.value.size(); ++i)
      out.push_back(parse_condition_map(kv.value[i], loc_of(ctx, kv.value[i], kv.key), ctx,
                                        key + "[" + std::to_string(i) + "]", allow_risk));
  } else {
    out.push_back(parse_condition_map(kv.value, loc_of(ctx, kv.value, kv.key), ctx, key, allow_risk));
  }
  return out;
}

struct Measure {
  std::string id;
  bool modelled = true;
  std::optional<LegalStatus> status;
  std::optional<Date> since, until;
  std::vector<Condition> applies_to;  // empty: wherever the bundle applies
  YAML::Node platform;                // keys it sets (undefined: none)

  /// "" when the measure is law (or practice) on `date`, else why not.
  std::string not_in_force(const std::optional<Date>& date) const {
    if (!status) return {};
    if (*status == LegalStatus::proposed) return {};  // a proposal bundle models the proposal as if adopted
    if (!date) return *status == LegalStatus::lapsed ? "lapsed " + until->text : std::string();
    if (since && date->days < since->days) return "not in force until " + since->text;
    if (until && date->days >= until->days) return "lapsed " + until->text;
    return {};
  }
};

struct Bundle {
  std::string name;
  Ctx ctx;
  YAML::Node platform;                  // bundle-wide keys, applied wherever the bundle applies
  std::optional<Condition> applies_to;  // the bundle's default scope
  std::optional<Date> as_of;
  std::string jurisdiction;
  std::vector<Measure> measures;
};

void validate_platform_keys(const YAML::Node& node, const Ctx& ctx, const std::string& key) {
  PlatformSpec scratch;  // validate now, so errors name the bundle file even if no platform matches
  auto t = table_of(scratch);
  apply_entries(t, flatten(node, ctx, key), ctx, key);
}

Measure parse_measure(const YAML::Node& m, const KeyValue& list, const Ctx& ctx, const std::string& key,
                      const std::optional<Date>& as_of) {
  if (!m.IsMap()) fail(loc_of(ctx, m, list.key), key, "expected a mapping {id, text, source}, got " + got(m));
  // `modelled` (whether the model has the control) and `note` (how it maps) are documentation too.
  check_keys(m, {"id", "text", "source", "modelled", "note", "status", "since", "until", "applies_to", "platform"}, ctx,
             key);
  Measure out;
  for (const char* f : {"id", "text", "source", "note"})
    if (auto kv = find_key(m, f)) scalar_text(kv, ctx, key + "." + f);
  if (auto kv = find_key(m, "id")) out.id = scalar_text(kv, ctx, key + ".id");
  if (out.id.empty()) fail(loc_of(ctx, m), key, "missing key 'id'");
  if (auto kv = find_key(m, "modelled")) {
    if (!(kv.value.IsScalar() && (kTrue.count(kv.value.Scalar()) || kFalse.count(kv.value.Scalar()))))
      fail(loc_of(ctx, kv.value, kv.key), key + ".modelled", "expected true or false, got " + got(kv.value));
    out.modelled = kTrue.count(kv.value.Scalar()) > 0;
  }
  if (auto kv = find_key(m, "status")) {
    const std::string s = scalar_text(kv, ctx, key + ".status");
    const auto it = std::find(kStatusNames.begin(), kStatusNames.end(), s);
    if (it == kStatusNames.end())
      fail(loc_of(ctx, kv.value, kv.key), key + ".status",
           "expected one of " + join_all(kStatusNames) + ", got '" + s + "'" + did_you_mean(s, kStatusNames));
    out.status = static_cast<LegalStatus>(it - kStatusNames.begin());
  } else if (as_of) {
    fail(loc_of(ctx, m), key + ".status",
         "missing key 'status' (in_force, lapsed, proposed or practice): a bundle with as_of states each "
         "measure's status");
  }
  if (auto kv = find_key(m, "since")) out.since = parse_date(kv, ctx, key + ".since");
  if (auto kv = find_key(m, "until")) out.until = parse_date(kv, ctx, key + ".until");
  if (out.since && out.until && out.until->days <= out.since->days)
    fail(loc_of(ctx, find_key(m, "until").value), key + ".until",
         "must come after since (" + out.since->text + "), got " + out.until->text);
  if (out.status == LegalStatus::in_force && !out.since)
    fail(loc_of(ctx, m), key + ".since", "missing key 'since': a measure in force states the date it took effect");
  if (out.status == LegalStatus::lapsed) {
    if (!out.until) fail(loc_of(ctx, m), key + ".until", "missing key 'until': a lapsed measure states when it lapsed");
    if (as_of && out.until->days > as_of->days)
      fail(loc_of(ctx, find_key(m, "until").value), key + ".until",
           "a measure lapsed as of " + as_of->text + " cannot lapse later (" + out.until->text +
               "); use status in_force with until");
  }
  if (out.status == LegalStatus::in_force && as_of && out.until && out.until->days <= as_of->days)
    fail(loc_of(ctx, find_key(m, "until").value), key + ".status",
         "lapsed on " + out.until->text + ", before the bundle's as_of " + as_of->text + ": status should be lapsed");
  if (auto kv = find_key(m, "applies_to")) out.applies_to = parse_trigger(kv, ctx, key + ".applies_to", true);
  if (auto kv = find_key(m, "platform"); kv && !kv.value.IsNull()) {
    if (!kv.value.IsMap())
      fail(loc_of(ctx, kv.value, kv.key), key + ".platform",
           "expected a mapping of platform controls, got " + got(kv.value));
    for (auto it = kv.value.begin(); it != kv.value.end(); ++it)
      if (!it->first.IsScalar() || it->first.Scalar().rfind("controls", 0) != 0)
        fail(loc_of(ctx, it->first), key + ".platform." + (it->first.IsScalar() ? it->first.Scalar() : "?"),
             "a measure sets platform controls only (controls.*)");
    if (!out.modelled)
      fail(loc_of(ctx, kv.value, kv.key), key + ".platform", "a measure with modelled: false sets no keys");
    validate_platform_keys(kv.value, ctx, key + ".platform");
    out.platform = kv.value;
  }
  return out;
}

Bundle parse_bundle(const std::string& name, const std::string& file) {
  Bundle b;
  b.name = name;
  b.ctx = Ctx{file, folder_of(file), true};
  const Ctx& ctx = b.ctx;
  auto text = read_file(file);
  if (!text) fail({file, 0, 0}, "", "cannot open policy bundle file");
  const YAML::Node root = parse_document(*text, ctx, "policy bundle file");
  check_keys(root,
             {"bundle", "title", "summary", "sources", "as_of", "jurisdiction", "measures", "applies_to", "platform"},
             ctx, "");
  auto kb = find_key(root, "bundle");
  if (!kb) fail(loc_of(ctx, root), "bundle", "missing key 'bundle' (it must be '" + name + "')");
  if (scalar_text(kb, ctx, "bundle") != name)
    fail(loc_of(ctx, kb.value, kb.key), "bundle",
         "bundle name '" + scalar_text(kb, ctx, "bundle") + "' must equal the file name '" + name + "'");
  if (auto k = find_key(root, "title")) scalar_text(k, ctx, "title");
  if (auto k = find_key(root, "summary")) scalar_text(k, ctx, "summary");
  if (auto k = find_key(root, "sources")) text_list(k, ctx, "sources");
  if (auto k = find_key(root, "as_of")) b.as_of = parse_date(k, ctx, "as_of");
  if (auto k = find_key(root, "jurisdiction")) {
    b.jurisdiction = scalar_text(k, ctx, "jurisdiction");
    if (!valid_name(b.jurisdiction))
      fail(loc_of(ctx, k.value, k.key), "jurisdiction",
           "a jurisdiction is a name of letters, digits, '_' and '-' (for example UK), got '" + b.jurisdiction + "'");
  }
  if (auto k = find_key(root, "measures")) {
    if (!k.value.IsSequence())
      fail(loc_of(ctx, k.value, k.key), "measures", "expected a list of {id, text, source}, got " + got(k.value));
    std::set<std::string> ids;
    for (std::size_t i = 0; i < k.value.size(); ++i) {
      const std::string key = "measures[" + std::to_string(i) + "]";
      b.measures.push_back(parse_measure(k.value[i], k, ctx, key, b.as_of));
      if (!ids.insert(b.measures.back().id).second)
        fail(loc_of(ctx, k.value[i]), key + ".id", "duplicate measure id '" + b.measures.back().id + "'");
    }
  }
  if (auto k = find_key(root, "applies_to")) b.applies_to = parse_condition(k, ctx, "applies_to");
  if (auto k = find_key(root, "platform")) {
    if (!k.value.IsNull()) {
      if (!k.value.IsMap())
        fail(loc_of(ctx, k.value, k.key), "platform", "expected a mapping of platform keys, got " + got(k.value));
      b.platform = k.value;
      validate_platform_keys(b.platform, ctx, "platform");
    }
  }
  return b;
}

void apply_keys(const YAML::Node& keys, const Ctx& ctx, const std::string& key, PlatformSpec& p) {
  if (!keys.IsMap()) return;
  auto t = table_of(p);
  apply_entries(t, flatten(keys, ctx, key), ctx, key);
}

/// A measure waiting for a platform's risk assessment to find risk.
struct RiskMeasure {
  const Bundle* bundle;
  const Measure* measure;
};

/// What one application of a bundle did to one platform.
struct Outcome {
  std::vector<std::string> applied, on_risk, skipped;
  std::string text() const {
    std::vector<std::string> parts;
    if (!applied.empty()) parts.push_back("applied " + join_all(applied));
    if (!on_risk.empty()) parts.push_back("when its risk assessment finds risk: " + join_all(on_risk));
    if (applied.empty() && on_risk.empty()) parts.emplace_back("no measure applies");
    if (!skipped.empty()) parts.push_back("not applied: " + join_all(skipped));
    return join_all(parts, "; ");
  }
};

/// Apply the measures of `b` in force on `date` whose trigger `p` meets (with
/// `users` in scope). Measures waiting for risk go to `risk_out`, or apply now
/// when `risk_found` (a risk response is being built).
Outcome apply_measures(const Bundle& b, PlatformSpec& p, double users, const std::optional<Date>& date, bool risk_found,
                       std::vector<RiskMeasure>* risk_out) {
  Outcome o;
  if (b.platform.IsMap()) {
    apply_keys(b.platform, b.ctx, "platform", p);
    o.applied.emplace_back("(bundle keys)");
  }
  for (const Measure& m : b.measures) {
    if (!m.platform.IsMap()) continue;  // documentation only
    if (auto why = m.not_in_force(date); !why.empty()) {
      o.skipped.push_back(m.id + " (" + why + ")");
      continue;
    }
    bool now = m.applies_to.empty(), later = false;
    std::string why;
    for (const Condition& c : m.applies_to) {
      const std::string w = c.why_not(p, users);
      if (!w.empty()) {
        if (why.empty()) why = w;
        continue;
      }
      if (!c.risk_found || risk_found)
        now = true;
      else
        later = true;
    }
    if (now) {
      apply_keys(m.platform, b.ctx, m.id + ".platform", p);
      o.applied.push_back(m.id);
    } else if (later && risk_out) {
      risk_out->push_back({&b, &m});
      o.on_risk.push_back(m.id);
    } else {
      o.skipped.push_back(m.id + " (" + (why.empty() ? "waits for a risk assessment" : why) + ")");
    }
  }
  return o;
}

// ---------------------------------------------------------------- resolver
/// Platform keys the loader handles itself rather than through describe().
const std::vector<std::string> kPlatformSpecialKeysList = {"risk_response"};
const std::set<std::string> kPlatformSpecialKeys(kPlatformSpecialKeysList.begin(), kPlatformSpecialKeysList.end());

const std::vector<std::string> kScenarioSpecialKeys = {
    "extends",   "policies", "platform_defaults",  "platforms", "platform_series", "timeline",
    "operators", "expect",   "jurisdiction_users", "burden"};

/// A platform's `risk_response` as written ({policy, set, description}),
/// resolved once the platform's final keys (and each timeline state) are known.
struct RawResponse {
  YAML::Node node;
  Ctx ctx;
  std::string key;  // "platforms.main.risk_response"
  Loc loc;
};

/// An operator as written (name -> body), kept until every platform is known.
struct RawOperator {
  YAML::Node name;
  YAML::Node body;
  Ctx ctx;
};

/// A timeline event as written, kept until every platform is known.
struct RawEvent {
  YAML::Node node;
  Ctx ctx;
  std::string key;  // "timeline[3]"
};

class Resolver {
 public:
  Resolver(const LoadOptions& options, std::string root_file)
      : options_(&options), root_file_(std::move(root_file)), root_folder_(folder_of(root_file_)) {}

  /// The file and its extends chain, with their own policies: everything that does
  /// not depend on LoadOptions::overrides or extra_policies (resolve() keeps it).
  void prepare(const std::string& text, const std::string& file) {
    spec_ = ScenarioSpec{};
    spec_.platforms.clear();
    forget_index();
    resolve_text(text, file);
  }

  /// A prepared copy finishes with other options (same policy_dirs).
  void bind(const LoadOptions& options) { options_ = &options; }

  /// The overrides and extra policies on top of prepare(), then the checks.
  ScenarioSpec finish(const std::string& file) {
    resolve_operators();
    apply_overrides();
    for (const auto& name : options_->extra_policies) {
      const Ctx ctx{"<--policy>", root_folder_, false};
      apply_policy(name, ctx, {ctx.file, 0, 0}, "policies", nullptr, nullptr);
    }
    check_cross_fields();
    resolve_risk_responses();
    build_timeline();
    check_memory();
    spec_.jurisdiction_users.assign(jurisdiction_users_.begin(), jurisdiction_users_.end());
    spec_.source_file = file;
    return std::move(spec_);
  }

 private:
  /// Resolve one file of the extends chain into spec_ (parent first).
  void resolve_text(const std::string& text, const std::string& file) {
    Ctx ctx{file, folder_of(file), true};
    const YAML::Node root = parse_document(text, ctx, "scenario file");

    // extends: the parent first, fully resolved. The stack holds the files
    // being resolved, to report a cycle instead of recursing forever.
    auto ext = find_key(root, "extends");
    if (ext) {
      const std::string rel = scalar_text(ext, ctx, "extends");
      if (rel.empty()) fail(loc_of(ctx, ext.value, ext.key), "extends", "expected a file path, got nothing");
      const std::string parent = display_path(ctx.folder, rel);
      stack_ids_.push_back(canonical_id(file));
      stack_files_.push_back(file);
      if (std::find(stack_ids_.begin(), stack_ids_.end(), canonical_id(parent)) != stack_ids_.end()) {
        std::vector<std::string> chain = stack_files_;
        chain.push_back(parent);
        fail(loc_of(ctx, ext.value, ext.key), "extends", "extends cycle: " + join_all(chain, " -> "));
      }
      auto parent_text = read_file(parent);
      if (!parent_text) fail(loc_of(ctx, ext.value, ext.key), "extends", "cannot open scenario file '" + parent + "'");
      resolve_text(*parent_text, parent);
      stack_ids_.pop_back();
      stack_files_.pop_back();
    } else {
      // The root of an extends chain: defaults.
      spec_ = ScenarioSpec{};
      spec_.platforms.clear();
      forget_index();
      template_ = PlatformSpec{};
      template_response_.reset();
      responses_.clear();
    }

    // This file's scenario-level values.
    const std::set<std::string> skip(kScenarioSpecialKeys.begin(), kScenarioSpecialKeys.end());
    {
      auto t = table_of(spec_);
      apply_entries(t, flatten(root, ctx, "", &skip), ctx, "", &locs_, kScenarioSpecialKeys);
    }

    // platform_defaults: onto the template for new platforms and every platform so far.
    if (auto pd = find_key(root, "platform_defaults"); pd && !pd.value.IsNull()) {
      if (!pd.value.IsMap())
        fail(loc_of(ctx, pd.value, pd.key), "platform_defaults",
             "expected a mapping of platform keys, got " + got(pd.value));
      const auto entries = flatten(pd.value, ctx, "platform_defaults", &kPlatformSpecialKeys);
      apply_platform_entries(template_, entries, ctx, "platform_defaults");
      for (auto& p : spec_.platforms) apply_platform_entries(p, entries, ctx, "platform_defaults");
      if (auto r = raw_response(pd.value, ctx, "platform_defaults")) {
        template_response_ = *r;
        for (const auto& p : spec_.platforms) responses_[p.name] = *r;
      }
    }

    // platforms: existing names override field by field, new names append.
    auto pl = find_key(root, "platforms");
    if (pl) {
      if (!pl.value.IsMap())
        fail(loc_of(ctx, pl.value, pl.key), "platforms",
             "expected a mapping of platform name -> platform keys, got " + got(pl.value));
      std::set<std::string> seen;
      for (auto it = pl.value.begin(); it != pl.value.end(); ++it) {
        const YAML::Node k = it->first;
        const YAML::Node v = it->second;
        if (!k.IsScalar()) fail(loc_of(ctx, k), "platforms", "platform names must be text, got " + got(k));
        const std::string& name = k.Scalar();
        const std::string key = "platforms." + name;
        if (!seen.insert(name).second) fail(loc_of(ctx, k), key, "duplicate platform '" + name + "'");
        if (!valid_name(name) || name == "all")
          fail(loc_of(ctx, k), key,
               "platform names use letters, digits, '_' and '-' and may not be 'all', got '" + name + "'");
        PlatformSpec* p = find_platform(name);
        if (!p) p = &new_platform(name);
        locs_[key] = loc_of(ctx, k);
        if (v.IsNull()) continue;
        if (!v.IsMap()) fail(loc_of(ctx, v, k), key, "expected a mapping of platform keys, got " + got(v));
        apply_platform_entries(*p, flatten(v, ctx, key, &kPlatformSpecialKeys), ctx, key);
        if (auto r = raw_response(v, ctx, key)) responses_[name] = *r;
      }
    }
    // platform_series: a long tail of similar platforms, PREFIX_001 ... PREFIX_COUNT.
    auto series = find_key(root, "platform_series");
    if (series && !series.value.IsNull()) {
      if (!series.value.IsSequence())
        fail(loc_of(ctx, series.value, series.key), "platform_series",
             "expected a list of {prefix, count, platform}, got " + got(series.value));
      for (std::size_t i = 0; i < series.value.size(); ++i) {
        const YAML::Node item = series.value[i];
        const std::string key = "platform_series[" + std::to_string(i) + "]";
        if (!item.IsMap()) fail(loc_of(ctx, item), key, "expected {prefix, count, platform}, got " + got(item));
        check_keys(item, {"prefix", "count", "platform"}, ctx, key);
        const auto kp = find_key(item, "prefix");
        const auto kc = find_key(item, "count");
        if (!kp) fail(loc_of(ctx, item), key, "missing key 'prefix'");
        if (!kc) fail(loc_of(ctx, item), key, "missing key 'count'");
        const std::string prefix = scalar_text(kp, ctx, key + ".prefix");
        if (!valid_name(prefix) || prefix == "all")
          fail(loc_of(ctx, kp.value, kp.key), key + ".prefix",
               "a prefix uses letters, digits, '_' and '-', got '" + prefix + "'");
        std::optional<std::int64_t> count;
        if (kc.value.IsScalar()) count = parse_int(kc.value.Scalar());
        if (!count || *count < 1 || *count > 100000)
          fail(loc_of(ctx, kc.value, kc.key), key + ".count",
               "expected a whole number from 1 to 100000, got " + got(kc.value));
        if (spec_.platforms.size() + static_cast<std::uint64_t>(*count) > kMaxPlatforms)
          fail(loc_of(ctx, kc.value, kc.key), key + ".count",
               too_many_platforms(spec_.platforms.size() + static_cast<std::uint64_t>(*count)));
        std::vector<Entry> entries;
        std::optional<RawResponse> response;
        if (auto kf = find_key(item, "platform"); kf && !kf.value.IsNull()) {
          if (!kf.value.IsMap())
            fail(loc_of(ctx, kf.value, kf.key), key + ".platform",
                 "expected a mapping of platform keys, got " + got(kf.value));
          entries = flatten(kf.value, ctx, key + ".platform", &kPlatformSpecialKeys);
          response = raw_response(kf.value, ctx, key + ".platform");
        }
        const std::size_t width = std::to_string(*count).size();
        const Loc where = loc_of(ctx, kp.value, kp.key);
        // New members are copies of one prototype (the template with the
        // series' keys), so the keys are checked and applied once, not once
        // per member; members that exist already take the keys themselves.
        std::optional<PlatformSpec> prototype;
        for (std::int64_t j = 1; j <= *count; ++j) {
          std::string num = std::to_string(j);
          num.insert(0, width - std::min(width, num.size()), '0');
          const std::string name = prefix + "_" + num;
          if (PlatformSpec* p = find_platform(name)) {
            apply_platform_entries(*p, entries, ctx, key + ".platform");
          } else {
            if (!prototype) {
              prototype = template_;
              apply_platform_entries(*prototype, entries, ctx, key + ".platform");
            }
            new_platform(name, *prototype);
          }
          locs_["platforms." + name] = where;
          if (response) responses_[name] = *response;
        }
      }
    }
    if (!pl && !series && spec_.platforms.empty()) new_platform("main");

    // jurisdiction_users: what the population stands for, for bundles' size triggers.
    if (auto ju = find_key(root, "jurisdiction_users"); ju && !ju.value.IsNull()) {
      if (!ju.value.IsMap())
        fail(loc_of(ctx, ju.value, ju.key), "jurisdiction_users",
             "expected a mapping like {UK: 68000000} (users the population stands for), got " + got(ju.value));
      for (auto it = ju.value.begin(); it != ju.value.end(); ++it) {
        const std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string();
        const std::string key = "jurisdiction_users." + name;
        if (!valid_name(name)) fail(loc_of(ctx, it->first), "jurisdiction_users", "expected a jurisdiction name");
        std::optional<double> x;
        if (it->second.IsScalar()) x = parse_double(it->second.Scalar());
        if (!x || !std::isfinite(*x) || *x <= 0)
          fail(loc_of(ctx, it->second, it->first), key, "expected a positive number of users, got " + got(it->second));
        jurisdiction_users_[name] = *x;
      }
    }

    // This file's policies, in order.
    if (auto po = find_key(root, "policies"); po && !po.value.IsNull()) {
      if (!po.value.IsSequence())
        fail(loc_of(ctx, po.value, po.key), "policies",
             "expected a list of bundle names or {bundle, platforms, where, law_on}, got " + got(po.value));
      for (std::size_t i = 0; i < po.value.size(); ++i)
        apply_policy_entry(po.value[i], ctx, "policies[" + std::to_string(i) + "]", po.key);
    }

    // timeline: kept raw until the whole scenario is known.
    if (auto tl = find_key(root, "timeline"); tl && !tl.value.IsNull()) {
      if (!tl.value.IsSequence())
        fail(loc_of(ctx, tl.value, tl.key), "timeline", "expected a list of events, got " + got(tl.value));
      for (std::size_t i = 0; i < tl.value.size(); ++i)
        raw_events_.push_back({tl.value[i], ctx, "timeline[" + std::to_string(i) + "]"});
    }
    // operators: kept raw until every platform is known.
    if (auto ko = find_key(root, "operators"); ko && !ko.value.IsNull()) {
      if (!ko.value.IsMap())
        fail(loc_of(ctx, ko.value, ko.key), "operators",
             "expected a mapping of operator name -> {platforms, enforcement_reach, pooled_review}, got " +
                 got(ko.value));
      for (auto it = ko.value.begin(); it != ko.value.end(); ++it)
        raw_operators_.push_back({it->first, it->second, ctx});
    }
    // burden: named weighted burdens; a later file replaces a name's weights.
    if (auto kb = find_key(root, "burden"); kb && !kb.value.IsNull()) parse_burdens(kb, ctx);
    // expect: reserved for the test harness, not interpreted here.
  }

  /// `burden: {name: {metric: weight, ...}, ...}`: metrics from the metric list, finite weights.
  void parse_burdens(const KeyValue& kb, const Ctx& ctx) {
    if (!kb.value.IsMap())
      fail(loc_of(ctx, kb.value, kb.key), "burden",
           "expected a mapping of burden name -> {metric: weight, ...}, got " + got(kb.value));
    std::vector<std::string> metrics;
    for (const auto& m : kMetrics) metrics.emplace_back(m.name);
    for (auto it = kb.value.begin(); it != kb.value.end(); ++it) {
      const std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string();
      const std::string key = "burden." + name;
      if (!valid_name(name))
        fail(loc_of(ctx, it->first), "burden", "burden names use letters, digits, '_' and '-', got " + got(it->first));
      if (std::find(metrics.begin(), metrics.end(), name) != metrics.end())
        fail(loc_of(ctx, it->first), key, "'" + name + "' is a metric; give the weighted burden another name");
      if (!it->second.IsMap() || it->second.size() == 0)
        fail(loc_of(ctx, it->second, it->first), key,
             "expected a non-empty mapping {metric: weight, ...}, got " + got(it->second));
      NamedBurden b{name, {}};
      for (auto w = it->second.begin(); w != it->second.end(); ++w) {
        const std::string metric = w->first.IsScalar() ? w->first.Scalar() : std::string();
        if (std::find(metrics.begin(), metrics.end(), metric) == metrics.end())
          fail(loc_of(ctx, w->first), key + "." + metric,
               "unknown metric '" + metric + "'" + did_you_mean(metric, metrics) + " (safesim metrics lists them)");
        std::optional<double> x;
        if (w->second.IsScalar()) x = parse_double(w->second.Scalar());
        if (!x || !std::isfinite(*x))
          fail(loc_of(ctx, w->second, w->first), key + "." + metric, "expected a finite number, got " + got(w->second));
        b.weights.emplace_back(metric, *x);
      }
      auto at = std::find_if(spec_.burdens.begin(), spec_.burdens.end(),
                             [&](const NamedBurden& o) { return o.name == name; });
      if (at == spec_.burdens.end())
        spec_.burdens.push_back(std::move(b));
      else
        *at = std::move(b);
    }
  }

  /// Declared operators, in order of first declaration; a later file changes
  /// an operator field by field (its platform list is replaced when given).
  void resolve_operators() {
    spec_.operators.clear();
    std::vector<Loc> platform_locs;
    for (const RawOperator& r : raw_operators_) {
      const Ctx& ctx = r.ctx;
      if (!r.name.IsScalar()) fail(loc_of(ctx, r.name), "operators", "operator names must be text, got " + got(r.name));
      const std::string name = r.name.Scalar();
      const std::string key = "operators." + name;
      if (!valid_name(name) || name == "all")
        fail(loc_of(ctx, r.name), key,
             "operator names use letters, digits, '_' and '-' and may not be 'all', got '" + name + "'");
      if (!r.body.IsMap())
        fail(loc_of(ctx, r.body, r.name), key,
             "expected a mapping {platforms, enforcement_reach, pooled_review, reporting, completeness, delay_days}, "
             "got " +
                 got(r.body));
      std::size_t o = 0;
      while (o < spec_.operators.size() && spec_.operators[o].name != name) ++o;
      if (o == spec_.operators.size()) {
        spec_.operators.push_back(OperatorSpec{});
        spec_.operators.back().name = name;
        platform_locs.push_back(loc_of(ctx, r.name));
      }
      OperatorSpec& op = spec_.operators[o];
      const std::set<std::string> skip = {"platforms"};
      apply_entries(table_of(op), flatten(r.body, ctx, key, &skip), ctx, key, &locs_, {"platforms"});
      if (auto kp = find_key(r.body, "platforms")) {
        const Loc loc = loc_of(ctx, kp.value, kp.key);
        op.platforms.clear();
        for (const auto& n : text_list(kp, ctx, key + ".platforms"))
          op.platforms.push_back(platform_index(n, loc, key + ".platforms"));
        platform_locs[o] = loc;
      }
    }
    // Each platform belongs to at most one declared operator; an operator's
    // name may not be that of a platform outside it (an undeclared platform
    // is an operator of its own name).
    std::vector<std::size_t> owner(spec_.platforms.size(), spec_.operators.size());
    for (std::size_t o = 0; o < spec_.operators.size(); ++o) {
      const OperatorSpec& op = spec_.operators[o];
      const std::string key = "operators." + op.name + ".platforms";
      if (op.platforms.empty()) fail(platform_locs[o], key, "an operator needs at least one platform");
      for (std::size_t p : op.platforms) {
        if (owner[p] == o) fail(platform_locs[o], key, "platform '" + spec_.platforms[p].name + "' is listed twice");
        if (owner[p] != spec_.operators.size())
          fail(platform_locs[o], key,
               "platform '" + spec_.platforms[p].name + "' already belongs to operator '" +
                   spec_.operators[owner[p]].name + "'");
        owner[p] = o;
      }
    }
    for (std::size_t o = 0; o < spec_.operators.size(); ++o)
      if (auto p = index_of(spec_.operators[o].name); p && owner[*p] != o)
        fail(platform_locs[o], "operators." + spec_.operators[o].name,
             "operator '" + spec_.operators[o].name + "' has the name of platform '" + spec_.platforms[*p].name +
                 "', which is not one of its services");
  }

  static std::string canonical_id(const std::string& file) {
    std::error_code ec;
    fs::path p = fs::weakly_canonical(file, ec);
    return (ec ? fs::path(file).lexically_normal() : p).string();
  }

  /// A new platform from the template (platform_defaults so far).
  PlatformSpec& new_platform(const std::string& name) { return new_platform(name, template_); }

  /// A new platform from `from` (the template, or a series' prototype built from it).
  PlatformSpec& new_platform(const std::string& name, const PlatformSpec& from) {
    spec_.platforms.push_back(from);
    spec_.platforms.back().name = name;
    if (template_response_) responses_[name] = *template_response_;
    return spec_.platforms.back();
  }

  /// Platform keys from a mapping (risk_response excluded by the flatten).
  static void apply_platform_entries(PlatformSpec& p, const std::vector<Entry>& entries, const Ctx& ctx,
                                     const std::string& key) {
    apply_entries(table_of(p), entries, ctx, key, nullptr, kPlatformSpecialKeysList);
  }

  /// The `risk_response` of a platform mapping, checked for shape; kept raw
  /// until the platform's final keys are known.
  static std::optional<RawResponse> raw_response(const YAML::Node& map, const Ctx& ctx, const std::string& key) {
    auto kr = find_key(map, "risk_response");
    if (!kr || kr.value.IsNull()) return std::nullopt;
    const std::string rkey = key + ".risk_response";
    if (!kr.value.IsMap())
      fail(loc_of(ctx, kr.value, kr.key), rkey, "expected {policy, set, description}, got " + got(kr.value));
    check_keys(kr.value, {"policy", "set", "description"}, ctx, rkey);
    return RawResponse{kr.value, ctx, rkey, loc_of(ctx, kr.value, kr.key)};
  }

  /// `p` with its risk response applied: the bundle first, then the keys.
  std::shared_ptr<PlatformSpec> resolve_response(const PlatformSpec& p, const RawResponse& r) {
    auto out = std::make_shared<PlatformSpec>(p);
    out->on_risk.reset();
    std::vector<std::string> parts;
    if (auto kq = find_key(r.node, "policy"); kq && !kq.value.IsNull()) {
      const std::string name = scalar_text(kq, r.ctx, r.key + ".policy");
      const Bundle& b = find_bundle(name, r.ctx, loc_of(r.ctx, kq.value, kq.key), r.key + ".policy");
      // The risk has been found, so measures that wait for it apply too.
      apply_measures(b, *out, users_in_scope(p, b), b.as_of, true, nullptr);
      parts.push_back("policy " + name);
    }
    if (auto ks = find_key(r.node, "set"); ks && !ks.value.IsNull()) {
      if (!ks.value.IsMap())
        fail(loc_of(r.ctx, ks.value, ks.key), r.key + ".set",
             "expected a mapping of platform keys, got " + got(ks.value));
      const auto entries = flatten(ks.value, r.ctx, r.key + ".set");
      apply_entries(table_of(*out), entries, r.ctx, r.key + ".set");
      for (const auto& e : entries)
        if (!e.value.IsMap())
          parts.push_back(join_all(e.path, ".") + "=" + (e.value.IsScalar() ? e.value.Scalar() : got(e.value)));
    }
    // A description as written, even empty (a dump writes every description, so one made up
    // here on reload would change the scenario); without one, it is made from what was applied.
    if (auto kd = find_key(r.node, "description"))
      out->risk_response_description = scalar_text(kd, r.ctx, r.key + ".description");
    else
      out->risk_response_description = join_all(parts, "; ");
    if (out->user_share != p.user_share || out->kind != p.kind)
      fail(r.loc, r.key, "a risk response changes controls only, not kind or user_share");
    return out;
  }

  /// The platform `p` runs once its risk assessment finds risk: its risk
  /// response, then the bundle measures that wait for risk. Null if neither.
  std::shared_ptr<const PlatformSpec> on_risk_of(const PlatformSpec& p, const std::optional<RawResponse>& r,
                                                 const std::vector<RiskMeasure>& waiting) {
    if (!r && waiting.empty()) return nullptr;
    std::shared_ptr<PlatformSpec> out;
    if (r) {
      out = resolve_response(p, *r);
    } else {
      out = std::make_shared<PlatformSpec>(p);
      out->on_risk.reset();
      out->risk_response_description.clear();
    }
    std::vector<std::string> ids;
    for (const RiskMeasure& w : waiting) {
      apply_keys(w.measure->platform, w.bundle->ctx, w.measure->id + ".platform", *out);
      ids.push_back(w.bundle->name + ": " + w.measure->id);
    }
    if (!ids.empty()) {
      const std::string m = "measures on risk found (" + join_all(ids) + ")";
      out->risk_response_description =
          out->risk_response_description.empty() ? m : out->risk_response_description + "; " + m;
    }
    return out;
  }

  /// Every platform's response, resolved against its final keys.
  void resolve_risk_responses() {
    for (auto& p : spec_.platforms) {
      auto it = responses_.find(p.name);
      std::optional<RawResponse> r;
      if (it != responses_.end()) r = it->second;
      const auto& waiting = waiting_[p.name];
      p.on_risk = on_risk_of(p, r, waiting);
      if (!waiting.empty() && !p.controls.risk_assessment.enabled)
        spec_.policy_log.push_back(p.name +
                                   ": measures waiting for a risk assessment never apply "
                                   "(controls.risk_assessment.enabled is false)");
    }
  }

  /// The index of platform `name`, if there is one. Platforms are looked up
  /// by name once per platform key, series member and operator, so a linear
  /// search made loading quadratic in the platform count (a 1,500-service
  /// tail took seconds under the sanitizers). The index follows spec_.platforms,
  /// which only grows or is reset, and a name never changes once set.
  std::optional<std::size_t> index_of(const std::string& name) const {
    const auto& ps = spec_.platforms;
    if (indexed_ > ps.size()) forget_index();
    for (; indexed_ < ps.size(); ++indexed_) index_.emplace(ps[indexed_].name, indexed_);
    auto it = index_.find(name);
    if (it == index_.end()) return std::nullopt;
    if (ps[it->second].name != name) {  // reset without forget_index(): rebuild once
      forget_index();
      return index_of(name);
    }
    return it->second;
  }

  /// Called wherever spec_ is reset, so index_of does not keep stale names.
  void forget_index() const {
    index_.clear();
    indexed_ = 0;
  }

  PlatformSpec* find_platform(const std::string& name) {
    auto i = index_of(name);
    return i ? &spec_.platforms[*i] : nullptr;
  }

  std::vector<std::string> platform_names() const {
    std::vector<std::string> out;
    for (const auto& p : spec_.platforms) out.push_back(p.name);
    return out;
  }

  std::size_t platform_index(const std::string& name, const Loc& loc, const std::string& key) const {
    if (auto i = index_of(name)) return *i;
    fail(loc, key,
         "unknown platform '" + name + "'; platforms are " + join_all(platform_names()) +
             did_you_mean(name, platform_names()));
  }

  void apply_policy_entry(const YAML::Node& item, const Ctx& ctx, const std::string& key, const YAML::Node& list_key) {
    if (item.IsScalar()) {
      apply_policy(item.Scalar(), ctx, loc_of(ctx, item, list_key), key, nullptr, nullptr);
      return;
    }
    if (!item.IsMap())
      fail(loc_of(ctx, item, list_key), key,
           "expected a bundle name or {bundle, platforms, where, law_on}, got " + got(item));
    check_keys(item, {"bundle", "platforms", "where", "law_on", "risk_found"}, ctx, key);
    auto kb = find_key(item, "bundle");
    if (!kb) fail(loc_of(ctx, item), key, "missing key 'bundle'");
    const std::string name = scalar_text(kb, ctx, key + ".bundle");
    std::vector<std::size_t> subset;
    bool has_subset = false;
    if (auto kp = find_key(item, "platforms")) {
      has_subset = true;
      for (const auto& n : text_list(kp, ctx, key + ".platforms"))
        subset.push_back(platform_index(n, loc_of(ctx, kp.value, kp.key), key + ".platforms"));
    }
    std::optional<Condition> where;
    if (auto kw = find_key(item, "where")) where = parse_condition(kw, ctx, key + ".where");
    std::optional<Date> law_on;
    if (auto kl = find_key(item, "law_on")) law_on = parse_date(kl, ctx, key + ".law_on");
    bool risk_found = false;
    if (auto kr = find_key(item, "risk_found")) {
      if (!(kr.value.IsScalar() && (kTrue.count(kr.value.Scalar()) || kFalse.count(kr.value.Scalar()))))
        fail(loc_of(ctx, kr.value, kr.key), key + ".risk_found", "expected true or false, got " + got(kr.value));
      risk_found = kTrue.count(kr.value.Scalar()) > 0;
    }
    apply_policy(name, ctx, loc_of(ctx, kb.value, kb.key), key + ".bundle", has_subset ? &subset : nullptr,
                 where ? &*where : nullptr, law_on, risk_found);
  }

  const Bundle& find_bundle(const std::string& name, const Ctx& ctx, const Loc& loc, const std::string& key) {
    std::vector<fs::path> dirs = {ctx.folder / "policies", root_folder_ / "policies"};
    for (const auto& d : options_->policy_dirs) dirs.emplace_back(d);
    if (!valid_name(name)) fail(loc, key, "policy bundle names use letters, digits, '_' and '-', got '" + name + "'");
    for (const auto& d : dirs) {
      const fs::path file = d / (name + ".yaml");
      std::error_code ec;
      if (!fs::is_regular_file(file, ec)) {
        if (t_file_deps) t_file_deps->emplace_back(file.string(), std::nullopt);  // must stay absent
        continue;
      }
      const std::string id = canonical_id(file.string());
      auto it = bundles_.find(id);
      if (it == bundles_.end()) it = bundles_.emplace(id, parse_bundle(name, file.lexically_normal().string())).first;
      return it->second;
    }
    std::vector<std::string> known, searched;
    for (const auto& d : dirs) {
      const std::string shown = d.lexically_normal().string();
      if (std::find(searched.begin(), searched.end(), shown) == searched.end()) searched.push_back(shown);
      std::error_code ec;
      if (!fs::is_directory(d, ec)) continue;
      for (const auto& f : fs::directory_iterator(d, ec))
        if (f.path().extension() == ".yaml") known.push_back(f.path().stem().string());
    }
    fail(loc, key,
         "unknown policy bundle '" + name + "'; no " + name + ".yaml in " + join_all(searched) +
             did_you_mean(name, known));
  }

  /// Users of `p` in the bundle's jurisdiction: the platform's share of the
  /// users the scenario says its population stands for there
  /// (`jurisdiction_users`), else its share of the simulated users.
  double users_in_scope(const PlatformSpec& p, const Bundle& b) const {
    auto it = jurisdiction_users_.find(b.jurisdiction);
    const double users = it == jurisdiction_users_.end() ? static_cast<double>(spec_.population.users) : it->second;
    return users * p.user_share;
  }

  /// What applying `b` does to the platforms in `targets`, one log line per
  /// group of platforms with the same outcome.
  void log_application(const Bundle& b, const std::string& when, const std::optional<Date>& date,
                       const std::vector<std::pair<std::string, std::string>>& outcomes) {
    std::string head = when + b.name;
    if (date) head += " (law on " + date->text + ")";
    bool sized = b.applies_to && b.applies_to->min_users > 0;
    for (const auto& m : b.measures)
      for (const auto& c : m.applies_to) sized = sized || c.min_users > 0;
    if (sized && !b.jurisdiction.empty() && !jurisdiction_users_.count(b.jurisdiction))
      head += " [sizes in simulated users: no jurisdiction_users for " + b.jurisdiction + "]";
    if (outcomes.empty()) {
      spec_.policy_log.push_back(head + ": no platform in scope");
      return;
    }
    std::vector<std::string> texts;
    std::map<std::string, std::vector<std::string>> groups;
    for (const auto& [name, text] : outcomes) {
      if (!groups.count(text)) texts.push_back(text);
      groups[text].push_back(name);
    }
    for (const auto& text : texts) {
      auto names = groups[text];
      const std::size_t n = names.size();
      if (n > 4) {
        names.resize(3);
        names.push_back("... (" + std::to_string(n) + " platforms)");
      }
      spec_.policy_log.push_back(head + " -> " + join_all(names) + ": " + text);
    }
  }

  /// Apply a bundle to every platform (or `subset`) that meets `where` (or the
  /// bundle's own applies_to), with the measures in force on `law_on` (or the
  /// bundle's as_of). `risk_found`: measures that wait for the platform's risk
  /// assessment apply at once, as if it had already found risk.
  void apply_policy(const std::string& name, const Ctx& ctx, const Loc& loc, const std::string& key,
                    const std::vector<std::size_t>* subset, const Condition* where,
                    const std::optional<Date>& law_on = std::nullopt, bool risk_found = false) {
    const Bundle& b = find_bundle(name, ctx, loc, key);
    const Condition* cond = where ? where : (b.applies_to ? &*b.applies_to : nullptr);
    const std::optional<Date> date = law_on ? law_on : b.as_of;
    std::vector<std::pair<std::string, std::string>> outcomes;
    for (std::size_t i = 0; i < spec_.platforms.size(); ++i) {
      if (subset && std::find(subset->begin(), subset->end(), i) == subset->end()) continue;
      PlatformSpec& p = spec_.platforms[i];
      const double users = users_in_scope(p, b);
      if (cond && !cond->matches(p, users)) {
        outcomes.emplace_back(p.name, "outside the bundle's scope (" + cond->why_not(p, users) + ")");
        continue;
      }
      outcomes.emplace_back(p.name, apply_measures(b, p, users, date, risk_found, &waiting_[p.name]).text());
    }
    log_application(b, risk_found ? "(risk taken as found) " : "", date, outcomes);
    spec_.policies.push_back(name);
  }

  void apply_overrides() {
    const Ctx ctx{kSetFile, root_folder_, false};
    for (const auto& [path, value_text] : options_->overrides) {
      const Loc loc{kSetFile, 0, 0};
      YAML::Node value;
      try {
        value = YAML::Load(value_text);
      } catch (const YAML::Exception& e) {
        fail(loc, path, "invalid YAML value '" + value_text + "': " + e.msg);
      }
      if (find_invalid_utf8(value_text)) fail(loc, path, "value is not valid UTF-8");
      const auto parts = split(path, '.');
      for (const auto& part : parts)
        if (part.empty()) fail(loc, path, "empty component in key path '" + path + "'");
      if (parts[0] == "platforms") {
        if (parts.size() < 3) fail(loc, path, "expected platforms.<name>.<key> or platforms.*.<key>");
        std::vector<std::size_t> targets;
        if (parts[1] == "*") {
          for (std::size_t i = 0; i < spec_.platforms.size(); ++i) targets.push_back(i);
        } else {
          targets.push_back(platform_index(parts[1], loc, "platforms." + parts[1]));
        }
        YAML::Node map;
        map[join(std::vector<std::string>(parts.begin() + 2, parts.end()), parts.size() - 2)] = value;
        for (std::size_t i : targets) {
          const std::string prefix = "platforms." + spec_.platforms[i].name;
          apply_entries(table_of(spec_.platforms[i]), flatten(map, ctx, prefix), ctx, prefix);
        }
        continue;
      }
      if (parts[0] == "operators") {
        if (parts.size() < 3) fail(loc, path, "expected operators.<name>.<key>");
        std::size_t o = 0;
        while (o < spec_.operators.size() && spec_.operators[o].name != parts[1]) ++o;
        if (o == spec_.operators.size()) {
          std::vector<std::string> names;
          for (const auto& op : spec_.operators) names.push_back(op.name);
          fail(loc, "operators." + parts[1],
               "unknown operator '" + parts[1] + "'; declared operators are " +
                   (names.empty() ? std::string("none") : join_all(names)) + did_you_mean(parts[1], names));
        }
        YAML::Node map;
        map[join(std::vector<std::string>(parts.begin() + 2, parts.end()), parts.size() - 2)] = value;
        const std::string prefix = "operators." + parts[1];
        apply_entries(table_of(spec_.operators[o]), flatten(map, ctx, prefix), ctx, prefix);
        continue;
      }
      if (std::find(kScenarioSpecialKeys.begin(), kScenarioSpecialKeys.end(), parts[0]) != kScenarioSpecialKeys.end())
        fail(loc, path, "'" + parts[0] + "' cannot be set as an override (use a scenario file or --policy)");
      YAML::Node map;
      map[path] = value;
      auto t = table_of(spec_);
      apply_entries(t, flatten(map, ctx, ""), ctx, "", &locs_, {"platforms"});
    }
  }

  Loc loc_for(const std::string& key) const {
    auto it = locs_.find(key);
    if (it != locs_.end()) return it->second;
    return {root_file_, 0, 0};
  }

  /// The key (of `keys`) whose value was set last in the files, for messages.
  std::string known_key(std::initializer_list<std::string> keys) const {
    for (const auto& k : keys)
      if (locs_.count(k)) return k;
    return *keys.begin();
  }

  /// population.age_bands: "LOW-HIGH,LOW-HIGH,..." within 0-17, increasing, not overlapping.
  void check_age_bands() {
    const std::string& text = spec_.population.age_bands;
    if (text.empty()) return;
    const std::string key = "population.age_bands";
    int last = -1;
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t comma = std::min(text.find(',', start), text.size());
      std::string part = text.substr(start, comma - start);
      part.erase(0, part.find_first_not_of(' '));
      part.erase(part.find_last_not_of(' ') + 1);
      int lo = -1, hi = -1;
      char dash = 0, extra = 0;
      if (std::sscanf(part.c_str(), "%d %c %d %c", &lo, &dash, &hi, &extra) != 3 || dash != '-')
        fail(loc_for(key), key, "age band '" + part + "': expected LOW-HIGH, for example 13-15");
      if (lo < 0 || lo > hi || hi > 17)
        fail(loc_for(key), key, "age band '" + part + "': ages must satisfy 0 <= low <= high <= 17");
      if (lo <= last) fail(loc_for(key), key, "age band '" + part + "' overlaps or precedes the band before it");
      last = hi;
      start = comma + 1;
    }
  }

  void check_cross_fields() {
    check_age_bands();
    const auto& o = spec_.offenders;
    check_engine_limits();
    const double sum = o.groomer.share + o.sextortion.share + o.distributor.share;
    if (std::abs(sum - 1.0) > 1e-9) {
      const std::string key =
          known_key({"offenders.groomer.share", "offenders.sextortion.share", "offenders.distributor.share"});
      fail(loc_for(key), key,
           "offender type shares must sum to 1, got " + approx(sum) + " (groomer " + human(o.groomer.share) +
               " + sextortion " + human(o.sextortion.share) + " + distributor " + human(o.distributor.share) + ")");
    }
    const std::pair<const char*, const OffenderTypeSpec*> types[] = {
        {"groomer", &o.groomer}, {"sextortion", &o.sextortion}, {"distributor", &o.distributor}, {"peer", &o.peer}};
    if (o.peer_age_min > o.peer_age_max) {
      const std::string key = known_key({"offenders.peer_age_min", "offenders.peer_age_max"});
      fail(loc_for(key), key,
           "peer_age_min (" + std::to_string(o.peer_age_min) + ") must not exceed peer_age_max (" +
               std::to_string(o.peer_age_max) + ")");
    }
    for (const auto& [name, t] : types) {
      if (t->target_age_min > t->target_age_max) {
        const std::string base = std::string("offenders.") + name + ".";
        const std::string key = known_key({base + "target_age_min", base + "target_age_max"});
        fail(loc_for(key), key,
             "target_age_min (" + std::to_string(t->target_age_min) + ") must not exceed target_age_max (" +
                 std::to_string(t->target_age_max) + ")");
      }
      if (t->claimed_teen_age_min > t->claimed_teen_age_max) {
        const std::string base = std::string("offenders.") + name + ".";
        const std::string key = known_key({base + "claimed_teen_age_min", base + "claimed_teen_age_max"});
        fail(loc_for(key), key,
             "claimed_teen_age_min (" + std::to_string(t->claimed_teen_age_min) +
                 ") must not exceed "
                 "claimed_teen_age_max (" +
                 std::to_string(t->claimed_teen_age_max) + ")");
      }
      if (t->sextortion_share + t->meeting_share > 1.0 + 1e-9) {
        const std::string base = std::string("offenders.") + name + ".";
        const std::string key = known_key({base + "sextortion_share", base + "meeting_share"});
        fail(loc_for(key), key,
             "sextortion_share + meeting_share must not exceed 1 (the rest is images obtained), got " +
                 human(t->sextortion_share) + " + " + human(t->meeting_share));
      }
    }
    const auto& pop = spec_.population;
    if (!(pop.youngest_age < 18 && pop.oldest_age >= 18)) {
      const std::string key = known_key({"population.youngest_age", "population.oldest_age"});
      fail(loc_for(key), key,
           "need youngest_age < 18 <= oldest_age, got " + std::to_string(pop.youngest_age) + " and " +
               std::to_string(pop.oldest_age));
    }
    const double ticks = 24.0 / spec_.dt_hours;
    if (std::abs(ticks - std::round(ticks)) > 1e-9)
      fail(loc_for("dt_hours"), "dt_hours",
           "must divide 24 hours into whole ticks, got " + human(spec_.dt_hours) + " (24 / " + human(spec_.dt_hours) +
               " = " + approx(ticks) + ")");
    if (spec_.platforms.empty()) fail(loc_for("platforms"), "platforms", "a scenario needs at least one platform");
    std::set<std::string> names;
    for (const auto& p : spec_.platforms)
      if (!names.insert(p.name).second)
        fail(loc_for("platforms." + p.name), "platforms." + p.name, "duplicate platform name '" + p.name + "'");
  }

  /// Sizes past what the engine's compact state holds (safesim/limits.hpp).
  void check_engine_limits() {
    if (spec_.platforms.size() > kMaxPlatforms)
      fail(loc_for("platforms"), "platforms", too_many_platforms(spec_.platforms.size()));
    if (spec_.horizon_days + spec_.warmup_days > kMaxHorizonDays) {
      const std::string key = known_key({"warmup_days", "horizon_days"});
      fail(loc_for(key), key,
           "horizon_days + warmup_days is " + std::to_string(spec_.horizon_days + spec_.warmup_days) +
               " days; the engine simulates at most " + std::to_string(kMaxHorizonDays));
    }
    // Offenders expected over the run (initial plus arrivals), with room for
    // the Poisson spread: the account keys hold kMaxOffenders.
    const auto& pop = spec_.population;
    const double years = static_cast<double>(spec_.horizon_days + spec_.warmup_days) / 365.0;
    const double expected = static_cast<double>(pop.users) * (1.0 - pop.minor_share) * spec_.offenders.share_of_adults *
                            (1.0 + spec_.offenders.arrivals_per_year * years);
    // With peer perpetrators the key space is halved: adults below kMaxOffenders / 2, peers above (offenders.cpp).
    const bool peers = spec_.offenders.peer_share > 0;
    const double room = static_cast<double>(peers ? kMaxOffenders / 2 : kMaxOffenders);
    if (expected + 6.0 * std::sqrt(expected) >= room)
      fail(loc_for("offenders.share_of_adults"), "offenders.share_of_adults",
           "about " + approx(expected) + " offenders expected over the run (users x adult share x share_of_adults, " +
               "plus arrivals); the engine holds at most " + approx(room) +
               (peers ? " adult offenders when there are peer perpetrators" : ""));
    // Users in the peer ages, as population.cpp draws them, so the refusal names what the run would really hold.
    const double peer_age_share = share_aged(pop, static_cast<double>(spec_.offenders.peer_age_min),
                                             static_cast<double>(spec_.offenders.peer_age_max));
    const double peer_expected = static_cast<double>(pop.users) * peer_age_share * spec_.offenders.peer_share *
                                 (1.0 + spec_.offenders.arrivals_per_year * years);
    if (peers && peer_expected + 6.0 * std::sqrt(peer_expected) >= room)
      fail(loc_for("offenders.peer_share"), "offenders.peer_share",
           "about " + approx(peer_expected) +
               " peer perpetrators over the run (users aged peer_age_min to peer_age_max x peer_share, plus "
               "arrivals); "
               "the engine holds at most " +
               approx(room));
  }

  void check_memory() const {
    const std::uint64_t need = estimate_memory_bytes(spec_);
    const std::uint64_t have = memory_limit_bytes();
    if (have == 0 || need <= have) return;
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "needs about %.1f GB of memory per run; this process may use %.1f GB (the lowest of RAM, "
                  "ulimit and cgroup limit)",
                  static_cast<double>(need) / 1e9, static_cast<double>(have) / 1e9);
    // Blame the key that makes most of it: the daily output array grows with the horizon.
    if (daily_output_bytes(spec_) * 4 > need)
      fail(loc_for("horizon_days"), "horizon_days",
           "a horizon of " + std::to_string(spec_.horizon_days) + " days over " +
               std::to_string(spec_.platforms.size()) + " platform(s) " + buf);
    fail(loc_for("population.users"), "population.users",
         "a population of " + std::to_string(spec_.population.users) + " users " + buf);
  }

  struct Parsed {
    std::int64_t day = 0;
    std::string platform = "all";
    YAML::Node set;
    std::string policy;
    Loc policy_loc;
    std::optional<Date> law_on;  // the date whose law the bundle applies (default: its as_of)
    std::string description;
    const RawEvent* raw = nullptr;
    Loc platform_loc;
    std::optional<RawResponse> response;  // replaces the platform's risk_response from this event on
  };

  Parsed parse_event(const RawEvent& r) {
    const Ctx& ctx = r.ctx;
    Parsed p;
    p.raw = &r;
    if (!r.node.IsMap())
      fail(loc_of(ctx, r.node), r.key,
           "expected an event {day, platform, set, policy, description}, got " + got(r.node));
    check_keys(r.node, {"day", "platform", "set", "policy", "law_on", "description", "risk_response"}, ctx, r.key);
    p.response = raw_response(r.node, ctx, r.key);
    auto kd = find_key(r.node, "day");
    if (!kd) fail(loc_of(ctx, r.node), r.key, "missing key 'day'");
    std::optional<std::int64_t> day;
    if (kd.value.IsScalar()) day = parse_int(kd.value.Scalar());
    const Loc dloc = loc_of(ctx, kd.value, kd.key);
    if (!day) fail(dloc, r.key + ".day", "expected a day (a whole number), got " + got(kd.value));
    if (*day < 0 || *day >= spec_.horizon_days)
      fail(dloc, r.key + ".day",
           "day " + std::to_string(*day) + " is outside the horizon [0, " + std::to_string(spec_.horizon_days) + ")");
    p.day = *day;
    p.platform_loc = loc_of(ctx, r.node);
    if (auto kp = find_key(r.node, "platform")) {
      p.platform = scalar_text(kp, ctx, r.key + ".platform");
      p.platform_loc = loc_of(ctx, kp.value, kp.key);
      if (p.platform != "all") platform_index(p.platform, p.platform_loc, r.key + ".platform");
    }
    if (auto ks = find_key(r.node, "set"); ks && !ks.value.IsNull()) {
      if (!ks.value.IsMap())
        fail(loc_of(ctx, ks.value, ks.key), r.key + ".set",
             "expected a mapping of platform keys, got " + got(ks.value));
      p.set = ks.value;
    }
    if (auto kq = find_key(r.node, "policy")) {
      p.policy = scalar_text(kq, ctx, r.key + ".policy");
      p.policy_loc = loc_of(ctx, kq.value, kq.key);
    }
    if (auto kl = find_key(r.node, "law_on")) {
      if (p.policy.empty()) fail(loc_of(ctx, kl.value, kl.key), r.key + ".law_on", "law_on needs a 'policy' to apply");
      p.law_on = parse_date(kl, ctx, r.key + ".law_on");
    }
    if (!p.set.IsMap() && p.policy.empty() && !p.response)
      fail(loc_of(ctx, r.node), r.key, "an event needs 'set', 'policy' or 'risk_response'");
    if (auto kdesc = find_key(r.node, "description")) p.description = scalar_text(kdesc, ctx, r.key + ".description");
    if (p.description.empty()) {
      std::vector<std::string> parts;
      if (!p.policy.empty())
        parts.push_back("policy " + p.policy + (p.law_on ? " (law on " + p.law_on->text + ")" : ""));
      if (p.set.IsMap())
        for (const auto& e : flatten(p.set, ctx, r.key + ".set"))
          if (!e.value.IsMap())
            parts.push_back(join_all(e.path, ".") + "=" + (e.value.IsScalar() ? e.value.Scalar() : got(e.value)));
      if (parts.empty() && p.response) parts.push_back("new risk_response");
      p.description = join_all(parts, "; ");
    }
    return p;
  }

  void build_timeline() {
    std::vector<Parsed> events;
    for (const auto& r : raw_events_) events.push_back(parse_event(r));
    // Sort indices, not the events: assigning yaml-cpp nodes rebinds shared nodes.
    std::vector<std::size_t> order(events.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return events[a].day < events[b].day; });
    std::vector<PlatformSpec> current = spec_.platforms;
    std::vector<std::optional<RawResponse>> response(current.size());
    std::vector<std::vector<RiskMeasure>> waiting(current.size());
    for (std::size_t i = 0; i < current.size(); ++i) {
      if (auto it = responses_.find(current[i].name); it != responses_.end()) response[i] = it->second;
      waiting[i] = waiting_[current[i].name];
    }
    for (std::size_t k : order) {
      const Parsed& e = events[k];
      std::vector<std::size_t> targets;
      if (e.platform == "all") {
        for (std::size_t i = 0; i < current.size(); ++i) targets.push_back(i);
      } else {
        targets.push_back(platform_index(e.platform, e.platform_loc, e.raw->key + ".platform"));
      }
      const Bundle* b =
          e.policy.empty() ? nullptr : &find_bundle(e.policy, e.raw->ctx, e.policy_loc, e.raw->key + ".policy");
      const std::optional<Date> date = b ? (e.law_on ? e.law_on : b->as_of) : std::nullopt;
      std::vector<std::pair<std::string, std::string>> outcomes;
      for (std::size_t i : targets) {
        PlatformSpec& p = current[i];
        // Policy first, then explicit keys: what the event spells out wins.
        // An event for "all" respects the bundle's applies_to; a named platform skips it (each
        // measure's own trigger still holds).
        if (b) {
          const double users = users_in_scope(p, *b);
          if (e.platform == "all" && b->applies_to && !b->applies_to->matches(p, users))
            outcomes.emplace_back(p.name, "outside the bundle's scope (" + b->applies_to->why_not(p, users) + ")");
          else
            outcomes.emplace_back(p.name, apply_measures(*b, p, users, date, false, &waiting[i]).text());
        }
        if (e.set.IsMap()) {
          const std::string prefix = e.raw->key + ".set";
          apply_entries(table_of(p), flatten(e.set, e.raw->ctx, prefix), e.raw->ctx, prefix);
        }
        // The risk response is resolved against the platform as it is from
        // this event on (an event's own response replaces the platform's).
        if (e.response) response[i] = e.response;
        p.on_risk = on_risk_of(p, response[i], waiting[i]);
        spec_.timeline.push_back(TimelineEvent{e.day, i, e.description, p});
      }
      if (b) {
        log_application(*b, "timeline day " + std::to_string(e.day) + ": ", date, outcomes);
        spec_.policies.push_back(e.policy);
      }
    }
  }

 private:
  const LoadOptions* options_;
  std::string root_file_;
  fs::path root_folder_;
  ScenarioSpec spec_;
  PlatformSpec template_;
  LocMap locs_;
  std::vector<RawEvent> raw_events_;
  std::vector<RawOperator> raw_operators_;
  std::map<std::string, RawResponse> responses_;  // platform name -> its risk_response
  // index_of's cache: platform name -> index, for the first indexed_ platforms.
  mutable std::unordered_map<std::string, std::size_t> index_;
  mutable std::size_t indexed_ = 0;
  std::optional<RawResponse> template_response_;  // from platform_defaults
  std::map<std::string, Bundle> bundles_;
  std::map<std::string, std::vector<RiskMeasure>> waiting_;  // platform -> bundle measures waiting for risk
  std::map<std::string, double> jurisdiction_users_;         // jurisdiction -> users the population stands for
  std::vector<std::string> stack_ids_, stack_files_;
};

/// Prepared resolutions (Resolver::prepare) of the scenarios this thread loaded
/// last, so a sweep parses and resolves its base file and extends chain once and
/// applies each point's overrides to the prepared state. An entry is used only
/// while every file it read still has the same text and every bundle file it
/// looked for and missed is still missing. Per thread: a prepared Resolver shares
/// yaml-cpp nodes with its copies, which is safe within one thread only.
struct PreparedCache {
  struct Entry {
    std::string file, text;
    std::vector<std::string> policy_dirs;
    FileDeps deps;
    std::shared_ptr<const Resolver> prepared;
  };
  static constexpr std::size_t kEntries = 8;
  static constexpr std::size_t kMaxText = std::size_t{4} << 20;  // bigger texts are not kept
  std::vector<Entry> entries;                                    // least recently used first

  std::shared_ptr<const Resolver> find(const std::string& text, const std::string& file,
                                       const std::vector<std::string>& dirs) {
    for (auto it = entries.begin(); it != entries.end(); ++it) {
      if (it->file != file || it->policy_dirs != dirs || it->text != text) continue;
      const bool fresh = std::all_of(it->deps.begin(), it->deps.end(), [](const auto& dep) {
        if (dep.second) return read_file_unrecorded(dep.first) == dep.second;
        std::error_code ec;
        return !fs::is_regular_file(dep.first, ec);
      });
      if (!fresh) {
        entries.erase(it);
        return nullptr;
      }
      std::rotate(it, it + 1, entries.end());
      return entries.back().prepared;
    }
    return nullptr;
  }

  void keep(Entry entry) {
    if (entry.text.size() > kMaxText) return;
    if (entries.size() >= kEntries) entries.erase(entries.begin());
    entries.push_back(std::move(entry));
  }
};

ScenarioSpec resolve(const std::string& text, const std::string& file, const LoadOptions& options) {
  thread_local PreparedCache cache;
  // The prepared state is never changed: each load finishes its own copy. A copy
  // points into the prepared state's bundles (risk-waiting measures), so it is held.
  std::shared_ptr<const Resolver> prepared = cache.find(text, file, options.policy_dirs);
  if (!prepared) {
    auto fresh = std::make_shared<Resolver>(options, file);
    FileDeps deps;
    t_file_deps = &deps;
    try {
      fresh->prepare(text, file);
    } catch (...) {
      t_file_deps = nullptr;
      throw;
    }
    t_file_deps = nullptr;
    cache.keep({file, text, options.policy_dirs, std::move(deps), fresh});
    prepared = std::move(fresh);
  }
  Resolver r(*prepared);
  r.bind(options);
  return r.finish(file);
}

// ---------------------------------------------------------------- dump
struct Dumper {
  std::string out;
  int indent = 0;

  void line(const std::string& s) {
    out.append(static_cast<std::size_t>(indent), ' ');
    out += s;
    out += '\n';
  }
  template <class T>
  void value(const char* key, T& f, const Meta&) {
    line(std::string(key) + ": " + text(f));
  }
  template <class F>
  void group(const char* key, F&& fn) {
    line(std::string(key) + ":");
    indent += 2;
    fn();
    indent -= 2;
  }
  /// A resolved risk response, written in full so the dump needs no bundle files.
  void risk_response(const PlatformSpec& p) {
    if (!p.on_risk) return;
    PlatformSpec r = *p.on_risk;
    group("risk_response", [&] {
      line("description: " + yaml_quoted(r.risk_response_description));
      group("set", [&] { describe(*this, r); });
    });
  }
  static std::string text(double x) { return yaml_double(x); }
  static std::string text(std::int64_t x) { return std::to_string(x); }
  static std::string text(bool x) { return x ? "true" : "false"; }
  static std::string text(const std::string& x) { return yaml_quoted(x); }
  template <class E>
  static std::string text(E e) requires std::is_enum_v<E> {
    return yaml_plain_or_quoted(enum_name(e));
  }
};

}  // namespace

// ---------------------------------------------------------------- public API
ScenarioSpec load_scenario(const std::string& path, const LoadOptions& options) {
  auto text = read_file(path);
  if (!text) throw ScenarioError(path, 0, 0, "", "cannot open scenario file '" + path + "'");
  return resolve(*text, path, options);
}

ScenarioSpec load_scenario_text(const std::string& text, const std::string& name, const LoadOptions& options) {
  return resolve(text, name, options);
}

std::string dump_scenario(const ScenarioSpec& spec_in) {
  ScenarioSpec spec = spec_in;  // describe() takes non-const references
  Dumper d;
  d.line("# safesim resolved scenario: every field, extends and policies already applied");
  d.line("# source: " + one_line(spec.source_file));
  d.line("# policies applied: " + (spec.policies.empty() ? std::string("none") : join_all(spec.policies)));
  for (const auto& entry : spec.policy_log) d.line("# policy: " + one_line(entry));
  describe(d, spec);
  if (!spec.jurisdiction_users.empty()) {
    std::vector<std::string> parts;
    for (const auto& [name, users] : spec.jurisdiction_users) parts.push_back(name + ": " + yaml_double(users));
    d.line("jurisdiction_users: {" + join_all(parts) + "}");
  }
  d.line("platforms:");
  d.indent = 2;
  for (auto& p : spec.platforms) {
    const std::string key = yaml_plain_or_quoted(p.name);
    d.group(key.c_str(), [&] {
      describe(d, p);
      d.risk_response(p);
    });
  }
  d.indent = 0;
  if (!spec.operators.empty()) {  // only when declared: older dumps stay as they were
    d.line("operators:");
    d.indent = 2;
    for (auto& o : spec.operators) {
      const std::string key = yaml_plain_or_quoted(o.name);
      d.group(key.c_str(), [&] {
        std::vector<std::string> names;
        for (std::size_t p : o.platforms) names.push_back(yaml_plain_or_quoted(spec.platforms[p].name));
        d.line("platforms: [" + join_all(names) + "]");
        describe(d, o);
      });
    }
    d.indent = 0;
  }
  if (!spec.burdens.empty()) {  // only when declared: older dumps stay as they were
    d.line("burden:");
    for (const auto& b : spec.burdens) {
      std::vector<std::string> parts;
      for (const auto& [metric, weight] : b.weights) parts.push_back(metric + ": " + yaml_double(weight));
      d.line("  " + b.name + ": {" + join_all(parts) + "}");
    }
  }
  if (spec.timeline.empty()) {
    d.line("timeline: []");
  } else {
    d.line("timeline:");
    for (auto& e : spec.timeline) {
      d.line("  - day: " + std::to_string(e.day));
      d.indent = 4;
      const std::string pname = e.platform < spec.platforms.size() ? spec.platforms[e.platform].name : e.after.name;
      d.line("platform: " + yaml_plain_or_quoted(pname));
      d.line("description: " + yaml_quoted(e.description));
      d.group("set", [&] { describe(d, e.after); });
      d.risk_response(e.after);
      d.indent = 0;
    }
  }
  return d.out;
}

}  // namespace safesim
