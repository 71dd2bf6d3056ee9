#!/usr/bin/env python3
"""Synthetic 戸籍 and 戸籍附票 exports that agree with a resident export: the
residents sharing a 本籍 and 筆頭者 form one 戸籍 (its members: the 筆頭者,
the spouse, the children), each with a 身分事項 history (出生, 婚姻, and for
some 戸籍 a child who married out — 除籍 — or a member who died) and a 附票
entry with the person's 住民票コード and address. Written as a core system
might (no national layout is public): UTF-8 CSV, a header record (区分 1,
市町村コード, 作成年月日), one record per line of the 戸籍 with its kind in
種別 (戸籍, 戸籍事項, 者, 身分事項, 附票) and a trailer (区分 9, 合計件数).
Dates are written as on a certificate (令和8年12月1日).

    gen_koseki.py --resident JUMIN_FULL.csv --out KOSEKI_FULL.csv
                  [--share 0.7] [--seed 5] [--count N] [--only N]
    gen_koseki.py --resident JUMIN_FULL.csv --diff JUMIN_DIFF.csv --out KOSEKI_DIFF.csv
                  [--marry 住民票コード …]

Every name and 本籍 has its 戸籍統一文字番号 sequence beside it (6 digits a
character, space-separated). The numbers are MADE UP (a hash of the code
point), not the real table; 渡辺, 斎藤 and 山崎 get one of several variant
numbers for 辺, 斎 or 崎 with the same Unicode text (variant glyphs that
Unicode cannot tell apart); about 3 % of 名 come without numbers (arrived as
Unicode only: lossy). About 4 % of 附票 entries have no 住民票コード (the
person is found by 4 情報 + 戸籍の表示). Each 戸籍 also holds a few persons who
are no residents here (除籍, or living in another city: 附票 with a 住民票コード
the resident export does not have).

--diff: the 戸籍 side of a resident differential — every 出生 (異動事由 02)
becomes a 出生 entry and a new person in the parents' 戸籍, every 死亡 (07) a
死亡 entry and 除籍; --marry CODE: that resident marries (婚姻, 除籍 from the
parents' 戸籍 when not its 筆頭者, a new 戸籍 with a new 本籍). Only the
changed persons and their 戸籍 are written.
"""
import argparse
import csv
import datetime
import hashlib
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_residents as g  # noqa: E402

FIELDS = ["種別", "戸籍番号", "者番号", "事項番号", "本籍", "本籍文字", "筆頭者", "筆頭者文字", "氏", "氏文字", "名",
          "名文字", "振り仮名", "振り仮名出典", "生年月日", "性別", "父", "母", "続柄", "除籍", "事項", "事項日",
          "届出日", "受附日", "事項内容", "住所", "住所を定めた日", "住民票コード", "国外転出"]
VARIANTS = {"辺": 5, "斎": 3, "崎": 2, "葛": 5}
ERAS = [("令和", datetime.date(2019, 5, 1)), ("平成", datetime.date(1989, 1, 8)), ("昭和", datetime.date(1926, 12, 25)),
        ("大正", datetime.date(1912, 7, 30)), ("明治", datetime.date(1868, 1, 25))]


def h(*parts):
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:12], 16)


def chars(text, salt):
    """The 統一文字番号 of each character (made up); variants by salt."""
    out = []
    for c in text:
        if c in " \u3000":
            continue
        n = 10 * (1 + ord(c) % 50000)
        if c in VARIANTS:
            k = h("variant", salt, c) % VARIANTS[c]
            if k:
                n = 10 * (50000 + (ord(c) % 400) * 8 + k)
        out.append("%06d" % n)
    return " ".join(out)


def iso(gyymmdd):
    start = {"1": 1867, "2": 1911, "3": 1925, "4": 1988, "5": 2018}[gyymmdd[0]]
    return datetime.date(start + int(gyymmdd[1:3]), int(gyymmdd[3:5]), int(gyymmdd[5:7]))


def usable(r):
    """The resident generator's rows with deliberate errors are no 戸籍's persons."""
    try:
        iso(r["生年月日"])
        return bool(r["氏名"].strip()) and "\u3000" in r["氏名"] and r["性別"] in ("1", "2")
    except (KeyError, ValueError, IndexError):
        return False


def kanji(d):
    for name, start in ERAS:
        if d >= start:
            y = d.year - start.year + 1
            return "%s%s年%d月%d日" % (name, "元" if y == 1 else str(y), d.month, d.day)
    raise ValueError(d)


