#!/usr/bin/env python3
"""A stand-in for a language model, for the AI guard's tests: no model can
run on these machines, so this local HTTPS server speaks the OpenAI
chat-completions protocol, records every request it receives (one JSON
object per line) and answers from the passages it was given. The first
part of the path chooses how it behaves:

  /normal/…   answers (a stream of server-sent events when asked)
  /slow/…     waits 5 s before answering
  /garbage/…  answers 200 with something that is not JSON
  /huge/…     answers 200 with a 10 MB body
  /drip/…     sends its headers, then a byte a second
  /error/…    answers 500
  /leak/…     answers with a phone number in the text (for the answer's scan)
  /closing/…  answers without a length or chunks, "Connection: close", the
              body ending when TLS does (close_notify), as some proxies send
  /unframed/… the same without saying it closes (not valid HTTP/1.1 framing)

  fake_llm.py --port P --cert C --key K --record FILE
"""
import argparse
import http.server
import json
import os
import ssl
import sys
import time


def answer_from(messages):
    """Quotes the first passage of the context: the model answers only from what it is given."""
    for m in messages:
        if m.get("role") == "system" and "【" in m.get("content", ""):
            text = m["content"]
            start = text.index("【")
            return "資料によると: " + text[start:start + 120].replace("\n", " ")
    return "資料がありません。"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        mode = self.path.strip("/").split("/")[0]
        # What it received stays the test's own (0600), as renkei's files do.
        with open(os.open(self.server.record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a", encoding="utf-8") as f:
            f.write(json.dumps({"path": self.path, "authorization": self.headers.get("Authorization", ""),
                                "body": json.loads(body)}, ensure_ascii=False) + "\n")
        request = json.loads(body)
        if mode == "slow":
            time.sleep(5)
        if mode == "error":
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "garbage":
            self.reply(b"<html>not json</html>")
            return
        if mode == "huge":
            self.reply(b"x" * (10 << 20))
            return
        if mode == "drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(1)
            return
        text = answer_from(request.get("messages", []))
        if mode == "leak":
            text = "担当者の携帯 090-1111-2222 にお電話ください。" + text
        if mode in ("closing", "unframed"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream" if request.get("stream") else "application/json")
            if mode == "closing":
                self.send_header("Connection", "close")
            self.end_headers()
            if request.get("stream"):
                for i in range(0, len(text), 7):
                    event = {"choices": [{"index": 0, "delta": {"content": text[i:i + 7]}}]}
                    self.wfile.write(("data: " + json.dumps(event, ensure_ascii=False) + "\n\n").encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
            else:
                self.wfile.write(json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]},
                                            ensure_ascii=False).encode())
            self.wfile.flush()
            self.close_connection = True
            if mode == "closing":
                # The end of the body is the end of TLS (close_notify): a
                # close without it could be a cut, and is taken as one.
                try:
                    self.connection.unwrap()
                except OSError:
                    pass
            return
        if request.get("stream"):
            # Server-sent events in chunked transfer encoding, as hosted models send them.
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

            def chunk(data):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            for i in range(0, len(text), 7):
                event = {"choices": [{"index": 0, "delta": {"content": text[i:i + 7]}}]}
                chunk(("data: " + json.dumps(event, ensure_ascii=False) + "\n\n").encode())
            chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        self.reply(json.dumps({"id": "fake", "object": "chat.completion",
                               "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                            "finish_reason": "stop"}]}, ensure_ascii=False).encode())

    def reply(self, data):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--record", required=True)
    a = p.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    server.record = a.record
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(a.cert, a.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
