// The AI ナビ service: staff ask the city's guarded assistant (the ai
// connector) from a window system or the staff's own front end. Served on
// the host's one TLS port beside RecordService (core/api/renkei.thrift,
// included for ApiError), by the ai connector whose `staff-api` is true;
// the same transport, protocol and rules as there (client certificates,
// the access log).
//
// What is asked passes the PII guard before anything leaves renkei (masked
// or refused, as the connector is configured); the answer comes from the
// city's knowledge alone, with its sources, or is the handoff to a person.
// Questions and answers are logged masked and counted per topic.
//
// This file is a contract with vendors: fields are only ever added (with new
// ids, optional or with defaults), never renumbered or removed.

include "renkei.thrift"

namespace cpp renkei.api
namespace py renkei_ai_api
namespace java jp.renkei.api.ai

/// What became of a question.
enum NaviOutcome {
  ANSWER = 1,    // the model answered from the city's knowledge: see `sources`
  HANDOFF = 2,   // no knowledge covers it (or the model failed): `text` names the counter or phone
  REFUSED = 3,   // it held personal data and the connector refuses such questions
}

struct NaviQuestion {
  1: string text,          // at most 2,000 characters of UTF-8
  2: optional string topic, // one of topics(), or unset
}

struct NaviSource {
  1: string file,     // the knowledge page ("gomi.md"), or "records:<type>" for records routed in
  2: string heading,  // its heading path ("ごみの出し方 > 粗大ごみ")
}

struct NaviAnswer {
  1: NaviOutcome outcome,
  2: string text,
  3: list<NaviSource> sources,
  4: map<string, i32> masked,  // values masked in the question, passages and answer, by kind ("phone" → 1)
  5: string id,                // the log entry, for follow-up
}

service NaviService {
  /// Asks one question. BAD_REQUEST: empty, too long, not UTF-8, or holding
  /// control characters; UNAVAILABLE: the store cannot log it now.
  NaviAnswer ask(1: NaviQuestion question) throws (1: renkei.ApiError error),
  /// The topics with their own handoff.
  list<string> topics() throws (1: renkei.ApiError error),
}
