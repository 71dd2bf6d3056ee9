#!/usr/bin/python3
"""Renders the forms residents bring — drawn for this project, never a copy of
a municipality's form — filled with SYNTHETIC people of a resident export
(tests/tools/gen_residents.py), as a scanner would deliver them: PNG (or
JPEG, TIFF) at 300 or 200 dpi, optionally degraded. Beside each image a
<name>.truth.json with what is printed in every zone of its template.

    render_forms.py --resident JUMIN_FULL.csv --form tenshutsu-a --out DIR
                    [--count 3] [--dpi 300] [--rotate 2.0] [--noise 8] [--blur 0.8]
                    [--jpeg 60] [--format png|jpeg|tiff] [--seed 1] [--start 0]

Forms (each matches mappings/ocr/<form>.xml: the same boxes, in mm):
  tenshutsu-a   転出証明書 of 架空県見本市, the household across: 従前の住所, 世帯主,
                転出先, 転出予定年月日, then a table of up to four members (氏名,
                生年月日, 性別, 続柄, 住民票コード); the issuer at the foot
  tenshutsu-b   転出証明書 of 架空県例示町, the members stacked: a block of two
                rows per member; the issuer under the title
  tenshutsu-c   転出証明書 of 架空県試験村, the 従前の住所 written vertically
                (縦書き) in a tall box on the right, the rest across
  zairyu-card   the face of a 在留カード (a design drawn for this project, not
                the real card's): 番号, 氏名 (Latin), 生年月日, 性別, 国籍・地域,
                住居地, 在留資格, 在留期間の満了日 — a card of 85.6 × 54 mm laid
                on a scanner's glass (a white bed of 120 × 80 mm), no marks:
                the connector registers it by its edges. Synthetic foreign
                residents of this generator's own (names, numbers); --bad-number
                prints a number that breaks the pattern
  zairyu-card-back
                the back of a 在留カード (drawn for this project): the
                住居地記載欄, one to three entries written after moves (届出
                年月日, 住居地 in the city's towns), oldest first
  tenshutsu-kakunin
                a 転出証明確認書 as the 統合端末 prints it for a 特例転入 (drawn for
                this project): the 転出証明書情報 received over 住基ネット — 世帯主,
                従前の住所, 転出先, 転出予定年月日 and the members' table — on plain
                paper: no marks, registered by its printed texts
  koseki-zenbu  a 戸籍全部事項証明書 (computerised, horizontal; drawn for this
                project): 本籍, 氏名 (筆頭者), then up to three persons with
                【名】【生年月日】【父】【母】【続柄】 — and, like the real ones, NO
                registration marks: the connector registers it by its printed
                texts (title, certificate sentence, issuer)
  koseki-kojin  a 戸籍個人事項証明書 (一部事項証明書: the one person asked for), as
                koseki-zenbu with its own title and certificate sentence
  koseki-fuhyo  a 戸籍の附票の写し (computerised, horizontal; drawn for this project):
                本籍, 氏名 (筆頭者), then up to three persons with 【名】
                【生年月日】【性別】 the 住所 and 【住所を定めた年月日】; no marks,
                registered by its printed texts like koseki-zenbu
  tokubetsu-card
                the face of a 特別永住者証明書 (drawn for this project): as the
                在留カード without 在留資格; the 国籍・地域 of 特別永住者
  menkyo-card   the face of a 運転免許証 (drawn for this project): 氏名, 生年月日
                (和暦), 住所, 有効期限 (和暦), 免許証番号 (12 digits) of the
                resident export's people; a card on the glass
  mynumber-card-face
                the face of a マイナンバーカード (a design drawn for this project):
                氏名, 住所 (a town of the city), 生年月日 (和暦), 性別 and 有効期限
                (Western) of the resident export's householders; a card on
                the glass. No 個人番号: that is on the back
  mynumber-card-back
                the back of a マイナンバーカード (a design drawn for this project):
                the 個人番号 (12 digits, a valid check digit; --bad-number: one
                digit changed), 氏名 and 生年月日 of the resident export's people;
                a card on the glass like zairyu-card
Degradations: --rotate, --noise, --blur, --jpeg, --stamp (a red 受付 seal
over the 世帯主: the page becomes a colour scan; --mono-stamp: the same seal
as a mono scanner renders it, grey), --fold (shadows across the page where
it was folded in three).

Every page has four registration marks (5 mm squares, 10 mm from the edges)
the connector aligns to. Needs Pillow (python3-pil) and the IPAex fonts.
"""
import argparse
import csv
import datetime
import io
import json
import os
import random

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

GOTHIC = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"
MINCHO = "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"
PAGE = (210.0, 297.0)  # A4, mm
MARKS = [(10, 10), (195, 10), (10, 282), (195, 282)]  # top-left corners, 5 mm squares
ISSUERS = {"tenshutsu-a": "架空県見本市長", "tenshutsu-b": "架空県例示町長", "tenshutsu-c": "架空県試験村長"}
# The 転出先 is the city reading the form: one of its towns (the concierge's list).
TOWNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../config/concierge/towns.txt")
DESTINATIONS = [line.strip() for line in open(TOWNS, encoding="utf-8") if line.strip() and not line.startswith("#")]
RELATIONS = {"02": "世帯主", "03": "妻", "04": "夫", "05": "子", "06": "父", "07": "母", "99": "同居人"}
SEX = {"1": "男", "2": "女"}
ERAS = [("令和", datetime.date(2019, 5, 1)), ("平成", datetime.date(1989, 1, 8)), ("昭和", datetime.date(1926, 12, 25)),
        ("大正", datetime.date(1912, 7, 30)), ("明治", datetime.date(1868, 1, 25))]

