// The concierge module (frontyard.md §4): an HTTPS JSON API for front ends
// (web, LINE, kiosk) that walks a resident through a life event's questions,
// judges the related procedures with their deadlines on the municipal
// calendar, and makes the sealed visit token. It runs in the internet zone
// and keeps nothing personal: sessions hold the place in the question tree
// only, in memory, erased after an idle time-out; what a resident types for
// the token exists only in that request; the only thing kept is counts per
// life event and channel.
#include <Poco/ClassLibrary.h>
#include <Poco/JSON/Parser.h>
#include <openssl/crypto.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/URI.h>

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <fstream>
#include <iterator>
#include <thread>
#include <tuple>

#include "renkei/support/calendar_file.h"
#include "renkei/support/chart.h"
#include "concierge_floor.h"
#include "concierge_sessions.h"
#include "zmq_channel.h"
#include "renkei/support/guidance.h"
#include "renkei/support/worker.h"
#include "renkei/json.h"
#include "renkei/support/qr.h"
#include "renkei/support/http_server.h"
#include "renkei/admin.h"
#include "renkei/sdk.h"
#include "renkei/text.h"
#include "renkei/support/token.h"

namespace renkei::plugins::concierge {
extern const char* const kPageHtml;
extern const char* const kPageCss;
extern const char* const kPageJs;
namespace {

const renkei_config_key kKeys[] = {
    {"knowledge", "path", nullptr, 1, "The knowledge file (urn:renkei:knowledge:1): life events, questions, procedures."},
    {"rules", "path", nullptr, 0, "The related-procedure rule file (urn:renkei:rules:1)."},
    {"calendar", "path", nullptr, 0, "The municipal calendar file (urn:renkei:calendar:1) deadlines are counted on.",
     "the config's <calendar file=\"…\"/> serves every plugin of the instance; remove this key"},
    {"parameters", "list", "", 0, "Values of the rules' parameters, name=value, comma-separated (e.g. child-medical-age=15)."},
    {"token-key", "path", nullptr, 1,
     "LGWAN's public key for visit tokens (token-<id>.pub from `renkei token keygen`); the internet zone holds no "
     "private key."},
    {"token-lifetime", "duration", "7d", 0, "How long a token made here can be opened at the counter."},
    {"fact-flags", "list", "kokuho_member,jidou_teate_recipient,kouki_member,kaigo_certified,kaigo_insured,inkan_registered", 0,
     "Member flags that are the core systems' facts (the welfare connector's), which the internet zone never holds: "
     "the procedures rules would add with them are listed apart as checked at the counter (which procedures, not "
     "why). A flag the resident gives in the request counts as given."},
    {"towns", "path", nullptr, 1,
     "The municipality's town list: one address prefix per line (e.g. 架空県見本市中央一丁目); a new address for a "
     "move into or within the municipality must begin with one of them."},
    {"address-check-events", "list", "tennyu,tenkyo", 0, "Life events whose token address must be inside the municipality."},
    {"assistant", "string", nullptr, 0,
     "The ai connector (its id) that answers the page's question box from the city's knowledge; not set: no question "
     "box."},
    {"ask-rate", "int", "6", 0,
     "Questions one client address may ask the assistant per minute (1-600). Kiosks behind one address share it: "
     "give them more."},
    {"address", "string", "127.0.0.1", 0, "Where the API listens."},
    {"port", "int", "8443", 0, "The API's port (0: any free port, logged)."},
    {"certificate", "path", nullptr, 1, "The API's TLS certificate chain (PEM)."},
    {"key", "path", nullptr, 1, "The API's TLS private key (PEM)."},
    {"session-idle", "duration", "15m", 0, "A session unused this long is erased."},
    {"max-sessions", "int", "10000", 0, "Sessions held at most; the one idle longest is erased for a new one."},
    {"rate-limit", "int", "300", 0, "Requests per minute one client address may make."},
    {"session-rate", "int", "20", 0,
     "New sessions per minute one client address may open (a resident opens one or two; a kiosk a few)."},
    {"max-new-sessions", "int", "1200", 0,
     "New sessions per minute from all addresses together: a flood from many addresses cannot push residents' "
     "sessions out of max-sessions. Refusals are counted in renkei_concierge_sessions_refused_total, apart from the "
     "report's sessions."},
    {"max-body", "size", "64KiB", 0, "A larger request is refused (413) before it is read."},
    {"request-deadline", "duration", "10s", 0,
     "A request must arrive whole (the TLS handshake included) and be answered within this time from the connection, "
     "or from the previous answer on a kept-alive one; an idle or slow-dripping client is cut then (1s-60s)."},
    {"connections-per-address", "int", "8", 0,
     "Connections one client address may hold at once, waiting or served; more are closed at once (a browser opens "
     "up to six; residents behind one carrier address share it). With 32 threads, no one address can hold them all."},
    {"connection-rate", "int", "200", 0,
     "New connections a second one client address may open (a burst of twice that); faster ones are closed at once."},
    {"report-clients", "list", "127.0.0.1,::1", 0,
     "Client addresses that may read the daily report (GET /api/v1/report): counts per day, life event and channel, "
     "nothing about a person."},
    {"colour", "enum(blue|red|green|yellow|purple)", "blue", 0,
     "The page's base colour (青, 赤, 緑, 黄, 紫); each keeps every text at a contrast of 7:1 or more (WCAG AAA)."},
    {"municipality", "string", "", 0, "The municipality's name, shown in the page's header."},
    {"logo", "path", nullptr, 0, "The municipality's logo (PNG or SVG, at most 256 KiB), shown in the page's header."},
    {"floor-record", "string", "floor.status", 0,
     "Record type of the floor's waiting status the LGWAN side sends through the bridge (the crm module's "
     "status-record, mappings/floor-status-to-internet.xml): kept and shown on /floor (all lines) and "
     "/floor/ticket (one ticket's page, which the ticket's QR code opens)."},
    {"floor-stale", "duration", "10m", 0,
     "A line's status older than this is shown as stale (the LGWAN side sends each line at least every 20 "
     "status intervals)."},
    {"near-position", "int", "3", 0,
     "\"Your turn is near\" (ticket.near on the live events) once for each ticket with this many or fewer ahead of "
     "it; the ticket's page says the same. 1-50."},
    {"public-url", "string", nullptr, 0,
     "The page's address as residents reach it (e.g. https://madoguchi.city.example.jp), for the QR codes of "
     "/floor/qr.svg; default https://address:port."},
    {"events-endpoint", "string", nullptr, 0,
     "Where ticket.near is published over ZeroMQ (PUB, CURVE), e.g. tcp://127.0.0.1:7430, for a LINE front end: "
     "the ticket number, line, how many ahead, the wait to expect. docs/live-events.md has the format."},
    {"events-key", "path", nullptr, 0, "This publisher's CURVE secret key (Z85), with events-endpoint."},
    {"events-clients", "list", nullptr, 0,
     "CURVE public key files of the front ends allowed to subscribe; any other key gets nothing."},
};

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

/// A refusal the API returns as {"error": …}: names fields, never values.
struct ApiError {
  HTTPResponse::HTTPStatus status;
  std::string message;
};

std::string jsonText(std::string_view s) {
  std::string out;
  appendJsonString(out, s);
  return out;
}

/// Text of a JSON member: required (or ""), at most `max` characters, no
/// control characters.
std::string field(const Poco::JSON::Object::Ptr& o, const std::string& where, const std::string& name, bool required,
                   std::size_t max) {
  if (!o->has(name) || o->isNull(name)) {
    if (required) throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, where + name + ": required"};
    return {};
  }
  if (!o->get(name).isString()) throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, where + name + ": must be text"};
  std::string v = o->getValue<std::string>(name);
  if (required && v.empty()) throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, where + name + ": required"};
  if (v.size() > max * 4 || firstInvalidUtf8(v) != std::string::npos)
    throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, where + name + ": at most " + std::to_string(max) + " characters"};
  std::size_t characters = 0;
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7F) throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, where + name + ": holds a control character"};
    characters += (c & 0xC0) != 0x80 ? 1 : 0;  // a character starts at each byte that does not continue one
  }
  if (characters > max)
    throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, where + name + ": at most " + std::to_string(max) + " characters"};
  return v;
}

