#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The store is sealed: only src/server/store*.c (through store-private.h) and pg-private.c
include libpq, so controllers, the watch hub and the API reach PostgreSQL only through store.h."""

import os
import re
import sys

ALLOWED = {"src/server/store-private.h", "src/server/pg-private.c"}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]libpq-fe\.h[">]', re.M)
PRIVATE = re.compile(r'^\s*#\s*include\s*"store-private\.h"', re.M)


def main():
    top = os.environ.get("CARA_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
    bad = []
    for d, _, files in os.walk(os.path.join(top, "src")):
        for f in files:
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(d, f)
            rel = os.path.relpath(path, top)
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            if INCLUDE.search(text) and rel not in ALLOWED:
                bad.append("%s includes libpq-fe.h" % rel)
            if PRIVATE.search(text) and not re.match(r"src/server/store[^/]*\.[ch]$", rel):
                bad.append("%s includes store-private.h (only store*.c may)" % rel)
    for b in bad:
        print("FAIL: " + b)
    if bad:
        return 1
    print("ok: libpq is used only by the store and pg-private.c")
    return 0


if __name__ == "__main__":
    sys.exit(main())
