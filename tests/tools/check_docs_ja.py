#!/usr/bin/env python3
"""The operator documentation in Japanese kept in step with the English.

Every page docs/<name>.md has its Japanese page docs/ja/<name>.md, and both
name the same config keys, elements, record types, metrics, options and
commands: the identifier-like inline code spans of the two pages (`renkei
status`, `<backup>`, `max-age`, `--dry-run`, `renkei_problem` …) are the
same set. Prose is translated; what an operator types or greps for is not.

Pages still being translated are listed in PENDING with what is missing, and
the check fails for any other page without its translation.

  check_docs_ja.py SOURCE_DIR
"""
import os
import re
import sys

# English pages whose Japanese page is not written yet (the list only shrinks).
PENDING = {
}

IDENTIFIER = re.compile(r"^(?:</?[a-z][a-z0-9_.:-]*/?>|--[a-z][a-z0-9-]*|[a-z][a-z0-9_.:-]*[a-z0-9_])$")
COMMAND = re.compile(r"^renkei ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?")
ACTIONS = {"list", "show", "resubmit", "verify", "export", "anchor", "keygen", "make", "inspect", "user", "now",
           "pending", "approve", "reject", "held", "release", "report"}


def names(path):
    """The identifier-like inline code spans of a Markdown page (fenced blocks skipped)."""
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"^[ \t]*```.*?^[ \t]*```", "", text, flags=re.S | re.M)
    out = set()
    for span in re.findall(r"`([^`]+)`", text):
        span = " ".join(span.split())  # a span may be wrapped across lines
        m = COMMAND.match(span)
        if m:
            out.add("renkei " + m.group(1) + (" " + m.group(2) if m.group(2) in ACTIONS else ""))
        elif IDENTIFIER.match(span):
            out.add(span)
    return out


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else "."
    docs = os.path.join(source, "docs")
    failures = []
    checked = 0
    for name in sorted(f for f in os.listdir(docs) if f.endswith(".md")):
        ja = os.path.join(docs, "ja", name)
        if not os.path.exists(ja):
            if name in PENDING:
                print("pending: docs/ja/%s (%s)" % (name, PENDING[name]))
            else:
                failures.append("docs/%s has no Japanese page docs/ja/%s" % (name, name))
            continue
        if name in PENDING:
            failures.append("docs/ja/%s exists: take it off PENDING" % name)
        en_names, ja_names = names(os.path.join(docs, name)), names(ja)
        missing, extra = sorted(en_names - ja_names), sorted(ja_names - en_names)
        if missing:
            failures.append("docs/ja/%s does not name what docs/%s names: %s" % (name, name, ", ".join(missing)))
        if extra:
            failures.append("docs/%s does not name what docs/ja/%s names: %s" % (name, name, ", ".join(extra)))
        checked += 1
        print("ok: docs/%s and docs/ja/%s name the same %d keys, elements and commands" % (name, name, len(en_names))
              if not missing and not extra else "differs: docs/%s" % name)
    for ja in sorted(os.listdir(os.path.join(docs, "ja"))):
        if ja.endswith(".md") and not os.path.exists(os.path.join(docs, ja)):
            failures.append("docs/ja/%s has no English page docs/%s" % (ja, ja))
    for f in failures:
        print("FAILED: " + f)
    print("%d pages in step, %d pending" % (checked, len(PENDING)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
