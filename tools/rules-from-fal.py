#!/usr/bin/env python3
"""Bundles fal OpenAPI documents as preflight rules: rules/fal/<endpoint id>.json.

Usage: tools/rules-from-fal.py [--check] [SOURCE_DIR] [RULES_DIR]
  SOURCE_DIR  fal documents, one per endpoint, named <endpoint id with / as __>.json
              (default: ../shared/schemas/fal from the source tree)
  RULES_DIR   where rules/fal/ goes (default: rules/ of the source tree)
  --check     write nothing; exit 1 when a bundled file differs from what this
              tool would write, or one is missing or left over

Each document is kept as fal serves it (preflight reads fal's dialect itself),
normalised so the bundle is self-describing and stable:
  - info.x-fal-metadata.endpointId is set from the file name when the document
    lacks it (catalogue bundles keep only components.schemas);
  - info.x-preflight-source names the file it came from;
  - two-space indentation, keys in the document's own order, a final newline.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def endpoint_from_name(name):
    base = name[:-5] if name.endswith(".json") else name
    return base.replace("__", "/")


def normalise(doc, name):
    endpoint = endpoint_from_name(name)
    info = doc.setdefault("info", {})
    meta = info.setdefault("x-fal-metadata", {})
    if not isinstance(meta.get("endpointId"), str):
        meta["endpointId"] = endpoint
    elif meta["endpointId"] != endpoint:
        raise SystemExit("%s: endpointId %s does not match the file name"
                         % (name, meta["endpointId"]))
    info["x-preflight-source"] = "shared/schemas/fal/" + name
    return meta["endpointId"], json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    src = args[0] if args else os.path.join(ROOT, "..", "shared", "schemas", "fal")
    rules = args[1] if len(args) > 1 else os.path.join(ROOT, "rules")
    out_dir = os.path.join(rules, "fal")
    wanted = {}
    for name in sorted(os.listdir(src)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(src, name), encoding="utf-8") as f:
            doc = json.load(f)
        endpoint, text = normalise(doc, name)
        if "/" not in endpoint or ".." in endpoint.split("/"):
            raise SystemExit("%s: not an endpoint id: %s" % (name, endpoint))
        wanted[os.path.join(out_dir, endpoint + ".json")] = text
    bad = 0
    for path, text in sorted(wanted.items()):
        have = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                have = f.read()
        if have == text:
            continue
        if check:
            print("%s: %s" % (path, "missing" if have is None else "differs from the tool's output"))
            bad = 1
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print("wrote " + os.path.relpath(path, ROOT))
    if os.path.isdir(out_dir):
        for dirpath, _, files in os.walk(out_dir):
            for name in files:
                path = os.path.join(dirpath, name)
                if name.endswith(".json") and path not in wanted:
                    print("%s: not made from any source document" % path)
                    bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
