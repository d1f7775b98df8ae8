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
//   safesim_driver --plan FILE [--shard I/K] [--policy-dir DIR]... [--no-malloc-tuning]
//
// Unless --no-malloc-tuning is given, glibc malloc is told to keep freed
// memory (mmap threshold 64 MB, trim threshold 256 MB): otherwise every
// replicate maps its population and graph arrays afresh and pays the page
// faults again, about 18% of a platform_10k run (docs/performance.md). A
// Python process is often in that state already after importing NumPy.
//
// A plan file has one run per line: `SCENARIO SEED [KEY=VALUE]...` (no spaces
// inside a value); --shard I/K runs the lines with index % K == I.
#include <malloc.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
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
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open plan '" + path + "'");
  std::vector<Job> jobs;
  std::string line;
  for (std::size_t i = 0; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (i++ % shards != shard) continue;
    std::istringstream ls(line);
    Job j;
    std::string kv;
    if (!(ls >> j.scenario >> j.seed)) throw std::runtime_error("plan line '" + line + "': expected SCENARIO SEED");
    while (ls >> kv) j.overrides.push_back(split_set(kv));
    jobs.push_back(std::move(j));
  }
  return jobs;
}

double peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) * 1024.0;  // Linux: kilobytes
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string scenario, plan;
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
      } else if (a == "--no-malloc-tuning") {
        malloc_tuning = false;
      } else if (a == "-h" || a == "--help") {
        std::puts(
            "usage: safesim_driver SCENARIO [--set KEY=VALUE]... [--reps N] [--seed S] [--threads T]\n"
            "       safesim_driver --plan FILE [--shard I/K]\n"
            "both take [--policy-dir DIR]... [--no-malloc-tuning]");
        return 0;
      } else if (!a.empty() && a[0] != '-' && scenario.empty()) {
        scenario = a;
      } else {
        throw std::runtime_error("unknown argument '" + a + "'");
      }
    }
    if (scenario.empty() == plan.empty()) throw std::runtime_error("give either a SCENARIO or --plan FILE");
    if (malloc_tuning) {
      mallopt(M_MMAP_THRESHOLD, 64 << 20);
      mallopt(M_TRIM_THRESHOLD, 256 << 20);
    }

    const auto t0 = Clock::now();
    std::vector<safesim::RunOutput> outs;
    std::uint64_t users = 0;
    std::int64_t days = 0;
    if (!plan.empty()) {
      for (const Job& j : read_plan(plan, shard, shards)) {
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
    js << "]}";
    std::cout << js.str() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "safesim_driver: " << e.what() << '\n';
    return 2;
  }
}