/// What a resident typed is cleared before its memory is given back, not
/// left for the allocator: every string this module builds from it, and the
/// parsed request (POCO's JSON values are strings held in place).
void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}
void wipeJson(const Poco::Dynamic::Var& v) {
  if (v.type() == typeid(Poco::JSON::Object::Ptr)) {
    if (auto o = v.extract<Poco::JSON::Object::Ptr>())
      for (const auto& [key, value] : *o) wipeJson(value);
  } else if (v.type() == typeid(Poco::JSON::Array::Ptr)) {
    if (auto a = v.extract<Poco::JSON::Array::Ptr>())
      for (const auto& value : *a) wipeJson(value);
  } else if (v.type() == typeid(std::string)) {
    wipe(const_cast<std::string&>(v.extract<std::string>()));
  }
}
/// Clears the strings it names when the scope ends, however it ends.
struct Wiped {
  std::initializer_list<std::string*> strings;
  ~Wiped() {
    for (std::string* s : strings) wipe(*s);
  }
};
/// Appends `v` as JSON text to `out` (reserved: no copy is left behind by a
/// reallocation), clearing the temporary.
void appendJson(std::string& out, const std::string& v) {
  std::string t = jsonText(v);
  out += t;
  wipe(t);
}

calendar::Date dateField(const Poco::JSON::Object::Ptr& o, const std::string& where, const std::string& name) {
  const std::string v = field(o, where, name, true, 10);
  const auto d = calendar::parseIso(v);
  if (!d) throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, where + name + ": not a day of the calendar (YYYY-MM-DD)"};
  return *d;
}

calendar::Date today() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  return calendar::Date{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
}

class Concierge {
 public:
  std::shared_ptr<const guidance::Knowledge> knowledge;
  std::shared_ptr<const guidance::Rules> rules;
  calendar::Calendar cal;
  std::map<std::string, std::string> parameters;
  std::optional<seal::PublicKey> tokenKey;
  std::chrono::seconds tokenLifetime{7 * 86400};
  std::vector<std::string> towns;
  std::set<std::string> addressEvents;
  std::set<std::string> factFlags;
  std::size_t maxBody = 64 * 1024;
  std::unique_ptr<Sessions> sessions;
  std::unique_ptr<RateLimit> rateLimit;
  std::unique_ptr<RateLimit> sessionRate;   ///< new sessions per address
  std::unique_ptr<RateLimit> sessionTotal;  ///< new sessions in all
  HostServices* host = nullptr;
  Poco::Logger* log = nullptr;
  std::string id;
  std::set<std::string> reportClients;
  std::string pageConfig;  ///< /page-config.json
  std::string logo, logoType;
  std::string municipality, publicUrl;
  std::unique_ptr<Floor> floor;  ///< the waiting status (always: empty until the floor's status comes)
  std::shared_ptr<Assistant> assistant;  ///< the question box's (the `assistant` key), or none
  std::unique_ptr<RateLimit> askRate;     ///< questions per address

  void handle(HTTPServerRequest& request, HTTPServerResponse& response) {
    std::string body;
    try {
      if (!rateLimit->allow(request.clientAddress().host().toString()))
        throw ApiError{HTTPResponse::HTTP_TOO_MANY_REQUESTS, "too many requests from this address; wait a minute"};
      const std::string path = request.getURI().substr(0, request.getURI().find('?'));
      const bool post = request.getMethod() == "POST";
      if (post) body = readBody(request);
      if (request.getMethod() == "GET" && servePage(path, response)) return;
      if (request.getMethod() == "GET" && serveFloor(path, request.getURI(), response)) return;
      std::string out;
      if (path == "/api/v1/report" && request.getMethod() == "GET") {
        if (!reportClients.count(request.clientAddress().host().toString()))
          throw ApiError{HTTPResponse::HTTP_FORBIDDEN, "the report is for the addresses in report-clients"};
        const bool csv = request.getURI().find("format=csv") != std::string::npos;
        const std::string text = report(request.getURI(), csv ? "csv" : "json");
        if (csv) {
          response.setStatusAndReason(HTTPResponse::HTTP_OK);
          response.setContentType("text/csv; charset=utf-8");
          response.set("Cache-Control", "no-store");
          response.setContentLength(static_cast<std::streamsize>(text.size()));
          response.send() << text;
          return;
        }
        out = text;
      } else if (path == "/api/v1/events" && request.getMethod() == "GET") out = events();
      else if (path == "/api/v1/sessions" && post) out = openSession(parse(body), request.clientAddress().host().toString());
      else if (path == "/api/v1/ask" && post) {
        const auto asked = parse(body);
        if (!asked->has("stream") || !asked->get("stream").isBoolean() || !asked->getValue<bool>("stream")) {
          out = ask(asked, request.clientAddress().host().toString(), nullptr);
        } else {
          ask(asked, request.clientAddress().host().toString(), &response);
          std::fill(body.begin(), body.end(), '\0');
          return;
        }
      }
      else if (path.rfind("/api/v1/sessions/", 0) == 0) out = sessionCall(path.substr(17), post, body);
      else throw ApiError{HTTPResponse::HTTP_NOT_FOUND, "no such resource (see docs/concierge-api.yaml)"};
      send(response, HTTPResponse::HTTP_OK, out);
    } catch (const ApiError& e) {
      send(response, e.status, "{\"error\":" + jsonText(e.message) + "}");
    } catch (const std::exception& e) {
      // Nothing of the request in the log: the message is the code's own.
      log->error("concierge %s: a request failed: %s", id, std::string(e.what()));
      send(response, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "{\"error\":\"internal error\"}");
    }
    // What the resident typed lived in `body` only.
    std::fill(body.begin(), body.end(), '\0');
  }