def split(name):
    s, _, given = name.partition("\u3000")
    return s, given


class Writer:
    def __init__(self):
        self.rows = []

    def row(self, **kw):
        self.rows.append([kw.get(f, "") for f in FIELDS])


def children_order(sex, n):
    return ("長男", "二男", "三男", "四男")[min(n, 3)] if sex == "1" else ("長女", "二女", "三女", "四女")[min(n, 3)]


def koseki_id(honseki, hittousha):
    return "K%09d" % (h("koseki", honseki, hittousha) % 10**9)


def person_rows(w, kid, seq, p, father, mother, relation, removed, events, fuhyo, seed):
    surname, given = split(p["氏名"])
    kana = p["氏名カナ"].replace("\u3000", "")
    if h("kana", seed, p["住民票コード"]) % 10 == 0:
        kana = kana.replace("ョ", "ヨ").replace("ュ", "ユ").replace("ャ", "ヤ").replace("ッ", "ツ")  # as a notice writes it
    lossy = h("lossy", seed, p["住民票コード"]) % 33 == 0
    w.row(種別="者", 戸籍番号=kid, 者番号="%02d" % seq, 氏=surname, 氏文字=chars(surname, kid), 名=given,
          名文字="" if lossy else chars(given, p["住民票コード"]), 振り仮名=kana, 振り仮名出典="koseki",
          生年月日=kanji(iso(p["生年月日"])), 性別=p["性別"], 父=father, 母=mother, 続柄=relation,
          除籍="1" if removed else "")
    for n, (kind, day, notified, received, items) in enumerate(events, 1):
        w.row(種別="身分事項", 戸籍番号=kid, 者番号="%02d" % seq, 事項番号=str(n), 事項=kind, 事項日=kanji(day),
              届出日=kanji(notified) if notified else "", 受附日=kanji(received) if received else "",
              事項内容="".join("【%s】%s" % kv for kv in items))
    if fuhyo:
        w.row(種別="附票", 戸籍番号=kid, 者番号="%02d" % seq, **fuhyo)


def birth_event(p, father_name, seed, until=None):
    born = iso(p["生年月日"])
    notified = born + datetime.timedelta(days=3 + h("n", seed, p["住民票コード"]) % 10)
    received = notified + datetime.timedelta(days=h("r", seed, p["住民票コード"]) % 3)
    if until is not None:  # not after the export was made
        notified, received = min(notified, until), min(received, until)
    return ("出生", born, notified, received,
            [("出生日", kanji(born)), ("出生地", "愛知県名古屋市"), ("届出日", kanji(notified)), ("届出人", "父")])


def marriage_event(day, spouse, former, seed):
    return ("婚姻", day, day, day, [("婚姻日", kanji(day)), ("配偶者氏名", spouse), ("従前戸籍", former)])


def full(rows, a):
    by_koseki = {}
    for r in rows:
        if r["削除フラグ"] == "1" or not r["本籍"] or not r["筆頭者"] or not usable(r):
            continue
        by_koseki.setdefault((r["本籍"], r["筆頭者"]), []).append(r)
    w = Writer()
    made = 0
    for (honseki, hittousha), members in sorted(by_koseki.items()):
        if h("here", a.seed, honseki, hittousha) % 1000 >= a.share * 1000:
            continue  # 本籍 elsewhere
        kid = koseki_id(honseki, hittousha)
        head = next((m for m in members if m["氏名"] == hittousha), None)
        if head is None:
            continue
        made += 1
        write_koseki(w, kid, honseki, hittousha, head, members, a)
        if a.only is not None and made >= a.only:
            break
    return w