# The boxes of the tenshutsu-a form (x, y, width, height in mm): labels are
# printed at the left of each row, values inside the box.
TENSHUTSU_A = {
    "address": (55, 52, 140, 9),
    "householder": (55, 64, 80, 9),
    "destination": (55, 76, 140, 9),
    "move_date": (55, 88, 70, 9),
}
LABELS_A = {"address": "従前の住所", "householder": "世帯主", "destination": "転出先", "move_date": "転出予定年月日"}
TABLE_TOP, ROW_H = 112.0, 14.0
COLUMNS_A = [("name", "氏名", 15, 55), ("birth", "生年月日", 70, 45), ("sex", "性別", 115, 12), ("relation", "続柄", 127, 22),
             ("code", "住民票コード", 149, 46)]


def era(d):
    for name, start in ERAS:
        if d >= start:
            y = d.year - start.year + 1
            return "%s%s年%d月%d日" % (name, "元" if y == 1 else str(y), d.month, d.day)
    raise ValueError(d)


def iso_of(gyymmdd):
    start = {"1": 1867, "2": 1911, "3": 1925, "4": 1988, "5": 2018}[gyymmdd[0]]
    return datetime.date(start + int(gyymmdd[1:3]), int(gyymmdd[3:5]), int(gyymmdd[5:7]))


def usable(r):
    try:
        iso_of(r["生年月日"])
    except (KeyError, ValueError, IndexError):
        return False
    return "\u3000" in r["氏名"] and r["性別"] in SEX and r["住民票コード"].isdigit() and len(r["住民票コード"]) == 11


def households(path):
    with open(path, encoding="cp932", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["削除フラグ"] != "1"]
    out = {}
    for r in rows:
        out.setdefault(r["世帯番号"], []).append(r)
    return [m for _, m in sorted(out.items()) if all(usable(r) for r in m) and 1 <= len(m) <= 4 and
            any(r["続柄"] == "02" for r in m)]


def truth_of(members, n, seed):
    rnd = random.Random("%d:%d" % (seed, n))
    head = next(r for r in members if r["続柄"] == "02")
    members = [head] + [r for r in members if r is not head]
    move = datetime.date(2026, 12, 1) + datetime.timedelta(days=rnd.randrange(0, 40))
    t = {"address": head["住所"], "householder": head["氏名"],
         "destination": rnd.choice(DESTINATIONS) + "%d番%d号" % (rnd.randrange(1, 30), rnd.randrange(1, 20)),
         "move_date": era(move), "move_date.iso": move.isoformat()}
    for i, r in enumerate(members, 1):
        t["member.%d.name" % i] = r["氏名"]
        t["member.%d.birth" % i] = era(iso_of(r["生年月日"]))
        t["member.%d.birth.iso" % i] = iso_of(r["生年月日"]).isoformat()
        t["member.%d.sex" % i] = SEX[r["性別"]]
        t["member.%d.relation" % i] = RELATIONS.get(r["続柄"], "同居人")
        t["member.%d.code" % i] = r["住民票コード"]
    return t


def page(dpi):
    """A blank A4 page with its marks and title; (image, draw, px, fonts)."""
    px = lambda mm: int(round(mm / 25.4 * dpi))  # noqa: E731
    img = Image.new("L", (px(PAGE[0]), px(PAGE[1])), 255)
    d = ImageDraw.Draw(img)
    fonts = {"title": ImageFont.truetype(MINCHO, px(9)), "label": ImageFont.truetype(GOTHIC, px(3.2)),
             "value": ImageFont.truetype(MINCHO, px(4.2))}
    for x, y in MARKS:
        d.rectangle([px(x), px(y), px(x + 5), px(y + 5)], fill=0)
    d.text((px(105), px(30)), "転出証明書", font=fonts["title"], fill=0, anchor="mm")
    return img, d, px, fonts


def box(d, px, x, y, w, h, text, font):
    d.rectangle([px(x), px(y), px(x + w), px(y + h)], outline=0, width=max(1, px(0.25)))
    if text:
        d.text((px(x + 1.5), px(y + h / 2)), text, font=font, fill=0, anchor="lm")


def draw_tenshutsu_a(t, dpi):
    img, d, px, fonts = page(dpi)
    label, value = fonts["label"], fonts["value"]
    for field, (x, y, w, h) in TENSHUTSU_A.items():
        d.text((px(15), px(y + h / 2)), LABELS_A[field], font=label, fill=0, anchor="lm")
        d.rectangle([px(x), px(y), px(x + w), px(y + h)], outline=0, width=max(1, px(0.25)))
        d.text((px(x + 2), px(y + h / 2)), t[field], font=value, fill=0, anchor="lm")
    d.text((px(15), px(TABLE_TOP - 5)), "世帯員", font=label, fill=0, anchor="lm")
    for key, text, x, w in COLUMNS_A:
        d.rectangle([px(x), px(TABLE_TOP), px(x + w), px(TABLE_TOP + 7)], outline=0, width=max(1, px(0.25)))
        d.text((px(x + w / 2), px(TABLE_TOP + 3.5)), text, font=label, fill=0, anchor="mm")
    for i in range(1, 5):
        top = TABLE_TOP + 7 + (i - 1) * ROW_H
        for key, _, x, w in COLUMNS_A:
            d.rectangle([px(x), px(top), px(x + w), px(top + ROW_H)], outline=0, width=max(1, px(0.25)))
            v = t.get("member.%d.%s" % (i, key), "")
            if v:
                d.text((px(x + 1.5), px(top + ROW_H / 2)), v, font=value, fill=0, anchor="lm")
    d.text((px(15), px(200)), "上記のとおり転出したことを証明する。", font=value, fill=0, anchor="lm")
    d.text((px(120), px(215)), ISSUERS["tenshutsu-a"], font=value, fill=0, anchor="lm")
    return img


# tenshutsu-b: the issuer under the title, then the four rows, then a block
# of two rows per member (氏名 | 生年月日 / 性別 | 続柄 | 住民票コード).
TENSHUTSU_B = {"address": (55, 55, 140, 9), "householder": (55, 67, 80, 9), "destination": (55, 79, 140, 9),
               "move_date": (55, 91, 70, 9)}