 private:
  /// POST /api/v1/ask {question, topic}: the question box. The assistant
  /// guards the question (personal data masked or refused), answers from
  /// the city's knowledge with its sources, or hands off to a counter;
  /// it logs the question masked. Nothing of it is kept here.
  /// With "stream": true, the answer comes as server-sent events on
  /// `streamTo`: {"text": piece} as the model writes (each piece scanned
  /// before it goes), then an "answer" event with the whole answer as
  /// without streaming. Refusals before the first byte are the usual
  /// JSON errors; a failure after it is an "error" event.
  std::string ask(const Poco::JSON::Object::Ptr& request, const std::string& address, HTTPServerResponse* streamTo) {
    if (!assistant) throw ApiError{HTTPResponse::HTTP_NOT_FOUND, "this page has no question box (the assistant key)"};
    if (!askRate->allow(address)) {
      host->metrics()
          .counter("renkei_concierge_asks_refused_total", "Questions refused by ask-rate (429), per address limit")
          .add();
      throw ApiError{HTTPResponse::HTTP_TOO_MANY_REQUESTS, "too many questions from this address; wait a minute"};
    }
    AssistantQuestion q;
    Wiped wiped{{&q.text}};
    q.text = field(request, "", "question", true, 400);
    q.topic = field(request, "", "topic", false, 50);
    q.channel = "resident";
    q.caller = "concierge " + id;
    std::ostream* events = nullptr;
    if (streamTo) {
      streamTo->setStatusAndReason(HTTPResponse::HTTP_OK);
      streamTo->setContentType("text/event-stream; charset=utf-8");
      streamTo->set("Cache-Control", "no-store");
      streamTo->set("X-Content-Type-Options", "nosniff");
      streamTo->setChunkedTransferEncoding(true);
      events = &streamTo->send();
      q.onText = [events](std::string_view piece) {
        std::string e = "data: {\"text\":" + jsonText(piece) + "}\n\n";
        *events << e << std::flush;
        wipe(e);
      };
    }
    AssistantAnswer a;
    try {
      a = assistant->ask(q);
    } catch (const StateError& e) {
      log->error("concierge %s: the assistant cannot log questions now: %s", id, std::string(e.what()));
      if (events) {
        *events << "event: error\ndata: {\"error\":\"questions cannot be answered now; try again later\"}\n\n" << std::flush;
        return {};
      }
      throw ApiError{HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "questions cannot be answered now; try again later"};
    } catch (const std::exception& e) {
      if (!events) throw;
      // The stream has begun: the failure is its last event.
      log->error("concierge %s: a question failed: %s", id, std::string(e.what()));
      *events << "event: error\ndata: {\"error\":\"internal error\"}\n\n" << std::flush;
      return {};
    }
    std::string out = answerJson(a);
    if (events) {
      *events << "event: answer\ndata: " << out << "\n\n" << std::flush;
      wipe(out);
      return {};
    }
    return out;
  }

  static std::string answerJson(const AssistantAnswer& a) {
    std::string out = "{\"kind\":";
    out += a.kind == AssistantAnswer::Kind::Answer ? "\"answer\"" : a.kind == AssistantAnswer::Kind::Refused ? "\"refused\"" : "\"handoff\"";
    out += ",\"text\":" + jsonText(a.text) + ",\"sources\":[";
    for (std::size_t i = 0; i < a.sources.size(); ++i)
      out += std::string(i ? "," : "") + "{\"file\":" + jsonText(a.sources[i].file) + ",\"heading\":" +
             jsonText(a.sources[i].heading) + "}";
    out += "],\"masked\":{";
    bool first = true;
    for (const auto& [kind, n] : a.masked) {
      out += (first ? "" : ",") + jsonText(kind) + ":" + std::to_string(n);
      first = false;
    }
    out += "}}";
    return out;
  }

