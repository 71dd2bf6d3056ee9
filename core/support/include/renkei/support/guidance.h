// Guidance for residents (frontyard.md §4), as data staff edit: knowledge
// files (urn:renkei:knowledge:1: life events, a question tree of at most
// three levels, procedures with counters, documents and deadline rules) and
// related-procedure rule files (urn:renkei:rules:1: date-effective rules on
// PII-free facts, each with its source). The same judgement runs in the
// internet zone on a resident's answers and in LGWAN on register data.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "renkei/support/diagnostics.h"
#include "renkei/support/calendar.h"

namespace renkei::guidance {

struct Procedure {
  std::string id, name, counter;
  std::string where = "counter";  ///< counter, online, either
  std::string help;
  std::vector<std::string> bring;
  std::optional<int> deadlineDays;
  calendar::Rule deadlineRule = calendar::Rule::Days;
};

struct Choice {
  std::string label;
  std::string next;                     ///< a question of the same event, or "" (the end)
  std::vector<std::string> procedures;  ///< added when chosen
  std::map<std::string, std::string> facts;  ///< set when chosen (PII-free: flags, bands)
};

struct Question {
  std::string id, text, help;
  std::vector<Choice> choices;
  int level = 1;  ///< 1 for the first question
};

struct Event {
  std::string id, name, help;
  std::vector<std::string> procedures;  ///< always, whatever the answers
  std::vector<Question> questions;      ///< the first is where a session starts
  const Question* find(const std::string& id) const;
  /// Questions on the longest path from the first (for progress %).
  int depth = 0;
};

struct Knowledge {
  std::string id, version;
  std::vector<Procedure> procedures;
  std::vector<Event> events;
  const Procedure* procedure(const std::string& id) const;
  const Event* event(const std::string& id) const;
};

/// Loads and checks a knowledge file: unique ids, every reference resolved
/// (with did-you-mean), no cycle, at most three levels, every question
/// reachable. Null (and the problems, file:line, in `diags`) when wrong.
std::shared_ptr<const Knowledge> loadKnowledge(const std::filesystem::path& file, Diagnostics& diags);

/// A number in a rule: literal, or a parameter the municipality sets.
struct Number {
  int value = 0;
  std::string parameter;  ///< "" for a literal
};

struct MemberCondition {
  std::optional<Number> minAge, maxAge, fromAprilAfterAge, throughMarchAfterAge;
  std::string flag;
};

struct Conditions {
  std::vector<MemberCondition> members;              ///< each: some member satisfies it
  std::vector<std::pair<std::string, std::string>> facts;  ///< each: fact equals
  std::vector<Conditions> any;                       ///< each: at least one of its parts holds
  std::vector<Conditions> none;                      ///< each: none of its parts holds
  bool anyGroup = false;                             ///< this group is an <any> (or a <none>: its parts are alternatives)
};

struct Rule {
  std::string id, procedure, cite;
  std::set<std::string> triggers;  ///< event ids
  calendar::Date validFrom;
  std::optional<calendar::Date> validTo;
  std::optional<Number> deadlineDays;
  calendar::Rule deadlineRule = calendar::Rule::Days;
  Conditions when;
  int line = 0;
};

struct Rules {
  std::filesystem::path file;  ///< where it was read from (an outcome names file:line)
  std::string id, version;
  std::map<std::string, std::optional<std::string>> parameters;  ///< name → default
  std::vector<Rule> rules;
};

/// Loads a rule file and checks it against `knowledge`: procedures and
/// triggers exist (did-you-mean), parameters are declared, dates are days.
std::shared_ptr<const Rules> loadRules(const std::filesystem::path& file, const Knowledge& knowledge,
                                       Diagnostics& diags);

/// A household member as the judgement sees it: no name, no birth date.
struct MemberFacts {
  int age = 0;    ///< in years at the move date, by the legal age rule (年齢計算ニ関スル法律)
  int grade = 0;  ///< school year at the move date: 1 = 小学1年 (0 the year before, 7 = 中学1年 …)
  std::set<std::string> flags;  ///< e.g. disabled, kaigo-nintei
};
/// The facts of a member born on `birth`, at `on`. The birth date is not kept.
MemberFacts memberFacts(const calendar::Date& birth, const calendar::Date& on, std::set<std::string> flags = {});

struct Household {
  std::string event;
  calendar::Date moveDate;
  std::vector<MemberFacts> members;
  std::map<std::string, std::string> facts;     ///< from-other-prefecture=true …
  std::vector<std::string> chosenProcedures;    ///< from the answers' choices
};

struct Outcome {
  const Procedure* procedure = nullptr;
  std::optional<calendar::Date> deadline;
  std::string because;  ///< "the answers", or "rule <id> (<cite>)"
  std::string where;    ///< the rule's file:line; "" for the answers
};

/// The procedures a household needs, in the knowledge file's order, each
/// once, with its deadline as a date on `cal`. `parameters` are the
/// municipality's values for the rules' parameters (names → numbers).
/// Throws std::invalid_argument for a required parameter not given.
std::vector<Outcome> judge(const Knowledge& knowledge, const Rules* rules, const calendar::Calendar& cal,
                           const Household& household, const std::map<std::string, std::string>& parameters);

/// The parameters a rule file needs that `given` lacks (and that have no
/// default), for `renkei check`.
std::vector<std::string> missingParameters(const Rules& rules, const std::map<std::string, std::string>& given);

}  // namespace renkei::guidance
