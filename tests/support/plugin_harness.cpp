#include "plugin_harness.h"

#include <Poco/Logger.h>

#include <cstdlib>
#include <stdexcept>

#include "host_services.h"
#include "plugin_registry.h"
#include "setting_types.h"

namespace fs = std::filesystem;

namespace renkei::test {

// ---- metrics ---------------------------------------------------------------

namespace {
std::string seriesKey(const std::string& name, const MetricLabels& labels) {
  std::string key = name;
  for (const auto& [k, v] : labels) key += "|" + k + "=" + v;
  return key;
}
}  // namespace

class RecordingHost::Metrics final : public MetricsScope {
  struct Value final : Counter, Gauge, Histogram {
    std::atomic<double> v{0};
    void add(double amount) override { v = v + amount; }
    void set(double value) override { v = value; }
    void observe(double) override { v = v + 1; }  // a histogram reads as its count
  };

 public:
  Counter& counter(const std::string& name, const std::string&, const MetricLabels& labels) override {
    return at(name, labels);
  }
  Gauge& gauge(const std::string& name, const std::string&, const MetricLabels& labels) override {
    return at(name, labels);
  }
  Histogram& histogram(const std::string& name, const std::string&, const MetricLabels& labels) override {
    return at(name, labels);
  }
  double read(const std::string& name, const MetricLabels& labels) const {
    std::lock_guard lock(mutex_);
    auto it = values_.find(seriesKey(name, labels));
    return it == values_.end() ? 0 : it->second->v.load();
  }

