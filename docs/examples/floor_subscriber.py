#!/usr/bin/python3
"""A display's subscriber to renkei's live floor events (the crm module's
events-endpoint): ZeroMQ SUB over CURVE, as a display vendor would write
it. Prints each event as one line: topic, sequence, the JSON payload; says
so when the sequence skips (events missed while away or slow — read the
state through the API then). Needs pyzmq (Debian: python3-zmq).

    floor_subscriber.py --endpoint tcp://renkei-host:7420 --server-key crm-events.pub
                        --key display.key --public display.pub [--topic ticket.] [--count N] [--timeout S]

Keys: Z85 text files (40 characters), as `renkei bridge keygen` writes them
(bridge-curve.key, bridge-curve.pub); the display's public key goes into
the module's events-clients.
"""
import argparse
import json
import sys

import zmq


def key(path):
    with open(path, encoding="ascii") as f:
        return f.read().strip().encode("ascii")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--server-key", required=True, help="the publisher's CURVE public key file")
    ap.add_argument("--key", required=True, help="this display's CURVE secret key file")
    ap.add_argument("--public", required=True, help="this display's CURVE public key file")
    ap.add_argument("--topic", action="append", default=[], help="topic prefix (ticket., line.status); all if none")
    ap.add_argument("--count", type=int, default=0, help="stop after this many events (0: never)")
    ap.add_argument("--timeout", type=float, default=0, help="stop after this many seconds without an event")
    a = ap.parse_args()
    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.curve_secretkey = key(a.key)
    sub.curve_publickey = key(a.public)
    sub.curve_serverkey = key(a.server_key)
    sub.setsockopt(zmq.MAXMSGSIZE, 65536)  # a larger message drops the connection
    for topic in a.topic or [""]:
        sub.setsockopt(zmq.SUBSCRIBE, topic.encode("utf-8"))
    sub.connect(a.endpoint)
    print("subscribed", flush=True)
    last, seen = 0, 0
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    while a.count == 0 or seen < a.count:
        if not poller.poll(a.timeout * 1000 if a.timeout else None):
            print("no event for %.0f s" % a.timeout, file=sys.stderr)
            return 1
        topic, sequence, payload = sub.recv_multipart()
        sequence = int(sequence)
        if last and sequence != last + 1:
            print("missed %d events (read the state through the API)" % (sequence - last - 1), flush=True)
        last = sequence
        event = json.loads(payload)
        text = json.dumps(event, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        print(topic.decode("utf-8"), sequence, text, flush=True)
        seen += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