  /// The waiting status: /floor, /floor/ticket, /floor/qr.svg and their JSON
  /// under /api/v1/floor. Ticket numbers, lines and counts only.
  bool serveFloor(const std::string& path, const std::string& uri, HTTPServerResponse& response) const {
    if (path != "/floor" && path != "/floor/ticket" && path != "/floor/qr.svg" && path != "/api/v1/floor" &&
        path != "/api/v1/floor/ticket")
      return false;
    std::string site, line, number;
    try {
      for (const auto& [k, v] : Poco::URI(uri).getQueryParameters()) {
        if (v.size() > 100 || firstInvalidUtf8(v) != std::string_view::npos)
          throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, k + ": at most 100 bytes of UTF-8"};
        if (k == "site") site = v;
        else if (k == "line") line = v;
        else if (k == "n") number = v;
      }
    } catch (const Poco::SyntaxException&) {
      throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "the address's query is not well formed"};
    }
    const bool forTicket = path != "/floor" && path != "/api/v1/floor";
    if (forTicket && (line.empty() || number.empty()))
      throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "line and n (the ticket's number) are required"};
    const std::int64_t now = host->nowMs();
    const std::int64_t offset = host->utcOffsetMinutes(now);
    const std::vector<FloorLine> lines = floor->today(now);
    std::string body;
    const char* type = "text/html; charset=utf-8";
    if (path == "/floor") {
      body = floorPage(lines, municipality, now, floor->options(), offset);
    } else if (path == "/floor/ticket") {
      body = ticketPage(floor->ticket(lines, site, line, number), site, line, number, municipality, now,
                        floor->options(), offset);
    } else if (path == "/floor/qr.svg") {
      body = qr::svg(publicUrl + ticketPath(site, line, number));
      type = "image/svg+xml";
    } else if (path == "/api/v1/floor") {
      body = floorJson(lines, now, floor->options());
      type = "application/json; charset=utf-8";
    } else {
      body = ticketJson(floor->ticket(lines, site, line, number), number, now, floor->options());
      type = "application/json; charset=utf-8";
    }
    sendPage(response, type, "no-store", body);
    return true;
  }

  /// A page or what it loads: everything from here, nothing framed.
  static void sendPage(HTTPServerResponse& response, const char* type, const char* cache, std::string_view body) {
    response.setStatusAndReason(HTTPResponse::HTTP_OK);
    response.setContentType(type);
    response.set("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
                 "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    response.set("X-Content-Type-Options", "nosniff");
    response.set("Referrer-Policy", "no-referrer");
    response.set("Cache-Control", cache);
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send().write(body.data(), static_cast<std::streamsize>(body.size()));
  }

  /// The page and what it loads, all from here (no other origin).
  bool servePage(const std::string& path, HTTPServerResponse& response) const {
    const char* type = nullptr;
    std::string_view body;
    if (path == "/" || path == "/index.html") type = "text/html; charset=utf-8", body = kPageHtml;
    else if (path == "/app.css") type = "text/css; charset=utf-8", body = kPageCss;
    else if (path == "/app.js") type = "text/javascript; charset=utf-8", body = kPageJs;
    else if (path == "/page-config.json") type = "application/json; charset=utf-8", body = pageConfig;
    else if (path == "/logo" && !logo.empty()) type = logoType.c_str(), body = logo;
    else return false;
    sendPage(response, type, "no-cache", body);
    return true;
  }

  static void send(HTTPServerResponse& response, HTTPResponse::HTTPStatus status, const std::string& json) {
    response.setStatusAndReason(status);
    response.setContentType("application/json; charset=utf-8");
    response.set("Cache-Control", "no-store");
    response.set("X-Content-Type-Options", "nosniff");
    response.setContentLength(static_cast<std::streamsize>(json.size()));
    response.send() << json;
  }

  std::string readBody(HTTPServerRequest& request) {
    if (request.hasContentLength() && request.getContentLength64() > static_cast<std::int64_t>(maxBody))
      throw ApiError{HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE, "the request is larger than " + std::to_string(maxBody) + " bytes"};
    // Bounded whatever the header says (a client may lie about the length).
    std::string body(maxBody + 1, '\0');
    request.stream().read(body.data(), static_cast<std::streamsize>(body.size()));
    body.resize(static_cast<std::size_t>(request.stream().gcount()));
    if (body.size() > maxBody)
      throw ApiError{HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE, "the request is larger than " + std::to_string(maxBody) + " bytes"};
    if (firstInvalidUtf8(body) != std::string_view::npos) throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "the request is not valid UTF-8"};
    return body;
  }

  static Poco::JSON::Object::Ptr parse(const std::string& body) {
    try {
      static const std::string kEmpty = "{}";
      const std::string& text = body.empty() ? kEmpty : body;  // no copy of what the resident sent
      auto v = Poco::JSON::Parser().parse(text);
      if (auto o = v.extract<Poco::JSON::Object::Ptr>()) return o;
    } catch (const std::exception&) {
    }
    throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "the request is not a JSON object"};
  }

 public:
  /// Counts per day, life event and channel between ?from= and ?to=
  /// (YYYY-MM-DD; default: today), as JSON, CSV or (for the console's
  /// page) an SVG chart of sessions and tokens per row.
  std::string report(const std::string& uri, const std::string& format) {
    const bool csv = format == "csv", svg = format == "svg";
    auto param = [&](const char* name) -> std::string {
      const std::string key = std::string(name) + "=";
      const std::size_t at = uri.find(key);
      return at == std::string::npos ? std::string() : uri.substr(at + key.size(), 10);
    };
    const std::string today = calendar::iso(concierge::today());
    const std::string fromText = param("from").empty() ? today : param("from");
    const std::string toText = param("to").empty() ? fromText : param("to");
    if (!calendar::parseIso(fromText) || !calendar::parseIso(toText))
      throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "from, to: days (YYYY-MM-DD)"};
    flush();
    std::string out = csv ? "day,event,channel,sessions,tokens\n" : "{\"from\":" + jsonText(fromText) + ",\"to\":" + jsonText(toText) + ",\"counts\":[";
    bool first = true;
    std::vector<chart::Row> bars;
    StateStore& st = host->state();
    st.read([&](StateSession& s) {
      s.query("SELECT day, event, channel, sessions, tokens FROM " + st.table("counts") +
                  " WHERE day >= ? AND day <= ? ORDER BY day, event, channel",
              {fromText, toText}, [&](StateRows& r) {
                if (svg) {
                  if (bars.size() < 200)
                    bars.push_back({r.text(0) + " " + r.text(1) + " " + r.text(2), {r.integer(3), r.integer(4)}});
                } else if (csv) {
                  out += csvCell(r.text(0)) + "," + csvCell(r.text(1)) + "," + csvCell(r.text(2)) + "," +
                         std::to_string(r.integer(3)) + "," +
                         std::to_string(r.integer(4)) + "\n";
                } else {
                  out += std::string(first ? "" : ",") + "{\"day\":" + jsonText(r.text(0)) + ",\"event\":" +
                         jsonText(r.text(1)) + ",\"channel\":" + jsonText(r.text(2)) + ",\"sessions\":" +
                         std::to_string(r.integer(3)) + ",\"tokens\":" + std::to_string(r.integer(4)) + "}";
                }
                first = false;
              });
    });
    if (svg)
      return chart::bars("Concierge sessions and tokens, " + fromText + " to " + toText,
                         "Sessions begun and tokens issued per day, life event and channel", {"sessions", "tokens"},
                         bars);
    return csv ? out : out + "]}";
  }

 private:
  std::string events() const {
    std::string j = "{\"events\":[";
    for (std::size_t i = 0; i < knowledge->events.size(); ++i) {
      const guidance::Event& e = knowledge->events[i];
      j += (i ? ",{" : "{") + std::string("\"id\":") + jsonText(e.id) + ",\"name\":" + jsonText(e.name) +
           ",\"help\":" + jsonText(e.help) + "}";
    }
    return j + "]}";
  }

  std::string openSession(const Poco::JSON::Object::Ptr& o, const std::string& address) {
    // New sessions are rationed apart from requests: a flood of them would
    // push residents' sessions out (max-sessions), so one address and all
    // together may open only so many a minute; refusals are counted apart
    // from real use (the report counts only sessions opened).
    const char* refused = !sessionRate->allow(address) ? "address" : !sessionTotal->allow("*") ? "total" : nullptr;
    if (refused) {
      host->metrics()
          .counter("renkei_concierge_sessions_refused_total",
                   "New sessions refused: over session-rate for one address, or over max-new-sessions in all",
                   {{"reason", refused}})
          .add();
      throw ApiError{HTTPResponse::HTTP_TOO_MANY_REQUESTS, "too many new sessions now; wait a minute"};
    }
    const std::string event = field(o, "", "event", true, 64);
    std::string channel = field(o, "", "channel", false, 16);
    if (channel.empty()) channel = "web";
    if (channel != "web" && channel != "line" && channel != "kiosk")
      throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "channel: one of web, line, kiosk"};
    const guidance::Event* e = knowledge->event(event);
    if (!e) throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "event: no such life event (GET /api/v1/events)"};
    Session s = sessions->open(e->id, channel, e->questions.empty() ? std::string() : e->questions.front().id);
    host->metrics()
        .counter("renkei_concierge_sessions_total", "Sessions opened, per life event and channel",
                 {{"event", e->id}, {"channel", channel}})
        .add();
    count(e->id, channel, "sessions");
    return state(s);
  }

  std::string sessionCall(const std::string& rest, bool post, const std::string& body) {
    const std::size_t slash = rest.find('/');
    const std::string sid = rest.substr(0, slash), action = slash == std::string::npos ? "" : rest.substr(slash + 1);
    auto found = sessions->get(sid);
    if (!found) throw ApiError{HTTPResponse::HTTP_NOT_FOUND, "no such session (unknown, or erased after being idle)"};
    Session s = *found;
    const guidance::Event& e = *knowledge->event(s.event);
    if (action.empty() && !post) return state(s);
    if (action == "answer" && post) {
      if (s.question.empty()) throw ApiError{HTTPResponse::HTTP_CONFLICT, "the questions are done; ask for the result"};
      auto o = parse(body);
      if (!o->has("choice") || !o->get("choice").isInteger())
        throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "choice: the index of a choice is required"};
      // Any whole number may arrive (1e30 as an integer literal): read
      // wide, never converted where it could throw, then bounded.
      std::int64_t choice = -1;
      try {
        choice = o->getValue<Poco::Int64>("choice");
      } catch (const Poco::Exception&) {
        throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "choice: not one of this question's choices"};
      }
      const guidance::Question* q = e.find(s.question);
      if (!q || choice < 0 || static_cast<std::size_t>(choice) >= q->choices.size())
        throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "choice: not one of this question's choices"};
      s.steps.push_back({q->id, static_cast<int>(choice)});  // one of the question's choices: small
      s.question = q->choices[static_cast<std::size_t>(choice)].next;
      sessions->put(s);
      return state(s);
    }
    if (action == "back" && post) {
      if (s.steps.empty()) throw ApiError{HTTPResponse::HTTP_CONFLICT, "this is the first question"};
      s.question = s.steps.back().question;
      s.steps.pop_back();
      sessions->put(s);
      return state(s);
    }
    if (action == "result" && post) {
      const auto o = parse(body);
      struct Clear {
        const Poco::JSON::Object::Ptr& o;
        ~Clear() { wipeJson(o); }
      } clear{o};
      return result(s, o, nullptr);
    }
    if (action == "token" && post) {
      if (!s.question.empty()) throw ApiError{HTTPResponse::HTTP_CONFLICT, "answer the questions first"};
      std::string token;
      const auto o = parse(body);
      struct Clear {
        const Poco::JSON::Object::Ptr& o;
        ~Clear() { wipeJson(o); }
      } clear{o};
      const std::string out = result(s, o, &token);
      sessions->erase(s.id);  // made: nothing of it stays
      host->metrics()
          .counter("renkei_concierge_tokens_total", "Visit tokens made, per life event and channel",
                   {{"event", s.event}, {"channel", s.channel}})
          .add();
      count(s.event, s.channel, "tokens");
      return out;
    }
    throw ApiError{HTTPResponse::HTTP_NOT_FOUND, "no such action for a session"};
  }

  /// The current question (or that the tree is done), with progress.
  std::string state(const Session& s) const {
    const guidance::Event& e = *knowledge->event(s.event);
    const guidance::Question* q = s.question.empty() ? nullptr : e.find(s.question);
    const int progress = !q || e.depth == 0 ? 100 : (q->level - 1) * 100 / e.depth;
    std::string j = "{\"session\":" + jsonText(s.id) + ",\"event\":" + jsonText(e.id) + ",\"event_name\":" +
                    jsonText(e.name) + ",\"progress\":" + std::to_string(progress) +
                    ",\"can_go_back\":" + (s.steps.empty() ? "false" : "true") + ",\"done\":" + (q ? "false" : "true");
    if (q) {
      j += ",\"question\":{\"id\":" + jsonText(q->id) + ",\"text\":" + jsonText(q->text) + ",\"help\":" +
           jsonText(q->help) + ",\"level\":" + std::to_string(q->level) + ",\"choices\":[";
      for (std::size_t i = 0; i < q->choices.size(); ++i)
        j += (i ? ",{" : "{") + std::string("\"index\":") + std::to_string(i) + ",\"label\":" +
             jsonText(q->choices[i].label) + "}";
      j += "]}";
    }
    return j + "}";
  }

  /// The procedures for the answers and the household (its members' birth
  /// dates become ages and school years at once); with `token`, also the
  /// sealed token of the members' 4 情報, the address and the move date.
  std::string result(const Session& s, const Poco::JSON::Object::Ptr& o, std::string* token) {
    if (!s.question.empty()) throw ApiError{HTTPResponse::HTTP_CONFLICT, "answer the questions first"};
    const guidance::Event& e = *knowledge->event(s.event);
    guidance::Household h;
    h.event = e.id;
    h.moveDate = dateField(o, "", "move_date");
    const calendar::Date now = today();
    if (calendar::toDays(h.moveDate) < calendar::toDays(now) - 366 || calendar::toDays(h.moveDate) > calendar::toDays(now) + 366)
      throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "move_date: more than a year from today"};
    for (const Step& step : s.steps) {
      const guidance::Choice& c = e.find(step.question)->choices[static_cast<std::size_t>(step.choice)];
      for (const auto& [k, v] : c.facts) h.facts[k] = v;
      h.chosenProcedures.insert(h.chosenProcedures.end(), c.procedures.begin(), c.procedures.end());
    }
    auto members = o->getArray("members");
    if (!members || members->size() == 0 || members->size() > 12)
      throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "members: 1 to 12 members are required"};
    std::string payloadMembers;
    payloadMembers.reserve(64 * 1024);  // 12 members of 100-character names, escaped: never reallocated
    Wiped clearMembers{{&payloadMembers}};
    for (std::size_t i = 0; i < members->size(); ++i) {
      const std::string where = "members[" + std::to_string(i) + "].";
      auto m = members->getObject(static_cast<unsigned>(i));
      if (!m) throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, where.substr(0, where.size() - 1) + ": must be an object"};
      const calendar::Date birth = dateField(m, where, "birth");
      if (now < birth) throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, where + "birth: in the future"};
      if (birth.year < 1900) throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, where + "birth: before 1900"};
      std::set<std::string> flags;
      if (auto f = m->getArray("flags"))
        for (std::size_t k = 0; k < f->size() && k < 8; ++k)
          if (f->get(static_cast<unsigned>(k)).isString()) flags.insert(f->getElement<std::string>(static_cast<unsigned>(k)));
      h.members.push_back(guidance::memberFacts(birth, h.moveDate, flags));
      if (token) {
        std::string name = field(m, where, "name", true, 100), kana = field(m, where, "kana", false, 100);
        std::string sex = field(m, where, "sex", true, 1), rel = field(m, where, "relationship", false, 20);
        Wiped clearMember{{&name, &kana, &sex, &rel}};
        if (sex != "1" && sex != "2" && sex != "9")
          throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, where + "sex: 1 (male), 2 (female) or 9 (not stated)"};
        payloadMembers += i ? ",{\"name\":" : "{\"name\":";
        appendJson(payloadMembers, name);
        payloadMembers += ",\"kana\":";
        appendJson(payloadMembers, kana);
        payloadMembers += ",\"birth\":";
        appendJson(payloadMembers, calendar::iso(birth));
        payloadMembers += ",\"sex\":";
        appendJson(payloadMembers, sex);
        payloadMembers += ",\"relationship\":";
        appendJson(payloadMembers, rel);
        payloadMembers += "}";
      }
    }
    std::vector<guidance::Outcome> outcomes;
    try {
      outcomes = guidance::judge(*knowledge, rules.get(), cal, h, parameters);
    } catch (const std::invalid_argument& x) {
      throw std::runtime_error(x.what());
    }
    std::string procedures = "[", ids;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      const guidance::Outcome& r = outcomes[i];
      const guidance::Procedure& p = *r.procedure;
      procedures += (i ? ",{" : "{") + std::string("\"id\":") + jsonText(p.id) + ",\"name\":" + jsonText(p.name) +
                    ",\"counter\":" + jsonText(p.counter) + ",\"where\":" + jsonText(p.where) + ",\"help\":" +
                    jsonText(p.help) + ",\"deadline\":" + (r.deadline ? jsonText(calendar::iso(*r.deadline)) : "null") +
                    ",\"because\":" + jsonText(r.because) + ",\"bring\":[";
      for (std::size_t k = 0; k < p.bring.size(); ++k) procedures += (k ? "," : "") + jsonText(p.bring[k]);
      procedures += "]}";
      ids += (i ? "," : "") + jsonText(p.id);
    }
    procedures += "]";
    // What the city's records could add (a member in 国保, a recipient of
    // 児童手当 …): judged as if every member had every fact, listed apart
    // with no reason — the counter judges them on the facts themselves.
    std::string atCounter = "[";
    if (rules && !factFlags.empty()) {
      guidance::Household all = h;
      for (auto& m : all.members) m.flags.insert(factFlags.begin(), factFlags.end());
      std::set<std::string> listed;
      for (const guidance::Outcome& r : outcomes) listed.insert(r.procedure->id);
      std::size_t n = 0;
      for (const guidance::Outcome& r : guidance::judge(*knowledge, rules.get(), cal, all, parameters)) {
        const guidance::Procedure& p = *r.procedure;
        if (!listed.insert(p.id).second) continue;
        atCounter += (n++ ? ",{" : "{") + std::string("\"id\":") + jsonText(p.id) + ",\"name\":" + jsonText(p.name) +
                     ",\"counter\":" + jsonText(p.counter) + ",\"where\":" + jsonText(p.where) + "}";
      }
    }
    atCounter += "]";
    std::string j = "{\"event\":" + jsonText(e.id) + ",\"move_date\":" + jsonText(calendar::iso(h.moveDate)) +
                    ",\"procedures\":" + procedures + ",\"at_counter\":" + atCounter;
    if (token) {
      std::string address = field(o, "", "address", true, 200);
      std::string previous = field(o, "", "previous_address", false, 200);
      Wiped clearAddresses{{&address, &previous}};
      if (addressEvents.count(e.id) &&
          std::none_of(towns.begin(), towns.end(), [&](const std::string& t) { return address.rfind(t, 0) == 0; }))
        throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "address: not inside the municipality (check the town name)"};
      const std::int64_t issued = std::time(nullptr);
      std::string payload;
      payload.reserve(payloadMembers.size() + ids.size() + 4 * 1024);
      Wiped clearPayload{{&payload}};
      payload += "{\"id\":" + jsonText(randomId()) + ",\"issued\":" + std::to_string(issued) + ",\"event\":" +
                 jsonText(e.name) + ",\"event_id\":" + jsonText(e.id) + ",\"procedures\":[" + ids + "],\"move\":" +
                 jsonText(calendar::iso(h.moveDate)) + ",\"address\":";
      appendJson(payload, address);
      payload += ",\"previous_address\":";
      appendJson(payload, previous);
      payload += ",\"members\":[";
      payload += payloadMembers;
      payload += "]}";
      try {
        *token = renkei::token::make(*tokenKey, payload, issued + tokenLifetime.count());
      } catch (const std::exception& x) {
        throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, std::string("the token cannot be made: ") + x.what()};
      }
      std::string svg;
      try {
        svg = qr::svg(*token);
      } catch (const std::exception&) {
        throw ApiError{HTTPResponse::HTTP_BAD_REQUEST,
                       "members: the household does not fit one QR code (fewer members, or shorter names and addresses)"};
      }
      j += ",\"token\":" + jsonText(*token) + ",\"expires\":" + std::to_string(issued + tokenLifetime.count()) +
           ",\"qr_svg\":" + jsonText(svg);
    }
    return j + "}";
  }

  /// The counts kept per day (the municipality's local date), life event and
  /// channel: added up in memory, written by flush() (every few seconds and
  /// at stop), so a request never waits for a store commit.
  void count(const std::string& event, const std::string& channel, const char* what) {
    std::lock_guard<std::mutex> lock(countsMutex_);
    auto& c = counts_[{calendar::iso(today()), event, channel}];
    (std::string(what) == "tokens" ? c.second : c.first) += 1;
  }

 public:
  void flush() {
    std::map<std::tuple<std::string, std::string, std::string>, std::pair<std::int64_t, std::int64_t>> counts;
    {
      std::lock_guard<std::mutex> lock(countsMutex_);
      counts.swap(counts_);
    }
    if (counts.empty()) return;
    try {
      StateStore& st = host->state();
      st.write([&](StateSession& s) {
        for (const auto& [key, n] : counts) {
          const auto& [day, event, channel] = key;
          s.run("INSERT INTO " + st.table("counts") +
                    " (day, event, channel, sessions, tokens) VALUES (?, ?, ?, 0, 0) ON CONFLICT (day, event, channel) DO NOTHING",
                {day, event, channel});
          s.run("UPDATE " + st.table("counts") +
                    " SET sessions = sessions + ?, tokens = tokens + ? WHERE day = ? AND event = ? AND channel = ?",
                {n.first, n.second, day, event, channel});
        }
      });
    } catch (const std::exception& e) {
      // Kept for the next flush: counts are not lost to a store that is away.
      std::lock_guard<std::mutex> lock(countsMutex_);
      for (const auto& [key, n] : counts) {
        counts_[key].first += n.first;
        counts_[key].second += n.second;
      }
      log->warning("concierge %s: counts not written yet: %s", id, std::string(e.what()));
    }
  }

 private:
  std::mutex countsMutex_;
  std::map<std::tuple<std::string, std::string, std::string>, std::pair<std::int64_t, std::int64_t>> counts_;
};

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(Concierge& c) : c_(c) {}
  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override { c_.handle(request, response); }

 private:
  Concierge& c_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(Concierge& c) : c_(c) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override { return new Handler(c_); }

 private:
  Concierge& c_;
};

}  // namespace