def write_koseki(w, kid, honseki, hittousha, head, members, a):
    spouse = next((m for m in members if m is not head and m["続柄"] in ("02", "03") and
                   abs(iso(m["生年月日"]).year - iso(head["生年月日"]).year) < 25 and m["性別"] != head["性別"]), None)
    children = sorted((m for m in members if m is not head and m is not spouse and
                       iso(m["生年月日"]) > iso(head["生年月日"]) + datetime.timedelta(days=365 * 15)),
                      key=lambda m: m["生年月日"])
    first_child = min((iso(c["生年月日"]) for c in children), default=iso(head["生年月日"]) + datetime.timedelta(days=365 * 28))
    married = min(first_child - datetime.timedelta(days=200 + h("m", kid) % 900),
                  iso(head["生年月日"]) + datetime.timedelta(days=365 * 30))
    w.row(種別="戸籍", 戸籍番号=kid, 本籍=honseki, 本籍文字=chars(honseki, kid), 筆頭者=hittousha,
          筆頭者文字=chars(hittousha, kid))
    w.row(種別="戸籍事項", 戸籍番号=kid, 事項番号="1", 事項="編製", 事項日=kanji(married),
          事項内容="【編製日】" + kanji(married))
    if married < datetime.date(2000, 1, 1):
        w.row(種別="戸籍事項", 戸籍番号=kid, 事項番号="2", 事項="改製", 事項日=kanji(datetime.date(2002, 3, 2)),
              事項内容="【改製日】平成14年3月2日【改製事由】平成6年法務省令第51号附則第2条第1項による改製")
    hs, hg = split(head["氏名"])
    father_given = ("茂", "隆", "博")
    seq = 0
    parents = {}
    for m in [head] + ([spouse] if spouse else []):
        seq += 1
        other = spouse if m is head else head
        events = [birth_event(m, "", a.seed)]
        if other:
            events.append(marriage_event(married, other["氏名"].replace("\u3000", ""), "愛知県名古屋市中区 " + split(m["氏名"])[0] + "某",
                                         a.seed))
        father = father_given[h("f", m["住民票コード"]) % 3]
        person_rows(w, kid, seq, m, father, "和子", children_order(m["性別"], h("o", m["住民票コード"]) % 2), False,
                    events, fuhyo(m, a), a.seed)
        parents[m["性別"]] = split(m["氏名"])[1]
    counts = {"1": 0, "2": 0}
    for c in children:
        seq += 1
        rel = children_order(c["性別"], counts[c["性別"]])
        counts[c["性別"]] += 1
        person_rows(w, kid, seq, c, parents.get("1", ""), parents.get("2", ""), rel, False,
                    [birth_event(c, hg, a.seed)], fuhyo(c, a), a.seed)
    # Persons no resident here: a child who married out (除籍), or one
    # living in another city (附票 elsewhere).
    k = h("extra", a.seed, kid) % 10
    if k < 2 and married + datetime.timedelta(days=400 + 365 * 27) > datetime.date(2026, 6, 1):
        k = 2  # too young to have married out: one living elsewhere instead
    if k < 2 and spouse:
        seq += 1
        born = married + datetime.timedelta(days=400)
        x = {"氏名": hs + "\u3000" + ("一郎" if k == 0 else "智子"), "氏名カナ": "", "生年月日": g_era(born), "性別": "1" if k == 0 else "2",
             "住民票コード": kid + "x"}
        day = born + datetime.timedelta(days=365 * 27)
        ev = [birth_event(x, hg, a.seed),
              ("婚姻", day, day, day, [("婚姻日", kanji(day)), ("配偶者氏名", "中村恵子" if k == 0 else "中村大輔"),
                                      ("新本籍", "東京都千代田区千代田１番"), ("称する氏", "夫の氏" if k == 1 else "夫の氏")])]
        person_rows(w, kid, seq, x, parents.get("1", ""), parents.get("2", ""), children_order(x["性別"], 3), True, ev,
                    None, a.seed)
    elif k == 2 and spouse:
        seq += 1
        born = married + datetime.timedelta(days=500)
        x = {"氏名": hs + "\u3000" + "湊", "氏名カナ": "", "生年月日": g_era(born), "性別": "1", "住民票コード": kid + "y"}
        person_rows(w, kid, seq, x, parents.get("1", ""), parents.get("2", ""), "長男", False, [birth_event(x, hg, a.seed)],
                    {"住所": "大阪府大阪市北区梅田１丁目１番", "住所を定めた日": kanji(born + datetime.timedelta(days=365 * 19)),
                     "住民票コード": "%011d" % (90000000000 + h("code", kid) % 10**9)}, a.seed)


def g_era(d):
    for n, (name, start) in enumerate(ERAS):
        if d >= start:
            return "%d%02d%02d%02d" % (5 - n, d.year - start.year + 1, d.month, d.day)


def fuhyo(p, a):
    code = "" if h("nocode", a.seed, p["住民票コード"]) % 25 == 0 else p["住民票コード"]
    return {"住所": p["住所"], "住所を定めた日": kanji(iso(p["住定日"])) if p["住定日"] else "", "住民票コード": code,
            "国外転出": ""}