B_TOP, B_BLOCK = 110.0, 30.0
COLUMNS_B = [("name", "氏名", 40, 0, 75), ("birth", "生年月日", 140, 0, 55), ("sex", "性別", 40, 12, 12),
             ("relation", "続柄", 75, 12, 25), ("code", "住民票コード", 140, 12, 55)]


def draw_tenshutsu_b(t, dpi):
    img, d, px, fonts = page(dpi)
    label, value = fonts["label"], fonts["value"]
    d.text((px(130), px(44)), ISSUERS["tenshutsu-b"], font=value, fill=0, anchor="lm")
    for field, (x, y, w, h) in TENSHUTSU_B.items():
        d.text((px(15), px(y + h / 2)), LABELS_A[field], font=label, fill=0, anchor="lm")
        box(d, px, x, y, w, h, t[field], value)
    for i in range(1, 5):
        top = B_TOP + (i - 1) * B_BLOCK
        d.text((px(15), px(top + 5)), "世帯員%d" % i, font=label, fill=0, anchor="lm")
        for key, text, x, dy, w in COLUMNS_B:
            d.text((px(x - 2), px(top + dy + 5)), text, font=label, fill=0, anchor="rm")
            box(d, px, x, top + dy, w, 10, t.get("member.%d.%s" % (i, key), ""), value)
    d.text((px(15), px(240)), "上記のとおり転出したことを証明する。", font=value, fill=0, anchor="lm")
    return img


# tenshutsu-c: the 従前の住所 written vertically in a tall box on the right
# (one character under another, digits full-width and upright), the other
# rows across, the members' table below it, the issuer at the foot.
TENSHUTSU_C = {"householder": (45, 52, 80, 9), "destination": (45, 64, 120, 9), "move_date": (45, 76, 70, 9)}
C_VERTICAL = (178, 45, 14, 130)
C_TABLE = 182.0


def draw_tenshutsu_c(t, dpi):
    img, d, px, fonts = page(dpi)
    label, value = fonts["label"], fonts["value"]
    for field, (x, y, w, h) in TENSHUTSU_C.items():
        d.text((px(15), px(y + h / 2)), LABELS_A[field], font=label, fill=0, anchor="lm")
        box(d, px, x, y, w, h, t[field], value)
    x, y, w, h = C_VERTICAL
    d.text((px(x + w / 2), px(y - 3)), "従前の住所", font=label, fill=0, anchor="mm")
    box(d, px, x, y, w, h, "", value)
    at = y + 4.0
    for ch in t["address"]:
        d.text((px(x + w / 2), px(at)), ch, font=value, fill=0, anchor="mm")
        at += 5.0
    d.text((px(15), px(C_TABLE - 5)), "世帯員", font=label, fill=0, anchor="lm")
    for key, text, cx, w in COLUMNS_A:
        d.rectangle([px(cx), px(C_TABLE), px(cx + w), px(C_TABLE + 7)], outline=0, width=max(1, px(0.25)))
        d.text((px(cx + w / 2), px(C_TABLE + 3.5)), text, font=label, fill=0, anchor="mm")
    for i in range(1, 5):
        top = C_TABLE + 7 + (i - 1) * ROW_H
        for key, _, cx, w in COLUMNS_A:
            box(d, px, cx, top, w, ROW_H, t.get("member.%d.%s" % (i, key), ""), value)
    d.text((px(15), px(255)), "上記のとおり転出したことを証明する。", font=value, fill=0, anchor="lm")
    d.text((px(120), px(268)), ISSUERS["tenshutsu-c"], font=value, fill=0, anchor="lm")
    return img


# zairyu-card: boxes in mm from the card's top-left corner (the card is
# placed at CARD_AT on the scanner bed).
CARD, CARD_AT, BED = (85.6, 54.0), (12.0, 10.0), (120.0, 80.0)
ZAIRYU = {"number": (52, 3, 31, 5), "name": (14, 10, 52, 6), "birth": (14, 17, 30, 5), "sex": (50, 17, 12, 5),
          "nationality": (14, 23, 40, 5), "address": (14, 29, 52, 5), "status": (14, 36, 52, 5),
          "expiry": (14, 43, 30, 5)}
ZAIRYU_LABELS = {"name": "氏名", "birth": "生年月日", "sex": "性別", "nationality": "国籍・地域", "address": "住居地",
                 "status": "在留資格", "expiry": "満了日"}
GIVEN = ["AN", "MINH", "LAN", "HUONG", "JOSE", "MARIA", "WEI", "LI", "RAVI", "PRIYA", "JUAN", "ANA", "TUAN", "HOA"]
FAMILY = ["NGUYEN", "TRAN", "SANTOS", "GARCIA", "ZHANG", "WANG", "SHARMA", "KUMAR", "SILVA", "PEREZ", "PHAM", "LE"]
NATIONS = ["ベトナム", "フィリピン", "中国", "ネパール", "ブラジル", "インドネシア", "インド"]
STATUSES = ["技術・人文知識・国際業務", "永住者", "定住者", "留学", "特定技能", "家族滞在"]


def card_on_bed(dpi, tint):
    """A card on the scanner's glass: a white bed with the card (a light
    tint, a darker rim: a colour card as a grey scan) at CARD_AT; (image,
    draw, px, the card's left and top in mm)."""
    px = lambda mm: int(round(mm / 25.4 * dpi))  # noqa: E731
    img = Image.new("L", (px(BED[0]), px(BED[1])), 255)
    d = ImageDraw.Draw(img)
    ox, oy = CARD_AT
    d.rounded_rectangle([px(ox), px(oy), px(ox + CARD[0]), px(oy + CARD[1])], radius=px(3), fill=tint,
                        outline=120, width=max(1, px(0.3)))
    return img, d, px, ox, oy


