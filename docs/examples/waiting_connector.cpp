// The worked example of docs/plugins.md: a connector that reads the waiting
// counts a ticket machine writes to a small file ("line,waiting" per line),
// and emits one `floor.waiting` record per line whenever the file changes.
// It shows the parts a connector needs: keys as data, configure() that
// checks and refuses with the key named, a Worker for its passes, the
// engine seam with a key that makes a repeat land once, an operator page,
// an operator command and the one RENKEI_PLUGIN line. Built as
// renkei_example_waiting.so and tested in process by
// tests/unit/test_worked_example.cpp.
#include <fstream>
#include <mutex>
#include <sstream>

#include <Poco/Logger.h>

#include "renkei/sdk.h"
#include "renkei/support/seal.h"
#include "renkei/support/worker.h"

namespace example {

using namespace renkei;

const renkei_config_key kKeys[] = {
    {"counts-file", "path", nullptr, 1, "The file the ticket machine rewrites: one 'line,waiting' per line."},
    {"interval", "duration", "2s", 0, "How often the file is read."},
    {"max-bytes", "size", "64KiB", 0, "A larger file is refused whole (named in the log), never read."},
};

class WaitingConnector final : public Connector {
 public:
  void configure(const Settings& settings, const HostContext& context) override {
    file_ = settings.getPath("counts-file");
    interval_ = settings.getDuration("interval");
    maxBytes_ = settings.getSize("max-bytes");
    if (interval_ < std::chrono::milliseconds(10)) throw ConfigError("interval: at least 10ms");
    host_ = context.services;
    log_ = context.logger;
    id_ = context.id;
    if (context.validating) return;  // renkei check: nothing more
    host_->admin()->addHandler("last", "the counts last emitted (lines and waiting, no personal data)", "view",
                               [this](const AdminRequest&) {
                                 AdminResponse r;
                                 std::lock_guard lock(mutex_);
                                 r.body = "{\"last\":\"" + last_ + "\"}\n";
                                 return r;
                               });
  }
  void start() override {
    Worker::Options every;
    every.interval = interval_;
    worker_.start("waiting " + id_, every, [this] { pass(); }, *log_);
  }
  void stop() override { worker_.stop(); }
  void takeWaiting() override { pass(); }
  std::vector<EmittedType> emits() const override {
    return {{"floor.waiting", EmittedType::Routes::AtLeastOne, "waiting counts per line"}};
  }
  std::optional<OperatorResult> operate(const OperatorRequest& request) override {
    if (request.action != "last") return std::nullopt;
    OperatorResult r;
    std::lock_guard lock(mutex_);
    r.output = last_.empty() ? "nothing emitted yet\n" : last_ + "\n";
    return r;
  }

 private:
  /// One read: unchanged content is emitted again under the same key, which
  /// the seam acknowledges without a second record.
  void pass() {
    std::ifstream in(file_, std::ios::binary);
    if (!in) return;  // not written yet
    std::string text(maxBytes_ + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > maxBytes_) throw std::runtime_error("counts-file is larger than max-bytes; not read");
    auto names = std::make_shared<FieldNames>(FieldNames{"line", "waiting"});
    RecordSet set;
    set.recordType = "floor.waiting";
    std::istringstream lines(text);
    std::string summary;
    for (std::string line; std::getline(lines, line);) {
      const std::size_t comma = line.find(',');
      if (comma == std::string::npos) continue;
      Record r(names);
      r.set(0, line.substr(0, comma));
      r.set(1, line.substr(comma + 1));
      set.records.push_back(std::move(r));
      summary += (summary.empty() ? "" : " ") + line;
    }
    Emission e;
    e.key = "waiting:" + seal::sha256Hex(text).substr(0, 32);  // the content, once
    e.sets.push_back(std::move(set));
    const Outcome o = host_->emit(e);
    if (o.status() == Outcome::Status::Retry) throw std::runtime_error("the store cannot take it now: " + o.message());
    if (!o.isOk()) throw std::runtime_error(o.message());
    std::lock_guard lock(mutex_);
    last_ = summary;
  }

  std::filesystem::path file_;
  std::chrono::milliseconds interval_{2000};
  std::uint64_t maxBytes_ = 65536;
  HostServices* host_ = nullptr;
  Poco::Logger* log_ = nullptr;
  std::string id_;
  Worker worker_;
  std::mutex mutex_;
  std::string last_;
};

const renkei_operator_verb kVerbs[] = {
    {"last", "--connector", 1, "--config F [--connector ID]", "the counts last emitted"},
};

}  // namespace example

RENKEI_PLUGIN_VERBS(example::kVerbs)
RENKEI_PLUGIN(Connector, example::WaitingConnector, "example-waiting", "0.1.0", "experimental",
              "Worked example: waiting counts from a ticket machine's file", RENKEI_ROLE_EMITTER, example::kKeys,
              sizeof(example::kKeys) / sizeof(example::kKeys[0]))
