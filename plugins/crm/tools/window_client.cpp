// renkei-window-client: a small window system in C++ over the Thrift API
// (core/api/renkei.thrift), for IT staff checking certificates and routes,
// for scripts/demo, and as the C++ example in docs/window-systems.md.
//
//   renkei-window-client [--host H] [--port P] --ca CA --cert CERT --key KEY COMMAND …
//     lookup RESIDENT_CODE             a resident from the CRM cache
//     household HOUSEHOLD_NO           a household, householder first
//     visit --resident CODE [--ticket T] [--staff S] [--procedure P --counter C]
//                                      opens a visit, links the resident, adds a procedure
//     pull SUBSCRIPTION [--ack]        one pull of up to 10 batches (acknowledged with --ack)
//     report FROM TO                   counts and times, days YYYY-MM-DD
//     congestion FROM TO MONTH         the congestion profile over FROM..TO and the forecast for MONTH (YYYY-MM)
//     open-token TEXT                  opens a scanned visit token (once: tokens are single use)
//
// Exit status: 0 done, 1 the call failed (ApiError or connection), 2 usage.
#include <signal.h>

#include <algorithm>
#include <cstdint>
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
#include "renkei/support/calendar.h"
#include "renkei/text.h"

#include "api/CrmService.h"
#include "api/RecordService.h"
#include "api/ResidentService.h"
#include "api/TokenService.h"
#include "api/crm_constants.h"

namespace api = renkei::api;
namespace tt = apache::thrift::transport;
namespace tp = apache::thrift::protocol;

