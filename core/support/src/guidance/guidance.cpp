// Knowledge files, rule files and the judgement (guidance.h).
#include "renkei/support/guidance.h"

#include "renkei/text.h"

#include <algorithm>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "schemas.h"
#include "renkei/support/xml_document.h"

namespace fs = std::filesystem;

namespace renkei::guidance {
namespace {

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

/// Ages and day counts in rule files: bounded, reported with file:line.
constexpr std::int64_t kMaxRuleNumber = 3650;

std::optional<Number> number(const std::string& text, const std::string& file, int line, const std::string& what,
                             Diagnostics& diags) {
  if (text.empty()) return std::nullopt;
  Number n;
  if (text.rfind("param:", 0) == 0) {
    n.parameter = text.substr(6);
    return n;
  }
  const auto v = parseWholeNumber(text, 0, kMaxRuleNumber);
  if (!v) {
    diags.add(file, line, what + ": '" + printable(text) + "' is not " + wholeNumberRange(0, kMaxRuleNumber) +
                              " (or param:NAME)");
    return std::nullopt;
  }
  n.value = static_cast<int>(*v);
  return n;
}

/// The first 4/1 on or after `d`, and the first 3/31 on or after it.
calendar::Date aprilOnOrAfter(const calendar::Date& d) {
  calendar::Date april{d.year, 4, 1};
  return april < d ? calendar::Date{d.year + 1, 4, 1} : april;
}
int fiscalYear(const calendar::Date& d) { return d.month < 4 ? d.year - 1 : d.year; }

/// The day a person born on `birth` reaches legal age `n`: the day before
/// the n-th birthday (a 2/29 birthday falls on 3/1 in other years).
calendar::Date legalAgeDay(const calendar::Date& birth, int n) {
  calendar::Date birthday{birth.year + n, birth.month, birth.day};
  if (!calendar::validDate(birthday.year, birthday.month, birthday.day)) birthday = {birth.year + n, 3, 1};
  return calendar::addDays(birthday, -1);
}

}  // namespace

const Question* Event::find(const std::string& qid) const {
  for (const Question& q : questions)
    if (q.id == qid) return &q;
  return nullptr;
}

const Procedure* Knowledge::procedure(const std::string& pid) const {
  for (const Procedure& p : procedures)
    if (p.id == pid) return &p;
  return nullptr;
}

const Event* Knowledge::event(const std::string& eid) const {
  for (const Event& e : events)
    if (e.id == eid) return &e;
  return nullptr;
}

std::shared_ptr<const Knowledge> loadKnowledge(const fs::path& file, Diagnostics& diags) {
  const std::size_t before = diags.size();
  xml::DocPtr doc = xml::load(file, kKnowledgeSchema, "urn:renkei:knowledge:1", "knowledge", "knowledge", diags);
  if (!doc) return nullptr;
  const std::string f = file.string();
  auto k = std::make_shared<Knowledge>();
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  k->id = xml::attr(root, "id");
  k->version = xml::attr(root, "version");
  std::map<std::string, int> procedureLines;
  struct Ref {
    int line;
    std::string what, id;
  };
  std::vector<Ref> procedureRefs;
  std::map<std::string, int> eventIds;
  for (xmlNodePtr c = root->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    const int line = xml::lineOf(c);
    if (xml::name(c) == "procedure") {
      Procedure p;
      p.id = xml::attr(c, "id");
      p.name = xml::attr(c, "name");
      p.counter = xml::attr(c, "counter");
      if (xml::hasAttr(c, "where")) p.where = xml::attr(c, "where");
      if (xml::hasAttr(c, "deadline-days")) {
        if (const auto v = parseWholeNumber(xml::attr(c, "deadline-days"), 0, kMaxRuleNumber)) {
          p.deadlineDays = static_cast<int>(*v);
        } else {
          diags.add(file.string(), line, "procedure '" + p.id + "': deadline-days '" +
                                             printable(xml::attr(c, "deadline-days")) + "' is not " +
                                             wholeNumberRange(0, kMaxRuleNumber));
        }
      }
      if (xml::hasAttr(c, "deadline-rule")) p.deadlineRule = *calendar::parseRule(xml::attr(c, "deadline-rule"));
      for (xmlNodePtr g = c->children; g; g = g->next) {
        if (g->type != XML_ELEMENT_NODE) continue;
        if (xml::name(g) == "bring") p.bring.push_back(xml::text(g));
        else if (xml::name(g) == "help") p.help = xml::text(g);
      }
      if (!procedureLines.emplace(p.id, line).second)
        diags.add(f, line, "procedure '" + p.id + "' is declared twice (first at line " +
                               std::to_string(procedureLines[p.id]) + ")");
      k->procedures.push_back(std::move(p));
      continue;
    }
    // an <event>
    Event e;
    e.id = xml::attr(c, "id");
    e.name = xml::attr(c, "name");
    if (!eventIds.emplace(e.id, line).second)
      diags.add(f, line, "event '" + e.id + "' is declared twice (first at line " + std::to_string(eventIds[e.id]) + ")");
    std::vector<std::pair<int, std::string>> nexts;
    std::map<std::string, int> questionLines;
    for (xmlNodePtr g = c->children; g; g = g->next) {
      if (g->type != XML_ELEMENT_NODE) continue;
      const int gl = xml::lineOf(g);
      if (xml::name(g) == "help") {
        e.help = xml::text(g);
      } else if (xml::name(g) == "procedures") {
        for (const std::string& id : words(xml::text(g))) {
          e.procedures.push_back(id);
          procedureRefs.push_back({gl, "event '" + e.id + "'", id});
        }
      } else if (xml::name(g) == "question") {
        Question q;
        q.id = xml::attr(g, "id");
        q.text = xml::attr(g, "text");
        if (!questionLines.emplace(q.id, gl).second)
          diags.add(f, gl, "event '" + e.id + "': question '" + q.id + "' is declared twice (first at line " +
                               std::to_string(questionLines[q.id]) + ")");
        for (xmlNodePtr h = g->children; h; h = h->next) {
          if (h->type != XML_ELEMENT_NODE) continue;
          const int hl = xml::lineOf(h);
          if (xml::name(h) == "help") {
            q.help = xml::text(h);
            continue;
          }
          Choice ch;
          ch.label = xml::attr(h, "label");
          ch.next = xml::attr(h, "next");
          for (const std::string& id : words(xml::attr(h, "procedures"))) {
            ch.procedures.push_back(id);
            procedureRefs.push_back({hl, "question '" + q.id + "', choice '" + ch.label + "'", id});
          }
          for (const std::string& fact : words(xml::attr(h, "fact"))) {
            const std::size_t eq = fact.find('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == fact.size())
              diags.add(f, hl, "question '" + q.id + "', choice '" + ch.label + "': fact '" + fact +
                                   "' is not name=value");
            else
              ch.facts[fact.substr(0, eq)] = fact.substr(eq + 1);
          }
          if (!ch.next.empty()) nexts.push_back({hl, q.id + "\n" + ch.next});
          q.choices.push_back(std::move(ch));
        }
        e.questions.push_back(std::move(q));
      }
    }
    // Every next names a question of this event.
    std::vector<std::string> ids;
    for (const Question& q : e.questions) ids.push_back(q.id);
    for (const auto& [nl, pair] : nexts) {
      const std::string from = pair.substr(0, pair.find('\n')), to = pair.substr(pair.find('\n') + 1);
      if (!e.find(to))
        diags.add(f, nl, "event '" + e.id + "', question '" + from + "': next '" + to + "' is no question of this event" +
                             didYouMean(to, ids));
    }
    // Levels from the first question; a cycle or a fourth level is an error,
    // and so is a question no path reaches.
    if (!e.questions.empty()) {
      std::map<std::string, int> level;
      std::set<std::string> onPath;
      std::function<void(const Question&, int, std::vector<std::string>&)> walk =
          [&](const Question& q, int depth, std::vector<std::string>& path) {
            path.push_back(q.id);
            if (onPath.count(q.id)) {
              std::string cycle;
              for (std::size_t i = std::find(path.begin(), path.end(), q.id) - path.begin(); i < path.size(); ++i)
                cycle += (cycle.empty() ? "" : " → ") + path[i];
              // at the question whose choice closes the circle
              diags.add(f, questionLines[path[path.size() - 2]], "event '" + e.id + "': the questions go round: " + cycle);
              path.pop_back();
              return;
            }
            if (depth > 3) {
              std::string chain;
              for (const std::string& p : path) chain += (chain.empty() ? "" : " → ") + p;
              diags.add(f, questionLines[q.id], "event '" + e.id + "': question '" + q.id + "' is at level " +
                                                    std::to_string(depth) + " (" + chain +
                                                    "); a question tree has at most 3 levels");
              path.pop_back();
              return;
            }
            level[q.id] = std::max(level[q.id], depth);
            e.depth = std::max(e.depth, depth);
            onPath.insert(q.id);
            for (const Choice& ch : q.choices)
              if (const Question* n = e.find(ch.next)) walk(*n, depth + 1, path);
            onPath.erase(q.id);
            path.pop_back();
          };
      std::vector<std::string> path;
      walk(e.questions.front(), 1, path);
      for (Question& q : e.questions) {
        if (!level.count(q.id))
          diags.add(f, questionLines[q.id], "event '" + e.id + "': question '" + q.id +
                                                "' is never reached from the first question ('" +
                                                e.questions.front().id + "')");
        else
          q.level = level[q.id];
      }
    }
    k->events.push_back(std::move(e));
  }
  std::vector<std::string> pids;
  for (const Procedure& p : k->procedures) pids.push_back(p.id);
  for (const Ref& r : procedureRefs)
    if (!k->procedure(r.id))
      diags.add(f, r.line, r.what + ": procedure '" + r.id + "' is not declared" + didYouMean(r.id, pids));
  if (diags.size() != before) return nullptr;
  return k;
}

namespace {

Conditions readConditions(xmlNodePtr node, const std::string& f, const std::string& rule, const Rules& rules,
                          Diagnostics& diags, bool any) {
  Conditions c;
  c.anyGroup = any;
  std::vector<std::string> params;
  for (const auto& [name, _] : rules.parameters) params.push_back(name);
  auto num = [&](xmlNodePtr n, const char* attr) -> std::optional<Number> {
    auto v = number(xml::attr(n, attr), f, xml::lineOf(n), "rule '" + rule + "': " + attr, diags);
    if (v && !v->parameter.empty() && !rules.parameters.count(v->parameter))
      diags.add(f, xml::lineOf(n), "rule '" + rule + "': " + attr + ": parameter '" + v->parameter +
                                       "' is not declared (<parameter name=\"…\"/>)" + didYouMean(v->parameter, params));
    return v;
  };
  for (xmlNodePtr n = node->children; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    const std::string name = xml::name(n);
    if (name == "member") {
      MemberCondition m;
      m.minAge = num(n, "min-age");
      m.maxAge = num(n, "max-age");
      m.fromAprilAfterAge = num(n, "from-april-after-age");
      m.throughMarchAfterAge = num(n, "through-march-after-age");
      m.flag = xml::attr(n, "flag");
      c.members.push_back(std::move(m));
    } else if (name == "fact") {
      c.facts.push_back({xml::attr(n, "name"), xml::attr(n, "equals")});
    } else if (name == "any") {
      c.any.push_back(readConditions(n, f, rule, rules, diags, true));
    } else if (name == "none") {
      c.none.push_back(readConditions(n, f, rule, rules, diags, true));
    }
  }
  return c;
}

}  // namespace

std::shared_ptr<const Rules> loadRules(const fs::path& file, const Knowledge& knowledge, Diagnostics& diags) {
  const std::size_t before = diags.size();
  xml::DocPtr doc = xml::load(file, kRulesSchema, "urn:renkei:rules:1", "rules", "rules", diags);
  if (!doc) return nullptr;
  const std::string f = file.string();
  auto r = std::make_shared<Rules>();
  r->file = file;
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  r->id = xml::attr(root, "id");
  r->version = xml::attr(root, "version");
  std::vector<std::string> pids, eids;
  for (const Procedure& p : knowledge.procedures) pids.push_back(p.id);
  for (const Event& e : knowledge.events) eids.push_back(e.id);
  std::map<std::string, int> ruleLines;
  for (xmlNodePtr c = root->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    const int line = xml::lineOf(c);
    if (xml::name(c) == "parameter") {
      std::optional<std::string> def;
      if (xml::hasAttr(c, "default")) def = xml::attr(c, "default");
      r->parameters[xml::attr(c, "name")] = def;
      continue;
    }
    Rule rule;
    rule.line = line;
    rule.id = xml::attr(c, "id");
    rule.procedure = xml::attr(c, "procedure");
    rule.cite = xml::attr(c, "cite");
    if (!ruleLines.emplace(rule.id, line).second)
      diags.add(f, line, "rule '" + rule.id + "' is declared twice (first at line " + std::to_string(ruleLines[rule.id]) + ")");
    if (!knowledge.procedure(rule.procedure))
      diags.add(f, line, "rule '" + rule.id + "': procedure '" + rule.procedure + "' is not in the knowledge file" +
                             didYouMean(rule.procedure, pids));
    for (const std::string& t : words(xml::attr(c, "trigger"))) {
      if (!knowledge.event(t))
        diags.add(f, line, "rule '" + rule.id + "': trigger '" + t + "' is no life event of the knowledge file" +
                               didYouMean(t, eids));
      rule.triggers.insert(t);
    }
    const auto from = calendar::parseIso(xml::attr(c, "valid-from"));
    if (!from) diags.add(f, line, "rule '" + rule.id + "': valid-from '" + xml::attr(c, "valid-from") + "' is not a day");
    else rule.validFrom = *from;
    if (xml::hasAttr(c, "valid-to")) {
      rule.validTo = calendar::parseIso(xml::attr(c, "valid-to"));
      if (!rule.validTo) diags.add(f, line, "rule '" + rule.id + "': valid-to '" + xml::attr(c, "valid-to") + "' is not a day");
      else if (from && *rule.validTo < *from)
        diags.add(f, line, "rule '" + rule.id + "': valid-to is before valid-from");
    }
    if (xml::hasAttr(c, "deadline-days"))
      rule.deadlineDays = number(xml::attr(c, "deadline-days"), f, line, "rule '" + rule.id + "': deadline-days", diags);
    if (rule.deadlineDays && !rule.deadlineDays->parameter.empty() && !r->parameters.count(rule.deadlineDays->parameter))
      diags.add(f, line, "rule '" + rule.id + "': deadline-days: parameter '" + rule.deadlineDays->parameter +
                             "' is not declared");
    rule.deadlineRule = *calendar::parseRule(xml::hasAttr(c, "deadline-rule") ? xml::attr(c, "deadline-rule") : "days");
    for (xmlNodePtr w = c->children; w; w = w->next)
      if (w->type == XML_ELEMENT_NODE && xml::name(w) == "when") rule.when = readConditions(w, f, rule.id, *r, diags, false);
    r->rules.push_back(std::move(rule));
  }
  if (diags.size() != before) return nullptr;
  return r;
}

MemberFacts memberFacts(const calendar::Date& birth, const calendar::Date& on, std::set<std::string> flags) {
  MemberFacts m;
  // Legal age: a year older on the day before each birthday.
  int age = on.year - birth.year;
  if (calendar::addDays(on, 1) < calendar::Date{birth.year + age, birth.month, birth.day} ||
      (!calendar::validDate(birth.year + age, birth.month, birth.day) &&
       calendar::addDays(on, 1) < calendar::Date{birth.year + age, 3, 1}))
    --age;
  m.age = std::max(0, age);
  // School year: 学校教育法 第17条 — the first school year that begins on or
  // after the day after legal age 6 is reached (the 6th birthday): a child
  // born on 4/1 starts with those born the year before (早生まれ).
  const int entryYear = aprilOnOrAfter(calendar::addDays(legalAgeDay(birth, 6), 1)).year;
  m.grade = fiscalYear(on) - entryYear + 1;
  m.flags = std::move(flags);
  return m;
}

namespace {

int valueOf(const Number& n, const std::map<std::string, std::string>& params, const Rules& rules) {
  if (n.parameter.empty()) return n.value;
  auto it = params.find(n.parameter);
  std::string text;
  if (it != params.end()) text = it->second;
  else if (auto d = rules.parameters.find(n.parameter); d != rules.parameters.end() && d->second) text = *d->second;
  else throw std::invalid_argument("parameter '" + n.parameter + "' of the rules has no value (set it in the config)");
  if (const auto v = parseWholeNumber(text, 0, kMaxRuleNumber)) return static_cast<int>(*v);
  throw std::invalid_argument("parameter '" + n.parameter + "': '" + printable(text) + "' is not " +
                              wholeNumberRange(0, kMaxRuleNumber));
}

bool memberHolds(const MemberFacts& m, const MemberCondition& c, const std::map<std::string, std::string>& p,
                 const Rules& rules) {
  if (c.minAge && m.age < valueOf(*c.minAge, p, rules)) return false;
  if (c.maxAge && m.age > valueOf(*c.maxAge, p, rules)) return false;
  // From the first school year after age N: grade N - 5 onwards (6 → 小学1年).
  if (c.fromAprilAfterAge && m.grade < valueOf(*c.fromAprilAfterAge, p, rules) - 5) return false;
  // Through the first 3/31 on or after the day age N is reached: the school
  // year in which N is reached is grade N - 6 (18 → 高校3年, 15 → 中学3年).
  if (c.throughMarchAfterAge && m.grade > valueOf(*c.throughMarchAfterAge, p, rules) - 6) return false;
  if (!c.flag.empty() && !m.flags.count(c.flag)) return false;
  return true;
}

bool holds(const Conditions& c, const Household& h, const std::map<std::string, std::string>& p, const Rules& rules) {
  std::vector<bool> parts;
  for (const MemberCondition& mc : c.members)
    parts.push_back(std::any_of(h.members.begin(), h.members.end(),
                                [&](const MemberFacts& m) { return memberHolds(m, mc, p, rules); }));
  for (const auto& [name, value] : c.facts) {
    auto it = h.facts.find(name);
    parts.push_back(it != h.facts.end() && it->second == value);
  }
  for (const Conditions& sub : c.any) parts.push_back(holds(sub, h, p, rules));
  for (const Conditions& sub : c.none) parts.push_back(!holds(sub, h, p, rules));
  if (c.anyGroup) return std::find(parts.begin(), parts.end(), true) != parts.end();
  return std::find(parts.begin(), parts.end(), false) == parts.end();
}

}  // namespace

std::vector<Outcome> judge(const Knowledge& knowledge, const Rules* rules, const calendar::Calendar& cal,
                           const Household& h, const std::map<std::string, std::string>& parameters) {
  std::map<std::string, Outcome> found;
  auto deadlineOf = [&](std::optional<int> days, calendar::Rule rule) {
    return days ? std::optional<calendar::Date>(cal.deadline(h.moveDate, *days, rule)) : std::nullopt;
  };
  const Event* event = knowledge.event(h.event);
  if (event) {
    std::vector<std::string> ids = event->procedures;
    ids.insert(ids.end(), h.chosenProcedures.begin(), h.chosenProcedures.end());
    for (const std::string& id : ids)
      if (const Procedure* p = knowledge.procedure(id); p && !found.count(id))
        found[id] = Outcome{p, deadlineOf(p->deadlineDays, p->deadlineRule), "the answers", ""};
  }
  if (rules)
    for (const Rule& r : rules->rules) {
      if (!r.triggers.count(h.event) || h.moveDate < r.validFrom || (r.validTo && *r.validTo < h.moveDate)) continue;
      if (!holds(r.when, h, parameters, *rules)) continue;
      const Procedure* p = knowledge.procedure(r.procedure);
      if (!p) continue;
      std::optional<int> days = p->deadlineDays;
      calendar::Rule how = p->deadlineRule;
      if (r.deadlineDays) {
        days = valueOf(*r.deadlineDays, parameters, *rules);
        how = r.deadlineRule;
      }
      Outcome o{p, deadlineOf(days, how), "rule " + r.id + " (" + r.cite + ")",
                rules->file.filename().string() + ":" + std::to_string(r.line)};
      auto it = found.find(p->id);
      if (it == found.end()) {
        found[p->id] = o;
      } else if (it->second.where.empty()) {
        // A procedure of the event itself that a rule also calls for: the
        // rule says why (and where it is written), the earlier deadline counts.
        if (it->second.deadline && (!o.deadline || *it->second.deadline < *o.deadline)) o.deadline = it->second.deadline;
        it->second = o;
      } else if (o.deadline && (!it->second.deadline || *o.deadline < *it->second.deadline)) {
        it->second = o;
      }
    }
  std::vector<Outcome> out;
  for (const Procedure& p : knowledge.procedures)
    if (auto it = found.find(p.id); it != found.end()) out.push_back(it->second);
  return out;
}

std::vector<std::string> missingParameters(const Rules& rules, const std::map<std::string, std::string>& given) {
  std::vector<std::string> out;
  for (const auto& [name, def] : rules.parameters)
    if (!def && !given.count(name)) out.push_back(name);
  return out;
}

}  // namespace renkei::guidance
