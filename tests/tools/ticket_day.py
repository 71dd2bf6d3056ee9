#!/usr/bin/python3
"""A city hall's day at the ticket machine (発券機), simulated: residents
arrive on a realistic curve (the morning peak, a smaller one after lunch;
the March-April rush, Mondays and days after holidays busier), take a
ticket for one of 17 lines (目的), wait for one of the line's counters,
are called (3 % do not answer: recalled, then a no-show), served for a
time typical of the line, and some are transferred to another line (a
転入 to 国民健康保険 …) or give up waiting (cancelled). Half the counters
break over lunch. Everything is synthetic: a ticket is a number.

It drives any of the ticketing connector's three inputs, in time order,
optionally in (scaled) real time, and writes a summary of what it did
(JSON) that tests and benchmarks compare with what renkei made of it:
- the machine's log, as a generic machine writes it (CSV, header 日時, 番号,
  受付内容, イベント, 窓口, 担当, 連番, 転送先; UTF-8 or CP932): --out;
- JSON lines over TCP, Qmatic-shaped (event, eventId, timeStamp,
  parameters.queueName / ticket / servicePointName / staffName /
  toQueueName), each answered ok before the next: --tcp HOST:PORT;
- the HTTPS webhook, Qmatic-shaped events in signed bodies of --batch:
  --webhook URL --secret FILE --ca CA_FILE.

    ticket_day.py (--out LOG_DIR | --tcp HOST:PORT | --webhook URL --secret F --ca F [--batch 50])
                  [--date 2026-12-07] [--tickets 600] [--seed 1] [--speed 0] [--until HH:MM]
                  [--encoding utf-8|cp932] [--summary FILE]

--tickets: about how many tickets (the curve decides when); --speed N plays
the day N times faster than real time (0: all at once); --until stops the
log at that time of day (a busy morning; the summary is the whole day's).
"""
import argparse
import datetime
import heapq
import json
import math
import os
import random
import sys
import time

# Line (目的) → counters, mean service minutes.
LINES = [("転入・転出", 4, 14), ("転居", 2, 8), ("戸籍", 2, 10), ("印鑑登録", 1, 6), ("証明書発行", 3, 4),
         ("マイナンバーカード", 3, 12), ("国民健康保険", 3, 9), ("国民年金", 2, 8), ("後期高齢者医療", 1, 8),
         ("介護保険", 2, 12), ("児童手当", 2, 9), ("保育", 2, 15), ("障害福祉", 1, 15), ("生活保護相談", 1, 30),
         ("税証明", 2, 5), ("住民税", 2, 10), ("ごみ・環境", 1, 5)]
# How often a resident comes for each line (weights).
WEIGHTS = [14, 6, 6, 4, 16, 10, 9, 4, 3, 4, 5, 3, 2, 1, 6, 4, 3]
# What a line sends residents on to, and how often.
TRANSFERS = {"転入・転出": [("国民健康保険", 0.20), ("児童手当", 0.08), ("マイナンバーカード", 0.05)],
             "転居": [("国民健康保険", 0.10)], "戸籍": [("児童手当", 0.05)]}
OPEN, CLOSE = 8 * 60 + 30, 17 * 60 + 15  # minutes of the day
LUNCH = (12 * 60, 13 * 60)


def rate(minute, date):
    """Relative arrivals a minute: a morning peak near 9:45, a smaller one near 13:30."""
    r = 0.35 + 1.0 * math.exp(-((minute - 585) / 70.0) ** 2) + 0.6 * math.exp(-((minute - 810) / 60.0) ** 2)
    if date.month in (3, 4):
        r *= 1.8
    if date.weekday() == 0:
        r *= 1.3
    return r


