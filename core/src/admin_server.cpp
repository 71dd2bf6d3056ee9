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

#include <chrono>

#include "host_services.h"

namespace renkei {
namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

std::string jsonText(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else out += c;
  }
  return out + "\"";
}

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
  Handler(pipeline::MetricsRegistry& metrics, const AdminPages& pages, AdminServer::Health& health)
      : metrics_(metrics), pages_(pages), health_(health) {}
  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
    response.set("Cache-Control", "no-store");
    response.set("X-Content-Type-Options", "nosniff");
    const std::string path = request.getURI().substr(0, request.getURI().find('?'));
    if (request.getMethod() != "GET" && request.getMethod() != "HEAD") {
      response.setStatusAndReason(HTTPResponse::HTTP_METHOD_NOT_ALLOWED);
      response.set("Allow", "GET, HEAD");
      response.send() << "only GET\n";
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
    if (!AdminPages::servedWithoutSignIn(page->permission)) {
      audit.result = "refused: needs " + page->permission;
      writeAudit(audit, true);
      return plain(HTTPResponse::HTTP_FORBIDDEN, "this page needs the '" + page->permission +
                                                    "' permission; operators cannot sign in to this listener yet");
    }
    AdminRequest in;
    in.method = request.getMethod();
    in.path = page->path;
    in.address = audit.address;
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

  pipeline::MetricsRegistry& metrics_;
  const AdminPages& pages_;
  AdminServer::Health& health_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(pipeline::MetricsRegistry& metrics, const AdminPages& pages, AdminServer::Health health)
      : metrics_(metrics), pages_(pages), health_(std::move(health)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Handler(metrics_, pages_, health_);
  }

 private:
  pipeline::MetricsRegistry& metrics_;
  const AdminPages& pages_;
  AdminServer::Health health_;
};

}  // namespace

AdminServer::AdminServer(const AdminConfig& config, pipeline::MetricsRegistry& metrics, const AdminPages& pages,
                         Health health) {
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
    server_ = std::make_unique<http::Server>(socket, new Factory(metrics, pages, std::move(health)), limits, "admin", log);
  } else {
    Poco::Net::ServerSocket socket(address, 64);
    port_ = socket.address().port();
    server_ = std::make_unique<http::Server>(socket, new Factory(metrics, pages, std::move(health)), limits, "admin", log);
  }
}

AdminServer::~AdminServer() { stop(); }

void AdminServer::start() { server_->start(); }

void AdminServer::stop() {
  if (server_) server_->stop();
}

int AdminServer::port() const { return port_; }

}  // namespace renkei
