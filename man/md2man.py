#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turns docs/manifest.md into the manual page caravanserai-project(5), so that the reference has
one source.  It knows only what that page uses: headings, paragraphs, lists of table rows
(| a | b | c |), ```code``` blocks, `code`, **bold** and [text](link).
   md2man.py INPUT.md OUTPUT.5 NAME SECTION "ONE-LINE DESCRIPTION" """

import re
import sys


def esc(text):
    parts = re.split(r"(`[^`]+`)", text.replace("\\", "\\e"))
    for n, part in enumerate(parts):
        if part.startswith("`"):
            parts[n] = "\\fB" + part[1:-1].replace("-", "\\-") + "\\fR"
        else:
            part = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", part)
            parts[n] = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", part)
    text = "".join(parts)
    text = text.replace("—", "\\(em").replace("→", "\\(->").replace("≥", "\\(>=").replace("…", "...")
    text = text.replace("–", "\\(en")
    return text


def line(text):
    """A roff text line: no leading dot or quote."""
    text = esc(text)
    return "\\&" + text if text[:1] in (".", "'") else text


def cells(row):
    row = row.strip().strip("|")
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row)]


def convert(md, name, section, description):
    out = ['.\\" Generated from docs/manifest.md by man/md2man.py: edit that page instead.',
           f'.TH {name.upper()} {section} "" "Caravanserai" "Caravanserai"',
           ".SH NAME", f"{name} \\- {description}"]
    lines = md.splitlines()
    i = 0
    header = None
    while i < len(lines):
        l = lines[i]
        if l.startswith("```"):
            i += 1
            out += [".PP", ".nf", ".RS 4"]
            while i < len(lines) and not lines[i].startswith("```"):
                out.append("\\&" + lines[i].replace("\\", "\\e"))
                i += 1
            out += [".RE", ".fi"]
        elif l.startswith("# "):
            pass  # the title: NAME says it
        elif l.startswith("## "):
            out.append(".SH " + esc(l[3:]).upper().replace("\\FB", "\\fB").replace("\\FR", "\\fR"))
        elif l.startswith("### "):
            out.append(".SS " + esc(l[4:]))
        elif l.startswith("|"):
            row = cells(l)
            if i + 1 < len(lines) and re.match(r"^\|[-| ]+\|$", lines[i + 1]):
                header = row
                i += 1
            else:
                out += [".TP", line(row[0])]
                rest = [(h, c) for h, c in zip(header[1:], row[1:]) if c and c != "—"]
                out.append(line("; ".join((c if h in ("type", "meaning") else f"{h}: {c}") for h, c in rest)))
        elif l.strip() == "":
            header = None if not (i + 1 < len(lines) and lines[i + 1].startswith("|")) else header
        else:
            para = [l]
            while i + 1 < len(lines) and lines[i + 1].strip() and not lines[i + 1].startswith(("|", "#", "```")):
                i += 1
                para.append(lines[i])
            out += [".PP"] + [line(p) for p in para]
        i += 1
    return "\n".join(out) + "\n"


def main():
    src, dst, name, section, description = sys.argv[1:6]
    with open(src, encoding="utf-8") as f:
        md = f.read()
    with open(dst, "w", encoding="utf-8") as f:
        f.write(convert(md, name, section, description))


if __name__ == "__main__":
    main()
