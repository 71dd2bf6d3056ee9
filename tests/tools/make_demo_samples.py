#!/usr/bin/env python3
"""Makes the demo's sample exports (config/samples/jumin/) tell one story.

The full extract (JUMIN_20261101_FULL.csv, made by gen_residents.py) is the
register on 2026-11-01: everyone in it is a current resident, so its 異動事由
never says the resident left (a 転出 or 死亡 reason is written as the move
that brought them to their address), and the members of a household share the
householder's 郵便番号. The differential (JUMIN_20261102_DIFF.csv) is what a
core system exports the next day: only the residents who changed, the same
people with the same 住民票コード, 氏名, 生年月日 and 性別:

  * 0001282838: the householder 00010000019 moves abroad (国外転出, 住民状態 2);
    his wife becomes the householder (世帯変更);
  * five households move within the city (転居): new 住所 and 郵便番号;
  * a child is born into a household (出生): a new 住民票コード and 個人番号;
  * an elderly resident dies (死亡, 住民状態 3);
  * a resident living alone moves to another city (転出, 住民状態 2);
  * a grown child sets up a household of their own (世帯変更, new 世帯番号);
  * a family of three moves in (転入).

住民状態 codes of these synthetic exports: 1 住民, 2 転出者, 3 死亡者.
Also writes the full extract fixed-width (JUMIN_20261101_FULL.dat, the
jumin-fixed layout), so the format swap in docs/configuration.md can be tried.

Usage: make_demo_samples.py [config/samples/jumin]   (idempotent)
"""
import csv
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_residents as g  # noqa: E402

NAMES = [c[0] for c in g.COLUMNS]
COL = {n: i for i, n in enumerate(NAMES)}
REMOVED = {"06", "07", "08", "09"}
MOVE_DAY, NOTICE_DAY, UPDATED = "5081101", "5081101", "20261101"


def read(path):
    text = open(path, "rb").read().decode("cp932")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def encode_row(row):
    return [g.enc(v) for v in row]


def write_csv(path, header, rows):
    with open(path, "wb") as f:
        f.write(g.csv_line(encode_row(header)))
        for r in rows:
            f.write(g.csv_line(encode_row(r)))


def coherent_full(rows):
    """Current residents only; one 郵便番号 per household."""
    zip_of = {}
    for i, r in enumerate(rows):
        if r[COL["異動事由"]] in REMOVED:
            r[COL["異動事由"]] = "04" if i % 2 == 0 else "01"
        r[COL["住民状態"]] = "1"
        zip_of.setdefault(r[COL["世帯番号"]], r[COL["郵便番号"]])
        r[COL["郵便番号"]] = zip_of[r[COL["世帯番号"]]]
    return rows


def households(rows):
    out = {}
    for r in rows:
        out.setdefault(r[COL["世帯番号"]], []).append(r)
    return out


def changed(r, reason, move_day=MOVE_DAY):
    r = list(r)
    r[COL["異動事由"]] = reason
    r[COL["異動日"]] = move_day
    r[COL["届出日"]] = NOTICE_DAY
    r[COL["更新日時"]] = UPDATED + r[COL["更新日時"]][8:]
    return r


def valid(r):
    """Rows the shipped mapping accepts: the differential holds no bad data."""
    my = r[COL["個人番号"]]
    return (r[COL["氏名"]] and r[COL["性別"]] in ("1", "2") and r[COL["生年月日"]][:1] in "12345"
            and len(my) == 12 and str(g.mynumber_check_digit(my[:11])) == my[11])