class ConciergeModule final : public Module {
 public:
  ~ConciergeModule() override { stop(); }

  void configure(const Settings& settings, const HostContext& context) override {
    c_.host = context.services;
    c_.log = context.logger;
    c_.id = context.id;
    std::string problems;
    Diagnostics diags;
    c_.knowledge = guidance::loadKnowledge(settings.getPath("knowledge"), diags);
    if (c_.knowledge && settings.has("rules")) c_.rules = guidance::loadRules(settings.getPath("rules"), *c_.knowledge, diags);
    auto cal = pluginCalendar(settings, "calendar", *context.services, diags);
    if (!diags.empty()) throw ConfigError("its files have problems:\n" + diags.format());
    c_.cal = *cal;
    for (const std::string& p : settings.getList("parameters")) {
      const std::size_t eq = p.find('=');
      if (eq == std::string::npos || eq == 0) throw ConfigError("parameters: '" + p + "' is not name=value");
      c_.parameters[p.substr(0, eq)] = p.substr(eq + 1);
    }
    if (c_.rules)
      for (const std::string& missing : guidance::missingParameters(*c_.rules, c_.parameters))
        throw ConfigError("parameters: the rules need '" + missing + "' (name=value)");
    try {
      c_.tokenKey = seal::PublicKey::fromFile(settings.getPath("token-key").string());
    } catch (const std::exception& e) {
      throw ConfigError(std::string("token-key: ") + e.what());
    }
    c_.tokenLifetime = std::chrono::duration_cast<std::chrono::seconds>(settings.getDuration("token-lifetime"));
    for (const std::string& f : settings.getList("fact-flags")) c_.factFlags.insert(f);
    {
      std::ifstream in(settings.getPath("towns"));
      if (!in) throw ConfigError("towns: cannot read '" + settings.getPath("towns").string() + "'");
      for (std::string line; std::getline(in, line) && c_.towns.size() < 100000;) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (!line.empty() && line[0] != '#') c_.towns.push_back(line);
      }
      if (c_.towns.empty()) throw ConfigError("towns: the town list is empty");
    }
    for (const std::string& e : settings.getList("address-check-events")) c_.addressEvents.insert(e);
    const std::int64_t maxSessions = settings.getInt("max-sessions"), rate = settings.getInt("rate-limit");
    if (maxSessions < 1 || rate < 1) throw ConfigError("max-sessions and rate-limit: at least 1");
    c_.sessions = std::make_unique<Sessions>(static_cast<std::size_t>(maxSessions), settings.getDuration("session-idle"));
    c_.rateLimit = std::make_unique<RateLimit>(static_cast<int>(rate));
    const std::int64_t sessionRate = settings.getInt("session-rate"), newSessions = settings.getInt("max-new-sessions");
    if (sessionRate < 1 || sessionRate > 100'000 || newSessions < 1 || newSessions > 1'000'000)
      throw ConfigError("session-rate (1-100000) and max-new-sessions (1-1000000): out of range");
    c_.sessionRate = std::make_unique<RateLimit>(static_cast<int>(sessionRate));
    c_.sessionTotal = std::make_unique<RateLimit>(static_cast<int>(newSessions));
    c_.maxBody = settings.getSize("max-body");
    std::string topics = "[]";
    if (settings.has("assistant")) {
      const std::string ai = settings.getString("assistant");
      c_.assistant = context.services->assistants().find(ai);
      if (!c_.assistant)
        throw ConfigError("assistant: no ai connector '" + ai + "' in this config (<connector id=\"" + ai +
                          "\" plugin=\"ai\">)");
      const std::int64_t askRate = settings.getInt("ask-rate");
      if (askRate < 1 || askRate > 600) throw ConfigError("ask-rate: 1-600");
      c_.askRate = std::make_unique<RateLimit>(static_cast<int>(askRate));
      const auto deadline = settings.getDuration("request-deadline");
      if (deadline <= c_.assistant->timeout())
        throw ConfigError("request-deadline (" + std::to_string(deadline.count() / 1000) +
                          " s) must be longer than the assistant's time-out and a second (" +
                          std::to_string(c_.assistant->timeout().count() / 1000) +
                          " s), or a slow answer is cut before its handoff is sent");
      topics.clear();
      for (const std::string& t : c_.assistant->topics()) topics += (topics.empty() ? "" : ",") + jsonText(t);
      topics = "[" + topics + "]";
    }
    c_.pageConfig = "{\"colour\":" + jsonText(settings.getString("colour")) + ",\"municipality\":" +
                    jsonText(settings.getString("municipality")) + ",\"logo\":" + (settings.has("logo") ? "true" : "false") +
                    ",\"ask\":" + (c_.assistant ? "true" : "false") + ",\"topics\":" + topics + "}";
    if (settings.has("logo")) {
      const std::filesystem::path logo = settings.getPath("logo");
      std::error_code ec;
      if (!std::filesystem::is_regular_file(logo, ec) || std::filesystem::file_size(logo, ec) > 256 * 1024)
        throw ConfigError("logo: '" + logo.string() + "' is not a file of at most 256 KiB");
      const std::string ext = logo.extension().string();
      if (ext != ".png" && ext != ".svg") throw ConfigError("logo: a .png or .svg file");
      std::ifstream in(logo, std::ios::binary);
      c_.logo.assign(std::istreambuf_iterator<char>(in), {});
      c_.logoType = ext == ".png" ? "image/png" : "image/svg+xml";
    }
    for (const std::string& a : settings.getList("report-clients")) c_.reportClients.insert(a);
    address_ = settings.getString("address");
    port_ = static_cast<int>(settings.getInt("port"));
    c_.municipality = settings.getString("municipality");
    c_.publicUrl = settings.has("public-url") ? settings.getString("public-url")
                                              : "https://" + address_ + ":" + std::to_string(port_);
    while (!c_.publicUrl.empty() && c_.publicUrl.back() == '/') c_.publicUrl.pop_back();
    if (c_.publicUrl.rfind("https://", 0) != 0) throw ConfigError("public-url: an https:// address");
    floorRecord_ = settings.getString("floor-record");
    FloorOptions floorOptions;
    const std::int64_t near = settings.getInt("near-position");
    if (near < 1 || near > 50) throw ConfigError("near-position: 1-50");
    floorOptions.nearPosition = static_cast<std::size_t>(near);
    floorOptions.staleMs = settings.getDuration("floor-stale").count();
    floorOptions.colour = settings.getString("colour");
    if (floorOptions.staleMs < 60'000) throw ConfigError("floor-stale: 1m at least");
    if (settings.has("events-endpoint") && !context.validating && !context.once) {
      if (!settings.has("events-key") || !settings.has("events-clients"))
        throw ConfigError("events-endpoint needs events-key and events-clients (who may subscribe)");
      try {
        publisher_ = renkei::connectors::channel::eventsPublisher(
            settings.getString("events-endpoint"), settings.getPath("events-key").string(),
            settings.getList("events-clients"), context.configDir.string(), c_.log,
            "concierge " + context.id + " events");
      } catch (const std::exception& e) {
        throw ConfigError(std::string("events-key, events-clients: ") + e.what());
      }
    }
    limits_.requestDeadline = settings.getDuration("request-deadline");
    if (limits_.requestDeadline < std::chrono::seconds(1) || limits_.requestDeadline > std::chrono::seconds(60))
      throw ConfigError("request-deadline: between 1s and 60s");
    const std::int64_t perAddress = settings.getInt("connections-per-address"),
                       connectionRate = settings.getInt("connection-rate");
    if (perAddress < 1 || perAddress > 10'000) throw ConfigError("connections-per-address: 1-10000");
    if (connectionRate < 1 || connectionRate > 100'000) throw ConfigError("connection-rate: 1-100000");
    limits_.perAddress = static_cast<std::size_t>(perAddress);
    limits_.perAddressRate = static_cast<double>(connectionRate);
    limits_.threads = 32;
    limits_.queued = 256;
    limits_.clearBuffers = true;  // residents' requests
    certificate_ = settings.getPath("certificate").string();
    key_ = settings.getPath("key").string();
    once_ = context.once;
    if (context.validating) return;
    c_.host->state().migrate({"CREATE TABLE {counts} (day TEXT NOT NULL, event TEXT NOT NULL, channel TEXT NOT NULL, "
                              "sessions BIGINT NOT NULL, tokens BIGINT NOT NULL, PRIMARY KEY (day, event, channel))",
                              // 2: the floor's waiting status and who was told their turn is near
                              Floor::migration()});
    c_.floor = std::make_unique<Floor>(*c_.host, *c_.log, floorOptions, publisher_.get());
    c_.floor->loadRows();
    // The daily report for the operator console too (permission
    // concierge): counts only, the same as GET /api/v1/report.
    if (AdminRegistry* admin = c_.host->admin())
      admin->addHandler("report",
                        "sessions and tokens per day, life event and channel (?from=YYYY-MM-DD&to=YYYY-MM-DD"
                        "&format=json|csv|svg; default today, JSON)",
                        "concierge", [this](const AdminRequest& request) {
                          AdminResponse r;
                          std::string uri = "?";
                          for (const char* key : {"from", "to"})
                            if (auto it = request.query.find(key); it != request.query.end()) {
                              if (it->second.size() > 10 || it->second.find_first_not_of("0123456789-") != std::string::npos) {
                                r.status = 400;
                                r.contentType = "text/plain; charset=utf-8";
                                r.body = std::string(key) + ": a date (YYYY-MM-DD)\n";
                                return r;
                              }
                              uri += std::string(key) + "=" + it->second + "&";
                            }
                          const auto asked = request.query.find("format");
                          const std::string format = asked == request.query.end() ? "json" : asked->second;
                          if (format != "json" && format != "csv" && format != "svg") {
                            r.status = 400;
                            r.contentType = "text/plain; charset=utf-8";
                            r.body = "format: json, csv or svg\n";
                            return r;
                          }
                          try {
                            r.body = c_.report(uri, format);
                            r.contentType = format == "csv"   ? "text/csv; charset=utf-8"
                                            : format == "svg" ? "image/svg+xml; charset=utf-8"
                                                              : "application/json; charset=utf-8";
                          } catch (const ApiError& e) {
                            r.status = e.status;
                            r.contentType = "text/plain; charset=utf-8";
                            r.body = e.message + "\n";
                          }
                          return r;
                        });
  }

  std::vector<CertificateFile> certificates() const override {
    if (certificate_.empty()) return {};
    return {{"https", certificate_}};
  }

  void start() override {
    if (once_) {
      // serve --once beside the service, which holds the API's port
      c_.log->notice("serve --once: concierge %s: its API is not started (a running service may hold its port)", c_.id);
      return;
    }
    if (publisher_) {
      publisher_->start();
      c_.log->information("concierge %s: ticket.near on %s (CURVE)", c_.id, publisher_->endpoint());
    }
    Poco::Net::initializeSSL();
    Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress(address_, static_cast<Poco::UInt16>(port_)), 64,
                                         http::serverContext(key_, certificate_));
    server_ = std::make_unique<http::Server>(socket, new Factory(c_), limits_, "concierge " + c_.id, *c_.log);
    server_->start();
    c_.log->notice("concierge %s: serving the API on https://%s:%s/api/v1/", c_.id, address_,
                        std::to_string(socket.address().port()));
    Worker::Options every5s;
    every5s.interval = std::chrono::seconds(5);
    every5s.passFirst = false;
    expirer_.start("concierge " + c_.id + ": sessions", every5s, [this] {
      c_.sessions->expire();
      c_.flush();
      c_.host->metrics().gauge("renkei_concierge_sessions", "Sessions held in memory").set(static_cast<double>(c_.sessions->size()));
      // A flood shows as sessions erased to make room (max-sessions).
      const std::uint64_t evicted = c_.sessions->evicted();
      if (evicted > evictedReported_)
        c_.host->metrics()
            .counter("renkei_concierge_sessions_evicted_total", "Sessions erased to make room for new ones (max-sessions)")
            .add(static_cast<double>(evicted - evictedReported_));
      evictedReported_ = evicted;
    }, *c_.log);
  }

  void stop() override {
    if (server_) {
      server_->stop();
      server_.reset();
    }
    if (publisher_) publisher_->stop();
    if (expirer_.running()) {
      expirer_.stop();
      c_.flush();
    }
  }

  Outcome accept(const Batch& batch) override {
    if (batch.recordType != floorRecord_ || !c_.floor)
      return Outcome::error("the concierge takes only the floor's status (floor-record '" + floorRecord_ +
                            "'); it answers residents over its API");
    try {
      std::string why;
      const std::size_t refused = c_.floor->take(batch.records, c_.host->nowMs(), why);
      if (refused) {
        c_.log->warning("batch %s: %z %s", batch.id, refused, why);
        c_.host->recordRefusal("batch " + batch.id, std::to_string(refused) + " " + why +
                                                        " (the batch is kept: replay it after the fix)");
      }
    } catch (const StateError& e) {
      return Outcome::retry(std::string("store: ") + e.what());
    }
    return Outcome::ok();
  }

 private:
  Concierge c_;
  std::string floorRecord_ = "floor.status";
  std::unique_ptr<renkei::connectors::channel::ZmqPublisher> publisher_;
  std::string address_, certificate_, key_;
  int port_ = 0;
  bool once_ = false;
  std::uint64_t evictedReported_ = 0;  ///< the expirer thread's own
  std::unique_ptr<http::Server> server_;
  http::Limits limits_;
  Worker expirer_;
};

}  // namespace renkei::plugins::concierge

RENKEI_PLUGIN(Module, renkei::plugins::concierge::ConciergeModule, "concierge", "0.1.0", "experimental",
              "Guidance for residents: life events, questions, related procedures with deadlines, the sealed visit token",
              0, renkei::plugins::concierge::kKeys, sizeof(renkei::plugins::concierge::kKeys) / sizeof(renkei::plugins::concierge::kKeys[0]))