def card_truth(n, seed, bad_number):
    rnd = random.Random("card:%d:%d" % (seed, n))
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    number = (rnd.choice(letters) + rnd.choice(letters) + "%08d" % rnd.randrange(10 ** 8) + rnd.choice(letters) +
              rnd.choice(letters))
    if bad_number:
        number = number[:9] + "X" + number[10:]  # a letter where a digit belongs
    birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=rnd.randrange(0, 365 * 45))
    expiry = datetime.date(2027, 1, 1) + datetime.timedelta(days=rnd.randrange(0, 365 * 5))
    sex = rnd.choice(["男", "女"])
    return {"number": number, "name": rnd.choice(FAMILY) + " " + rnd.choice(GIVEN),
            "birth": "%d年%02d月%02d日" % (birth.year, birth.month, birth.day), "birth.iso": birth.isoformat(),
            "sex": sex, "nationality": rnd.choice(NATIONS),
            "address": rnd.choice(DESTINATIONS) + "%d番%d号" % (rnd.randrange(1, 30), rnd.randrange(1, 20)),
            "status": rnd.choice(STATUSES),
            "expiry": "%d年%02d月%02d日" % (expiry.year, expiry.month, expiry.day), "expiry.iso": expiry.isoformat()}


def draw_zairyu_card(t, dpi, title="在留カード"):
    img, d, px, ox, oy = card_on_bed(dpi, 228)
    small = ImageFont.truetype(GOTHIC, px(2.2))
    value = ImageFont.truetype(GOTHIC, px(3.2))
    d.text((px(ox + 3), px(oy + 5.5)), title, font=ImageFont.truetype(GOTHIC, px(4)), fill=0, anchor="lm")
    d.text((px(ox + 48), px(oy + 5.5)), "番号", font=small, fill=0, anchor="lm")
    d.rectangle([px(ox + 68), px(oy + 10), px(ox + 83), px(oy + 30)], fill=180)  # the photograph
    for field, (x, y, w, h) in ZAIRYU.items():
        if field not in t:
            continue
        if field in ZAIRYU_LABELS:
            d.text((px(ox + x - 1 if field == "sex" else ox + 3), px(oy + y + h / 2)),
                   ZAIRYU_LABELS[field] if field != "sex" else "", font=small, fill=0, anchor="lm")
        text = t[field]
        d.text((px(ox + x + 0.5), px(oy + y + h / 2)), text, font=value, fill=0, anchor="lm")
    d.text((px(ox + 45), px(oy + 19.5)), "性別", font=small, fill=0, anchor="lm")
    d.text((px(ox + 3), px(oy + 50)), "法務大臣（見本）", font=small, fill=0, anchor="lm")
    return img


# tenshutsu-kakunin: plain paper from the 統合端末; zones in mm on A4, no marks.
KAKUNIN_ROWS = {"householder": 45, "address": 55, "destination": 65, "move_date": 75}
KAKUNIN_TABLE, KAKUNIN_ROW = 92.0, 12.0
KAKUNIN_FOOTER = "この確認書は、住民基本台帳ネットワークシステムから受信した転出証明書情報を印字したものです。"


ZAIRYU_BACK_TOP, ZAIRYU_BACK_ROW = 13.0, 8.0  # the 住居地記載欄's rows: 届出年月日 (x 2.5, 24 mm) and 住居地 (x 26, 48 mm)


def zairyu_back_truth(n, seed):
    """The back of a 在留カード: one to three 住居地 entries written after
    moves, oldest first, each with its 届出年月日 (the newest is where the
    holder lives now)."""
    rnd = random.Random("card-back:%d:%d" % (seed, n))
    day = datetime.date(2019, 4, 1) + datetime.timedelta(days=rnd.randrange(0, 700))
    t = {}
    for i in range(1, rnd.randrange(1, 4) + 1):
        t["row.%d.date" % i] = "%d年%d月%d日" % (day.year, day.month, day.day)
        t["row.%d.date.iso" % i] = day.isoformat()
        t["row.%d.address" % i] = rnd.choice(DESTINATIONS) + "%d番%d号" % (rnd.randrange(1, 30), rnd.randrange(1, 20))
        day += datetime.timedelta(days=rnd.randrange(60, 600))
    return t


def draw_zairyu_card_back(t, dpi):
    img, d, px, ox, oy = card_on_bed(dpi, 228)
    small = ImageFont.truetype(GOTHIC, px(2.2))
    value = ImageFont.truetype(GOTHIC, px(2.7))
    d.text((px(ox + 3), px(oy + 5)), "住居地記載欄", font=ImageFont.truetype(GOTHIC, px(3.5)), fill=0, anchor="lm")
    for x, label in ((3, "届出年月日"), (27, "住居地"), (75, "記載者印")):
        d.text((px(ox + x), px(oy + 10.5)), label, font=small, fill=0, anchor="lm")
    for i in range(1, 4):
        y = ZAIRYU_BACK_TOP + (i - 1) * ZAIRYU_BACK_ROW
        d.line([(px(ox + 2), px(oy + y)), (px(ox + 84), px(oy + y))], fill=90, width=max(1, px(0.2)))
        if "row.%d.date" % i in t:
            d.text((px(ox + 3), px(oy + y + 4)), t["row.%d.date" % i], font=value, fill=0, anchor="lm")
            d.text((px(ox + 27), px(oy + y + 4)), t["row.%d.address" % i], font=value, fill=0, anchor="lm")
            d.text((px(ox + 76), px(oy + y + 4)), "見本市", font=small, fill=0, anchor="lm")
    d.text((px(ox + 3), px(oy + 42)), "資格外活動許可欄", font=small, fill=0, anchor="lm")
    return img


