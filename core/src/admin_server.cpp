// The admin listener: a few GET endpoints on POCO's HTTPServer.
#include "admin_server.h"

#include "renkei/support/http_server.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>

#include <Poco/URI.h>

#include <algorithm>
#include <chrono>

#include "console_page.h"
#include "local_time.h"
#include "host_services.h"
#include "renkei/json.h"
#include "renkei/local_time.h"

#include <Poco/JSON/Parser.h>
#include <openssl/crypto.h>

namespace renkei {
namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

std::string jsonText(const std::string& s) { return jsonQuoted(s); }

/// /plugins: every page plugins added, with its help and permission.
std::string pageIndex(const AdminPages& pages) {
  std::string out = "{\"pages\":[";
  bool first = true;
  for (const AdminPages::Page& p : pages.list()) {
    out += first ? "" : ",";
    first = false;
    out += "{\"path\":" + jsonText("/plugins/" + p.instance + "/" + p.path) + ",\"help\":" + jsonText(p.help) +
           ",\"permission\":" + jsonText(p.permission) + "}";
  }
  return out + "]}\n";
}

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(pipeline::MetricsRegistry& metrics, const AdminPages& pages, AdminServer::Health& health,
          console::Console& console, bool https, const AdminServer::Backend& backend)
      : metrics_(metrics), pages_(pages), health_(health), console_(console), https_(https), backend_(backend) {}
  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
    response.set("Cache-Control", "no-store");
    response.set("X-Content-Type-Options", "nosniff");
    response.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    response.set("Referrer-Policy", "no-referrer");
    const std::string path = request.getURI().substr(0, request.getURI().find('?'));
    if (path.rfind("/api/v1/", 0) == 0) return serveApi(request, response, path.substr(8));
    const bool pagePost = request.getMethod() == "POST" && path.rfind("/plugins/", 0) == 0 && console_.enabled();
    if (request.getMethod() != "GET" && request.getMethod() != "HEAD" && !pagePost) {
      response.setStatusAndReason(HTTPResponse::HTTP_METHOD_NOT_ALLOWED);
      response.set("Allow", "GET, HEAD");
      response.send() << "only GET\n";
      return;
    }
    if (path == "/favicon.ico") {  // browsers ask; there is none
      response.setStatusAndReason(HTTPResponse::HTTP_NO_CONTENT);
      response.send();
      return;
    }
    if (path == "/" || path == "/console.js" || path == "/console.css") {
      if (!console_.enabled()) {
        response.setStatusAndReason(HTTPResponse::HTTP_NOT_FOUND);
        response.setContentType("text/plain; charset=utf-8");
        response.send() << "no console: the config's <admin> has no <group> (see docs/console.md); try /metrics, "
                           "/health or /plugins\n";
        return;
      }
      // The page's own script and style only: nothing inline, nothing from elsewhere.
      response.set("Content-Security-Policy",
                   "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
                   "form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
      const char* body = path == "/" ? console::kPageHtml : path == "/console.js" ? console::kPageJs : console::kPageCss;
      response.setContentType(path == "/" ? "text/html; charset=utf-8"
                              : path == "/console.js" ? "text/javascript; charset=utf-8"
                                                      : "text/css; charset=utf-8");
      const std::string text(body);
      response.setContentLength(static_cast<std::streamsize>(text.size()));
      if (request.getMethod() == "HEAD") response.send();
      else response.send() << text;
      return;
    }
    if (path == "/metrics") {
      const auto t0 = std::chrono::steady_clock::now();
      std::string body = metrics_.render();
      const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      metrics_.histogram("renkei_metrics_scrape_seconds", "Time to render /metrics").observe(took);
      response.setContentType("text/plain; version=0.0.4; charset=utf-8");
      response.setContentLength(static_cast<std::streamsize>(body.size()));
      response.send() << body;
    } else if (path == "/health") {
      const std::string why = health_();
      response.setContentType("application/json");
      if (why.empty()) {
        response.send() << "{\"status\":\"ok\"}\n";
      } else {
        response.setStatusAndReason(HTTPResponse::HTTP_SERVICE_UNAVAILABLE);
        std::string escaped;
        for (char c : why) {
          if (c == '"' || c == '\\') escaped += '\\';
          if (static_cast<unsigned char>(c) >= 0x20) escaped += c;
        }
        response.send() << "{\"status\":\"unavailable\",\"reason\":\"" << escaped << "\"}\n";
      }
    } else if (path == "/plugins") {
      if (console_.enabled() && !signedIn(request, response, "")) return;
      response.setContentType("application/json; charset=utf-8");
      response.send() << pageIndex(pages_);
    } else if (path.rfind("/plugins/", 0) == 0) {
      servePage(request, response, path.substr(9));
    } else {
      response.setStatusAndReason(HTTPResponse::HTTP_NOT_FOUND);
      response.setContentType("text/plain; charset=utf-8");
      response.send() << "not found: try /metrics, /health or /plugins\n";
    }
  }

