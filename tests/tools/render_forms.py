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
  tenshutsu-a   転出証明書, the household across: 従前の住所, 世帯主, 転出先,
                転出予定年月日, then a table of up to four members (氏名,
                生年月日, 性別, 続柄, 住民票コード)

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

from PIL import Image, ImageDraw, ImageFilter, ImageFont

GOTHIC = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"
MINCHO = "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"
PAGE = (210.0, 297.0)  # A4, mm
MARKS = [(10, 10), (195, 10), (10, 282), (195, 282)]  # top-left corners, 5 mm squares
ISSUER = "架空県見本市長"
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


def draw_tenshutsu_a(t, dpi):
    px = lambda mm: int(round(mm / 25.4 * dpi))  # noqa: E731
    img = Image.new("L", (px(PAGE[0]), px(PAGE[1])), 255)
    d = ImageDraw.Draw(img)
    title = ImageFont.truetype(MINCHO, px(9))
    label = ImageFont.truetype(GOTHIC, px(3.2))
    value = ImageFont.truetype(MINCHO, px(4.2))
    for x, y in MARKS:
        d.rectangle([px(x), px(y), px(x + 5), px(y + 5)], fill=0)
    d.text((px(105), px(30)), "転出証明書", font=title, fill=0, anchor="mm")
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
    d.text((px(120), px(215)), ISSUER, font=value, fill=0, anchor="lm")
    return img


def degrade(img, a, rnd):
    if a.rotate:
        img = img.rotate(a.rotate, resample=Image.BICUBIC, expand=False, fillcolor=255)
    if a.blur:
        img = img.filter(ImageFilter.GaussianBlur(a.blur))
    if a.noise:
        noise = Image.effect_noise(img.size, a.noise)
        img = Image.blend(img, noise, 0.15)
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resident", required=True)
    ap.add_argument("--form", choices=["tenshutsu-a"], default="tenshutsu-a")
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
    ap.add_argument("--typo", action="store_true",
                    help="print the 転出先 with 本 as 木 (a slip the town list corrects); the truth keeps 本")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rnd = random.Random(a.seed)
    for n, members in enumerate(households(a.resident)[a.start:a.start + a.count]):
        t = truth_of(members, a.start + n, a.seed)
        printed = dict(t, destination=t["destination"].replace("見本市", "見木市")) if a.typo else t
        img = degrade(draw_tenshutsu_a(printed, a.dpi), a, rnd)
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
