// Calendar files (urn:renkei:calendar:1) and `renkei calendar`: the
// municipality's calendar read with file:line for every problem, and a year
// printed with each day's kind, or a deadline counted on it.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "renkei/support/diagnostics.h"
#include "renkei/connector.h"
#include "renkei/support/calendar.h"

namespace renkei {

/// Loads a calendar file; nullopt (and the problems in `diags`) when it has
/// any. The published list it names is read whole (at most 1 MiB).
std::optional<calendar::Calendar> loadCalendar(const std::filesystem::path& file, Diagnostics& diags);

/// The calendar a plugin counts days on: the file its deprecated `key` names
/// when a config still gives one (problems into `diags`), else the host's
/// (HostServices::calendar: the config's <calendar file="…"/>). Throws
/// ConfigError when there is neither.
std::optional<calendar::Calendar> pluginCalendar(const Settings& settings, const std::string& key,
                                                 const HostServices& host, Diagnostics& diags);

/// `renkei calendar [--calendar F] [--year Y] [--from DATE --days N [--rule R]]`.
int runCalendarCommand(const std::map<std::string, std::string>& values);

}  // namespace renkei
