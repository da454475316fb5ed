#!/usr/bin/env python3
"""Checks that every relative link in README.md and docs/**/*.md resolves: the file or
directory exists and, for a `#anchor` into a Markdown file, a heading of that file has that
GitHub anchor. Also that every repository path written in backticks (`engine/src/cli.rs`,
`sandbox/tests/it/`, `vm/tests/it/fork.rs::name`; not patterns with `{`, `*`, `<` or `…`)
exists. Prints one line per broken link or path; exits 1 if there is any."""
import glob
import os
import re
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
os.chdir(root)
pages = ["README.md"] + sorted(glob.glob("docs/**/*.md", recursive=True))
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def slug(heading):
    # GitHub: lower-case, drop punctuation but keep '-' and '_', spaces become '-'.
    text = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower())
    return text.replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    for line in FENCE.sub("", open(path, encoding="utf-8").read()).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            s = slug(m.group(1))
            n = seen.get(s, 0)
            seen[s] = n + 1
            out.add(s if n == 0 else f"{s}-{n}")
    return out


broken = 0
for page in pages:
    text = FENCE.sub("", open(page, encoding="utf-8").read())
    for m in re.finditer(r"\]\(([^)\s]+)\)", text):
        link = m.group(1)
        if re.match(r"^[a-zA-Z][a-zA-Z+.-]*:", link):
            continue  # http:, https:, mailto:
        path, _, anchor = link.partition("#")
        target = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        if not os.path.exists(target):
            print(f"doc-links: {page}: {link}: no such file")
            broken = 1
        elif anchor and target.endswith(".md") and anchor not in anchors(target):
            print(f"doc-links: {page}: {link}: no heading with that anchor")
            broken = 1
    for m in re.finditer(r"`((?:engine|http|sandbox|vm|alloc|bench|fuzz|docs|\.ci)/[^`\s]*)`", text):
        path = m.group(1).split("::")[0].rstrip("/")
        if any(c in path for c in "{*<…"):
            continue
        if not os.path.exists(path):
            print(f"doc-links: {page}: `{m.group(1)}`: no such path in the repository")
            broken = 1
sys.exit(broken)
