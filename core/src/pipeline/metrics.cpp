// Metrics in the Prometheus text format.
#include "pipeline/metrics.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace renkei::pipeline {
namespace {

// Histogram buckets in seconds: 1 ms to 60 s.
constexpr double kBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
constexpr std::size_t kBucketCount = sizeof kBuckets / sizeof kBuckets[0];

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string labelText(const MetricLabels& labels, const std::string& extraName = {}, const std::string& extra = {}) {
  std::string out;
  for (const auto& [k, v] : labels) {
    out += out.empty() ? "{" : ",";
    out += k + "=\"" + MetricsRegistry::escapeLabel(v) + "\"";
  }
  if (!extraName.empty()) {
    out += out.empty() ? "{" : ",";
    out += extraName + "=\"" + extra + "\"";
  }
  return out.empty() ? out : out + "}";
}

bool validName(const std::string& name) {
  if (name.rfind("renkei_", 0) != 0 || name.size() <= 7 || name.size() > 120) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

void atomicAdd(std::atomic<double>& a, double v) {
  double old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

}  // namespace

struct MetricsRegistry::Series final : Counter, Gauge, Histogram {
  MetricLabels labels;
  std::atomic<double> value{0};
  std::atomic<std::uint64_t> buckets[kBucketCount] = {};
  std::atomic<std::uint64_t> count{0};
  std::atomic<double> sum{0};
  void add(double amount) override {
    if (amount > 0) atomicAdd(value, amount);
  }
  void set(double v) override { value.store(v, std::memory_order_relaxed); }
  void observe(double seconds) override {
    for (std::size_t i = 0; i < kBucketCount; ++i)
      if (seconds <= kBuckets[i]) {
        buckets[i].fetch_add(1, std::memory_order_relaxed);
        break;
      }
    count.fetch_add(1, std::memory_order_relaxed);
    atomicAdd(sum, seconds);
  }
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

std::string MetricsRegistry::escapeLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

MetricsRegistry::Series& MetricsRegistry::find(const std::string& name, const std::string& help,
                                               const MetricLabels& labels, Kind kind) {
  if (!validName(name)) throw std::invalid_argument("metric name '" + name + "': use renkei_ and [a-z0-9_]");
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = families_.try_emplace(name);
  Family& f = it->second;
  if (inserted) {
    f.kind = kind;
    f.help = help;
  } else if (f.kind != kind) {
    throw std::invalid_argument("metric '" + name + "' is already registered with another kind");
  }
  const std::string key = labelText(labels);
  auto& series = f.series[key];
  if (!series) {
    series = std::make_unique<Series>();
    series->labels = labels;
  }
  return *series;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const MetricLabels& labels) {
  return find(name, help, labels, Kind::Counter);
}
Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const MetricLabels& labels) {
  return find(name, help, labels, Kind::Gauge);
}
Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help, const MetricLabels& labels) {
  return find(name, help, labels, Kind::Histogram);
}

void MetricsRegistry::setCounter(const std::string& name, const std::string& help, const MetricLabels& labels,
                                 double value) {
  find(name, help, labels, Kind::Counter).value.store(value, std::memory_order_relaxed);
}

void MetricsRegistry::addCollector(std::function<void()> collect) {
  std::lock_guard<std::mutex> lock(mutex_);
  collectors_.push_back(std::move(collect));
}

std::string MetricsRegistry::render() {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c();
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " +
           (f.kind == Kind::Counter ? "counter" : f.kind == Kind::Gauge ? "gauge" : "histogram") + "\n";
    for (const auto& [labels, s] : f.series) {
      if (f.kind != Kind::Histogram) {
        out += name + labels + " " + number(s->value.load()) + "\n";
        continue;
      }
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < kBucketCount; ++i) {
        cumulative += s->buckets[i].load();
        out += name + "_bucket" + labelText(s->labels, "le", number(kBuckets[i])) + " " + std::to_string(cumulative) + "\n";
      }
      out += name + "_bucket" + labelText(s->labels, "le", "+Inf") + " " + std::to_string(s->count.load()) + "\n";
      out += name + "_sum" + labels + " " + number(s->sum.load()) + "\n";
      out += name + "_count" + labels + " " + std::to_string(s->count.load()) + "\n";
    }
  }
  return out;
}

namespace {
class InstanceScope final : public MetricsScope {
 public:
  InstanceScope(MetricsRegistry& registry, std::string instance) : registry_(registry), instance_(std::move(instance)) {}
  Counter& counter(const std::string& name, const std::string& help, const MetricLabels& labels) override {
    return registry_.counter(name, help, with(labels));
  }
  Gauge& gauge(const std::string& name, const std::string& help, const MetricLabels& labels) override {
    return registry_.gauge(name, help, with(labels));
  }
  Histogram& histogram(const std::string& name, const std::string& help, const MetricLabels& labels) override {
    return registry_.histogram(name, help, with(labels));
  }

 private:
  MetricLabels with(MetricLabels labels) const {
    labels["plugin"] = instance_;  // "instance" is Prometheus' own target label
    return labels;
  }
  MetricsRegistry& registry_;
  std::string instance_;
};
}  // namespace

std::unique_ptr<MetricsScope> MetricsRegistry::scope(const std::string& instance) {
  return std::make_unique<InstanceScope>(*this, instance);
}

}  // namespace renkei::pipeline