def draw_tenshutsu_kakunin(t, dpi):
    px = lambda mm: int(round(mm / 25.4 * dpi))  # noqa: E731
    img = Image.new("L", (px(PAGE[0]), px(PAGE[1])), 255)
    d = ImageDraw.Draw(img)
    label = ImageFont.truetype(GOTHIC, px(3.6))
    value = ImageFont.truetype(GOTHIC, px(4.2))
    d.text((px(105), px(25)), "転出証明確認書", font=ImageFont.truetype(GOTHIC, px(7)), fill=0, anchor="mm")
    for field, y in KAKUNIN_ROWS.items():
        d.text((px(18), px(y)), LABELS_A[field], font=label, fill=0, anchor="lm")
        d.text((px(50), px(y)), t[field], font=value, fill=0, anchor="lm")
    for key, text, x, w in COLUMNS_A:
        d.rectangle([px(x), px(KAKUNIN_TABLE - 8), px(x + w), px(KAKUNIN_TABLE)], outline=0, width=max(1, px(0.2)))
        d.text((px(x + w / 2), px(KAKUNIN_TABLE - 4)), text, font=label, fill=0, anchor="mm")
    for i in range(1, 5):
        top = KAKUNIN_TABLE + (i - 1) * KAKUNIN_ROW
        for key, _, x, w in COLUMNS_A:
            d.rectangle([px(x), px(top), px(x + w), px(top + KAKUNIN_ROW)], outline=0, width=max(1, px(0.2)))
            v = t.get("member.%d.%s" % (i, key), "")
            if v:
                d.text((px(x + 1.5), px(top + KAKUNIN_ROW / 2)), v, font=value, fill=0, anchor="lm")
    d.text((px(18), px(250)), KAKUNIN_FOOTER, font=label, fill=0, anchor="lm")
    d.text((px(150), px(270)), "統合端末で印字", font=label, fill=0, anchor="lm")
    return img


# koseki-zenbu: zones in mm on A4; no marks.
KOSEKI_TOP, KOSEKI_BLOCK = 76.0, 56.0
KOSEKI_FOOTER = "これは、戸籍に記録されている事項の全部を証明した書面である。"
KOJIN_FOOTER = "これは、戸籍中の一部の者について記録されている事項を証明した書面である。"
KOSEKI_RELATION = {("02", "1"): "夫", ("02", "2"): "妻", ("03", "2"): "妻", ("04", "1"): "夫"}


def koseki_persons(members):
    """The 筆頭者 (the household's head) and up to two of the household of
    the same 氏: the persons a 戸籍 certificate or its 附票 lists."""
    head = next(r for r in members if r["続柄"] == "02")
    family = head["氏名"].split("\u3000")[0]
    return head, family, [head] + [r for r in members if r is not head and r["氏名"].startswith(family)][:2]


def koseki_truth(members, n, seed):
    rnd = random.Random("koseki:%d:%d" % (seed, n))
    head, family, persons = koseki_persons(members)
    fathers = ["一郎", "正男", "健二", "博", "茂"]
    mothers = ["花子", "幸子", "和子", "節子", "京子"]
    t = {"honseki": head["本籍"] or ("架空県見本市北町一丁目%d番地" % rnd.randrange(1, 40)),
         "hittousha": head["氏名"]}
    children = {"1": 0, "2": 0}
    for i, r in enumerate(persons, 1):
        p = "person.%d." % i
        t[p + "name"] = r["氏名"].split("\u3000")[-1]
        t[p + "birth"] = era(iso_of(r["生年月日"]))
        t[p + "birth.iso"] = iso_of(r["生年月日"]).isoformat()
        t[p + "father"] = family + "\u3000" + rnd.choice(fathers)
        t[p + "mother"] = rnd.choice(mothers)
        rel = KOSEKI_RELATION.get((r["続柄"], r["性別"]))
        if rel is None:
            children[r["性別"]] += 1
            rel = ["長", "二", "三"][min(2, children[r["性別"]] - 1)] + ("男" if r["性別"] == "1" else "女")
        t[p + "relation"] = rel
    return t


def koseki_sheet(dpi, title, footer, head, head_bottom):
    """The sheet the 戸籍 papers share (certificate, 附票): the title, the
    frame, the head rows (y, label, text, font: "label" or "value") above a
    rule at head_bottom, the certificate sentence and the issuer;
    (image, draw, px, label font, value font)."""
    px = lambda mm: int(round(mm / 25.4 * dpi))  # noqa: E731
    img = Image.new("L", (px(PAGE[0]), px(PAGE[1])), 255)
    d = ImageDraw.Draw(img)
    fonts = {"label": ImageFont.truetype(MINCHO, px(3.6)), "value": ImageFont.truetype(MINCHO, px(4.2))}
    d.text((px(105), px(25)), title, font=ImageFont.truetype(MINCHO, px(7)), fill=0, anchor="mm")
    d.rectangle([px(15), px(35), px(195), px(245)], outline=0, width=max(1, px(0.3)))
    d.line([(px(40), px(35)), (px(40), px(head_bottom))], fill=0, width=max(1, px(0.25)))
    for y, label, text, font in head:
        d.text((px(18), px(y)), label, font=fonts["label"], fill=0, anchor="lm")
        d.text((px(45), px(y)), text, font=fonts[font], fill=0, anchor="lm")
    d.line([(px(15), px(head_bottom)), (px(195), px(head_bottom))], fill=0, width=max(1, px(0.25)))
    d.text((px(20), px(255)), footer, font=fonts["value"], fill=0, anchor="lm")
    d.text((px(120), px(272)), ISSUERS["tenshutsu-a"], font=fonts["value"], fill=0, anchor="lm")
    return img, d, px, fonts["label"], fonts["value"]


