// safesim_driver: a pure C++ runner for the benchmark command (tests/bench/run).
//
// It loads a scenario, runs replicates or a shard of a run plan, and prints one
// JSON object: per-run build and run seconds and output hashes, the wall time
// of the whole batch (scenario loading included), and the process's peak
// resident memory. It is the C++ reference the Python API is compared with,
// and the worker the sweep benchmark starts once per process.
//
//   safesim_driver SCENARIO [--set KEY=VALUE]... [--reps N] [--seed S] [--threads T]
//                  [--policy-dir DIR]... [--no-malloc-tuning]
//   safesim_driver --plan FILE [--shard I/K | --claim FILE] [--policy-dir DIR]... [--no-malloc-tuning]
//
// Unless --no-malloc-tuning is given, glibc malloc is told to keep freed
// memory (mmap threshold 64 MB, trim threshold 256 MB): otherwise every
// replicate maps its population and graph arrays afresh and pays the page
// faults again, about 18% of a platform_10k run (docs/performance.md). A
// Python process is often in that state already after importing NumPy.
//
// A plan file has one run per line: `SCENARIO SEED [KEY=VALUE]...` (no spaces
// inside a value); --shard I/K runs the lines with index % K == I (a static
// split: grid points differ in cost, so one shard can get all the slow ones).
// --claim FILE schedules dynamically, as the Python executors do: processes
// started with the same (new or zeroed) FILE share a counter in it and each
// takes the next line no process has taken yet. The JSON lists the plan line
// index of each run in "lines".
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "safesim/scenario.hpp"
#include "safesim/simulation.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using Overrides = std::vector<std::pair<std::string, std::string>>;

struct Job {
  std::size_t line = 0;  // index among the plan's runs
  std::string scenario;
  std::uint64_t seed = 1;
  Overrides overrides;
};

std::pair<std::string, std::string> split_set(const std::string& kv) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) throw std::runtime_error("--set expects KEY=VALUE, got '" + kv + "'");
  return {kv.substr(0, eq), kv.substr(eq + 1)};
}

std::vector<Job> read_plan(const std::string& path, std::size_t shard, std::size_t shards) {
  // Every line is parsed (a malformed plan fails in every shard alike); the
  // ones outside this shard are then dropped.
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open plan '" + path + "'");
  std::vector<Job> jobs;
  std::string line;
  for (std::size_t i = 0; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (i % shards != shard) {
      ++i;
      continue;
    }
    std::istringstream ls(line);
    Job j;
    j.line = i++;
    std::string kv;
    if (!(ls >> j.scenario >> j.seed)) throw std::runtime_error("plan line '" + line + "': expected SCENARIO SEED");
    while (ls >> kv) j.overrides.push_back(split_set(kv));
    jobs.push_back(std::move(j));
  }
  return jobs;
}

