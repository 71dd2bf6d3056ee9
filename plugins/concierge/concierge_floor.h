// The waiting status for residents (internet zone): each line's status as the
// LGWAN side's crm module sends it through the bridge (floor.status: waiting
// count, the number called last, the wait to expect, the numbers waiting),
// kept in the store so a restart shows it again, served as a page (all
// lines, and one ticket's view — the page the ticket's QR code opens) and as
// JSON, and "your turn is near" published once per ticket for a LINE front
// end. Ticket numbers, lines, counts and times only: nothing personal.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "renkei/connector.h"

namespace renkei::connectors::channel {
class ZmqPublisher;
}

namespace renkei::plugins::concierge {

struct FloorLine {
  std::string site, date, line, current, updated;
  std::int64_t waiting = 0, expectedWait = 0, callInterval = 0;
  std::vector<std::string> tickets;  ///< first in line first
  std::int64_t receivedMs = 0;       ///< when this side took it (staleness)
};

/// Where one ticket stands.
struct TicketView {
  const FloorLine* line = nullptr;  ///< null: no such line today
  std::optional<std::size_t> ahead;  ///< tickets before it; none: not waiting (called, or not issued)
  std::int64_t estimateSeconds = 0;
};

struct FloorOptions {
  std::size_t nearPosition = 3;        ///< "your turn is near" when this many or fewer are ahead
  std::int64_t staleMs = 10 * 60'000;  ///< older than this: shown as stale
  std::string colour = "blue";         ///< the page's base colour (the concierge's colour key)
};

class Floor {
 public:
  Floor(HostServices& host, Poco::Logger& log, FloorOptions options,
        renkei::connectors::channel::ZmqPublisher* publisher);
  /// The store's migration step for the floor's tables.
  static const char* migration();
  /// Loads the status last taken (a restart shows it again).
  void loadRows();

  /// Takes a batch of floor.status: each valid line replaces the one held;
  /// an invalid record is counted and refused (the batch stays in the store).
  /// Returns the number refused.
  std::size_t take(const std::vector<Record>& records, std::int64_t now, std::string& why);

  /// Today's lines (the municipality's day), sorted by site and line.
  std::vector<FloorLine> today(std::int64_t now) const;
  TicketView ticket(const std::vector<FloorLine>& lines, const std::string& site, const std::string& line,
                    const std::string& number) const;
  const FloorOptions& options() const { return options_; }

 private:
  HostServices& host_;
  Poco::Logger& log_;
  FloorOptions options_;
  renkei::connectors::channel::ZmqPublisher* publisher_;
  std::string statusTable_, nearTable_;
  mutable std::mutex mutex_;
  std::map<std::string, FloorLine> lines_;  ///< site|line

  void announceNear(StateSession& s, const FloorLine& line, std::vector<std::string>& events);
};

/// The page of all lines and one ticket's page (HTML, Japanese, no script).
std::string floorPage(const std::vector<FloorLine>& lines, const std::string& municipality, std::int64_t now,
                      const FloorOptions& options, std::int64_t offsetMinutes);
std::string ticketPage(const TicketView& view, const std::string& site, const std::string& line,
                       const std::string& number, const std::string& municipality, std::int64_t now,
                       const FloorOptions& options, std::int64_t offsetMinutes);
std::string floorJson(const std::vector<FloorLine>& lines, std::int64_t now, const FloorOptions& options);
std::string ticketJson(const TicketView& view, const std::string& number, std::int64_t now, const FloorOptions& options);

/// "/floor/ticket?site=…&line=…&n=…" with each value percent-encoded.
std::string ticketPath(const std::string& site, const std::string& line, const std::string& number);

}  // namespace renkei::plugins::concierge
