// study_util: what the design-study binaries (bench/study_*.cpp) share: a
// JSON writer in Google Benchmark's layout (a "benchmarks" list of named
// rows, plus "series" of raw samples for plots), percentiles, a TSC timer
// calibrated against steady_clock, and the heap in use (mallinfo2).
// Benchmark support only; one thread writes a study_output.
#pragma once

#include <malloc.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vitrine::bench::study {

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}
inline double ns_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::nano>(b - a).count();
}

/// The q-quantile (0..1) of `v` (sorted in place), nearest rank.
inline double quantile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * v.size()));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

/// Times `n` calls body(0..n-1) in `reps` equal runs: ns per call of each.
template <class Body>
std::vector<double> ns_per_op_reps(std::size_t n, Body body, int reps = 5) {
  std::vector<double> out;
  const std::size_t per = std::max<std::size_t>(n / reps, 1);
  std::size_t i = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = clock_type::now();
    for (std::size_t k = 0; k < per; ++k) body(i++);
    out.push_back(ns_between(t0, clock_type::now()) / static_cast<double>(per));
  }
  return out;
}

/// Serialized TSC reads (lfence on both sides), and ns per tick.
inline std::uint64_t ticks() noexcept {
  _mm_lfence();
  const auto t = __rdtsc();
  _mm_lfence();
  return t;
}
inline double ns_per_tick() {
  static const double value = [] {
    const auto t0 = clock_type::now();
    const auto c0 = ticks();
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
    const auto c1 = ticks();
    return ns_between(t0, clock_type::now()) / static_cast<double>(c1 - c0);
  }();
  return value;
}

/// Keeps a computed value alive without storing it anywhere.
inline void benchmark_sink(std::uint64_t v) noexcept {
  asm volatile("" : : "r"(v) : "memory");
}

/// Bytes of heap in use (malloc's view of the whole process).
inline double heap_bytes() {
  const auto m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd);
}

/// Quick mode (VITRINE_STUDY_QUICK=1): fewer samples, for trying things.
inline bool quick() {
  const char* q = std::getenv("VITRINE_STUDY_QUICK");
  return q != nullptr && q[0] == '1';
}
inline std::size_t scaled(std::size_t full) {
  return quick() ? std::max<std::size_t>(full / 10, 10) : full;
}

/// The first line of /proc/loadavg (load of the shared machine).
inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string line;
  std::getline(in, line);
  return line;
}

class study_output {
 public:
  using fields = std::vector<std::pair<std::string, double>>;

  study_output() { notes_["loadavg_start"] = load_average(); }

  /// One row: name, its main figure (real_time, ns) and extra fields.
  void row(const std::string& name, double real_ns, fields extra = {}) {
    rows_.push_back({name, real_ns, std::move(extra)});
    std::fprintf(stderr, "%-60s %12.2f ns", name.c_str(), real_ns);
    for (const auto& [k, v] : rows_.back().extra)
      std::fprintf(stderr, "  %s=%.4g", k.c_str(), v);
    std::fprintf(stderr, "\n");
  }
  /// A row with p50/p99/p99.9/max/mean of `samples` (ns); real_time = p50.
  void distribution(const std::string& name, std::vector<double> samples,
                    fields extra = {}) {
    double sum = 0;
    for (double s : samples) sum += s;
    fields f{{"samples", static_cast<double>(samples.size())},
             {"p50", quantile(samples, 0.5)},
             {"p90", quantile(samples, 0.9)},
             {"p99", quantile(samples, 0.99)},
             {"p999", quantile(samples, 0.999)},
             {"max", samples.empty() ? 0 : samples.back()},
             {"mean", samples.empty() ? 0 : sum / samples.size()}};
    f.insert(f.end(), extra.begin(), extra.end());
    const double p50 = f[1].second;
    row(name, p50, std::move(f));
  }
  /// A row whose figure is the median of repeated runs (ns per op each),
  /// with their smallest and largest.
  void repeated(const std::string& name, std::vector<double> runs,
                fields extra = {}) {
    fields f{{"reps", static_cast<double>(runs.size())},
             {"rep_min", *std::min_element(runs.begin(), runs.end())},
             {"rep_max", *std::max_element(runs.begin(), runs.end())}};
    f.insert(f.end(), extra.begin(), extra.end());
    row(name, quantile(runs, 0.5), std::move(f));
  }
  /// Raw values for plots (CDFs, time series); thinned to `keep` points.
  void series(const std::string& name, std::vector<double> values,
              std::size_t keep = 20'000) {
    if (values.size() > keep) {
      std::vector<double> thin;
      const double step = static_cast<double>(values.size()) / keep;
      for (std::size_t i = 0; i < keep; ++i)
        thin.push_back(values[static_cast<std::size_t>(i * step)]);
      values.swap(thin);
    }
    series_[name] = std::move(values);
  }
  void note(const std::string& key, const std::string& value) {
    notes_[key] = value;
  }

  void write(const std::string& path) {
    notes_["loadavg_end"] = load_average();
    std::ofstream out(path);
    utsname u{};
    ::uname(&u);
    char date[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    out << "{\n\"context\": {\"date\": \"" << date << "\", \"host_name\": \""
        << u.nodename
        << "\", \"num_cpus\": " << std::thread::hardware_concurrency()
        << ", \"quick\": " << (quick() ? "true" : "false");
    for (const auto& [k, v] : notes_)
      out << ", \"" << k << "\": \"" << v << '"';
    out << "},\n\"benchmarks\": [\n";
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      const auto& r = rows_[i];
      out << "{\"name\": \"" << r.name << "\", \"run_name\": \"" << r.name
          << "\", \"aggregate_name\": \"median\", \"time_unit\": \"ns\", "
          << "\"real_time\": " << number(r.real_ns)
          << ", \"cpu_time\": " << number(r.real_ns);
      for (const auto& [k, v] : r.extra)
        out << ", \"" << k << "\": " << number(v);
      out << (i + 1 < rows_.size() ? "},\n" : "}\n");
    }
    out << "],\n\"series\": {";
    bool first = true;
    for (const auto& [name, values] : series_) {
      out << (first ? "\n" : ",\n") << '"' << name << "\": [";
      for (std::size_t i = 0; i < values.size(); ++i)
        out << (i ? "," : "") << number(values[i]);
      out << ']';
      first = false;
    }
    out << "\n}\n}\n";
  }

 private:
  static std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.6g", v);
    return buffer;
  }
  struct row_data {
    std::string name;
    double real_ns;
    fields extra;
  };
  std::vector<row_data> rows_;
  std::map<std::string, std::vector<double>> series_;
  std::map<std::string, std::string> notes_;
};

/// argv[1] or the default path.
inline std::string output_path(int argc, char** argv, const char* fallback) {
  return argc > 1 ? argv[1] : fallback;
}

}  // namespace vitrine::bench::study
