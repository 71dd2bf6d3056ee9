// Reports on applications taken in (per day, month, hour, form,
// department, municipality), as rows and as CSV.
#include "review.h"

#include <cstdio>
#include <set>

#include "renkei/text.h"

#include "review_internal.h"

namespace renkei::plugins::review {

using namespace detail;

std::vector<ReportRow> Review::report(const std::string& by, const std::string& from, const std::string& to) {
  static const std::set<std::string> kinds = {"day", "month", "hour", "form", "department", "municipality"};
  if (!kinds.count(by))
    throw ReviewError{ReviewError::BadRequest, "by must be day, month, hour, form, department or municipality"};
  const auto f = calendar::parseIso(from), t = calendar::parseIso(to);
  if (!f || !t || *t < *f) throw ReviewError{ReviewError::BadRequest, "from and to must be dates (YYYY-MM-DD), from ≤ to"};
  if (calendar::toDays(*t) - calendar::toDays(*f) > 3700)
    throw ReviewError{ReviewError::BadRequest, "a report covers at most ten years"};
  const std::int64_t offset = options_.offsetMinutes * 60'000;
  const std::int64_t begin = calendar::toDays(*f) * kDayMs - offset, end = (calendar::toDays(*t) + 1) * kDayMs - offset;
  struct Acc {
    std::int64_t count = 0, started = 0;
    double minutes = 0;
  };
  std::map<std::string, Acc> acc;
  state_.read([&](StateSession& s) {
    s.query("SELECT received_ms, started_ms, procedure_id, municipality FROM " + apps_ +
                " WHERE received_ms >= ? AND received_ms < ?",
            {begin, end}, [&](StateRows& row) {
              {
                const std::int64_t at = row.integer(0), started = row.integer(1);
                const Procedure* p = procedures_->find(row.text(2));
                std::string key;
                if (by == "day") key = localDay(at);
                else if (by == "month") key = localDay(at).substr(0, 7);
                else if (by == "hour") {
                  const std::int64_t local = at + offset;
                  char h[4];
                  std::snprintf(h, sizeof h, "%02d", static_cast<int>(((local % kDayMs) + kDayMs) % kDayMs / 3'600'000));
                  key = h;
                } else if (by == "form") key = p ? p->form : row.text(2);
                else if (by == "department") key = p ? p->department : "";
                else key = row.text(3);
                Acc& x = acc[key];
                ++x.count;
                if (started > 0) ++x.started, x.minutes += static_cast<double>(started - at) / 60'000.0;
              }
            });
  });
  std::vector<ReportRow> out;
  for (const auto& [k, x] : acc) out.push_back({k, x.count, x.started ? x.minutes / static_cast<double>(x.started) : 0.0});
  return out;
}

std::string Review::reportCsv(const std::string& by, const std::vector<ReportRow>& rows) {
  std::string out = csvCell(by) + ",count,average_reception_minutes\r\n";
  for (const ReportRow& r : rows) {
    const std::string key = csvCell(r.key);  // quoted, and a formula never runs
    char avg[32];
    std::snprintf(avg, sizeof avg, "%.1f", r.averageReceptionMinutes);
    out += key + "," + std::to_string(r.count) + "," + avg + "\r\n";
  }
  return out;
}

}  // namespace renkei::plugins::review
