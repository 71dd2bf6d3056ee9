// Overdue applications (標準処理期間, 補正 deadline, 反映 waiting) counted
// on the calendar's open days, and the morning reminder mail per department.
#include "review.h"

#include <map>

#include "review_internal.h"

namespace renkei::plugins::review {

using namespace detail;

std::vector<Review::Overdue> Review::overdue(std::int64_t now) {
  std::vector<Overdue> out;
  const calendar::Date today = dayOf(now);
  const std::string todayIso = calendar::iso(today);
  state_.read([&](StateSession& s) {
    s.query("SELECT arrival_no, procedure_id, state, due, correction_deadline, written_ms FROM " + apps_ +
                " WHERE state IN (?, ?, ?, ?) ORDER BY received_ms, id",
            {std::string(state::kReceived), std::string(state::kReviewing), std::string(state::kCorrection),
             std::string(state::kAwaiting)},
            [&](StateRows& row) {
              {
                const std::string st = row.text(2);
                const Procedure* p = procedures_->find(row.text(1));
                const std::string dept = p ? p->department : "";
                if ((st == state::kReceived || st == state::kReviewing) && todayIso > row.text(3))
                  out.push_back({row.text(0), row.text(1), dept, "processing", row.text(3)});
                else if (st == state::kCorrection && todayIso > row.text(4))
                  out.push_back({row.text(0), row.text(1), dept, "correction", row.text(4)});
                else if (st == state::kAwaiting && p &&
                         cal_.openDaysBetween(dayOf(row.integer(5)), today) > p->writeBack.reflectDays)
                  out.push_back({row.text(0), row.text(1), dept, "reflection", localDay(row.integer(5))});
              }
            });
  });
  return out;
}

std::size_t Review::remind(std::int64_t now) {
  const calendar::Date today = dayOf(now);
  if (!cal_.isOpen(today)) return 0;  // reminders on open mornings only
  std::map<std::string, std::vector<std::string>> byDept;
  for (const Overdue& o : overdue(now)) byDept[o.department].push_back(o.arrivalNo);
  std::size_t n = 0;
  for (const auto& [dept, numbers] : byDept) {
    Emission e;
    e.key = "review-overdue:" + calendar::iso(today) + ":" + dept;  // once per department and day
    RecordSet mail;
    mail.recordType = "review.mail";
    Record m(mailNames_);
    // One number a line, at most 50 (a mail of 32 on one line once met
    // "500 Line too long"); the rest is counted, and the list is on screen.
    constexpr std::size_t kListed = 50;
    std::string list;
    for (std::size_t k = 0; k < numbers.size() && k < kListed; ++k) list += (k ? "\n              " : "") + numbers[k];
    if (numbers.size() > kListed)
      list += "\n              … and " + std::to_string(numbers.size() - kListed) + " more (the overdue list on screen)";
    m.set(0, dept);
    m.set(1, "overdue");
    m.set(2, std::to_string(numbers.size()));
    m.set(3, list);
    m.set(4, calendar::iso(today));
    mail.records.push_back(std::move(m));
    e.sets.push_back(std::move(mail));
    commit(e, "reminder");
    ++n;
  }
  return n;
}

}  // namespace renkei::plugins::review
