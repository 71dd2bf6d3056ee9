// The floor of bench/lookups: a bare Thrift server with the same transport
// as renkei's API (TLS with client certificates, TThreadedServer, buffered
// transport, binary protocol, multiplexed) whose ResidentService answers
// every look-up with one fixed resident — no store, no access log, no
// renkei. What the machine's TLS, threads and loopback cost by themselves;
// renkei's figures are read against it.
//
//   renkei-bench-floor CERT KEY CA   (prints the port, serves until killed)
#include <signal.h>

#include <cstdio>
#include <memory>

#include <thrift/TOutput.h>
#include <thrift/processor/TMultiplexedProcessor.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSSLServerSocket.h>
#include <thrift/transport/TSSLSocket.h>

#include "api/ResidentService.h"

namespace api = renkei::api;
namespace tt = apache::thrift::transport;

class Fixed final : public api::ResidentServiceIf {
 public:
  Fixed() {
    r_.residentCode = "00010000019";
    r_.householdNo = "0001282838";
    const char* fields[][2] = {{"resident_code", "00010000019"}, {"household_no", "0001282838"},
                               {"name", "池田　聡"}, {"name_kana", "イケダ　サトシ"}, {"birth_date", "1964-06-24"},
                               {"sex", "male"}, {"relationship", "世帯主"},
                               {"address", "大阪府大阪市北区若葉６丁目１６番９号"}, {"postal_code", "530-5120"},
                               {"resident_status", "1"}, {"source", "jumin"}};
    for (auto& f : fields) r_.fields[f[0]] = f[1];
  }
  void getResident(api::Resident& out, const std::string&) override { out = r_; }
  void getHousehold(api::Household& out, const std::string& no, bool) override { out.householdNo = no; }

 private:
  api::Resident r_;
};

class Listening final : public apache::thrift::server::TServerEventHandler {
 public:
  explicit Listening(std::shared_ptr<tt::TServerSocket> s) : s_(std::move(s)) {}
  void preServe() override {
    std::printf("port %d\n", s_->getPort());
    std::fflush(stdout);
  }

 private:
  std::shared_ptr<tt::TServerSocket> s_;
};

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  ::signal(SIGPIPE, SIG_IGN);
  apache::thrift::GlobalOutput.setOutputFunction([](const char*) {});
  auto f = std::make_shared<tt::TSSLSocketFactory>(tt::SSLTLS);
  f->server(true);
  f->loadCertificate(argv[1]);
  f->loadPrivateKey(argv[2]);
  f->loadTrustedCertificates(argv[3]);
  f->authenticate(true);
  auto socket = std::make_shared<tt::TSSLServerSocket>("127.0.0.1", 0, f);
  auto mux = std::make_shared<apache::thrift::TMultiplexedProcessor>();
  mux->registerProcessor("ResidentService", std::make_shared<api::ResidentServiceProcessor>(std::make_shared<Fixed>()));
  apache::thrift::server::TThreadedServer server(mux, socket, std::make_shared<tt::TBufferedTransportFactory>(),
                                                 std::make_shared<apache::thrift::protocol::TBinaryProtocolFactory>());
  server.setServerEventHandler(std::make_shared<Listening>(socket));
  server.serve();
}