/// A work counter shared by every process started with the same claim file:
/// an 8-byte file mapped shared, advanced with an atomic fetch-add, so taking
/// the next run costs no system call and no lock.
class SharedCounter {
 public:
  explicit SharedCounter(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd < 0) throw std::runtime_error("cannot open claim file '" + path + "'");
    const bool sized = ::ftruncate(fd, sizeof(std::uint64_t)) == 0;  // zero-filled when new; no-op otherwise
    void* p = sized ? ::mmap(nullptr, sizeof(std::uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    ::close(fd);
    if (p == MAP_FAILED) throw std::runtime_error("cannot map claim file '" + path + "'");
    word_ = static_cast<std::uint64_t*>(p);
  }
  SharedCounter(const SharedCounter&) = delete;
  SharedCounter& operator=(const SharedCounter&) = delete;
  ~SharedCounter() { ::munmap(word_, sizeof(std::uint64_t)); }
  std::uint64_t next() { return std::atomic_ref<std::uint64_t>(*word_).fetch_add(1); }

 private:
  std::uint64_t* word_ = nullptr;
};

double peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) * 1024.0;  // Linux: kilobytes
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string scenario, plan, claim_file;
    Overrides overrides;
    std::vector<std::string> policy_dirs;
    std::uint64_t seed = 1;
    std::size_t reps = 1, shard = 0, shards = 1;
    int threads = 1;
    bool malloc_tuning = true;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(a + " expects a value");
        return argv[++i];
      };
      if (a == "--set") {
        overrides.push_back(split_set(next()));
      } else if (a == "--reps") {
        reps = std::stoul(next());
      } else if (a == "--seed") {
        seed = std::stoull(next());
      } else if (a == "--threads") {
        threads = std::stoi(next());
      } else if (a == "--policy-dir") {
        policy_dirs.push_back(next());
      } else if (a == "--plan") {
        plan = next();
      } else if (a == "--shard") {
        const std::string v = next();
        const auto slash = v.find('/');
        if (slash == std::string::npos) throw std::runtime_error("--shard expects I/K");
        shard = std::stoul(v.substr(0, slash));
        shards = std::stoul(v.substr(slash + 1));
        if (shards == 0 || shard >= shards) throw std::runtime_error("--shard I/K needs 0 <= I < K");
      } else if (a == "--claim") {
        claim_file = next();
      } else if (a == "--no-malloc-tuning") {
        malloc_tuning = false;
      } else if (a == "-h" || a == "--help") {
        std::puts(
            "usage: safesim_driver SCENARIO [--set KEY=VALUE]... [--reps N] [--seed S] [--threads T]\n"
            "       safesim_driver --plan FILE [--shard I/K | --claim FILE]\n"
            "both take [--policy-dir DIR]... [--no-malloc-tuning]");
        return 0;
      } else if (!a.empty() && a[0] != '-' && scenario.empty()) {
        scenario = a;
      } else {
        throw std::runtime_error("unknown argument '" + a + "'");
      }
    }
    if (scenario.empty() == plan.empty()) throw std::runtime_error("give either a SCENARIO or --plan FILE");
    if (!claim_file.empty() && (plan.empty() || shards != 1))
      throw std::runtime_error("--claim FILE goes with --plan FILE and without --shard");
    if (malloc_tuning) {
      mallopt(M_MMAP_THRESHOLD, 64 << 20);
      mallopt(M_TRIM_THRESHOLD, 256 << 20);
    }

    const auto t0 = Clock::now();
    std::vector<safesim::RunOutput> outs;
    std::vector<std::size_t> lines;
    std::uint64_t users = 0;
    std::int64_t days = 0;
    if (!plan.empty()) {
      const std::vector<Job> jobs = read_plan(plan, shard, shards);
      std::optional<SharedCounter> counter;
      if (!claim_file.empty()) counter.emplace(claim_file);
      for (std::size_t k = 0;; ++k) {
        const std::size_t i = counter ? static_cast<std::size_t>(counter->next()) : k;
        if (i >= jobs.size()) break;
        const Job& j = jobs[i];
        lines.push_back(j.line);
        safesim::LoadOptions opt;
        opt.policy_dirs = policy_dirs;
        opt.overrides = j.overrides;
        const safesim::ScenarioSpec spec = safesim::load_scenario(j.scenario, opt);
        users = static_cast<std::uint64_t>(spec.population.users);
        days = spec.horizon_days;
        outs.push_back(safesim::run(spec, j.seed));
      }
    } else {
      safesim::LoadOptions opt;
      opt.policy_dirs = policy_dirs;
      opt.overrides = overrides;
      const safesim::ScenarioSpec spec = safesim::load_scenario(scenario, opt);
      users = static_cast<std::uint64_t>(spec.population.users);
      days = spec.horizon_days;
      std::vector<std::uint64_t> seeds;
      for (std::size_t r = 0; r < reps; ++r) seeds.push_back(seed + r);
      outs = safesim::run_many(spec, seeds, threads);
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();

    std::ostringstream js;
    js.precision(9);
    js << "{\"users\": " << users << ", \"days\": " << days << ", \"runs\": " << outs.size()
       << ", \"wall_seconds\": " << wall << ", \"peak_rss_bytes\": " << peak_rss_bytes() << ", \"build_seconds\": [";
    for (std::size_t i = 0; i < outs.size(); ++i) js << (i ? ", " : "") << outs[i].build_seconds;
    js << "], \"run_seconds\": [";
    for (std::size_t i = 0; i < outs.size(); ++i) js << (i ? ", " : "") << outs[i].run_seconds;
    js << "], \"hashes\": [";
    for (std::size_t i = 0; i < outs.size(); ++i) js << (i ? ", " : "") << '"' << safesim::output_hash(outs[i]) << '"';
    js << "]";
    if (!plan.empty()) {
      js << ", \"lines\": [";
      for (std::size_t i = 0; i < lines.size(); ++i) js << (i ? ", " : "") << lines[i];
      js << "]";
    }
    js << "}";
    std::cout << js.str() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "safesim_driver: " << e.what() << '\n';
    return 2;
  }
}
