#!/usr/bin/env python3
"""The GUI's shape rules (issue #16), checked on the sources by ctest `core.shape`:

  - widgets/src/main_window.cpp has at most 500 lines: the window is wiring;
  - no function (or lambda-holding function) under session/, render/ or widgets/ is
    longer than 80 lines;
  - QtConcurrent::run appears only in the job runner (session/.../job_runner.h): every
    off-thread task goes through it;
  - nothing under widgets/ reads files itself (QFile, std::ifstream, readFile): files are
    read by the session layer, in jobs.

Usage: check_shape.py <checkout>. Prints every violation and exits 1 if there is any.
"""
import pathlib
import re
import sys

MAX_MAIN_WINDOW_LINES = 500
MAX_FUNCTION_LINES = 80
GUI_FOLDERS = ("session", "render", "widgets")
JOB_RUNNER = "session/include/pretext/session/job_runner.h"
FILE_READS = re.compile(r"\bQFile\b|\bstd::ifstream\b|\bifstream\b|\breadFile\s*\(")
CONTROL = re.compile(r"^\s*(if|for|while|switch|catch|do|else|return)\b")


def strip_comments_and_strings(text):
    """The source with comments, string and character literals blanked (lines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + (m.group(1) if m else "") + '"', i)
            end = n if end < 0 else end + len(m.group(1) if m else "") + 2
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(text):
    """(name, first line, line count) of every function body at namespace or class scope."""
    code = strip_comments_and_strings(text)
    found = []
    scopes = []  # for each open brace: "scope" (namespace, class, enum, extern) or "other"
    statement = ""
    line = 1
    body_start = None  # (depth, line, name) of the function being read
    for c in code:
        if c == "\n":
            line += 1
        if c == "{":
            head = " ".join(statement.split())
            in_scope = all(s == "scope" for s in scopes)
            if in_scope and re.search(r"\b(namespace|class|struct|union|enum)\b[^()]*$", head):
                scopes.append("scope")
            elif in_scope and head.startswith("extern"):
                scopes.append("scope")
            elif in_scope and "(" in head and not CONTROL.match(head) and "=" not in head.split("(")[0]:
                name = head.split("(")[0].split()[-1] if head.split("(")[0].split() else "?"
                body_start = (len(scopes), line, name)
                scopes.append("other")
            else:
                scopes.append("other")
            statement = ""
        elif c == "}":
            if scopes:
                scopes.pop()
            if body_start and len(scopes) == body_start[0]:
                found.append((body_start[2], body_start[1], line - body_start[1] + 1))
                body_start = None
            statement = ""
        elif c == ";":
            statement = ""
        else:
            statement += c
    return found


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = []
    main_window = root / "widgets/src/main_window.cpp"
    lines = main_window.read_text().count("\n")
    if lines > MAX_MAIN_WINDOW_LINES:
        problems.append(f"widgets/src/main_window.cpp: {lines} lines (at most {MAX_MAIN_WINDOW_LINES})")
    longest = (0, "")
    for folder in GUI_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".h", ".cpp"):
                continue
            rel = path.relative_to(root).as_posix()
            text = path.read_text()
            for name, first, count in functions(text):
                if count > longest[0]:
                    longest = (count, f"{rel}:{first} {name}")
                if count > MAX_FUNCTION_LINES:
                    problems.append(f"{rel}:{first}: {name} is {count} lines (at most {MAX_FUNCTION_LINES})")
            code = strip_comments_and_strings(text)
            if "QtConcurrent::run" in code and rel != JOB_RUNNER:
                problems.append(f"{rel}: QtConcurrent::run outside the job runner ({JOB_RUNNER})")
            if folder == "widgets":
                for i, src in enumerate(code.splitlines(), 1):
                    if FILE_READS.search(src):
                        problems.append(f"{rel}:{i}: reads a file in a widget: {src.strip()}")
    for p in problems:
        print(p)
    print(f"main_window.cpp: {lines} lines; longest GUI function: {longest[0]} lines ({longest[1]})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