def simulate(date, tickets, rnd):
    day = [rate(m, date) for m in range(OPEN, CLOSE - 30)]
    scale = tickets / sum(day)
    arrivals = []
    for i, r in enumerate(day):
        for _ in range(poisson(r * scale, rnd)):
            arrivals.append((OPEN + i) * 60 + rnd.randrange(60))
    arrivals.sort()
    lines = {name: (counters, mean) for name, counters, mean in LINES}
    names = [name for name, _, _ in LINES]
    events = []  # (second, order, ticket, line, event, counter, staff, to_line)
    order = [0]

    def emit(t, ticket, line, event, counter="", staff="", to=""):
        order[0] += 1
        events.append((t, order[0], ticket, line, event, counter, staff, to))

    # Discrete events: arrivals and counters freeing.
    queue = {name: [] for name in names}          # waiting (arrival second, ticket, patience)
    free = {name: [0] * lines[name][0] for name in names}  # when each counter is free (second)
    pending = []  # heap of (second, kind, payload)
    for n, t in enumerate(arrivals):
        line = rnd.choices(names, WEIGHTS)[0]
        heapq.heappush(pending, (t, 0, (100 + n, line)))
    summary = {"date": date.isoformat(), "issued": 0, "served": 0, "no_show": 0, "cancelled": 0, "transferred": 0,
               "per_line": {name: {"procedures": 0, "waits": []} for name in names}}
    while pending:
        t, kind, payload = heapq.heappop(pending)
        if kind == 0:  # a ticket issued (or a transfer arriving at its next line)
            ticket, line = payload[0], payload[1]
            transferred = len(payload) > 2
            if not transferred:
                emit(t, ticket, line, "発券")
                summary["issued"] += 1
            summary["per_line"][line]["procedures"] += 1
            patience = t + rnd.randrange(20 * 60, 120 * 60)
            queue[line].append((t, ticket, patience))
            heapq.heappush(pending, (t, 1, (line,)))
        elif kind == 1:  # a line looks for a free counter
            line = payload[0]
            counters, mean = lines[line]
            while queue[line]:
                minute = t // 60
                usable = [c for c in range(counters) if free[line][c] <= t and
                          not (LUNCH[0] <= minute < LUNCH[1] and c >= max(1, counters // 2))]
                if not usable:
                    soonest = min(max(f, t + 1) for f in free[line])
                    if LUNCH[0] <= minute < LUNCH[1]:
                        soonest = min(soonest, LUNCH[1] * 60)
                    heapq.heappush(pending, (max(soonest, t + 1), 1, (line,)))
                    break
                since, ticket, patience = queue[line].pop(0)
                if patience < t:
                    emit(patience, ticket, line, "取消")
                    summary["cancelled"] += 1
                    continue
                c = usable[0]
                counter = "%s%d番" % (line[:2], c + 1)
                staff = "職員%02d" % (names.index(line) * 4 + c + 1)
                emit(t, ticket, line, "呼出", counter, staff)
                summary["per_line"][line]["waits"].append(t - since)
                if rnd.random() < 0.03:
                    emit(t + 120, ticket, line, "再呼出", counter, staff)
                    emit(t + 240, ticket, line, "不在", counter, staff)
                    summary["no_show"] += 1
                    free[line][c] = t + 240
                    continue
                start = t + rnd.randrange(20, 60)
                service = max(60, int(rnd.lognormvariate(math.log(mean * 60), 0.45)))
                emit(start, ticket, line, "受付開始", counter, staff)
                end = start + service
                free[line][c] = end
                heapq.heappush(pending, (end, 1, (line,)))
                onward = [to for to, p in TRANSFERS.get(line, []) if rnd.random() < p][:1]
                if onward:
                    emit(end, ticket, line, "転送", counter, staff, onward[0])
                    summary["transferred"] += 1
                    heapq.heappush(pending, (end, 0, (ticket, onward[0], True)))
                else:
                    emit(end, ticket, line, "受付終了", counter, staff)
                    summary["served"] += 1
    events.sort()
    for line in summary["per_line"].values():
        waits = line.pop("waits")
        line["called"] = len(waits)
        line["wait_sum_s"] = sum(waits)
    return events, summary


def poisson(lam, rnd):
    n, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rnd.random()
        if p <= limit:
            return n
        n += 1


QMATIC = {"発券": "VISIT_CREATE", "呼出": "VISIT_CALL", "再呼出": "VISIT_RECALL", "戻し": "VISIT_RECYCLE",
          "転送": "VISIT_TRANSFER_TO_QUEUE", "受付開始": "VISIT_CONFIRM", "受付終了": "VISIT_END", "不在": "VISIT_NOSHOW",
          "取消": "VISIT_REMOVE"}


def qmatic(date, t, seq, ticket, line, event, counter, staff, to):
    """One event as Qmatic publishes it (mappings/ticketing/qmatic-to-events.xml)."""
    parameters = {"queueName": line, "ticket": str(ticket)}
    if counter:
        parameters["servicePointName"] = counter
    if staff:
        parameters["staffName"] = staff
    if to:
        parameters["toQueueName"] = to
    return {"event": QMATIC[event], "eventId": seq,
            "timeStamp": "%sT%02d:%02d:%02d+09:00" % (date.isoformat(), t // 3600, t // 60 % 60, t % 60),
            "parameters": parameters}


class LogSink:
    def __init__(self, a, date):
        os.makedirs(a.out, exist_ok=True)
        self.where = os.path.join(a.out, "tickets-%s.csv" % date.strftime("%Y%m%d"))
        self.encoding = a.encoding
        self.log = open(self.where, "ab")
        if self.log.tell() == 0:
            self.log.write("日時,番号,受付内容,イベント,窓口,担当,連番,転送先\n".encode(a.encoding))

    def add(self, date, t, seq, ticket, line, event, counter, staff, to, live):
        stamp = "%s %02d:%02d:%02d" % (date.isoformat(), t // 3600, t // 60 % 60, t % 60)
        self.log.write(("%s,%d,%s,%s,%s,%s,%d,%s\n" % (stamp, ticket, line, event, counter, staff, seq, to))
                       .encode(self.encoding))
        if live:
            self.log.flush()

    def flush(self):
        self.log.flush()


class TcpSink:
    def __init__(self, where):
        import socket
        host, port = where.rsplit(":", 1)
        self.where = "tcp://" + where
        self.conn = socket.create_connection((host, int(port)), timeout=30)  # a connector that stops answering fails the run
        self.reader = self.conn.makefile("rb")

    def add(self, date, t, seq, ticket, line, event, counter, staff, to, live):
        body = json.dumps(qmatic(date, t, seq, ticket, line, event, counter, staff, to), ensure_ascii=False)
        self.conn.sendall(body.encode("utf-8") + b"\n")
        answer = self.reader.readline()
        if answer != b"ok\n":
            sys.exit("event %d: the connector answered %r" % (seq, answer))

    def flush(self):
        pass


class WebhookSink:
    def __init__(self, a):
        import ssl
        self.where, self.batch, self.pending = a.webhook, a.batch, []
        with open(a.secret, "rb") as f:
            self.secret = f.read().strip()
        self.context = ssl.create_default_context(cafile=a.ca)

    def add(self, date, t, seq, ticket, line, event, counter, staff, to, live):
        self.pending.append(qmatic(date, t, seq, ticket, line, event, counter, staff, to))
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self):
        import hashlib
        import hmac
        import urllib.request
        if not self.pending:
            return
        body = json.dumps(self.pending, ensure_ascii=False).encode("utf-8")
        signature = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(self.where, data=body, method="POST",
                                         headers={"Content-Type": "application/json", "X-Signature": signature})
        with urllib.request.urlopen(request, context=self.context, timeout=30) as r:
            if r.status != 200:
                sys.exit("the webhook answered %d" % r.status)
        self.pending = []


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="the machine's log folder")
    ap.add_argument("--tcp", help="HOST:PORT of the connector's JSON lines listener")
    ap.add_argument("--webhook", help="the connector's webhook URL (https://…/ticketing/events)")
    ap.add_argument("--secret", help="the webhook's shared secret file")
    ap.add_argument("--ca", help="the CA that signed the webhook's certificate")
    ap.add_argument("--batch", type=int, default=50, help="events per webhook body")
    ap.add_argument("--date", default="2026-12-07")
    ap.add_argument("--tickets", type=int, default=600)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--speed", type=float, default=0.0)
    ap.add_argument("--until", help="HH:MM: write the log up to this time of day")
    ap.add_argument("--encoding", default="utf-8", choices=["utf-8", "cp932"])
    ap.add_argument("--summary")
    a = ap.parse_args()
    if sum(x is not None for x in (a.out, a.tcp, a.webhook)) != 1:
        ap.error("one input: --out, --tcp or --webhook")
    if a.webhook and not (a.secret and a.ca):
        ap.error("--webhook needs --secret and --ca")
    date = datetime.date.fromisoformat(a.date)
    events, summary = simulate(date, a.tickets, random.Random(a.seed))
    sink = LogSink(a, date) if a.out else TcpSink(a.tcp) if a.tcp else WebhookSink(a)
    start, first = time.monotonic(), events[0][0] if events else 0
    until = int(a.until[:2]) * 3600 + int(a.until[3:5]) * 60 if a.until else None
    written = issued = 0
    for seq, (t, _, ticket, line, event, counter, staff, to) in enumerate(events, 1):
        if until is not None and t > until:
            break
        written += 1
        issued += event == "発券"
        if a.speed > 0:
            delay = (t - first) / a.speed - (time.monotonic() - start)
            if delay > 0:
                sink.flush()
                time.sleep(delay)
        sink.add(date, t, seq, ticket, line, event, counter, staff, to, a.speed > 0)
    sink.flush()
    path = sink.where
    summary["events"] = len(events)
    if a.summary:
        with open(a.summary, "w", encoding="utf-8") as f:
            json.dump(summary, f, ensure_ascii=False, indent=1)
    if a.until:
        print("%d tickets issued, %d events written up to %s -> %s" % (issued, written, a.until, path), file=sys.stderr)
    else:
        print("%d tickets, %d events: %d served, %d transferred, %d no-shows, %d cancelled -> %s" % (
            summary["issued"], len(events), summary["served"], summary["transferred"], summary["no_show"],
            summary["cancelled"], path), file=sys.stderr)


if __name__ == "__main__":
    main()
