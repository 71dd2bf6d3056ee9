#!/usr/bin/env python3
"""Plugins see the SDK and the support library only.

Reads the build's compile_commands.json and fails when a translation unit of
a plugin (plugins/, connectors/) is compiled with an include path into the
host's sources (core/src) or the support library's internals
(core/support/src). Because the plugins compiled with exactly those paths, a
plugin that included a host header would not have built: this check keeps
anyone from adding the path back.

Also checks that no plugin module carries a copy of the shared libraries'
code: no strong symbol a plugin defines is also defined by
librenkei_support or librenkei_connectors (inline and template code is weak
and may appear in both).
"""
import json
import os
import shlex
import subprocess
import sys

build, source = sys.argv[1], os.path.realpath(sys.argv[2])
forbidden = [os.path.join(source, "core", "src"), os.path.join(source, "core", "support", "src")]
plugin_roots = [os.path.join(source, "plugins"), os.path.join(source, "connectors"),
                os.path.join(source, "docs", "examples")]

with open(os.path.join(build, "compile_commands.json"), encoding="utf-8") as f:
    commands = json.load(f)

problems, checked = [], 0
for entry in commands:
    path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
    if not any(path.startswith(root + os.sep) for root in plugin_roots):
        continue
    # The plugins' window-system clients (tools/) are programs, not plugins;
    # they see the SDK too, so they are checked the same way.
    checked += 1
    args = entry.get("arguments") or shlex.split(entry["command"])
    includes = []
    for i, a in enumerate(args):
        if a in ("-I", "-isystem", "-iquote") and i + 1 < len(args):
            includes.append(args[i + 1])
        elif a.startswith("-I"):
            includes.append(a[2:])
        elif a.startswith("-isystem") and len(a) > 8:
            includes.append(a[8:])
    for inc in includes:
        real = os.path.realpath(os.path.join(entry["directory"], inc))
        for bad in forbidden:
            if real == bad or real.startswith(bad + os.sep):
                problems.append(f"{os.path.relpath(path, source)}: compiled with -I{os.path.relpath(real, source)}")

if checked == 0:
    problems.append("no plugin sources in compile_commands.json (is CMAKE_EXPORT_COMPILE_COMMANDS on?)")

def strong_symbols(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    symbols = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBR":
            symbols.add(parts[2])
    return symbols


lib_dir = os.path.join(build, "lib")
shared = set()
for lib in ("librenkei_support.so", "librenkei_connectors.so"):
    path = os.path.join(lib_dir, lib)
    if not os.path.exists(path):
        problems.append(f"{lib}: not built")
        continue
    shared |= strong_symbols(path)

plugin_dir = os.path.join(build, "bin", "plugins")
modules = sorted(p for p in os.listdir(plugin_dir) if p.endswith(".so")) if os.path.isdir(plugin_dir) else []
for module in modules:
    copied = strong_symbols(os.path.join(plugin_dir, module)) & shared
    if copied:
        problems.append(f"{module}: carries {len(copied)} symbols of the shared libraries, e.g. {sorted(copied)[0]}")

for p in problems:
    print(p)
print(f"{checked} plugin sources and {len(modules)} plugin modules checked, {len(problems)} problems")
sys.exit(1 if problems else 0)
