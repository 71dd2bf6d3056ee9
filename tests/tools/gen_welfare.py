#!/usr/bin/env python3
"""Synthetic welfare exports that agree with a resident export: the same
people (by 住民票コード), a share of them in the program, as the core system
would write the file — CP932 CSV with a header record (区分 1, 市町村コード,
作成年月日), one data record per person and a trailer (区分 9, 合計件数).

    gen_welfare.py --resident JUMIN_FULL.csv --program kokuho --out KOKUHO_FULL.csv
                   [--share 0.3] [--ended 0.0] [--only N] [--count N] [--seed 7]

--ended: the share of the program's people written with a 資格喪失日 (left it);
--only: write only the first N people (a cut-off export; the trailer counts
what is written unless --count says otherwise: a trailer that disagrees).
Every value is made up; 宛名番号 is 'A' + the 住民票コード's last 9 digits.
"""
import argparse
import csv
import hashlib
import io


def pick(code, seed, share):
    h = int(hashlib.sha256(("%d:%s" % (seed, code)).encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < share


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resident", required=True)
    ap.add_argument("--program", choices=["kokuho", "jidou-teate", "kaigo", "kouki", "inkan", "fukushi-iryo",
                                          "mynumber-card"], default="kokuho")
    ap.add_argument("--include", default="", help="住民票コード always in the program, separated by commas")
    ap.add_argument("--out", required=True)
    ap.add_argument("--share", type=float, default=0.3)
    ap.add_argument("--ended", type=float, default=0.0)
    ap.add_argument("--only", type=int, default=None)
    ap.add_argument("--count", type=int, default=None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--date", default="20261201")
    a = ap.parse_args()
    with open(a.resident, encoding="cp932", newline="") as f:
        rows = list(csv.DictReader(f))
    include = set(filter(None, a.include.split(",")))
    people = [r for r in rows if r["削除フラグ"] != "1" and
              (r["住民票コード"] in include or
               (pick(r["住民票コード"], a.seed, a.share) and (a.program != "jidou-teate" or r["続柄"] == "02")))]
    if a.only is not None:
        people = people[:a.only]
    out = io.StringIO()
    w = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    w.writerow(["1", "999999", a.date])
    for n, r in enumerate(people):
        code = r["住民票コード"]
        ended = pick(code, a.seed + 1, a.ended) and code not in include
        if a.program == "kokuho":
            w.writerow(["A" + code[-9:], code, "%08d" % (1000 + n // 3), "%02d" % (n % 3 + 1),
                        "1" if r["続柄"] == "02" else "0", "20%02d%02d01" % (10 + n % 15, n % 12 + 1),
                        a.date if ended else "", "1" if ended else "", str(50000 + (n * 7919) % 400000)])
        elif a.program == "jidou-teate":  # 受給者番号, 対象児童数, 認定日, 支給状態, 支給月額
            w.writerow(["A" + code[-9:], code, "J%07d" % (n + 1), str(1 + n % 3), "20%02d%02d15" % (12 + n % 12, n % 12 + 1),
                        "2" if ended else "1", str(10000 * (1 + n % 3))])
        elif a.program == "kaigo":  # 被保険者番号, 区分, 要介護状態区分, 認定有効期間, 住所地特例, 資格取得日, 資格喪失日
            level = ["01", "12", "21", "23", "25"][n % 5]  # 01: not certified
            w.writerow(["A" + code[-9:], code, "K%09d" % (n + 1), "1" if n % 4 else "2", level,
                        "" if level == "01" else "20260401", "" if level == "01" else "2027%02d31" % (1 + n % 2 * 2),
                        "1" if n % 17 == 0 else "0", "20%02d0401" % (10 + n % 15), a.date if ended else ""])
        elif a.program == "kouki":  # 被保険者番号, 広域連合コード, 負担区分, 資格取得日, 資格喪失日
            w.writerow(["A" + code[-9:], code, "%08d" % (n + 1), "39%04d" % (1 + n % 3), ["1", "2", "3"][n % 3],
                        "20%02d0401" % (10 + n % 15), a.date if ended else ""])
        elif a.program == "inkan":  # 登録番号, 登録日, 登録状態
            w.writerow(["A" + code[-9:], code, "I%07d" % (n + 1), "20%02d%02d01" % (5 + n % 20, 1 + n % 12),
                        "2" if ended else "1"])
        elif a.program == "fukushi-iryo":  # 受給者証番号, 制度区分, 資格開始日, 資格有効期限, 資格終了日
            w.writerow(["A" + code[-9:], code, "F%07d" % (n + 1), ["kodomo", "hitorioya", "juudo"][n % 3], "20250401",
                        "20270331", a.date if ended else ""])
        else:  # mynumber-card: 交付状態, 交付日, 有効期限, 署名用電子証明書有効期限, 一時停止
            w.writerow(["A" + code[-9:], code, "3" if ended else "1", "20%02d%02d10" % (16 + n % 9, 1 + n % 12),
                        "20%02d%02d10" % (26 + n % 9, 1 + n % 12), "20%02d%02d10" % (21 + n % 9, 1 + n % 12),
                        "1" if n % 23 == 0 else "0"])
    w.writerow(["9", str(a.count if a.count is not None else len(people))])
    with open(a.out, "w", encoding="cp932", newline="") as f:
        f.write(out.getvalue())


if __name__ == "__main__":
    main()
