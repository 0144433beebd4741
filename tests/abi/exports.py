#!/usr/bin/env python3
"""The shared library exports exactly the functions include/preflight.h
declares, each marked PF_EXTERN, and nothing internal (pf__*).

usage: exports.py LIBPREFLIGHT.so include/preflight.h

The header is parsed, not trusted: comments, preprocessor lines, the
extern "C" guard and every {...} body (structs, enums, static inline
functions) are removed, and what is left is split into declarations at ';'.
A declaration that is not a typedef and names pf_x( declares the function
pf_x. Then `nm -D --defined-only` is compared with that list.
"""
import re
import subprocess
import sys


def header_functions(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    # The C++ guard's braces are not a body.
    text = re.sub(r'#ifdef __cplusplus.*?#endif', " ", text, flags=re.S)
    out, macro = [], False
    for line in text.split("\n"):
        if macro or line.lstrip().startswith("#"):
            macro = line.rstrip().endswith("\\")
            continue
        out.append(line)
    text = "\n".join(out)
    # Remove brace bodies, innermost first; each ends a declaration.
    prev = None
    while prev != text:
        prev = text
        text = re.sub(r"\{[^{}]*\}", ";", text)
    declared, unmarked, inline = {}, [], set()
    for decl in text.split(";"):
        decl = " ".join(decl.split())
        if not decl or decl.startswith("typedef"):
            continue
        m = re.search(r"\b(pf_\w+)\s*\(", decl)
        if not m:
            continue
        name = m.group(1)
        if "static" in decl.split() and "inline" in decl.split():
            inline.add(name)      # compiled into the caller, not exported
            continue
        declared[name] = decl
        if not decl.startswith("PF_EXTERN "):
            unmarked.append(name)
    return declared, unmarked, inline


def exported(lib):
    nm = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                        capture_output=True, text=True).stdout
    syms = set()
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            syms.add(parts[2].split("@")[0])
    return syms


def main():
    lib, header = sys.argv[1], sys.argv[2]
    declared, unmarked, inline = header_functions(header)
    syms = exported(lib)
    problems = []
    if len(declared) < 50:
        problems.append(f"only {len(declared)} functions parsed from {header}: "
                        "the parser is broken")
    for name in sorted(unmarked):
        problems.append(f"{name} is declared in preflight.h without PF_EXTERN")
    for name in sorted(set(declared) - syms):
        if name not in unmarked:
            problems.append(f"{name} is declared PF_EXTERN in preflight.h but "
                            f"{lib} does not export it (not defined?)")
        else:
            problems.append(f"{name} is not exported: add PF_EXTERN to its "
                            "declaration in preflight.h")
    for name in sorted(s for s in syms if s.startswith("pf__")):
        problems.append(f"internal symbol {name} is exported")
    for name in sorted(s for s in syms if s.startswith("pf_") and not s.startswith("pf__")
                       and s not in declared):
        problems.append(f"{name} is exported but not declared in preflight.h")
    for name in sorted(inline & syms):
        problems.append(f"{name} is static inline in preflight.h yet exported")
    others = sorted(s for s in syms if not s.startswith("pf_")
                    and s not in ("_init", "_fini"))
    for name in others:
        problems.append(f"{name} is exported but is not a preflight function")
    print(f"{len(declared)} functions declared in preflight.h, {len(syms)} "
          f"symbols exported by {lib} "
          f"({sum(1 for s in syms if s.startswith('pf__'))} pf__)")
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
