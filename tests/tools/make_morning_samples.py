#!/usr/bin/env python3
"""The demo's morning at the window (2026-12-03), on the people of the
samples made by make_demo_samples.py:

  * overnight the welfare systems export their programs
    (config/samples/welfare/: 国民健康保険 被保険者, 児童手当 受給者, made by
    gen_welfare.py from the full extract);
  * in the morning the resident system's differential
    (config/samples/morning/JUMIN_20261203_DIFF.csv) says:
      - a 国保 member living alone moves to another city (転出);
      - a 児童手当 recipient's household moves to another city (転出, every member);
      - a baby is born into a household whose householder receives 児童手当 (出生).

The family registry too: every resident's 戸籍 as of the 2026-11-01 register
(config/samples/koseki/KOSEKI_20261101_FULL.csv, gen_koseki.py) and the
morning's 戸籍 side (config/samples/morning/KOSEKI_20261203_DIFF.csv): the
baby's 出生, which the 戸籍 system exports before the resident system does.

None of them changed in the 2026-11-02 differential. Prints the three
households (the demo asks the CRM for their related procedures).

Usage: make_morning_samples.py   (idempotent; run after make_demo_samples.py)
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_demo_samples as d  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "../../config/samples")
DAY = "5081203"   # 令和8年12月3日
BIRTH = "5081201"


def main():
    header, full = d.read(os.path.join(SAMPLES, "jumin/JUMIN_20261101_FULL.csv"))
    _, before = d.read(os.path.join(SAMPLES, "jumin/JUMIN_20261102_DIFF.csv"))
    touched = {r[d.COL["世帯番号"]] for r in before} | {r[d.COL["住民票コード"]] for r in before}
    hh = {no: m for no, m in d.households(full).items()
          if no not in touched and not any(r[d.COL["住民票コード"]] in touched for r in m) and all(d.valid(r) for r in m)}
    morning = []

    # 転出 of a 国保 member living alone (born in 昭和, an adult).
    alone = sorted((m[0] for m in hh.values() if len(m) == 1 and m[0][d.COL["生年月日"]][:1] == "3"),
                   key=lambda r: r[d.COL["住民票コード"]])
    kokuho = alone[0]
    r = d.changed(kokuho, "06", DAY)
    r[d.COL["住民状態"]] = "2"
    morning.append(r)

    # 転出 of a household with children: its householder receives 児童手当.
    def with_child(m):
        return (len(m) >= 3 and m[0][d.COL["続柄"]] == "02" and
                any(x[d.COL["続柄"]] == "05" and x[d.COL["生年月日"]][:1] in "45" for x in m))
    families = [no for no in sorted(hh) if with_child(hh[no])]
    moving, born_into = hh[families[0]], hh[families[1]]
    for m in moving:
        r = d.changed(m, "06", DAY)
        r[d.COL["住民状態"]] = "2"
        morning.append(r)

    # 出生 into another such household (its householder receives 児童手当 too).
    head = born_into[0]
    r = d.changed(head, "02", BIRTH)
    surname = head[d.COL["氏名"]].split("\u3000")[0]
    kana = head[d.COL["氏名カナ"]].split("\u3000")[0]
    first11 = "%011d" % 98765432101
    r[d.COL["住民票コード"]] = "%011d" % 99000000017
    r[d.COL["個人番号"]] = first11 + str(d.g.mynumber_check_digit(first11))
    r[d.COL["氏名"]] = surname + "\u3000" + "蒼"
    r[d.COL["氏名カナ"]] = kana + "\u3000" + "アオイ"
    r[d.COL["氏名カナ半角"]] = d.g.to_halfwidth_kana(r[d.COL["氏名カナ"]])
    r[d.COL["旧氏"]] = ""
    r[d.COL["生年月日"]] = r[d.COL["住民となった日"]] = r[d.COL["住定日"]] = BIRTH
    r[d.COL["性別"]] = "1"
    r[d.COL["続柄"]] = "05"
    r[d.COL["電話番号"]] = ""
    r[d.COL["備考"]] = ""
    morning.append(r)
    assert all(d.valid(x) for x in morning)

    os.makedirs(os.path.join(SAMPLES, "morning"), exist_ok=True)
    d.write_csv(os.path.join(SAMPLES, "morning/JUMIN_20261203_DIFF.csv"), header, morning)
    os.makedirs(os.path.join(SAMPLES, "welfare"), exist_ok=True)
    gen = [sys.executable, os.path.join(HERE, "gen_welfare.py"), "--resident",
           os.path.join(SAMPLES, "jumin/JUMIN_20261101_FULL.csv"), "--date", "20261202"]
    subprocess.run(gen + ["--program", "kokuho", "--share", "0.3", "--include", kokuho[d.COL["住民票コード"]],
                          "--out", os.path.join(SAMPLES, "welfare/KOKUHO_20261202_FULL.csv")], check=True)
    subprocess.run(gen + ["--program", "jidou-teate", "--share", "0.15", "--include",
                          moving[0][d.COL["住民票コード"]] + "," + head[d.COL["住民票コード"]],
                          "--out", os.path.join(SAMPLES, "welfare/JIDOU_20261202_FULL.csv")], check=True)
    os.makedirs(os.path.join(SAMPLES, "koseki"), exist_ok=True)
    koseki = [sys.executable, os.path.join(HERE, "gen_koseki.py"), "--share", "1", "--resident",
              os.path.join(SAMPLES, "jumin/JUMIN_20261101_FULL.csv")]
    subprocess.run(koseki + ["--date", "20261101", "--out", os.path.join(SAMPLES, "koseki/KOSEKI_20261101_FULL.csv")],
                   check=True)
    subprocess.run(koseki + ["--date", "20261203", "--diff", os.path.join(SAMPLES, "morning/JUMIN_20261203_DIFF.csv"),
                             "--out", os.path.join(SAMPLES, "morning/KOSEKI_20261203_DIFF.csv")], check=True)
    print(" ".join([kokuho[d.COL["世帯番号"]], moving[0][d.COL["世帯番号"]], head[d.COL["世帯番号"]]]))


if __name__ == "__main__":
    main()
