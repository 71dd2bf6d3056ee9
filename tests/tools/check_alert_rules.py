#!/usr/bin/python3
"""The shipped Prometheus alert rules (docs/examples/prometheus-alerts.yml)
name only metrics renkei exports: every renkei_* name in an expression must
be a metric the sources register (a string literal "renkei_…" in core/,
connectors/ or plugins/). Also checks each rule has an alert name, an
expression, a severity and a summary.
    check_alert_rules.py SOURCE_DIR
"""
import os
import re
import sys

import yaml

source = sys.argv[1]
rules = yaml.safe_load(open(os.path.join(source, "docs/examples/prometheus-alerts.yml"), encoding="utf-8"))
exported = set()
for top in ("core", "connectors", "plugins"):
    for folder, _, files in os.walk(os.path.join(source, top)):
        for name in files:
            if name.endswith((".cpp", ".h")):
                text = open(os.path.join(folder, name), encoding="utf-8", errors="replace").read()
                exported.update(re.findall(r'"(renkei_[a-z_]+)"', text))
problems, count = [], 0
for group in rules["groups"]:
    for rule in group["rules"]:
        count += 1
        for key in ("alert", "expr"):
            if key not in rule:
                problems.append("a rule without %s" % key)
        if "severity" not in rule.get("labels", {}) or "summary" not in rule.get("annotations", {}):
            problems.append("%s: no severity or summary" % rule.get("alert"))
        for metric in re.findall(r"\brenkei_[a-z_]+", rule.get("expr", "")):
            if metric not in exported:
                problems.append("%s: %s is not a metric renkei exports" % (rule["alert"], metric))
for p in problems:
    print("FAILED: " + p)
print("%d rules, %d problems" % (count, len(problems)))
sys.exit(1 if problems else 0)
