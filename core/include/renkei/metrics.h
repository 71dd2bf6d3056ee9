// Metrics a plugin reports through the host: counters, gauges and
// histograms, exported by the host's admin listener at /metrics in the
// Prometheus text format (docs/operations.md, "Metrics").
#pragma once

#include <map>
#include <string>

namespace renkei {

/// Label names to values of one series (e.g. {{"channel","kiosk"}}). The
/// host adds `instance="<plugin instance id>"` itself. Values are names
/// (route, target, record type, outcome), never personal data.
using MetricLabels = std::map<std::string, std::string>;

/// A monotonically growing count. Thread-safe.
class Counter {
 public:
  virtual ~Counter() = default;
  virtual void add(double amount = 1) = 0;
};

/// A value that goes up and down (a queue's depth). Thread-safe.
class Gauge {
 public:
  virtual ~Gauge() = default;
  virtual void set(double value) = 0;
};

/// Durations in seconds, in the host's fixed buckets (1 ms … 60 s).
/// Thread-safe.
class Histogram {
 public:
  virtual ~Histogram() = default;
  virtual void observe(double seconds) = 0;
};

/// A plugin instance's part of the host's metrics. Series are created on
/// first use and live as long as the host; the references returned stay
/// valid for the instance's whole life (keep them: a look-up takes a lock).
/// `name` must be `renkei_` followed by [a-z0-9_] (e.g.
/// renkei_concierge_sessions_total); a name of another kind throws
/// std::invalid_argument, as does one name used with two kinds. `help` is
/// one line of English for the /metrics page.
class MetricsScope {
 public:
  virtual ~MetricsScope() = default;
  virtual Counter& counter(const std::string& name, const std::string& help, const MetricLabels& labels = {}) = 0;
  virtual Gauge& gauge(const std::string& name, const std::string& help, const MetricLabels& labels = {}) = 0;
  virtual Histogram& histogram(const std::string& name, const std::string& help, const MetricLabels& labels = {}) = 0;
};

}  // namespace renkei