def differential(rows):
    hh = households(rows)
    used = set()
    diff = []
    next_index = [len(rows)]

    def new_codes():
        i = next_index[0]
        next_index[0] += 1
        first11 = "%011d" % ((i * 104729 + 31415926535) % 10**11)
        return "%011d" % ((i * 7919 + 10000019) % 10**11), first11 + str(g.mynumber_check_digit(first11))

    def pick(size, cond=lambda members: True):
        for no in sorted(hh):
            m = hh[no]
            if no not in used and len(m) == size and all(valid(r) for r in m) and cond(m):
                used.add(no)
                return m
        raise SystemExit("no household of %d members left" % size)

    # 国外転出 of the householder; the wife becomes householder.
    story = hh["0001282838"]
    used.add("0001282838")
    head, wife = story[0], story[1]
    r = changed(head, "09")
    r[COL["住民状態"]] = "2"
    diff.append(r)
    r = changed(wife, "05")
    r[COL["続柄"]] = "02"
    r[COL["世帯主氏名"]] = wife[COL["氏名"]]
    r[COL["筆頭者"]] = wife[COL["筆頭者"]]
    diff.append(r)

    # 転居 within the city: five households, every member, one new address.
    for n, size in enumerate((5, 5, 4, 4, 3)):
        members = pick(size)
        first = members[0]
        address = first[COL["住所"]]
        city_end = max(address.find("区"), address.find("市"))
        town = g.TOWNS[(n * 5 + 3) % len(g.TOWNS)]
        banchi = ("%d丁目%d番%d号" % (n + 2, n * 3 + 4, n + 11)).translate(g.FW_DIGITS)
        new_address = address[: city_end + 1] + town + banchi
        new_zip = first[COL["郵便番号"]][:4] + "%04d" % (1200 + n * 37)
        for m in members:
            r = changed(m, "04")
            r[COL["住所"]] = new_address
            r[COL["方書"]] = ""
            r[COL["郵便番号"]] = new_zip
            r[COL["住定日"]] = MOVE_DAY
            diff.append(r)

    # 出生: a child born into a household with a householder and a spouse.
    members = pick(2, lambda m: m[1][COL["続柄"]] in ("03", "04"))
    head = members[0]
    code, mynumber = new_codes()
    r = changed(head, "02", "5081028")
    given = ("陽菜", "ヒナ")
    surname = head[COL["氏名"]].split("\u3000")[0]
    kana_surname = head[COL["氏名カナ"]].split("\u3000")[0]
    r[COL["住民票コード"]], r[COL["個人番号"]] = code, mynumber
    r[COL["氏名"]] = surname + "\u3000" + given[0]
    r[COL["氏名カナ"]] = kana_surname + "\u3000" + given[1]
    r[COL["氏名カナ半角"]] = g.to_halfwidth_kana(r[COL["氏名カナ"]])
    r[COL["旧氏"]] = ""
    r[COL["生年月日"]] = r[COL["住民となった日"]] = r[COL["住定日"]] = "5081028"
    r[COL["性別"]] = "2"
    r[COL["続柄"]] = "05"
    r[COL["電話番号"]] = ""
    r[COL["備考"]] = ""
    diff.append(r)

    # 死亡: the oldest resident living alone.
    alone = sorted((m[0] for no, m in hh.items() if no not in used and len(m) == 1 and valid(m[0])),
                   key=lambda r: int(r[COL["生年月日"]]))  # era digit first: the oldest first
    dead = alone[0]
    used.add(dead[COL["世帯番号"]])
    r = changed(dead, "07", "5081030")
    r[COL["住民状態"]] = "3"
    diff.append(r)

    # 転出 to another city: the next resident living alone.
    gone = alone[1]
    used.add(gone[COL["世帯番号"]])
    r = changed(gone, "06")
    r[COL["住民状態"]] = "2"
    diff.append(r)

    # 世帯変更: a grown child of a three-member household becomes a householder.
    members = pick(3, lambda m: m[2][COL["続柄"]] == "05" and m[2][COL["生年月日"]][:1] in "45")
    child = members[2]
    r = changed(child, "05")
    r[COL["世帯番号"]] = "%010d" % (int(child[COL["世帯番号"]]) + 1)
    r[COL["続柄"]] = "02"
    r[COL["世帯主氏名"]] = child[COL["氏名"]]
    diff.append(r)

    # 転入: a family of three from outside (the first household's shape, new people).
    template = pick(3)
    new_hh = "%010d" % 9900000001
    people = [(("佐藤", "サトウ"), ("大輔", "ダイスケ"), "1", "4020517", "02"),
              (("佐藤", "サトウ"), ("恵子", "ケイコ"), "2", "4040921", "03"),
              (("佐藤", "サトウ"), ("湊", "ミナト"), "1", "5020315", "05")]
    head_name = "佐藤\u3000大輔"
    address = template[0][COL["住所"]]
    arrival_address = address[: max(address.find("区"), address.find("市")) + 1] + \
        "中央" + "１丁目２番３号"
    arrival_zip = template[0][COL["郵便番号"]][:4] + "0123"
    for m, (sur, given, sex, birth, rel) in zip(template, people):
        code, mynumber = new_codes()
        r = changed(m, "01")
        r[COL["住民票コード"]], r[COL["個人番号"]], r[COL["世帯番号"]] = code, mynumber, new_hh
        r[COL["氏名"]] = sur[0] + "\u3000" + given[0]
        r[COL["氏名カナ"]] = sur[1] + "\u3000" + given[1]
        r[COL["氏名カナ半角"]] = g.to_halfwidth_kana(r[COL["氏名カナ"]])
        r[COL["旧氏"]] = ""
        r[COL["生年月日"]], r[COL["性別"]], r[COL["続柄"]] = birth, sex, rel
        r[COL["世帯主氏名"]] = r[COL["筆頭者"]] = head_name
        r[COL["住民となった日"]] = r[COL["住定日"]] = MOVE_DAY
        r[COL["住所"]] = arrival_address
        r[COL["方書"]] = ""
        r[COL["郵便番号"]] = arrival_zip
        r[COL["備考"]] = ""
        diff.append(r)
    return diff