 private:
  /// /plugins/<instance>/<path>: the plugin's handler, within its
  /// permission, audited; its exception is answered 500 without its text.
  void servePage(HTTPServerRequest& request, HTTPServerResponse& response, const std::string& rest) {
    const std::size_t slash = rest.find('/');
    const auto page = slash == std::string::npos ? std::nullopt
                                                 : pages_.find(rest.substr(0, slash), rest.substr(slash + 1));
    const auto plain = [&](HTTPResponse::HTTPStatus status, const std::string& text) {
      response.setStatusAndReason(status);
      response.setContentType("text/plain; charset=utf-8");
      response.send() << text << "\n";
    };
    if (!page) return plain(HTTPResponse::HTTP_NOT_FOUND, "not found: /plugins lists the pages plugins add");
    AuditEntry audit;
    audit.who = "admin listener";
    audit.address = request.clientAddress().host().toString();
    audit.action = "admin " + page->instance + "/" + page->path;
    std::string who;
    if (console_.enabled()) {
      // Operators sign in: the page needs a session whose groups permit it;
      // a POST (a change: approve, reject …) also the session's CSRF token.
      auto session = request.getMethod() == "POST" ? changing(request, response) : signedIn(request, response, page->permission);
      if (!session) return;
      if (request.getMethod() == "POST" && (session->mustChangePassword || !session->permissions.count(page->permission))) {
        audit.who = session->user;
        audit.result = "refused: needs " + page->permission;
        writeAudit(audit, true);
        return json(response, HTTPResponse::HTTP_FORBIDDEN, "{\"error\":\"needs the " + page->permission + " permission\"}");
      }
      if (request.getMethod() == "POST" && page->permission == "view")
        return json(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "{\"error\":\"a view page takes GET only\"}");
      audit.who = session->user;
      who = session->user;
    } else if (!AdminPages::servedWithoutSignIn(page->permission)) {
      audit.result = "refused: needs " + page->permission;
      writeAudit(audit, true);
      return plain(HTTPResponse::HTTP_FORBIDDEN, "this page needs the '" + page->permission +
                                                    "' permission; no operator can sign in to this listener (the "
                                                    "config's <admin> has no <group>)");
    }
    AdminRequest in;
    in.method = request.getMethod();
    in.path = page->path;
    in.address = audit.address;
    in.who = who;
    try {
      for (const auto& [k, v] : Poco::URI(request.getURI()).getQueryParameters()) in.query[k] = v;
    } catch (const Poco::Exception&) {
      return plain(HTTPResponse::HTTP_BAD_REQUEST, "the query is not well formed");
    }
    AdminResponse out;
    try {
      out = page->handler(in);
    } catch (const std::exception& e) {
      Poco::Logger::get("renkei.admin").error("page %s/%s failed: %s", page->instance, page->path, std::string(e.what()));
      audit.result = "error";
      writeAudit(audit, true);
      return plain(HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "the page failed; the host's log says why");
    }
    audit.result = "status=" + std::to_string(out.status);
    writeAudit(audit);
    response.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(out.status));
    response.setContentType(out.contentType);
    response.setContentLength(static_cast<std::streamsize>(out.body.size()));
    if (in.method == "HEAD") response.send();
    else response.send() << out.body;
  }

  static void json(HTTPServerResponse& response, HTTPResponse::HTTPStatus status, const std::string& body) {
    response.setStatusAndReason(status);
    response.setContentType("application/json; charset=utf-8");
    response.setContentLength(static_cast<std::streamsize>(body.size() + 1));
    response.send() << body << "\n";
  }

  /// The request's session, when it has one that permits `permission` (""
  /// for any); otherwise the answer is sent (401, or 403) and nothing
  /// returned. A session still on its one-time password may only change it.
  std::optional<console::Session> signedIn(HTTPServerRequest& request, HTTPServerResponse& response,
                                           const std::string& permission) {
    const std::string address = request.clientAddress().host().toString();
    if (!console_.allowed(address)) {
      json(response, HTTPResponse::HTTP_FORBIDDEN, "{\"error\":\"this address may not use the console\"}");
      return std::nullopt;
    }
    // A page's own refresh (the header, or ?background=1 on an image) is not
    // the operator's use: it does not keep an idle session alive.
    const bool background = request.get("X-Renkei-Background", "") == "1" ||
                            request.getURI().find("background=1") != std::string::npos;
    auto session = console_.session(console::cookie(request.get("Cookie", ""), "renkei_session"), store::nowMs(),
                                    !background);
    if (!session) {
      json(response, HTTPResponse::HTTP_UNAUTHORIZED, "{\"error\":\"sign in first\",\"login\":\"/api/v1/login\"}");
      return std::nullopt;
    }
    if (session->mustChangePassword) {
      json(response, HTTPResponse::HTTP_FORBIDDEN,
           "{\"error\":\"change the one-time password first\",\"password\":\"/api/v1/password\"}");
      return std::nullopt;
    }
    if (!permission.empty() && !session->permissions.count(permission)) {
      auditChange(session->user, address, "admin " + request.getURI().substr(0, 200),
                  "refused: needs " + permission, true);
      json(response, HTTPResponse::HTTP_FORBIDDEN, "{\"error\":\"needs the " + permission + " permission\"}");
      return std::nullopt;
    }
    return session;
  }

  /// Changes need an allowed address, the session's CSRF token in
  /// X-CSRF-Token and (but for the password change and sign-out) a
  /// password that is no longer the one-time one.
  std::optional<console::Session> changing(HTTPServerRequest& request, HTTPServerResponse& response,
                                           bool beforePasswordChange = false) {
    if (!console_.allowed(request.clientAddress().host().toString())) {
      json(response, HTTPResponse::HTTP_FORBIDDEN, "{\"error\":\"this address may not use the console\"}");
      return std::nullopt;
    }
    auto session = console_.session(console::cookie(request.get("Cookie", ""), "renkei_session"), store::nowMs());
    if (!session) {
      json(response, HTTPResponse::HTTP_UNAUTHORIZED, "{\"error\":\"sign in first\"}");
      return std::nullopt;
    }
    const std::string token = request.get("X-CSRF-Token", "");
    if (token.size() != session->csrf.size() ||
        CRYPTO_memcmp(token.data(), session->csrf.data(), token.size()) != 0) {
      json(response, HTTPResponse::HTTP_FORBIDDEN, "{\"error\":\"missing or stale CSRF token\"}");
      return std::nullopt;
    }
    if (session->mustChangePassword && !beforePasswordChange) {
      json(response, HTTPResponse::HTTP_FORBIDDEN,
           "{\"error\":\"change the one-time password first\",\"password\":\"/api/v1/password\"}");
      return std::nullopt;
    }
    return session;
  }

  /// One line of the audit trail for what an operator did (or was refused:
  /// `refused`) at the console.
  static void auditChange(const std::string& who, const std::string& address, const std::string& action,
                          const std::string& result, bool refused = false) {
    AuditEntry e;
    e.who = who;
    e.address = address;
    e.action = action;
    e.result = result;
    writeAudit(e, refused);
  }

  /// A change that needs the operate permission: the session, or the
  /// answer sent (403 refused and audited as `action`).
  std::optional<console::Session> operating(HTTPServerRequest& request, HTTPServerResponse& response,
                                            const std::string& action) {
    auto s = changing(request, response);
    if (!s) return std::nullopt;
    if (!s->permissions.count("operate")) {
      auditChange(s->user, request.clientAddress().host().toString(), action,
                  "refused: needs operate", true);
      json(response, HTTPResponse::HTTP_FORBIDDEN, "{\"error\":\"needs the operate permission\"}");
      return std::nullopt;
    }
    return s;
  }

  /// The query's parameters (each at most `limit` bytes; the last given
  /// wins); nothing when the query is not well formed.
  static std::optional<std::map<std::string, std::string>> query(const HTTPServerRequest& request,
                                                                  std::size_t limit = 1024) {
    std::map<std::string, std::string> out;
    try {
      for (const auto& [k, v] : Poco::URI(request.getURI()).getQueryParameters()) {
        if (v.size() > limit) return std::nullopt;
        out[k] = v;
      }
    } catch (const Poco::Exception&) {
      return std::nullopt;
    }
    return out;
  }

  /// A JSON object body of at most 8 KiB; nothing when it is not one.
  static Poco::JSON::Object::Ptr body(HTTPServerRequest& request) {
    if (request.getContentLength() > 8192 || request.getContentLength() < 0) return nullptr;
    std::string text(static_cast<std::size_t>(request.getContentLength()), '\0');
    request.stream().read(text.data(), static_cast<std::streamsize>(text.size()));
    if (request.stream().gcount() != static_cast<std::streamsize>(text.size())) return nullptr;
    try {
      return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
    } catch (const std::exception&) {
      return nullptr;
    }
  }

  static std::string field(const Poco::JSON::Object::Ptr& o, const char* name) {
    if (!o || !o->has(name) || !o->get(name).isString()) return {};
    return o->getValue<std::string>(name).substr(0, 1024);
  }

  std::string sessionCookie(const std::string& value, bool end = false) const {
    return "renkei_session=" + value + "; Path=/; HttpOnly; SameSite=Strict" + (https_ ? "; Secure" : "") +
           (end ? "; Max-Age=0" : "");
  }

  /// /api/v1/login, logout, password, me: the console's sign-in.
  void serveApi(HTTPServerRequest& request, HTTPServerResponse& response, const std::string& what) {
    if (!console_.enabled())
      return json(response, HTTPResponse::HTTP_NOT_FOUND,
                  "{\"error\":\"no operator can sign in: the config's <admin> has no <group>\"}");
    const bool post = request.getMethod() == "POST";
    const std::string address = request.clientAddress().host().toString();
    if (what == "login" && post) {
      if (request.getContentType().rfind("application/json", 0) != 0)
        return json(response, HTTPResponse::HTTP_UNSUPPORTED_MEDIA_TYPE, "{\"error\":\"send JSON\"}");
      const auto in = body(request);
      if (!in) return json(response, HTTPResponse::HTTP_BAD_REQUEST, "{\"error\":\"a JSON object of at most 8 KiB\"}");
      const console::SignIn r =
          console_.signIn(field(in, "user"), field(in, "password"), field(in, "code"), address, store::nowMs());
      switch (r.result) {
        case console::SignIn::Result::NotAllowedHere:
          return json(response, HTTPResponse::HTTP_FORBIDDEN, "{\"error\":\"this address may not use the console\"}");
        case console::SignIn::Result::SecondFactorNotEnrolled:
          return json(response, HTTPResponse::HTTP_FORBIDDEN,
                      "{\"error\":\"this operator needs a second factor: 'renkei admin user totp' enrols one\"}");
        case console::SignIn::Result::Failed:
          return json(response, HTTPResponse::HTTP_UNAUTHORIZED,
                      "{\"error\":\"sign-in failed: wrong id, password or code, or locked out for a while\"}");
        case console::SignIn::Result::Ok:
          break;
      }
      const console::Session& s = *r.session;
      response.set("Set-Cookie", sessionCookie(s.id));
      std::string permissions;
      for (const std::string& p : s.permissions) permissions += (permissions.empty() ? "" : ",") + jsonText(p);
      return json(response, HTTPResponse::HTTP_OK,
                  "{\"user\":" + jsonText(s.user) + ",\"permissions\":[" + permissions + "],\"csrf\":" +
                      jsonText(s.csrf) + ",\"must_change_password\":" + (s.mustChangePassword ? "true" : "false") +
                      ",\"last_login\":" +
                      (r.previousLoginMs ? jsonText(localTimeText(r.previousLoginMs)) : std::string("null")) +
                      ",\"last_login_from\":" + jsonText(r.previousAddress) +
                      ",\"today\":" + jsonText(localTime(store::nowMs()).substr(0, 10)) + "}");
    }
    if (what == "logout" && post) {
      const auto s = changing(request, response, true);
      if (!s) return;
      console_.signOut(s->id);
      response.set("Set-Cookie", sessionCookie("", true));
      return json(response, HTTPResponse::HTTP_OK, "{\"signed_out\":true}");
    }
    if (what == "password" && post) {
      const auto s = changing(request, response, true);
      if (!s) return;
      const auto in = body(request);
      const std::string why = console_.changePassword(s->id, field(in, "old"), field(in, "new"));
      if (!why.empty()) return json(response, HTTPResponse::HTTP_BAD_REQUEST, "{\"error\":" + jsonText(why) + "}");
      return json(response, HTTPResponse::HTTP_OK, "{\"changed\":true}");
    }
    if (what == "me" && request.getMethod() == "GET") {
      const auto s = signedIn(request, response, "");
      if (!s) return;
      std::string permissions;
      for (const std::string& p : s->permissions) permissions += (permissions.empty() ? "" : ",") + jsonText(p);
      // The municipality's day (the host's time zone), not the browser's:
      // the reports' default range, whatever zone the operator's PC is in.
      return json(response, HTTPResponse::HTTP_OK,
                  "{\"user\":" + jsonText(s->user) + ",\"permissions\":[" + permissions + "],\"csrf\":" +
                      jsonText(s->csrf) + ",\"today\":" + jsonText(localTime(store::nowMs()).substr(0, 10)) + "}");
    }
    if (what == "routes" && request.getMethod() == "GET") {
      if (!signedIn(request, response, "view")) return;
      return json(response, HTTPResponse::HTTP_OK, backend_.routes ? backend_.routes() : "{\"queues\":[]}");
    }
    if (what == "calendar" && request.getMethod() == "GET") {
      if (!signedIn(request, response, "view")) return;
      int year = 0;
      try {
        for (const auto& [k, v] : Poco::URI(request.getURI()).getQueryParameters())
          if (k == "year" && v.size() == 4 && v.find_first_not_of("0123456789") == std::string::npos) year = std::stoi(v);
      } catch (const std::exception&) {
      }
      if (year < 1950 || year > 2200)
        return json(response, HTTPResponse::HTTP_BAD_REQUEST, "{\"error\":\"year=YYYY (1950-2200)\"}");
      const auto days = backend_.calendar ? backend_.calendar(year) : std::nullopt;
      // Without a calendar: said, not an error (the page shows it).
      if (!days)
        return json(response, HTTPResponse::HTTP_OK,
                    "{\"year\":" + std::to_string(year) + ",\"configured\":false,\"days\":[]}");
      return json(response, HTTPResponse::HTTP_OK, *days);
    }
    if (what == "plugins" && request.getMethod() == "GET") {
      if (!signedIn(request, response, "view")) return;
      return json(response, HTTPResponse::HTTP_OK, backend_.plugins ? backend_.plugins() : "{\"plugins\":[]}");
    }
    if ((what == "routes.csv" || what == "routes.svg") && request.getMethod() == "GET") {
      if (!signedIn(request, response, "view")) return;
      const bool csv = what == "routes.csv";
      const std::string body = csv ? (backend_.routesCsv ? backend_.routesCsv() : std::string())
                                   : (backend_.routesSvg ? backend_.routesSvg() : std::string());
      response.setContentType(csv ? "text/csv; charset=utf-8" : "image/svg+xml; charset=utf-8");
      if (csv) response.set("Content-Disposition", "attachment; filename=\"renkei-routes.csv\"");
      response.setContentLength(static_cast<std::streamsize>(body.size()));
      response.send() << body;
      return;
    }
    if (what == "problems" && request.getMethod() == "GET") {
      if (!signedIn(request, response, "view")) return;
      return json(response, HTTPResponse::HTTP_OK,
                  backend_.problems ? backend_.problems() : "{\"refused\":[],\"held\":[]}");
    }
    if (what.rfind("problems/", 0) == 0 && what.size() > 13 && what.compare(what.size() - 4, 4, "/ack") == 0 && post &&
        backend_.acknowledge) {
      const auto s = operating(request, response, "console acknowledge");
      if (!s) return;
      const std::string id = what.substr(9, what.size() - 13);
      if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos)
        return json(response, HTTPResponse::HTTP_BAD_REQUEST, "{\"error\":\"not an item number\"}");
      const std::int64_t n = backend_.acknowledge(std::stoll(id), s->user);
      auditChange(s->user, address, "console acknowledge",
                  "refused item " + id + (n ? ": acknowledged" : ": acknowledged before"));
      return json(response, HTTPResponse::HTTP_OK, "{\"acknowledged\":" + std::to_string(n) + "}");
    }
    if (what.rfind("routes/", 0) == 0 && what.size() > 14 && what.compare(what.size() - 7, 7, "/replay") == 0 && post &&
        backend_.replay) {
      const auto s = operating(request, response, "console replay");
      if (!s) return;
      std::string route, since;
      try {
        Poco::URI::decode(what.substr(7, what.size() - 14), route);
        for (const auto& [k, v] : Poco::URI(request.getURI()).getQueryParameters())
          if (k == "since") since = v.substr(0, 64);
      } catch (const Poco::Exception&) {
        return json(response, HTTPResponse::HTTP_BAD_REQUEST, "{\"error\":\"route and since=…\"}");
      }
      const auto done = backend_.replay(route, since, s->user);
      const bool refused = !std::holds_alternative<std::int64_t>(done);
      auditChange(s->user, address, "console replay",
                  "route " + route.substr(0, 100) + " since " + since + ": " +
                      (refused ? "refused: " + std::get<std::string>(done)
                               : std::to_string(std::get<std::int64_t>(done)) + " deliveries"),
                  refused);
      if (refused)
        return json(response, HTTPResponse::HTTP_BAD_REQUEST, "{\"error\":" + jsonText(std::get<std::string>(done)) + "}");
      return json(response, HTTPResponse::HTTP_OK, "{\"replayed\":" + std::to_string(std::get<std::int64_t>(done)) + "}");
    }
    if (what == "files" && request.getMethod() == "GET") {
      if (!signedIn(request, response, "view")) return;
      return json(response, HTTPResponse::HTTP_OK, backend_.files ? backend_.files() : "{\"files\":[]}");
    }
    if (what == "files/reprocess" && post && backend_.reprocess) {
      // ?route=R&file=NAME: a file the route took in, taken in again.
      const auto s = operating(request, response, "console reprocess");
      if (!s) return;
      const auto q = query(request);
      const std::string route = q && q->count("route") ? q->at("route") : "";
      const std::string file = q && q->count("file") ? q->at("file") : "";
      if (route.empty() || file.empty() || route.size() > 200 || file.size() > 1024)
        return json(response, HTTPResponse::HTTP_BAD_REQUEST, "{\"error\":\"route=R&file=NAME (names from /api/v1/files)\"}");
      const auto [status, message] = backend_.reprocess(route, file, s->user);
      AuditEntry e;
      e.who = s->user;
      e.address = address;
      e.action = "console reprocess";
      // A file's name may name a person (an export per resident): masked
      // as a key; its route whole.
      e.recordType = "file";
      e.keyName = "name";
      e.key = file;
      e.result = "route " + route.substr(0, 100) + ": " + (status == 200 ? "asked" : "refused: " + message);
      writeAudit(e, status != 200);
      return json(response, static_cast<HTTPResponse::HTTPStatus>(status),
                  status == 200 ? "{\"reprocess\":" + jsonText(message) + "}" : "{\"error\":" + jsonText(message) + "}");
    }
    if (what == "held/resubmit" && post && backend_.heldResubmit) {
      // ?emitter=E[&route=R]: the held records of one source (and route).
      const auto s = operating(request, response, "console held resubmit");
      if (!s) return;
      const auto q = query(request, 200);
      const std::string emitter = q && q->count("emitter") ? q->at("emitter") : "";
      const std::string route = q && q->count("route") ? q->at("route") : "";
      if (emitter.empty())
        return json(response, HTTPResponse::HTTP_BAD_REQUEST, "{\"error\":\"emitter=E[&route=R] (from /api/v1/problems)\"}");
      const std::int64_t n = backend_.heldResubmit(emitter, route, s->user);
      auditChange(s->user, address, "console held resubmit",
                  "emitter " + emitter + (route.empty() ? "" : " route " + route) + ": " + std::to_string(n) + " records");
      return json(response, n ? HTTPResponse::HTTP_OK : HTTPResponse::HTTP_NOT_FOUND,
                  "{\"resubmitted\":" + std::to_string(n) + "}");
    }
    if (what == "deadletters" && request.getMethod() == "GET") {
      if (!signedIn(request, response, "view")) return;
      return json(response, HTTPResponse::HTTP_OK, backend_.deadLetters ? backend_.deadLetters() : "{\"dead\":[]}");
    }
    if (what.rfind("deadletters/", 0) == 0 && backend_.deadLetter) {
      // deadletters/<batch> (GET: show) and deadletters/<batch>/resubmit (POST)
      std::string rest = what.substr(12);
      const bool resubmit = rest.size() > 9 && rest.compare(rest.size() - 9, 9, "/resubmit") == 0;
      if (resubmit) rest.resize(rest.size() - 9);
      std::string batch;
      try {
        Poco::URI::decode(rest, batch);
      } catch (const Poco::Exception&) {
      }
      if (batch.empty() || batch.size() > 200 || batch.find('/') != std::string::npos)
        return json(response, HTTPResponse::HTTP_BAD_REQUEST, "{\"error\":\"not a batch id\"}");
      if (resubmit && post) {
        const auto s = operating(request, response, "console deadletters resubmit");
        if (!s) return;
        const std::int64_t n = backend_.resubmit(batch, s->user);
        auditChange(s->user, address, "console deadletters resubmit",
                    "batch " + batch + ": " + std::to_string(n) + " rows");
        return json(response, n ? HTTPResponse::HTTP_OK : HTTPResponse::HTTP_NOT_FOUND,
                    "{\"resubmitted\":" + std::to_string(n) + "}");
      }
      if (!resubmit && request.getMethod() == "GET") {
        int records = 0;
        try {
          for (const auto& [k, v] : Poco::URI(request.getURI()).getQueryParameters())
            if (k == "records") records = std::clamp(std::stoi(v), 0, 100);
        } catch (const std::exception&) {
          return json(response, HTTPResponse::HTTP_BAD_REQUEST, "{\"error\":\"records=N, 0 to 100\"}");
        }
        // Records are personal data: operate, and each look audited with
        // who, which batch, how many and which fields.
        const auto s = signedIn(request, response, records ? "operate" : "view");
        if (!s) return;
        const auto shown = backend_.deadLetter(batch, records);
        if (!shown) return json(response, HTTPResponse::HTTP_NOT_FOUND, "{\"error\":\"no such batch\"}");
        if (records) {
          // A batch id names no one: kept whole (a key would be masked).
          auditChange(s->user, address, "console deadletters show",
                      "batch " + batch + ": " + std::to_string(records) + " records shown");
        }
        return json(response, HTTPResponse::HTTP_OK, *shown);
      }
    }
    json(response, HTTPResponse::HTTP_NOT_FOUND, "{\"error\":\"not found\"}");
  }

  pipeline::MetricsRegistry& metrics_;
  const AdminPages& pages_;
  AdminServer::Health& health_;
  console::Console& console_;
  bool https_ = false;
  const AdminServer::Backend& backend_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(pipeline::MetricsRegistry& metrics, const AdminPages& pages, AdminServer::Health health,
          console::Console& console, bool https, AdminServer::Backend backend)
      : metrics_(metrics), pages_(pages), health_(std::move(health)), console_(console), https_(https),
        backend_(std::move(backend)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Handler(metrics_, pages_, health_, console_, https_, backend_);
  }

 private:
  pipeline::MetricsRegistry& metrics_;
  const AdminPages& pages_;
  AdminServer::Health health_;
  console::Console& console_;
  bool https_;
  AdminServer::Backend backend_;
};

}  // namespace

