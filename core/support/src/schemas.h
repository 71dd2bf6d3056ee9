// The XML schemas the host validates people's files against, embedded at
// build time from config/schema/*.xsd so nothing has to be found at run time.
#pragma once

namespace renkei {
extern const char* const kConfigSchema;  ///< urn:renkei:config:1
extern const char* const kLayoutSchema;  ///< urn:renkei:layout:1
extern const char* const kMappingSchema;  ///< urn:renkei:mapping:1
extern const char* const kCalendarSchema;  ///< urn:renkei:calendar:1
extern const char* const kKnowledgeSchema;  ///< urn:renkei:knowledge:1
extern const char* const kRulesSchema;  ///< urn:renkei:rules:1
}  // namespace renkei