def draw_koseki_zenbu(t, dpi, title="全部事項証明", footer=KOSEKI_FOOTER):
    img, d, px, label, value = koseki_sheet(
        dpi, title, footer, [(42, "本籍", t["honseki"], "value"), (52, "氏名", t["hittousha"], "value"),
                             (63, "戸籍事項", "戸籍改製　【改製日】平成6年10月1日", "label")], 70)
    for i in range(1, 4):
        top = KOSEKI_TOP + (i - 1) * KOSEKI_BLOCK
        p = "person.%d." % i
        if p + "name" not in t:
            continue
        d.text((px(18), px(top + 4)), "戸籍に記録されている者", font=ImageFont.truetype(MINCHO, px(3)), fill=0,
               anchor="lm")
        for k, (key, text) in enumerate((("name", "【名】"), ("birth", "【生年月日】"), ("father", "【父】"),
                                         ("mother", "【母】"), ("relation", "【続柄】"))):
            y = top + 4 + k * 9
            d.text((px(62), px(y)), text, font=label, fill=0, anchor="lm")
            d.text((px(92), px(y)), t[p + key], font=value, fill=0, anchor="lm")
        d.line([(px(15), px(top + KOSEKI_BLOCK - 6)), (px(195), px(top + KOSEKI_BLOCK - 6))], fill=0,
               width=max(1, px(0.25)))
    return img


FUHYO_TOP, FUHYO_BLOCK = 64.0, 56.0
FUHYO_FOOTER = "これは、戸籍の附票の原本と相違ないことを証明する。"


def fuhyo_truth(members, n, seed):
    """The 附票 of the household's 戸籍: the persons of koseki_truth, each with
    the household's address and the day it was set."""
    k = koseki_truth(members, n, seed)
    rnd = random.Random("fuhyo:%d:%d" % (seed, n))
    head, _, persons = koseki_persons(members)
    t = {"honseki": k["honseki"], "hittousha": k["hittousha"]}
    for i, r in enumerate(persons, 1):
        p = "person.%d." % i
        since = max(iso_of(r["生年月日"]), datetime.date(2000, 1, 1)) + datetime.timedelta(days=rnd.randrange(0, 3000))
        since = min(since, datetime.date(2026, 11, 30))
        t.update({p + "name": k[p + "name"], p + "birth": k[p + "birth"], p + "birth.iso": k[p + "birth.iso"],
                  p + "sex": SEX[r["性別"]], p + "address": head["住所"], p + "since": era(since),
                  p + "since.iso": since.isoformat()})
    return t


def draw_koseki_fuhyo(t, dpi):
    img, d, px, label, value = koseki_sheet(
        dpi, "戸籍の附票の写し", FUHYO_FOOTER,
        [(42, "本籍", t["honseki"], "value"), (52, "氏名", t["hittousha"], "value")], 58)
    for i in range(1, 4):
        top = FUHYO_TOP + (i - 1) * FUHYO_BLOCK
        p = "person.%d." % i
        if p + "name" not in t:
            continue
        d.text((px(18), px(top)), "附票に記録されている者", font=ImageFont.truetype(MINCHO, px(3)), fill=0, anchor="lm")
        for k, (key, text) in enumerate((("name", "【名】"), ("birth", "【生年月日】"), ("sex", "【性別】"),
                                         ("address", "住所"), ("since", "【住所を定めた年月日】"))):
            y = top + 6 + k * 9
            d.text((px(22), px(y)), text, font=label, fill=0, anchor="lm")
            d.text((px(72), px(y)), t[p + key], font=value, fill=0, anchor="lm")
        d.line([(px(15), px(top + FUHYO_BLOCK - 4)), (px(195), px(top + FUHYO_BLOCK - 4))], fill=0,
               width=max(1, px(0.25)))
    return img


MENKYO = {"name": (10, 3, 38, 6), "birth": (50, 3, 31, 6), "address": (10, 10, 72, 6), "expiry": (10, 19, 40, 6),
          "number": (12, 30, 40, 6)}


def menkyo_truth(members, n, seed):
    rnd = random.Random("menkyo:%d:%d" % (seed, n))
    head = next(r for r in members if r["続柄"] == "02")
    expiry = datetime.date(2027, 1, 1) + datetime.timedelta(days=rnd.randrange(0, 365 * 4))
    return {"name": head["氏名"], "birth": era(iso_of(head["生年月日"])),
            "birth.iso": iso_of(head["生年月日"]).isoformat(),
            "address": rnd.choice(DESTINATIONS) + "%d番%d号" % (rnd.randrange(1, 30), rnd.randrange(1, 20)),
            "expiry": era(expiry), "expiry.iso": expiry.isoformat(), "number": "%012d" % rnd.randrange(10 ** 12)}


def draw_menkyo_card(t, dpi):
    img, d, px, ox, oy = card_on_bed(dpi, 236)
    small = ImageFont.truetype(GOTHIC, px(2.4))
    value = ImageFont.truetype(MINCHO, px(3.6))
    labels = {"name": "氏名", "address": "住所", "expiry": "", "number": "第"}
    for field, (x, y, w, h) in MENKYO.items():
        if labels.get(field):
            d.text((px(ox + x - 1), px(oy + y + h / 2)), labels[field], font=small, fill=0, anchor="rm")
        d.text((px(ox + x + 0.5), px(oy + y + h / 2)), t[field], font=value, fill=0, anchor="lm")
    d.text((px(ox + 81.5), px(oy + 6)), "生", font=small, fill=0, anchor="lm")
    d.text((px(ox + 51), px(oy + 22)), "まで有効", font=small, fill=0, anchor="lm")
    d.text((px(ox + 53), px(oy + 33)), "号", font=small, fill=0, anchor="lm")
    d.text((px(ox + 3), px(oy + 48)), "運転免許証", font=ImageFont.truetype(GOTHIC, px(4)), fill=0, anchor="lm")
    d.rectangle([px(ox + 62), px(oy + 18), px(ox + 83), px(oy + 44)], fill=185)  # the photograph
    return img


MYNUMBER_FACE = {"name": (10, 3, 52, 6), "address": (10, 11, 72, 6), "birth": (10, 19, 38, 6), "sex": (58, 19, 8, 6),
                 "expiry": (10, 27, 40, 6)}