AdminServer::AdminServer(const AdminConfig& config, pipeline::MetricsRegistry& metrics, const AdminPages& pages,
                         Health health, const store::StoreConfig& store, Backend backend)
    : console_(std::make_unique<console::Console>(config, store)) {
  const Poco::Net::SocketAddress address(config.address, static_cast<Poco::UInt16>(config.port));
  // Few threads, one request per connection; an idle or slow client is cut
  // at the request deadline (5 s), and one address holds at most three
  // connections, so a scanner cannot keep /health from the monitor.
  http::Limits limits;
  limits.threads = 8;
  limits.queued = 16;
  limits.requestDeadline = std::chrono::seconds(5);
  limits.keepAliveRequests = 0;
  limits.perAddress = 3;  // a Prometheus and an operator's browser; never every thread
  limits.perAddressRate = 20;
  auto& log = Poco::Logger::get("renkei.admin");
  if (!config.certificate.empty()) {
    Poco::Net::initializeSSL();
    Poco::Net::SecureServerSocket socket(address, 64, http::serverContext(config.key.string(), config.certificate.string()));
    port_ = socket.address().port();
    server_ = std::make_unique<http::Server>(socket, new Factory(metrics, pages, std::move(health), *console_, true, backend),
                                             limits, "admin", log);
  } else {
    Poco::Net::ServerSocket socket(address, 64);
    port_ = socket.address().port();
    server_ = std::make_unique<http::Server>(socket, new Factory(metrics, pages, std::move(health), *console_, false, backend),
                                             limits, "admin", log);
  }
}

AdminServer::~AdminServer() { stop(); }

void AdminServer::start() { server_->start(); }

void AdminServer::stop() {
  if (server_) server_->stop();
}

int AdminServer::port() const { return port_; }

}  // namespace renkei