 private:
  Value& at(const std::string& name, const MetricLabels& labels) {
    std::lock_guard lock(mutex_);
    auto& slot = values_[seriesKey(name, labels)];
    if (!slot) slot = std::make_unique<Value>();
    return *slot;
  }
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Value>> values_;
};

// ---- the recording host ----------------------------------------------------

RecordingHost::RecordingHost(const fs::path& work, const std::string& instanceId) : metrics_(std::make_unique<Metrics>()) {
  store::StoreConfig config;
  if (const char* v = std::getenv("RENKEI_TEST_STORE"); v && std::string(v) == "postgresql") {
    config.driver = "postgresql";
    config.connection = freshPostgresDatabase("harness");
  } else {
    config.path = work / "var/renkei.db";
  }
  // The host's own services for what is not recorded: the state store, the
  // readers, refusals, the identifier scan. Its emit is never called.
  inner_ = std::make_unique<InstanceServices>(
      config, instanceId, nullptr, work / "var/spool",
      [](const std::string&, const Emission&) { return Outcome::error("the harness records emissions itself"); },
      std::make_unique<Metrics>());
}

RecordingHost::~RecordingHost() = default;

StateStore& RecordingHost::state() { return inner_->state(); }

std::optional<std::string> RecordingHost::readRecords(const fs::path& layout, const fs::path& file,
                                                      const std::vector<std::string>& fields,
                                                      const std::function<void(const Record&)>& each,
                                                      ReadTotals& totals, std::string* sha256) {
  return inner_->readRecords(layout, file, fields, each, totals, sha256);
}

Outcome RecordingHost::emit(const Emission& e) {
  if (refuseEmits) return Outcome::retry("the harness refuses emissions (back-pressure)");
  if (e.key.empty() || e.key.size() > 200) return Outcome::error("an emission needs a key of 1 to 200 bytes");
  {
    std::lock_guard lock(mutex_);
    if (keys_.count(e.key)) return Outcome::ok();
  }
  try {
    if (e.state) state().write([&](StateSession& s) { e.state(s); });
  } catch (const std::exception& x) {
    return Outcome::retry(x.what());
  }
  std::lock_guard lock(mutex_);
  keys_.insert(e.key);
  ++emissions_;
  for (const RecordSet& s : e.sets) sets_.push_back(s);
  return Outcome::ok();
}

MetricsScope& RecordingHost::metrics() { return *metrics_; }

void RecordingHost::audit(const AuditEntry& entry) {
  std::lock_guard lock(mutex_);
  audits_.push_back(entry);
}

bool RecordingHost::recordRefusal(const std::string& item, const std::string& reason) {
  std::lock_guard lock(mutex_);
  refusals_.emplace_back(item, reason);
  return true;
}

bool RecordingHost::looksLikeIdentifier(std::string_view value) const { return inner_->looksLikeIdentifier(value); }
RegisterDirectory& RecordingHost::registers() { return inner_->registers(); }
AssistantDirectory& RecordingHost::assistants() { return inner_->assistants(); }

std::vector<Record> RecordingHost::emitted(const std::string& recordType) const {
  std::lock_guard lock(mutex_);
  std::vector<Record> out;
  for (const RecordSet& s : sets_)
    if (s.recordType == recordType) out.insert(out.end(), s.records.begin(), s.records.end());
  return out;
}

std::size_t RecordingHost::emissions() const {
  std::lock_guard lock(mutex_);
  return emissions_;
}

std::vector<AuditEntry> RecordingHost::audits() const {
  std::lock_guard lock(mutex_);
  return audits_;
}

std::vector<std::pair<std::string, std::string>> RecordingHost::refusals() const {
  std::lock_guard lock(mutex_);
  return refusals_;
}

AdminResponse RecordingHost::page(const std::string& path, const std::map<std::string, std::string>& query) const {
  const auto& p = pages_.pages.at(path);
  AdminRequest in;
  in.method = "GET";
  in.path = path;
  in.query = query;
  in.address = "127.0.0.1";
  return p.handler(in);
}

std::pair<std::string, std::string> RecordingHost::pageInfo(const std::string& path) const {
  const auto& p = pages_.pages.at(path);
  return {p.help, p.permission};
}

double RecordingHost::metric(const std::string& name, const MetricLabels& labels) const {
  return metrics_->read(name, labels);
}

// ---- the harness -----------------------------------------------------------

PluginHarness::PluginHarness(const std::string& key, const std::string& zone, const std::string& id,
                             const fs::path& directory)
    : key_(key), zone_(zone), id_(id), registry_(std::make_unique<PluginRegistry>()) {
  const fs::path dir = directory.empty() ? fs::path(env("RENKEI_PLUGIN_DIR")) : directory;
  registry_->scan({dir});
  const PluginDescriptor* d = registry_->find(key_);
  if (!d) throw std::runtime_error("no plugin '" + key_ + "' in " + dir.string());
  host_ = std::make_unique<RecordingHost>(dir_.path(), id_);
}

PluginHarness::~PluginHarness() {
  if (started_) stop();
  connector_.reset();  // before the registry unloads the library
  module_.reset();
}

PluginHarness& PluginHarness::set(const std::string& key, const std::string& value) {
  texts_.emplace_back(key, value);
  return *this;
}

void PluginHarness::configure(bool validating) {
  const PluginDescriptor& d = *registry_->find(key_);
  std::string problems;
  std::set<std::string> given;
  for (const auto& [key, text] : texts_) {
    const ConfigKeySpec* spec = d.findKey(key);
    if (!spec) {
      problems += "unknown key '" + key + "'\n";
      continue;
    }
    given.insert(key);
    Settings::Value value;
    if (auto err = parseSettingValue(spec->type, text, dir_.path(), value)) problems += "key '" + key + "': " + *err + "\n";
    else settings_.set(key, std::move(value));
  }
  for (const ConfigKeySpec& spec : d.keys) {
    if (given.count(spec.key)) continue;
    if (spec.required) problems += "missing required key '" + spec.key + "'\n";
    if (!spec.hasDefault) continue;
    Settings::Value value;
    if (auto err = parseSettingValue(spec.type, spec.defaultValue, dir_.path(), value))
      problems += "default of key '" + spec.key + "': " + *err + "\n";
    else settings_.set(spec.key, std::move(value));
  }
  if (!problems.empty()) throw std::runtime_error("plugin '" + key_ + "': " + problems);
  context_.instance = "harness";
  context_.zone = zone_;
  context_.id = id_;
  context_.configDir = dir_.path();
  context_.logger = &Poco::Logger::get("renkei.plugin." + id_);
  context_.services = host_.get();
  context_.validating = validating;
  if (d.kind == "module") {
    module_ = registry_->createModule(key_);
    module_->configure(settings_, context_);
  } else {
    connector_ = registry_->createConnector(key_);
    connector_->configure(settings_, context_);
  }
}

void PluginHarness::start() {
  if (module_) module_->start();
  if (connector_) connector_->start();
  started_ = true;
}

void PluginHarness::stop() {
  if (connector_) connector_->stop();
  if (module_) module_->stop();
  started_ = false;
}

Connector& PluginHarness::connector() {
  if (!connector_) throw std::logic_error("plugin '" + key_ + "' is not a configured connector");
  return *connector_;
}

Module& PluginHarness::module() {
  if (!module_) throw std::logic_error("plugin '" + key_ + "' is not a configured module");
  return *module_;
}

Batch PluginHarness::batch(const std::string& recordType, const std::vector<std::string>& fields,
                           const std::vector<std::vector<std::string>>& rows, const std::string& id) {
  Batch b;
  b.id = id;
  b.route = "harness";
  b.sourceItem = "harness";
  b.recordType = recordType;
  b.zone = "lgwan";
  auto names = std::make_shared<FieldNames>(fields);
  b.fieldNames = names;
  for (const auto& row : rows) {
    Record r(names);
    for (std::size_t i = 0; i < row.size() && i < fields.size(); ++i) r.set(i, row[i]);
    b.records.push_back(std::move(r));
  }
  b.recordCount = b.records.size();
  return b;
}

}  // namespace renkei::test
