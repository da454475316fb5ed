#!/usr/bin/env python3
"""Checks that the tests and functions README.md and docs/**/*.md name exist in the sources:
every `path::name` or `file.rs::name` (name in lower snake case) names an identifier of some
tracked .rs file (test functions, and libtest-mimic trial names, which are strings), and every
"`file.rs` `name`" pair names an identifier of a file with that name. Prints one line per name
not found; exits 1 if there is any. A name that is not meant to exist on main (an experiment
on another branch) is written without its path."""
import glob
import os
import re
import subprocess
import sys

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sources = subprocess.run(
    ["git", "ls-files", "-co", "--exclude-standard", "--", "*.rs"],
    capture_output=True, text=True, check=True,
).stdout.split()
words_of = {}
for path in sources:
    if "/target/" in path or path.startswith("target/") or not os.path.isfile(path):
        continue
    words_of[path] = set(re.findall(r"\w+", open(path, encoding="utf-8", errors="replace").read()))
every_word = set().union(*words_of.values())

pages = ["README.md"] + sorted(glob.glob("docs/**/*.md", recursive=True))
missing = 0
for page in pages:
    text = open(page, encoding="utf-8").read()
    for m in re.finditer(r"`((?:[A-Za-z_][\w.]*::)+)([a-z][a-z0-9_]*)`", text):
        if m.group(2) not in every_word:
            print(f"doc-names: {page}: `{m.group(1)}{m.group(2)}`: no such name in the sources")
            missing = 1
    for m in re.finditer(r"`([\w./-]+\.rs)`,? `([a-z][a-z0-9_]*)(?:…)?`", text):
        file, name = m.group(1), m.group(2)
        files = [p for p in words_of if p == file or p.endswith("/" + file)]
        if not any(name in words_of[p] or any(w.startswith(name) for w in words_of[p]) for p in files):
            print(f"doc-names: {page}: `{file}` `{name}`: not in any {file}")
            missing = 1
    for m in re.finditer(r"\[([^\]]*`[^\]]*)\]\(([^)#\s]+\.rs)(?:#[^)]*)?\)", text):
        target = os.path.normpath(os.path.join(os.path.dirname(page), m.group(2)))
        for name in re.findall(r"`(?:[\w.]+::)*([a-z][a-z0-9]*_[a-z0-9_]+)`", m.group(1)):
            if target in words_of and name not in words_of[target]:
                print(f"doc-names: {page}: `{name}`: not in the linked {m.group(2)}")
                missing = 1
sys.exit(missing)
