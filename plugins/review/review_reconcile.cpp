// The register's side of the review module: the 4 情報 cache of resident
// records routed here, the certificate mapping, and reconciliation — a
// written-back application becomes 反映済 when its 異動 shows in the
// register or the core system acknowledges it, with one 完了 notice each.
#include "review.h"

#include <algorithm>
#include <mutex>

#include "renkei/support/seal.h"

#include "review_internal.h"

namespace renkei::plugins::review {

using namespace detail;

std::size_t Review::takeResidents(const std::vector<Record>& records, std::int64_t now) {
  // The 4 情報 cache, one transaction for the batch.
  struct Row {
    std::string code, key, name, birth, sex, address, status, event;
  };
  std::vector<Row> rows;
  rows.reserve(records.size());
  for (const Record& r : records) {
    const auto get = [&](const std::string& f) {
      const std::string* v = r.find(f);
      return v ? *v : std::string();
    };
    Row x{get(options_.residentKey), "", get(options_.nameField), get(options_.birthField), get(options_.sexField),
          get(options_.addressField), get(options_.statusField), get(options_.eventField)};
    if (x.code.empty()) continue;
    if (x.status.empty()) x.status = options_.currentStatus;
    x.key = matchKeyOf(x.name, x.birth, options_.variants);
    rows.push_back(std::move(x));
  }
  state_.write([&](StateSession& s) {
    for (const Row& x : rows) {
      if (s.run("UPDATE " + residents_ +
                    " SET match_key = ?, name = ?, birth = ?, sex = ?, address = ?, status = ?, event = ? "
                    "WHERE resident_code = ?",
                {x.key, x.name, x.birth, x.sex, x.address, x.status, x.event, x.code}) == 0)
        s.run("INSERT INTO " + residents_ +
                  " (resident_code, match_key, name, birth, sex, address, status, event) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              {x.code, x.key, x.name, x.birth, x.sex, x.address, x.status, x.event});
    }
  });
  // Reconciliation: a written-back application whose 異動 now shows in the
  // register (same 氏名 and 生年月日, the procedure's reflect-event) is 反映済.
  std::vector<std::pair<std::string, std::string>> reflected;  // arrival no, resident code
  {
    std::lock_guard lock(awaitingMutex_);
    // What waits is read again when it changed: by its count and latest
    // write-back (an approval on another host sharing the store included).
    std::pair<std::int64_t, std::int64_t> stamp{0, 0};
    state_.read([&](StateSession& s) {
      s.query("SELECT count(*), coalesce(max(written_ms), 0) FROM " + apps_ + " WHERE state = ?",
              {std::string(state::kAwaiting)}, [&](StateRows& row) { stamp = {row.integer(0), row.integer(1)}; });
    });
    if (stamp != awaitingStamp_) {
      awaitingStamp_ = stamp;
      awaiting_.clear();
      state_.read([&](StateSession& s) {
        s.query("SELECT match_key, arrival_no, procedure_id FROM " + apps_ + " WHERE state = ? AND match_key <> ''",
                {std::string(state::kAwaiting)}, [&](StateRows& row) {
                  {
                    const Procedure* p = procedures_->find(row.text(2));
                    if (!p || p->writeBack.reflectEvent.empty()) return;
                    awaiting_.emplace(row.text(0), Waiting{row.text(1), row.text(2), p->writeBack.reflectEvent});
                  }
                });
      });
    }
    if (awaiting_.empty()) return 0;
    for (const Row& x : rows) {
      auto [b, e] = awaiting_.equal_range(x.key);
      for (auto it = b; it != e; ++it)
        if (it->second.event == x.event) reflected.emplace_back(it->second.arrivalNo, x.code);
    }
  }
  std::vector<std::string> numbers;
  for (const auto& [arrivalNo, code] : reflected) numbers.push_back(arrivalNo);
  return numbers.empty() ? 0 : reflect(numbers, "reconciled with the resident export", now);
}

std::size_t Review::reflect(const std::vector<std::string>& arrivalNos, const std::string& how, std::int64_t now) {
  // All of them in one commit (a resident batch can reflect thousands):
  // what is still 反映待ち is read, then moved with its 完了 notice. When
  // another path moved one meanwhile, the commit is refused whole and the
  // rest is read again, so no notice goes out twice.
  std::vector<std::string> wanted(arrivalNos);
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  for (int attempt = 0; attempt < 5; ++attempt) {
    struct Row {
      std::int64_t id;
      std::string arrivalNo, procedure;
    };
    std::vector<Row> rows;
    state_.read([&](StateSession& s) {
      for (std::size_t i = 0; i < wanted.size(); i += 500) {
        const std::size_t n = std::min<std::size_t>(500, wanted.size() - i);
        std::string sql = "SELECT id, arrival_no, procedure_id FROM " + apps_ + " WHERE state = ? AND arrival_no IN (";
        std::vector<StateValue> params{std::string(state::kAwaiting)};
        for (std::size_t j = 0; j < n; ++j) {
          sql += j ? ", ?" : "?";
          params.push_back(wanted[i + j]);
        }
        s.query(sql + ")", params, [&](StateRows& row) { rows.push_back({row.integer(0), row.text(1), row.text(2)}); });
      }
    });
    if (rows.empty()) return 0;
    std::string list;
    for (const Row& r : rows) list += r.arrivalNo + "\n";
    Emission e;
    e.key = "review-reflected:" + seal::sha256Hex(list);
    RecordSet notices;
    notices.recordType = "review.notice";
    for (const Row& r : rows) {
      Application a;
      a.arrivalNo = r.arrivalNo;
      a.procedure = r.procedure;
      RecordSet one = notice(a, "completed", "", now);
      notices.records.push_back(std::move(one.records.front()));
    }
    e.sets.push_back(std::move(notices));
    bool changed = false;
    e.state = [&](StateSession& s) {
      for (const Row& r : rows) {
        if (s.run("UPDATE " + apps_ + " SET state = ?, version = version + 1, reflected_ms = ? WHERE id = ? AND state = ?",
                  {std::string(state::kReflected), now, r.id, std::string(state::kAwaiting)}) != 1) {
          changed = true;
          throw Changed{};
        }
        s.run("INSERT INTO " + history_ +
                  " (application_id, at_ms, from_state, to_state, action, who, why) VALUES (?, ?, ?, ?, 'reflected', "
                  "'core-system', ?)",
              {r.id, now, std::string(state::kAwaiting), std::string(state::kReflected), how});
      }
    };
    bool ran = false;
    e.state = [&ran, inner = std::move(e.state)](StateSession& s) {
      inner(s);
      ran = true;
    };
    try {
      commit(e, "reflect");
      if (ran)
        for (const Row& r : rows) told({r.arrivalNo, r.procedure, state::kAwaiting, state::kReflected, "reflected", now});
      return rows.size();
    } catch (const ReviewError&) {
      if (!changed) throw;
    }
  }
  throw ReviewError{ReviewError::Unavailable, "reflect: the applications kept changing; tried five times"};
}

std::size_t Review::takeCertificates(const std::vector<Record>& records) {
  std::size_t taken = 0;
  state_.write([&](StateSession& s) {
    for (const Record& r : records) {
      const std::string* serial = r.find(options_.serialField);
      const std::string* code = r.find(options_.residentKey);
      if (!serial || !code || serial->empty() || code->empty() || serial->size() > 128) continue;
      if (s.run("UPDATE " + certificates_ + " SET resident_code = ? WHERE serial = ?", {*code, *serial}) == 0)
        s.run("INSERT INTO " + certificates_ + " (serial, resident_code) VALUES (?, ?)", {*serial, *code});
      ++taken;
    }
  });
  return taken;
}

std::size_t Review::takeLossy(const std::vector<Record>& records) {
  std::size_t taken = 0;
  state_.write([&](StateSession& s) {
    for (const Record& r : records) {
      const std::string* code = r.find(options_.residentKey);
      const std::string* lossy = r.find("lossy");
      if (!code || code->empty() || code->size() > 64 || !lossy || lossy->size() > 200) continue;
      if (lossy->empty()) s.run("DELETE FROM " + lossy_ + " WHERE resident_code = ?", {*code});
      else if (s.run("UPDATE " + lossy_ + " SET fields = ? WHERE resident_code = ?", {*lossy, *code}) == 0)
        s.run("INSERT INTO " + lossy_ + " (resident_code, fields) VALUES (?, ?)", {*code, *lossy});
      ++taken;
    }
  });
  return taken;
}

std::size_t Review::acknowledge(const std::vector<Record>& records, std::int64_t now) {
  std::vector<std::string> numbers;
  for (const Record& r : records) {
    const std::string* id = r.find("application_id");
    if (!id) id = r.find("arrival_no");
    if (!id || id->empty()) continue;
    const std::string* result = r.find("result");
    if (result && !result->empty() && *result != "ok" && *result != "OK" && *result != "0") continue;
    numbers.push_back(*id);
  }
  return numbers.empty() ? 0 : reflect(numbers, "acknowledged by the core system", now);
}

}  // namespace renkei::plugins::review