def mynumber_face_truth(members, n, seed):
    """The face of the householder's card: 氏名, 住所 (a town of the city),
    生年月日 (和暦), 性別, and the card's 有効期限 (Western, as the card prints it)."""
    rnd = random.Random("mynumber-face:%d:%d" % (seed, n))
    head = next(r for r in members if r["続柄"] == "02")
    expiry = datetime.date(2027, 1, 1) + datetime.timedelta(days=rnd.randrange(0, 365 * 9))
    return {"name": head["氏名"], "address": rnd.choice(DESTINATIONS) + "%d番%d号" % (rnd.randrange(1, 30),
                                                                                     rnd.randrange(1, 20)),
            "birth": era(iso_of(head["生年月日"])), "birth.iso": iso_of(head["生年月日"]).isoformat(),
            "sex": SEX[head["性別"]], "expiry": "%d年%02d月%02d日" % (expiry.year, expiry.month, expiry.day),
            "expiry.iso": expiry.isoformat()}


def draw_mynumber_card_face(t, dpi):
    img, d, px, ox, oy = card_on_bed(dpi, 232)
    small = ImageFont.truetype(GOTHIC, px(2.4))
    value = ImageFont.truetype(MINCHO, px(3.6))
    labels = {"name": "氏名", "address": "住所", "sex": "性別"}
    for field, (x, y, w, h) in MYNUMBER_FACE.items():
        if field in labels:
            d.text((px(ox + x - 1), px(oy + y + h / 2)), labels[field], font=small, fill=0, anchor="rm")
        d.text((px(ox + x + 0.5), px(oy + y + h / 2)), t[field], font=value, fill=0, anchor="lm")
    d.text((px(ox + 49), px(oy + 22)), "生", font=small, fill=0, anchor="lm")
    d.text((px(ox + 51), px(oy + 30)), "まで有効", font=small, fill=0, anchor="lm")
    d.text((px(ox + 3), px(oy + 48)), "個人番号カード", font=ImageFont.truetype(GOTHIC, px(4)), fill=0, anchor="lm")
    d.rectangle([px(ox + 66), px(oy + 27), px(ox + 83), px(oy + 46)], fill=185)  # the photograph
    return img


MYNUMBER_BACK = {"number": (8, 8, 62, 9), "name": (20, 24, 48, 6), "birth": (20, 32, 40, 6)}


def mynumber_of(n, seed, bad):
    """A synthetic 個人番号: 11 random digits and their check digit."""
    rnd = random.Random("mynumber:%d:%d" % (seed, n))
    body = "%011d" % rnd.randrange(10 ** 11)
    weights = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    r = sum(int(d) * w for d, w in zip(body, weights)) % 11
    check = 0 if r <= 1 else 11 - r
    if bad:
        check = (check + 1) % 10
    return body + str(check)


def mynumber_truth(members, n, seed, bad):
    head = next(r for r in members if r["続柄"] == "02")
    return {"number": mynumber_of(n, seed, bad), "name": head["氏名"], "birth": era(iso_of(head["生年月日"])),
            "birth.iso": iso_of(head["生年月日"]).isoformat()}


def draw_mynumber_card_back(t, dpi):
    img, d, px, ox, oy = card_on_bed(dpi, 232)
    small = ImageFont.truetype(GOTHIC, px(2.4))
    d.text((px(ox + 3), px(oy + 5)), "個人番号", font=small, fill=0, anchor="lm")
    x, y, w, h = MYNUMBER_BACK["number"]
    number = t["number"]
    d.text((px(ox + x + 1), px(oy + y + h / 2)), " ".join([number[0:4], number[4:8], number[8:12]]),
           font=ImageFont.truetype(GOTHIC, px(5.5)), fill=0, anchor="lm")
    for field, label in (("name", "氏名"), ("birth", "生年月日")):
        x, y, w, h = MYNUMBER_BACK[field]
        d.text((px(ox + 3), px(oy + y + h / 2)), label, font=small, fill=0, anchor="lm")
        d.text((px(ox + x + 0.5), px(oy + y + h / 2)), t[field], font=ImageFont.truetype(MINCHO, px(3.6)), fill=0,
               anchor="lm")
    d.rectangle([px(ox + 70), px(oy + 36), px(ox + 82), px(oy + 50)], outline=100, width=max(1, px(0.3)))  # chip
    return img


DRAW = {"tenshutsu-a": draw_tenshutsu_a, "tenshutsu-b": draw_tenshutsu_b, "tenshutsu-c": draw_tenshutsu_c,
        "zairyu-card": draw_zairyu_card, "mynumber-card-back": draw_mynumber_card_back,
        "koseki-zenbu": draw_koseki_zenbu, "tenshutsu-kakunin": draw_tenshutsu_kakunin,
        "tokubetsu-card": lambda t, dpi: draw_zairyu_card(t, dpi, "特別永住者証明書"),
        "menkyo-card": draw_menkyo_card, "koseki-fuhyo": draw_koseki_fuhyo,
        "koseki-kojin": lambda t, dpi: draw_koseki_zenbu(t, dpi, "個人事項証明", KOJIN_FOOTER),
        "mynumber-card-face": draw_mynumber_card_face, "zairyu-card-back": draw_zairyu_card_back}
# Where the 世帯主 box is, for --stamp (mm).
HOUSEHOLDER = {"tenshutsu-a": TENSHUTSU_A["householder"], "tenshutsu-b": TENSHUTSU_B["householder"],
               "tenshutsu-c": TENSHUTSU_C["householder"]}


