// The congestion profile and forecast: see crm_congestion.h.
#include "crm_congestion.h"

#include <numeric>

namespace renkei::plugins::crm::congestion {
namespace {

constexpr unsigned kKinds[] = {kMonthEnd, kPostHoliday, kSeason};

bool plainWeekend(calendar::Kind k) { return k == calendar::Kind::Saturday || k == calendar::Kind::Sunday; }

}  // namespace

std::int64_t DayCounts::total() const { return std::accumulate(arrivals.begin(), arrivals.end(), std::int64_t{0}); }

std::string kindNames(unsigned kinds) {
  std::string out;
  for (const auto& [bit, name] : {std::pair<unsigned, const char*>{kMonthEnd, "月末"}, {kPostHoliday, "休日明け"},
                                  {kSeason, "3〜4月"}})
    if (kinds & bit) out += (out.empty() ? "" : "・") + std::string(name);
  return out;
}

unsigned kindsOf(const calendar::Calendar& cal, const calendar::Date& day) {
  unsigned kinds = 0;
  if (day.month == 3 || day.month == 4) kinds |= kSeason;
  // One of the month's last two open days.
  int after = 0;
  for (calendar::Date d = calendar::addDays(day, 1); d.month == day.month && after < 2; d = calendar::addDays(d, 1))
    if (cal.isOpen(d)) ++after;
  if (after < 2) kinds |= kMonthEnd;
  // After a closure that held more than a plain weekend (a holiday, 年末年始,
  // a local closed day): the first open day.
  bool holiday = false;
  calendar::Date d = calendar::addDays(day, -1);
  for (int i = 0; i < 21; ++i, d = calendar::addDays(d, -1)) {
    const calendar::Day what = cal.day(d);
    if (what.open) break;
    if (!plainWeekend(what.kind)) holiday = true;
  }
  if (holiday) kinds |= kPostHoliday;
  return kinds;
}

double assumedFactor(unsigned kind) {
  switch (kind) {
    case kMonthEnd: return 1.3;
    case kPostHoliday: return 1.4;
    case kSeason: return 1.6;
    default: return 1.0;
  }
}

const char* levelOf(double ratio) {
  if (ratio < 0.85) return "空いている";
  if (ratio < 1.15) return "普通";
  if (ratio < 1.5) return "やや混雑";
  return "混雑";
}

Result forecast(const std::map<calendar::Date, DayCounts>& history, const calendar::Calendar& cal, int year, int month) {
  Result r;
  std::array<std::array<double, 24>, 7> waitSum{}, waited{};
  std::array<double, 7> ordinarySum{};
  std::array<int, 7> ordinaryDays{};
  std::vector<std::pair<calendar::Date, double>> marked;  // days of a kind: their arrivals
  for (const auto& [day, counts] : history) {
    const std::int64_t total = counts.total();
    if (total == 0) continue;  // not observed
    const int w = calendar::weekday(day);
    ++r.days[w];
    for (int h = 0; h < 24; ++h) {
      r.arrivals[w][h] += static_cast<double>(counts.arrivals[h]);
      waitSum[w][h] += static_cast<double>(counts.waitSumSeconds[h]);
      waited[w][h] += static_cast<double>(counts.waited[h]);
    }
    if (kindsOf(cal, day) == 0) {
      ordinarySum[w] += static_cast<double>(total);
      ++ordinaryDays[w];
    } else {
      marked.emplace_back(day, static_cast<double>(total));
    }
  }
  for (int w = 0; w < 7; ++w)
    for (int h = 0; h < 24; ++h) {
      if (r.days[w]) r.arrivals[w][h] /= r.days[w];
      if (waited[w][h] > 0) r.waitSeconds[w][h] = waitSum[w][h] / waited[w][h];
    }
  const double allOrdinary = std::accumulate(ordinarySum.begin(), ordinarySum.end(), 0.0);
  const int allOrdinaryDays = std::accumulate(ordinaryDays.begin(), ordinaryDays.end(), 0);
  r.ordinaryMean = allOrdinaryDays ? allOrdinary / allOrdinaryDays : 0;
  auto base = [&](int w) { return ordinaryDays[w] ? ordinarySum[w] / ordinaryDays[w] : r.ordinaryMean; };

  // Each kind from the days that are of that kind alone first; a kind seen
  // only together with others is measured with theirs divided out.
  std::map<unsigned, Factor> factors;
  for (const unsigned kind : kKinds) factors[kind] = Factor{kind, assumedFactor(kind), 0, false};
  for (int pass = 0; pass < 2; ++pass)
    for (const unsigned kind : kKinds) {
      if (factors[kind].measured) continue;
      double sum = 0;
      int n = 0;
      for (const auto& [day, total] : marked) {
        const unsigned kinds = kindsOf(cal, day);
        if (!(kinds & kind) || (pass == 0 && kinds != kind)) continue;
        const double b = base(calendar::weekday(day));
        if (b <= 0) continue;
        double others = 1;
        for (const unsigned k : kKinds)
          if (k != kind && (kinds & k)) others *= factors[k].factor;
        sum += total / b / others;
        ++n;
      }
      if (n) factors[kind] = Factor{kind, sum / n, n, true};
    }
  for (const unsigned kind : kKinds) r.factors.push_back(factors[kind]);

  if (!calendar::validDate(year, month, 1)) return r;
  for (calendar::Date d{year, month, 1}; d.month == month; d = calendar::addDays(d, 1)) {
    DayForecast f;
    f.date = d;
    f.open = cal.isOpen(d);
    if (!f.open) {
      f.level = "閉庁";
      r.month.push_back(f);
      continue;
    }
    f.kinds = kindsOf(cal, d);
    const int w = calendar::weekday(d);
    f.expected = base(w);
    for (const unsigned k : kKinds)
      if (f.kinds & k) f.expected *= factors[k].factor;
    if (r.ordinaryMean > 0) {
      f.ratio = f.expected / r.ordinaryMean;
      f.level = levelOf(f.ratio);
    }
    // The weekday's hours; a weekday never observed (a service Sunday) takes every day's.
    double most = 0;
    for (int h = 0; h < 24; ++h) {
      double a = r.arrivals[w][h];
      if (!r.days[w])
        for (int v = 0; v < 7; ++v) a += r.arrivals[v][h] * r.days[v];
      if (a > most) most = a, f.busiestHour = h;
    }
    r.month.push_back(f);
  }
  return r;
}

}  // namespace renkei::plugins::crm::congestion
