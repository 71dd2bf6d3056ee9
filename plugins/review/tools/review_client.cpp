// renkei-review-client: a small review front end in C++ over ReviewService
// (plugins/review/review.thrift), for IT staff checking a procedure's
// configuration, for scripts/demo, and as the C++ example of the service.
//
//   renkei-review-client [--host H] [--port P] --ca CA --cert CERT --key KEY COMMAND …
//     list [--state S] [--procedure P]    applications, oldest first (no personal fields)
//     show ARRIVAL_NO                     one application: fields, findings, history
//     act ARRIVAL_NO ACTION [--who W] [--why TEXT] [--assignee A] [--deadline D] [--set field=value …]
//     overdue                             what is past its period, 補正 deadline or reflection wait
//     report BY FROM TO [--csv]           BY: day, month, hour, form, department, municipality
//
// Times are shown in the machine's time zone (TZ) with its offset. Exit status: 0 done, 1
// the call failed (ApiError or connection), 2 usage.
#include <signal.h>

#include <ctime>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <thrift/TOutput.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TMultiplexedProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSSLSocket.h>

#include "client_tools.h"

#include "api/ReviewService.h"

namespace api = renkei::api;
namespace tt = apache::thrift::transport;
namespace tp = apache::thrift::protocol;

namespace {

const char* const kUsage =
    "usage: renkei-review-client [--host H] [--port P] --ca CA --cert CERT --key KEY COMMAND …\n"
    "  list [--state S] [--procedure P]\n"
    "  show ARRIVAL_NO\n"
    "  act ARRIVAL_NO ACTION [--who W] [--why TEXT] [--assignee A] [--deadline YYYY-MM-DD] [--set field=value …]\n"
    "      ACTION: start, request-correction, resubmit, return, approve, reject, withdraw, assign, write-back,\n"
    "              amend (訂正 of a draft read at the window: --set the corrected items)\n"
    "  overdue\n"
    "  report BY FROM TO [--csv]   BY: day, month, hour, form, department, municipality\n";

std::string when(std::int64_t ms) { return renkei::clients::localTime(ms, false); }

void print(const api::Application& a) {
  std::cout << a.arrivalNo << "  " << a.procedure << "  " << a.state << " (" << a.stateLabel << ")  到達 "
            << when(a.receivedAt) << "  問合せ番号 " << a.inquiryNo << "\n"
            << "  source " << a.source << ", 申請元 " << a.municipality << ", assigned "
            << (a.assigned.empty() ? "-" : a.assigned) << ", due " << a.due
            << (a.pausedDays ? " (" + std::to_string(a.pausedDays) + " open days paused)" : "") << "\n";
  if (!a.correctionDeadline.empty())
    std::cout << "  補正 deadline " << a.correctionDeadline << ": " << a.correctionComment << "\n";
  if (!a.holdReason.empty()) std::cout << "  write-back held: " << a.holdReason << "\n";
  if (!a.residentCode.empty()) std::cout << "  matched resident " << a.residentCode << "\n";
  for (const auto& [k, v] : a.fields)
    if (!v.empty()) std::cout << "  " << k << ": " << v << "\n";
  if (!a.registered.empty()) {
    // The register's 4 情報 beside the application's, the differing ones marked.
    std::cout << "  the register holds (proposed beside the application, not put in its place):\n";
    for (const auto& [k, v] : a.registered) {
      auto said = a.fields.find(k);
      const bool differs = said != a.fields.end() && !said->second.empty() && said->second != v;
      std::cout << "    " << (differs ? "≠ " : "  ") << k << ": " << v << "\n";
    }
  }
  for (const auto& f : a.findings) std::cout << "  " << (f.ok ? "ok   " : "NG   ") << f.message << "\n";
  for (const auto& h : a.history)
    std::cout << "  " << when(h.at) << "  " << h.action << ": " << (h.fromState.empty() ? "-" : h.fromState) << " → "
              << h.toState << " by " << h.who << (h.why.empty() ? "" : " (" + h.why + ")") << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  apache::thrift::GlobalOutput.setOutputFunction([](const char*) {});
  std::map<std::string, std::string> opt{{"--host", "localhost"}, {"--port", "9443"}};
  std::vector<std::string> words;
  std::map<std::string, std::string> sets;
  bool csv = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (a == "--csv") {
      csv = true;
    } else if (a.rfind("--", 0) == 0) {
      if (i + 1 >= argc) {
        std::cerr << "renkei-review-client: " << a << " needs a value\n" << kUsage;
        return 2;
      }
      const std::string v = argv[++i];
      if (a == "--set") {
        const std::size_t eq = v.find('=');
        if (eq == std::string::npos || eq == 0) {
          std::cerr << "renkei-review-client: --set takes field=value\n";
          return 2;
        }
        sets[v.substr(0, eq)] = v.substr(eq + 1);
      } else {
        opt[a] = v;
      }
    } else {
      words.push_back(a);
    }
  }
  if (auto missing = renkei::clients::missingTlsOption(opt)) {
    std::cerr << "renkei-review-client: " << *missing << "\n" << kUsage;
    return 2;
  }
  if (words.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = words[0];
  try {
    if (!renkei::clients::port(opt["--port"])) {
      std::cerr << "renkei-review-client: --port '" << opt["--port"] << "' is not a port (1 to 65535)\n";
      return 2;
    }
    const auto [transport, protocol] = renkei::clients::connection(opt);
    api::ReviewServiceClient review(std::make_shared<tp::TMultiplexedProtocol>(protocol, "ReviewService"));
    transport->open();
    if (command == "list" && words.size() == 1) {
      std::vector<api::Summary> list;
      review.listApplications(list, opt["--state"], opt["--procedure"], "", 500);
      for (const auto& s : list)
        std::cout << s.arrivalNo << "  " << std::left << std::setw(18) << s.procedure << std::setw(11) << s.state
                  << std::setw(8) << s.source << " 到達 " << when(s.receivedAt) << "  due " << s.due << (s.overdue ? "  OVERDUE" : "") << "\n";
      if (list.empty()) std::cout << "no applications\n";
    } else if (command == "show" && words.size() == 2) {
      api::Application a;
      review.getApplication(a, words[1]);
      print(a);
    } else if (command == "act" && words.size() == 3) {
      api::ActionRequest r;
      r.action = words[2];
      r.who = opt["--who"];
      r.why = opt["--why"];
      r.assignee = opt["--assignee"];
      r.deadline = opt["--deadline"];
      r.fields = sets;
      api::Application a;
      review.act(a, words[1], r);
      print(a);
    } else if (command == "overdue" && words.size() == 1) {
      std::vector<api::Overdue> list;
      review.overdue(list);
      for (const auto& o : list)
        std::cout << o.arrivalNo << "  " << o.procedure << "  " << o.department << "  " << o.what << " since " << o.since
                  << "\n";
      if (list.empty()) std::cout << "nothing overdue\n";
    } else if (command == "report" && words.size() == 4) {
      if (csv) {
        std::string out;
        review.reportCsv(out, words[1], words[2], words[3]);
        std::cout << out;
      } else {
        std::vector<api::ReportRow> rows;
        review.report(rows, words[1], words[2], words[3]);
        for (const auto& r : rows)
          std::cout << r.key << ": " << r.count << " applications, reception avg " << std::fixed << std::setprecision(1)
                    << r.averageReceptionMinutes << " min\n";
      }
    } else {
      std::cerr << "renkei-review-client: unknown command or wrong arguments: " << command << "\n" << kUsage;
      return 2;
    }
    transport->close();
  } catch (const api::ApiError& e) {
    std::cerr << "renkei-review-client: " << command << ": error " << e.code << ": " << e.message << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "renkei-review-client: " << command << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