namespace {

const char* const kUsage =
    "usage: renkei-window-client [--host H] [--port P] --ca CA --cert CERT --key KEY COMMAND …\n"
    "  lookup RESIDENT_CODE\n"
    "  household HOUSEHOLD_NO [--former]   (current members; --former: also those who left)\n"
    "  visit --resident CODE [--ticket T] [--staff S] [--procedure P --counter C]\n"
    "  visit --ticket T [--staff S]   (someone not in the register yet: a 転入)\n"
    "  pull SUBSCRIPTION [--ack]\n"
    "  report FROM TO            (YYYY-MM-DD)\n"
    "  congestion FROM TO MONTH  (YYYY-MM-DD YYYY-MM-DD YYYY-MM: 混雑予想カレンダー)\n"
    "  related HOUSEHOLD_NO      procedures the core systems' facts call for after its register events\n"
    "  open-token TEXT           a scanned visit token (RK1:…), opened once\n"
    "  drafts [PROCEDURE]        drafts read at the window (a scanned 転出証明書 …) not attached yet\n"
    "  attach-draft VISIT_ID DRAFT_ID --counter C [--staff S]\n"
    "                            attach a draft to a visit (its procedure added at the counter)\n";

const char* progressName(api::Progress::type p) {
  const auto& names = api::g_crm_constants.PROGRESS_NAMES;
  auto it = names.find(p);
  return it == names.end() ? "?" : it->second.c_str();
}

void printResident(const api::Resident& r, const char* indent) {
  std::cout << indent << "住民票コード " << r.residentCode << "  世帯番号 " << r.householdNo << "  status "
            << (r.status.empty() ? std::string("住民") : r.status);
  if (!r.statusEvent.empty()) std::cout << " (" << r.statusEvent << (r.statusDate.empty() ? "" : " " + r.statusDate) << ")";
  if (!r.current && !r.status.empty()) std::cout << "  NOT CURRENT: not a resident here";
  std::cout << "\n";
  for (const char* f : {"name", "name_kana", "birth_date", "sex", "relationship", "address"}) {
    auto it = r.fields.find(f);
    if (it != r.fields.end() && !it->second.empty()) std::cout << indent << "  " << f << ": " << it->second << "\n";
  }
}

/// A time in ms as local time with its offset (the machine's TZ).
std::string when(std::int64_t ms) { return renkei::clients::localTime(ms, true); }

void printVisit(const api::Visit& v) {
  std::cout << "visit " << v.id << (v.ticket.empty() ? "" : " (ticket " + v.ticket + ")")
            << (v.residentCode.empty() ? "" : ", resident " + v.residentCode) << (v.closedAt ? ", closed" : ", open")
            << "\n";
  for (const auto& p : v.procedures)
    std::cout << "  procedure " << p.id << " " << p.code << " at " << p.counter << ": " << progressName(p.progress)
              << "\n";
  for (const auto& d : v.drafts) std::cout << "  draft " << d << "\n";
  for (const auto& e : v.history)
    std::cout << "  " << when(e.at) << "  " << e.what << (e.detail.empty() ? "" : " (" + e.detail + ")") << " by "
              << (e.staff.empty() ? "-" : e.staff) << " via " << e.client << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  apache::thrift::GlobalOutput.setOutputFunction([](const char*) {});
  std::map<std::string, std::string> opt{{"--host", "localhost"}, {"--port", "9443"}};
  std::vector<std::string> words;
  std::map<std::string, bool> flags;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (a == "--ack" || a == "--former") {
      flags[a] = true;
    } else if (a.rfind("--", 0) == 0) {
      if (i + 1 >= argc) {
        std::cerr << "renkei-window-client: " << a << " needs a value\n" << kUsage;
        return 2;
      }
      opt[a] = argv[++i];
    } else {
      words.push_back(a);
    }
  }
  if (auto missing = renkei::clients::missingTlsOption(opt)) {
    std::cerr << "renkei-window-client: " << *missing << "\n" << kUsage;
    return 2;
  }
  if (words.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = words[0];
  try {
    if (!renkei::clients::port(opt["--port"])) {
      std::cerr << "renkei-window-client: --port '" << opt["--port"] << "' is not a port (1 to 65535)\n";
      return 2;
    }
    const auto [transport, protocol] = renkei::clients::connection(opt);
    api::RecordServiceClient records(std::make_shared<tp::TMultiplexedProtocol>(protocol, "RecordService"));
    api::ResidentServiceClient residents(std::make_shared<tp::TMultiplexedProtocol>(protocol, "ResidentService"));
    api::CrmServiceClient crm(std::make_shared<tp::TMultiplexedProtocol>(protocol, "CrmService"));
    api::TokenServiceClient tokens(std::make_shared<tp::TMultiplexedProtocol>(protocol, "TokenService"));
    transport->open();

    if (command == "lookup" && words.size() == 2) {
      api::Resident r;
      residents.getResident(r, words[1]);
      printResident(r, "");
    } else if (command == "household" && words.size() == 2) {
      api::Household h;
      residents.getHousehold(h, words[1], flags.count("--former") > 0);
      std::cout << "household " << h.householdNo << ": " << h.members.size() << " members\n";
      for (const auto& m : h.members) printResident(m, "  ");
    } else if (command == "visit" && words.size() == 1 && (opt.count("--resident") || opt.count("--ticket"))) {
      api::Visit v;
      crm.openVisit(v, opt["--ticket"], opt.count("--staff") ? opt["--staff"] : std::string("window"), 0);
      if (opt.count("--resident")) crm.linkResident(v, v.id, opt["--resident"], opt["--staff"], 0);
      if (opt.count("--procedure"))
        crm.addProcedure(v, v.id, opt["--procedure"], opt.count("--counter") ? opt["--counter"] : "1", opt["--staff"],
                         0);
      printVisit(v);
    } else if (command == "pull" && words.size() == 2) {
      std::vector<api::RecordBatch> batches;
      records.pull(batches, words[1], 10);
      std::vector<std::string> tokens;
      for (const auto& b : batches) {
        std::cout << "batch " << b.token << ": " << b.records.size() << " records from " << b.sourceItem
                  << " (delivery " << b.delivery << ")\n";
        tokens.push_back(b.token);
      }
      if (batches.empty()) std::cout << "nothing waiting\n";
      if (flags["--ack"] && !tokens.empty()) {
        api::AckResult a;
        records.ack(a, words[1], tokens);
        std::cout << a.acknowledged << " acknowledged, " << a.refused.size() << " refused\n";
      }
    } else if (command == "related" && words.size() == 2) {
      std::vector<api::RelatedProcedure> list;
      crm.relatedProcedures(list, words[1]);
      std::cout << "household " << words[1] << ": " << list.size() << " related procedures\n";
      for (const auto& p : list)
        std::cout << "  " << p.event << " " << p.eventDate << " (" << p.residentCode << "): " << p.name
                  << (p.deadline.empty() ? std::string() : ", by " + p.deadline) << "\n    because " << p.because
                  << " [" << p.rule << "]\n";
    } else if (command == "report" && words.size() == 3) {
      api::Report r;
      crm.report(r, words[1], words[2]);
      for (const auto& d : r.perDay) std::cout << d.period << ": " << d.visits << " visits, " << d.procedures
                                               << " procedures\n";
      for (const auto& t : r.perProcedure)
        std::cout << "  " << t.key << ": " << t.procedures << " procedures, wait avg " << std::fixed
                  << std::setprecision(0) << t.waitAvgSeconds << " s (p90 " << t.waitP90Seconds
                  << " s), handling avg " << t.handleAvgSeconds << " s (p90 " << t.handleP90Seconds << " s)"
                  << (t.noShows ? ", no-shows " + std::to_string(t.noShows) : std::string()) << "\n";
    } else if (command == "congestion" && words.size() == 4) {
      api::Congestion c;
      crm.congestion(c, words[1], words[2], words[3]);
      std::cout << std::fixed << std::setprecision(1) << "history " << c.fromDate << " to " << c.toDate
                << ": an ordinary open day " << c.ordinaryMean << " visits\n";
      for (const auto& f : c.factors)
        std::cout << "  " << f.kind << ": x" << std::setprecision(2) << f.factor << " ("
                  << (f.measured ? std::to_string(f.days) + " days observed" : std::string("assumed: none observed"))
                  << ")\n";
      std::cout << "forecast " << c.month << ":\n";
      const char* weekdays[] = {"日", "月", "火", "水", "木", "金", "土"};
      for (const auto& d : c.days) {
        const auto day = renkei::calendar::parseIso(d.date);
        std::cout << "  " << d.date << " (" << (day ? weekdays[renkei::calendar::weekday(*day)] : "?") << ") " << d.level;
        if (d.open && !d.level.empty())
          std::cout << std::setprecision(0) << "  " << d.expected << " visits"
                    << (d.busiestHour >= 0 ? ", busiest " + std::to_string(d.busiestHour) + ":00" : std::string())
                    << (d.kinds.empty() ? std::string() : "  [" + d.kinds + "]");
        std::cout << "\n";
      }
    } else if (command == "drafts" && words.size() <= 2) {
      std::vector<api::Draft> list;
      crm.listDrafts(list, words.size() == 2 ? words[1] : std::string());
      std::cout << list.size() << " drafts waiting\n";
      for (const auto& d : list) {
        std::cout << "  " << d.id << "  " << d.procedure << " (" << d.source << "), came " << when(d.receivedAt) << "\n";
        // The form's head first (世帯主, the addresses, the date), then the rest by name.
        const char* head[] = {"householder", "previous_address", "new_address", "planned_move_date"};
        for (const char* k : head)
          if (auto it = d.fields.find(k); it != d.fields.end()) std::cout << "    " << k << ": " << it->second << "\n";
        for (const auto& [k, v] : d.fields)
          if (std::find(std::begin(head), std::end(head), k) == std::end(head))
            std::cout << "    " << k << ": " << v << "\n";
        if (!d.review.empty()) {
          std::cout << "    check against the paper:";
          for (const auto& f : d.review) std::cout << " " << f;
          std::cout << "\n";
        }
      }
    } else if (command == "attach-draft" && words.size() == 3 && opt.count("--counter")) {
      api::Visit v;
      const auto id = renkei::parseWholeNumber(words[1], 1, INT64_MAX);
      if (!id) {
        std::cerr << "renkei-window-client: VISIT_ID is a number\n";
        return 2;
      }
      crm.attachDraft(v, *id, words[2], opt["--counter"], opt["--staff"], 0);
      printVisit(v);
    } else if (command == "open-token" && words.size() == 2) {
      api::OpenedToken t;
      tokens.open(t, words[1]);
      std::cout << "token " << t.tokenId << ": " << t.lifeEvent << ", planned move " << t.plannedMoveDate << "\n"
                << "  address " << t.address << (t.previousAddress.empty() ? "" : " (from " + t.previousAddress + ")")
                << "\n";
      for (const auto& m : t.members)
        std::cout << "  " << m.relationship << ": " << m.name << " (" << m.nameKana << "), born " << m.birthDate
                  << ", sex " << m.sex << "\n";
      std::cout << "  procedures:";
      for (const auto& p : t.procedures) std::cout << " " << p;
      std::cout << "\n";
      for (const auto& m : t.registerMembers)
        std::cout << "  the register adds a member: " << m.relationship << ": " << m.name << ", born " << m.birthDate << "\n";
      if (!t.registerProcedures.empty()) {
        std::cout << "  the register adds procedures:";
        for (const auto& p : t.registerProcedures) std::cout << " " << p;
        std::cout << "\n";
      }
    } else {
      std::cerr << "renkei-window-client: unknown command or wrong arguments: " << command << "\n" << kUsage;
      return 2;
    }
    transport->close();
  } catch (const api::TokenRefused& e) {
    const auto& names = api::_TokenRefusal_VALUES_TO_NAMES;
    auto it = names.find(e.code);
    std::cerr << "renkei-window-client: " << command << ": refused " << (it == names.end() ? "?" : it->second) << ": "
              << e.message << "\n";
    return 1;
  } catch (const api::ApiError& e) {
    std::cerr << "renkei-window-client: " << command << ": error " << e.code << ": " << e.message << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "renkei-window-client: " << command << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