def stamp(img, form, dpi, mono):
    """A red 受付 seal (a ring with two characters) over the right end of the
    世帯主 box: the page becomes a colour scan; with mono, a grey one (a
    mono scanner renders red as mid grey, nothing can drop it)."""
    px = lambda mm: int(round(mm / 25.4 * dpi))  # noqa: E731
    x, y, w, h = HOUSEHOLDER[form]
    ink = 150 if mono else (200, 40, 40)
    base = img if mono else img.convert("RGB")
    layer = Image.new(base.mode, img.size, 255 if mono else (255, 255, 255))
    d = ImageDraw.Draw(layer)
    cx, cy, r = x + w - 12, y + h / 2, 9
    d.ellipse([px(cx - r), px(cy - r), px(cx + r), px(cy + r)], outline=ink, width=px(0.8))
    d.text((px(cx), px(cy)), "受付", font=ImageFont.truetype(GOTHIC, px(6)), fill=ink, anchor="mm")
    # The seal's ink and the printed black mix as a multiply.
    return ImageChops.multiply(base, layer)


def fold(img, dpi):
    """Shadows across the page where it was folded in three (a grey band
    fading out either side of each fold)."""
    px = lambda mm: int(round(mm / 25.4 * dpi))  # noqa: E731
    shade = Image.new(img.mode, img.size, 255 if img.mode == "L" else (255, 255, 255))
    d = ImageDraw.Draw(shade)
    for fy in (99, 198):
        for k in range(px(6)):
            v = 170 + int(85 * k / px(6))
            c = v if img.mode == "L" else (v, v, v)
            d.line([(0, px(fy) + k), (img.size[0], px(fy) + k)], fill=c)
            d.line([(0, px(fy) - k), (img.size[0], px(fy) - k)], fill=c)
    return ImageChops.multiply(img, shade)


def degrade(img, a, rnd):
    if a.rotate:
        img = img.rotate(a.rotate, resample=Image.BICUBIC, expand=False,
                         fillcolor=255 if img.mode == "L" else (255, 255, 255))
    if a.blur:
        img = img.filter(ImageFilter.GaussianBlur(a.blur))
    if a.noise:
        noise = Image.effect_noise(img.size, a.noise).convert(img.mode)
        img = Image.blend(img, noise, 0.15)
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resident", required=True)
    ap.add_argument("--form", choices=sorted(DRAW), default="tenshutsu-a")
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--start", type=int, default=0, help="skip this many households")
    ap.add_argument("--dpi", type=int, default=300)
    ap.add_argument("--rotate", type=float, default=0.0)
    ap.add_argument("--noise", type=float, default=0.0)
    ap.add_argument("--blur", type=float, default=0.0)
    ap.add_argument("--jpeg", type=int, default=0, help="JPEG quality (artefacts), 0: none")
    ap.add_argument("--format", choices=["png", "jpeg", "tiff"], default="png")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bad-number", action="store_true",
                    help="zairyu-card: a number that breaks the pattern; mynumber-card-back: a wrong check digit")
    ap.add_argument("--stamp", action="store_true", help="a red 受付 seal over the 世帯主 box (a colour scan)")
    ap.add_argument("--mono-stamp", action="store_true", help="the seal as a mono scanner renders red: grey")
    ap.add_argument("--fold", action="store_true", help="fold shadows across the page")
    ap.add_argument("--typo", action="store_true",
                    help="print the 転出先 with 本 as 木 (a slip the town list corrects), on a card the 国籍・地域 "
                         "ブラジル as プラジル (the list corrects it); the truth keeps the right one")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rnd = random.Random(a.seed)
    for n, members in enumerate(households(a.resident)[a.start:a.start + a.count]):
        if a.form == "zairyu-card":
            t = card_truth(a.start + n, a.seed, a.bad_number)
        elif a.form == "tokubetsu-card":
            # 特別永住者証明書: no 在留資格; the 国籍・地域 of the 特別永住者
            t = card_truth(a.start + n, a.seed, a.bad_number)
            del t["status"]
            t["nationality"] = random.Random("tokubetsu:%d" % (a.start + n)).choice(["韓国", "朝鮮", "台湾", "中国"])
        elif a.form == "zairyu-card-back":
            t = zairyu_back_truth(a.start + n, a.seed)
        elif a.form == "menkyo-card":
            t = menkyo_truth(members, a.start + n, a.seed)
        elif a.form == "koseki-zenbu":
            t = koseki_truth(members, a.start + n, a.seed)
        elif a.form == "koseki-kojin":
            # 一部事項証明 (個人事項証明): the one person asked for, the first of the 戸籍
            t = {k: v for k, v in koseki_truth(members, a.start + n, a.seed).items()
                 if not k.startswith(("person.2.", "person.3."))}
        elif a.form == "koseki-fuhyo":
            t = fuhyo_truth(members, a.start + n, a.seed)
        elif a.form == "mynumber-card-face":
            t = mynumber_face_truth(members, a.start + n, a.seed)
        elif a.form == "mynumber-card-back":
            t = mynumber_truth(members, a.start + n, a.seed, a.bad_number)
        else:
            t = truth_of(members, a.start + n, a.seed)
        if a.typo and a.form == "zairyu-card":
            # 国籍・地域 printed ブラジル as プラジル (the list puts it right); the truth keeps ブラジル
            t["nationality"] = "ブラジル"
            printed = dict(t, nationality="プラジル")
        elif a.typo:
            printed = dict(t, destination=t["destination"].replace("見本市", "見木市"))
        else:
            printed = t
        img = DRAW[a.form](printed, a.dpi)
        if (a.stamp or a.mono_stamp) and a.form in HOUSEHOLDER:  # cards carry no seal
            img = stamp(img, a.form, a.dpi, a.mono_stamp)
        if a.fold:
            img = fold(img, a.dpi)
        img = degrade(img, a, rnd)
        if a.jpeg:
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=a.jpeg)
            img = Image.open(io.BytesIO(buf.getvalue()))
        name = "%s-%03d.%s" % (a.form, a.start + n, {"png": "png", "jpeg": "jpg", "tiff": "tif"}[a.format])
        img.save(os.path.join(a.out, name), {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF"}[a.format],
                 dpi=(a.dpi, a.dpi))
        with open(os.path.join(a.out, name + ".truth.json"), "w", encoding="utf-8") as f:
            json.dump({"form": a.form, "dpi": a.dpi, "fields": t}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
