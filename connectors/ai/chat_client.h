// A client for an OpenAI-compatible chat-completions endpoint over HTTPS
// (POST <endpoint>/chat/completions): the de facto interface of hosted and
// self-hosted models. Every call is bounded: a deadline for the whole
// exchange (however slowly the server drips its answer), an answer of at
// most max-bytes (a larger declared length is refused unread), at most
// max-concurrent calls at once (the rest wait within the deadline), and
// retries with backoff only where trying again can help (no answer, 429,
// 5xx). Errors say what happened, never what was asked.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace renkei::connectors::ai {

struct ChatOptions {
  std::string endpoint;   ///< https://host[:port]/path (…/v1): /chat/completions is added
  std::string model;
  std::string apiKey;     ///< sent as Authorization: Bearer; never logged
  std::filesystem::path ca;  ///< CAs for the server's certificate (empty: the system's)
  std::chrono::milliseconds timeout{30'000};  ///< the whole exchange, retries included
  int retries = 2;
  int maxConcurrent = 4;
  std::size_t maxBytes = 1u << 20;
};

struct ChatMessage {
  std::string role;  ///< system, user, assistant
  std::string content;
};

struct ChatResult {
  bool ok = false;
  std::string text;   ///< the answer (ok)
  std::string error;  ///< what went wrong (not ok): no values
  int status = 0;     ///< the last HTTP status (0: none)
  int attempts = 0;
};

class ChatClient {
 public:
  explicit ChatClient(ChatOptions options);
  /// One completion. With `onDelta`, asks for a stream (server-sent events)
  /// and hands each piece of the answer to it as it comes; the result holds
  /// the whole answer either way.
  ChatResult complete(const std::vector<ChatMessage>& messages,
                      const std::function<void(std::string_view)>& onDelta = {});

 private:
  ChatResult attempt(const std::string& body, bool stream, std::chrono::steady_clock::time_point deadline,
                     const std::function<void(std::string_view)>& onDelta);
  ChatOptions options_;
  std::string host_, path_;
  unsigned short port_ = 443;
  std::mutex mutex_;
  std::condition_variable free_;
  int running_ = 0;
};

}  // namespace renkei::connectors::ai