def diff(rows, changes, a):
    """The 戸籍 side of a resident differential (births, deaths) and --marry."""
    by_code = {r["住民票コード"]: r for r in rows}
    groups = {}
    for m in rows:
        if m["削除フラグ"] != "1":
            groups.setdefault((m["本籍"], m["筆頭者"]), []).append(m)
    w = Writer()
    for r in changes:
        reason = r["異動事由"]
        if reason not in ("02", "07"):
            continue
        kid = koseki_id(r["本籍"], r["筆頭者"])
        members = groups.get((r["本籍"], r["筆頭者"]), [])
        if h("here", a.seed, r["本籍"], r["筆頭者"]) % 1000 >= a.share * 1000:
            continue
        day = iso(r["異動日"])
        if reason == "02":
            seq = 20 + h("seq", r["住民票コード"]) % 70
            father = next((split(m["氏名"])[1] for m in members if m["性別"] == "1" and m["続柄"] in ("02", "03")), "")
            mother = next((split(m["氏名"])[1] for m in members if m["性別"] == "2" and m["続柄"] in ("02", "03")), "")
            made = datetime.date(int(a.date[:4]), int(a.date[4:6]), int(a.date[6:8]))
            person_rows(w, kid, seq, r, father, mother, children_order(r["性別"], 0), False,
                        [birth_event(r, "", a.seed, max(made, day))], fuhyo(r, a), a.seed)
        else:
            person = by_code.get(r["住民票コード"], r)
            seq = position(groups, person, a)
            if seq is None:
                continue
            notified = day + datetime.timedelta(days=2)
            w.row(種別="身分事項", 戸籍番号=kid, 者番号="%02d" % seq, 事項番号="9", 事項="死亡", 事項日=kanji(day),
                  届出日=kanji(notified), 受附日=kanji(notified),
                  事項内容="【死亡日】%s【死亡地】愛知県名古屋市【届出日】%s【届出人】親族" % (kanji(day), kanji(notified)))
    for code in a.marry:
        p = by_code[code]
        kid = koseki_id(p["本籍"], p["筆頭者"])
        seq = position(groups, p, a)
        day = datetime.date(2026, 12, 2)
        spouse = "中村智子" if p["性別"] == "1" else "中村大輔"
        new_honseki = "愛知県名古屋市中区三の丸三丁目１番"
        w.row(種別="身分事項", 戸籍番号=kid, 者番号="%02d" % seq, 事項番号="8", 事項="婚姻", 事項日=kanji(day),
              届出日=kanji(day), 受附日=kanji(day),
              事項内容="【婚姻日】%s【配偶者氏名】%s【新本籍】%s【称する氏】夫の氏" % (kanji(day), spouse, new_honseki))
    return w


def position(groups, person, a):
    """The 者番号 write_koseki gave `person` (or None)."""
    members = groups.get((person["本籍"], person["筆頭者"]), [])
    w = Writer()
    head = next((m for m in members if m["氏名"] == person["筆頭者"]), None)
    if head is None:
        return None
    write_koseki(w, "K", person["本籍"], person["筆頭者"], head, members, a)
    seq = 0
    for row in w.rows:
        if row[0] == "者":
            seq += 1
            if row[FIELDS.index("名")] == split(person["氏名"])[1] and \
                    row[FIELDS.index("生年月日")] == kanji(iso(person["生年月日"])):
                return seq
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resident", required=True)
    ap.add_argument("--diff", help="a resident differential: its births and deaths")
    ap.add_argument("--marry", nargs="*", default=[], help="住民票コード of residents who marry")
    ap.add_argument("--out", required=True)
    ap.add_argument("--share", type=float, default=0.7, help="share of the 戸籍 whose 本籍 is here")
    ap.add_argument("--only", type=int, default=None, help="write only the first N 戸籍 (a cut-off export)")
    ap.add_argument("--count", type=int, default=None, help="the trailer's count (default: the records written)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--date", default="20261201")
    a = ap.parse_args()

    def load(path):
        with open(path, encoding="cp932", newline="") as f:
            return list(csv.DictReader(f))
    rows = [r for r in load(a.resident) if usable(r)]
    w = diff(rows, load(a.diff) if a.diff else [], a) if (a.diff or a.marry) else full(rows, a)
    out = io.StringIO()
    c = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    c.writerow(["1", "999999", a.date])
    c.writerows(w.rows)
    c.writerow(["9", str(a.count if a.count is not None else len(w.rows))])
    with open(a.out, "w", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())


if __name__ == "__main__":
    main()
