// The host's metrics: families of counters, gauges and histograms with
// labels, rendered in the Prometheus text format (version 0.0.4) for the
// admin listener's /metrics. Plugins reach it through MetricsScope.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "renkei/metrics.h"

namespace renkei::pipeline {

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;
  enum class Kind { Counter, Gauge, Histogram };
  /// The series `name{labels}`, created on first use. Throws
  /// std::invalid_argument for a name that is not renkei_[a-z0-9_]+ or one
  /// used before with another kind. Thread-safe; references stay valid.
  Counter& counter(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  /// Sets a counter read from elsewhere (a route's counters, by a
  /// collector); the value must not go down.
  void setCounter(const std::string& name, const std::string& help, const MetricLabels& labels, double value);
  /// Called at every scrape before rendering (for values read on demand:
  /// queue depths from the store, a route's counters).
  void addCollector(std::function<void()> collect);
  /// Every series, families in name order.
  std::string render();
  /// A scope for plugin instance `instance` (label instance="…" added).
  std::unique_ptr<MetricsScope> scope(const std::string& instance);

  /// "a\"b" → escaped for a label value.
  static std::string escapeLabel(const std::string& value);

 private:
  struct Series;
  struct Family {
    Kind kind;
    std::string help;
    std::map<std::string, std::unique_ptr<Series>> series;  ///< by rendered label set
  };
  Series& find(const std::string& name, const std::string& help, const MetricLabels& labels, Kind kind);
  std::mutex mutex_;
  std::map<std::string, Family> families_;
  std::vector<std::function<void()>> collectors_;
};

}  // namespace renkei::pipeline
