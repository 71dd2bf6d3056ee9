#include "chat_client.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/URI.h>

#include <sstream>
#include <stdexcept>
#include <thread>

namespace renkei::connectors::ai {

namespace {

using Clock = std::chrono::steady_clock;

std::string jsonString(const std::string& s) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(Poco::Dynamic::Var(s), out);
  return out.str();
}

/// The text of choices[0].message.content (or .delta.content in a stream).
std::string contentOf(const std::string& json, bool delta) {
  Poco::JSON::Parser parser;
  const auto root = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
  const auto choices = root->getArray("choices");
  if (!choices || choices->size() == 0) throw std::runtime_error("no choices");
  const auto first = choices->getObject(0);
  const auto part = first->getObject(delta ? "delta" : "message");
  if (!part) {
    if (delta) return {};
    throw std::runtime_error("no message");
  }
  return part->has("content") && !part->isNull("content") ? part->getValue<std::string>("content") : std::string();
}

}  // namespace

ChatClient::ChatClient(ChatOptions options) : options_(std::move(options)) {
  const Poco::URI uri(options_.endpoint);
  if (uri.getScheme() != "https") throw std::invalid_argument("endpoint: an https:// URL");
  host_ = uri.getHost();
  port_ = uri.getPort();
  path_ = uri.getPath();
  while (!path_.empty() && path_.back() == '/') path_.pop_back();
  path_ += "/chat/completions";
  if (options_.maxConcurrent < 1) options_.maxConcurrent = 1;
}

ChatResult ChatClient::complete(const std::vector<ChatMessage>& messages,
                                const std::function<void(std::string_view)>& onDelta) {
  const auto deadline = Clock::now() + options_.timeout;
  {
    std::unique_lock lock(mutex_);
    if (!free_.wait_until(lock, deadline, [&] { return running_ < options_.maxConcurrent; }))
      return {false, "", "no call free within the time-out (max-concurrent " + std::to_string(options_.maxConcurrent) + ")",
              0, 0};
    ++running_;
  }
  struct Release {
    ChatClient& c;
    ~Release() {
      {
        std::lock_guard lock(c.mutex_);
        --c.running_;
      }
      c.free_.notify_one();
    }
  } release{*this};
  std::string body = "{\"model\":" + jsonString(options_.model) + ",\"temperature\":0,\"stream\":" +
                     (onDelta ? "true" : "false") + ",\"messages\":[";
  for (std::size_t i = 0; i < messages.size(); ++i)
    body += std::string(i ? "," : "") + "{\"role\":" + jsonString(messages[i].role) + ",\"content\":" +
            jsonString(messages[i].content) + "}";
  body += "]}";
  ChatResult last;
  for (int attempt = 0; attempt <= options_.retries; ++attempt) {
    last = this->attempt(body, static_cast<bool>(onDelta), deadline, onDelta);
    last.attempts = attempt + 1;
    const bool again = !last.ok && (last.status == 0 || last.status == 429 || last.status >= 500);
    if (!again || Clock::now() >= deadline) break;
    const auto wait = std::chrono::milliseconds(250 << attempt);
    if (Clock::now() + wait >= deadline) break;
    std::this_thread::sleep_for(wait);
  }
  return last;
}

ChatResult ChatClient::attempt(const std::string& body, bool stream, Clock::time_point deadline,
                               const std::function<void(std::string_view)>& onDelta) {
  ChatResult r;
  const auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  };
  try {
    Poco::Net::Context::Ptr context = new Poco::Net::Context(
        Poco::Net::Context::TLS_CLIENT_USE, "", "", options_.ca.string(), Poco::Net::Context::VERIFY_RELAXED, 9,
        options_.ca.empty(), "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL");
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    Poco::Net::HTTPSClientSession session(host_, port_, context);
    if (left().count() <= 0) return {false, "", "no time left for the call", 0, 0};
    session.setTimeout(Poco::Timespan(left().count() * 1000));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, path_, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    if (!options_.apiKey.empty()) request.set("Authorization", "Bearer " + options_.apiKey);
    // One exchange per connection: a server that then sends its answer
    // without a length (to the connection's end) says so, and it is read.
    request.setKeepAlive(false);
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    r.status = static_cast<int>(response.getStatus());
    if (response.hasContentLength() && response.getContentLength64() > static_cast<Poco::Int64>(options_.maxBytes))
      return {false, "", "the endpoint's answer is " + std::to_string(response.getContentLength64()) +
                             " bytes, more than max-bytes (" + std::to_string(options_.maxBytes) + "): not read",
              r.status, 0};
    std::string data;
    std::string pending;  // a stream's incomplete line
    char buffer[4096];
    for (;;) {
      if (Clock::now() >= deadline) return {false, "", "the endpoint did not finish its answer within the time-out", r.status, 0};
      session.socket().setReceiveTimeout(Poco::Timespan(std::max<long long>(left().count(), 1) * 1000));
      // One byte (waiting at most what is left), then what has come with it:
      // a server dripping its answer meets the deadline between reads.
      in.read(buffer, 1);
      if (in.gcount() <= 0) break;
      const std::streamsize got = 1 + in.readsome(buffer + 1, sizeof buffer - 1);
      data.append(buffer, static_cast<std::size_t>(got));
      if (data.size() > options_.maxBytes)
        return {false, "", "the endpoint's answer passed max-bytes (" + std::to_string(options_.maxBytes) + "): cut",
                r.status, 0};
      if (stream && r.status == 200) {
        pending.append(buffer, static_cast<std::size_t>(got));
        for (std::size_t nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
          std::string line = pending.substr(0, nl);
          pending.erase(0, nl + 1);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          if (line.rfind("data:", 0) != 0) continue;
          std::string payload = line.substr(5);
          if (!payload.empty() && payload[0] == ' ') payload.erase(0, 1);
          if (payload == "[DONE]") continue;
          const std::string piece = contentOf(payload, true);
          r.text += piece;
          if (!piece.empty()) onDelta(piece);
        }
      }
    }
    // A read that failed (a time-out inside the stream, TLS ended without
    // close_notify on a body without a length: a cut cannot be ruled out)
    // or an answer shorter than it said is no answer.
    if (in.bad() || (response.hasContentLength() &&
                     static_cast<Poco::Int64>(data.size()) < response.getContentLength64()))
      return {false, "",
              Clock::now() >= deadline - std::chrono::milliseconds(50)
                  ? "the endpoint did not finish its answer within the time-out"
                  : "the connection ended before the endpoint's answer was complete",
              r.status, 0};
    if (r.status != 200)
      return {false, "", "the endpoint answered HTTP " + std::to_string(r.status) + " " + response.getReason(), r.status, 0};
    if (!stream) r.text = contentOf(data, false);
    if (r.text.empty())
      return {false, "", "the endpoint's answer was empty (no text, or a body without a length the connection did not end)",
              r.status, 0};
    r.ok = true;
    return r;
  } catch (const Poco::TimeoutException&) {
    r.error = "the endpoint did not answer within the time-out";
  } catch (const Poco::Net::NetException& e) {
    r.error = "cannot reach the endpoint: " + e.displayText();
  } catch (const Poco::Exception& e) {
    r.error = std::string("the endpoint's answer is not a chat completion (") + e.className() + ")";
  } catch (const std::exception& e) {
    r.error = std::string("the endpoint's answer is not a chat completion (") + e.what() + ")";
  }
  r.ok = false;
  return r;
}

}  // namespace renkei::connectors::ai