def check(full, diff):
    """The story holds: the same people keep who they are; reasons agree
    with 住民状態; a household has one householder and one 郵便番号."""
    known = {r[COL["住民票コード"]]: r for r in full}
    status = {"09": "2", "06": "2", "07": "3"}
    for r in diff:
        before = known.get(r[COL["住民票コード"]])
        if before:
            for f in ("氏名", "生年月日", "性別", "個人番号"):
                assert before[COL[f]] == r[COL[f]], "%s changed for a known resident" % f
        assert r[COL["住民状態"]] == status.get(r[COL["異動事由"]], "1"), "住民状態 disagrees with 異動事由"
        assert valid(r), "the differential holds a record the mapping would reject"
    assert all(r[COL["異動事由"]] not in REMOVED and r[COL["住民状態"]] == "1" for r in full)
    for no, members in households(full).items():
        assert len({m[COL["郵便番号"]] for m in members}) == 1, "household %s: several 郵便番号" % no
    after = {r[COL["住民票コード"]]: r for r in full}
    after.update({r[COL["住民票コード"]]: r for r in diff})
    current = [r for r in after.values() if r[COL["住民状態"]] == "1"]
    for no, members in households(current).items():
        heads = [m for m in members if m[COL["続柄"]] == "02"]
        assert len(heads) == 1, "household %s has %d householders after the differential" % (no, len(heads))


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../config/samples/jumin")
    full_path = os.path.join(folder, "JUMIN_20261101_FULL.csv")
    header, rows = read(full_path)
    assert header == NAMES, "the full extract's header is not the generator's"
    rows = coherent_full(rows)
    write_csv(full_path, header, rows)
    with open(os.path.join(folder, "JUMIN_20261101_FULL.dat"), "wb") as f:
        for r in rows:
            f.write(g.fixed_line(encode_row(r)))
    diff = differential(rows)
    check(rows, diff)
    write_csv(os.path.join(folder, "JUMIN_20261102_DIFF.csv"), header, diff)
    print("full extract: %d residents; differential: %d rows" % (len(rows), len(diff)))


if __name__ == "__main__":
    main()
