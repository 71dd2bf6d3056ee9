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

#include <chrono>

namespace renkei {
namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(pipeline::MetricsRegistry& metrics, AdminServer::Health& health) : metrics_(metrics), health_(health) {}
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
    } else {
      response.setStatusAndReason(HTTPResponse::HTTP_NOT_FOUND);
      response.setContentType("text/plain; charset=utf-8");
      response.send() << "not found: try /metrics or /health\n";
    }
  }

 private:
  pipeline::MetricsRegistry& metrics_;
  AdminServer::Health& health_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(pipeline::MetricsRegistry& metrics, AdminServer::Health health) : metrics_(metrics), health_(std::move(health)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Handler(metrics_, health_);
  }

 private:
  pipeline::MetricsRegistry& metrics_;
  AdminServer::Health health_;
};

}  // namespace

AdminServer::AdminServer(const AdminConfig& config, pipeline::MetricsRegistry& metrics, Health health) {
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
    server_ = std::make_unique<http::Server>(socket, new Factory(metrics, std::move(health)), limits, "admin", log);
  } else {
    Poco::Net::ServerSocket socket(address, 64);
    port_ = socket.address().port();
    server_ = std::make_unique<http::Server>(socket, new Factory(metrics, std::move(health)), limits, "admin", log);
  }
}

AdminServer::~AdminServer() { stop(); }

void AdminServer::start() { server_->start(); }

void AdminServer::stop() {
  if (server_) server_->stop();
}

int AdminServer::port() const { return port_; }

}  // namespace renkei
