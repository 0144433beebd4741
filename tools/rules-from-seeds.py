#!/usr/bin/env python3
"""Writes rules/ from the source documents in ../shared/seeds, or with
--check verifies that every bundled rules file still carries its input
schema exactly as the documents give it (a test runs this).

RunComfy pages print the input schema as a JSON object; it is copied
verbatim. The CometAPI page documents its body in prose, which is written
down here as a schema. What the documents say only in prose (JPEG or PNG
only, HTTPS or data URI, public HTTPS URL) becomes a documented extension
rule, checked like any validation_rule.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEEDS = os.path.join(ROOT, "..", "shared", "seeds")
RULES = os.path.join(ROOT, "rules")


def extract_schema(fname):
    """The first JSON object on the page with 'properties' and 'required'."""
    text = open(os.path.join(SEEDS, fname), encoding="utf-8").read()
    dec = json.JSONDecoder()
    i = 0
    while True:
        i = text.find("{", i)
        if i < 0:
            sys.exit(f"{fname}: no input schema found")
        try:
            obj, end = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            i += 1
            continue
        if isinstance(obj, dict) and "properties" in obj and "required" in obj:
            return obj
        i = end


def same_schema(a, b):
    """Pages in different languages differ only in the schema's title."""
    a, b = dict(a), dict(b)
    a.pop("title", None)
    b.pop("title", None)
    return a == b


RUNCOMFY_PROTOCOL = {
    "auth": {"header": "Authorization", "scheme": "Bearer",
             "env": ["RUNCOMFY_API_TOKEN", "YOUR_API_TOKEN"]},
    "status": "GET https://model-api.runcomfy.net/v1/requests/{request_id}/status",
    "result": "GET https://model-api.runcomfy.net/v1/requests/{request_id}/result",
    "cancel": "POST https://model-api.runcomfy.net/v1/requests/{request_id}/cancel",
}

HTTPS_RULE = {
    "validation_rule": "url_scheme==", "validation_value": ["https"],
    "validation_error": "Provide a publicly accessible HTTPS URL.",
    "documented": "Input files: a publicly reachable HTTPS URL the server "
                  "fetches itself (no login or cookies).",
}


def runcomfy(model, seeds, title, media, ratio_field=None, ratio_media=None,
             extra=None):
    schema = extract_schema(seeds[0])
    for other in seeds[1:]:
        if not same_schema(schema, extract_schema(other)):
            sys.exit(f"{other}: schema differs from {seeds[0]}")
    doc = {
        "preflight_rules": 1, "provider": "runcomfy", "model": model,
        "title": title, "source": ["shared/seeds/" + s for s in seeds],
        "endpoint": {"method": "POST",
                     "url": "https://model-api.runcomfy.net/v1/models/" + model},
        "headers": {"Content-Type": "application/json"},
        "protocol": RUNCOMFY_PROTOCOL, "media": media,
    }
    if ratio_field:
        doc["ratio_field"] = ratio_field
        doc["ratio_media"] = ratio_media
    ext = {k: [HTTPS_RULE] for k in media}
    for k, v in (extra or {}).items():
        ext[k] = ext.get(k, []) + v
    doc["extensions"] = ext
    doc["input_schema"] = schema
    return "runcomfy/" + model + ".json", doc


def cometapi():
    doc = {
        "preflight_rules": 1, "provider": "cometapi",
        "model": "runwayml/v1/video_to_video",
        "title": "CometAPI Runway video_to_video (gen4_aleph)",
        "source": ["shared/seeds/003_7b06905cf9b4050d.txt"],
        "endpoint": {"method": "POST",
                     "url": "https://api.cometapi.com/runwayml/v1/video_to_video"},
        "headers": {"Content-Type": "application/json",
                    "X-Runway-Version": "2024-11-06"},
        "protocol": {"auth": {"header": "Authorization", "scheme": "Bearer",
                              "env": ["COMETAPI_KEY"]},
                     "task": "task details are queried after submission"},
        "media": {"videoUri": "video", "references[].uri": "image"},
        "ratio_field": "ratio", "ratio_media": ["videoUri"],
        "extensions": {
            "videoUri": [{
                "validation_rule": "url_scheme==", "validation_value": ["https", "data"],
                "validation_error": "videoUri must be an HTTPS URL of the source "
                                    "video, or a base64 data URI containing the video.",
                "documented": "HTTPS URL of the source video, or a base64 data URI "
                              "containing the video."}],
            "references[].uri": [{
                "validation_rule": "url_scheme==", "validation_value": ["https"],
                "validation_error": "Each reference uri must be an HTTPS URL.",
                "documented": "Each item must include type (e.g. image) and uri "
                              "(HTTPS URL)."}],
        },
        # Written from the page's prose: it gives no JSON schema of its own.
        "input_schema": {
            "type": "object", "title": "video_to_video request body",
            "required": ["videoUri", "promptText", "model"],
            "properties": {
                "videoUri": {"title": "Video URI", "type": "string",
                             "description": "HTTPS URL of the source video, or a "
                                            "base64 data URI containing the video."},
                "promptText": {"title": "Prompt", "type": "string", "maxLength": 1000,
                               "description": "Text prompt describing the desired "
                                              "output. Maximum 1000 characters."},
                "seed": {"title": "Seed", "type": "integer", "minimum": 0,
                         "maximum": 4294967295,
                         "description": "Random seed for reproducible results. "
                                        "Range: 0–4294967295."},
                "model": {"title": "Model", "type": "string", "enum": ["gen4_aleph"],
                          "default": "gen4_aleph",
                          "description": "Model variant to use."},
                "references": {
                    "title": "References", "type": "array",
                    "description": "Optional reference images to guide generation. "
                                   "Each item must include type (e.g. image) and "
                                   "uri (HTTPS URL).",
                    "items": {"type": "object", "required": ["type", "uri"],
                              "properties": {"type": {"type": "string",
                                                      "enum": ["image"]},
                                             "uri": {"type": "string"}}}},
                "ratio": {"title": "Ratio", "type": "string",
                          "pattern": "^[0-9]+:[0-9]+$",
                          "description": "Aspect ratio of the output video, "
                                         "e.g. 1280:720."},
                "contentModeration": {
                    "title": "Content moderation", "type": "object",
                    "properties": {"publicFigureThreshold": {
                        "type": "string", "enum": ["auto", "low"]}}},
            },
        },
    }
    return "cometapi/runwayml/v1/video_to_video.json", doc


def all_rules():
    return [
        runcomfy("runwayml/runway-aleph/video-to-video",
                 ["000_21fc8498ea214baf.txt", "001_d399dbafd5792933.txt"],
                 "Runway Aleph video-to-video",
                 {"video_url": "video", "image_url": "image"}, "ratio", ["video_url"]),
        runcomfy("runwayml/runway-gen-3-alpha/turbo/image-to-video",
                 ["002_cf856f68cc19b049.txt"],
                 "Runway Gen-3 Alpha Turbo image-to-video",
                 {"promptImage": "image"}, "ratio", ["promptImage"]),
        runcomfy("bytedance/dreamina-3-0/pro/image-to-video",
                 ["004_7aac5edce61952b0.txt"], "Dreamina 3.0 Pro image-to-video",
                 {"image_urls[]": "image"}, extra={"image_urls[]": [{
                     "validation_rule": "format==", "validation_value": ["jpeg", "png"],
                     "validation_error": "Upload JPEG or PNG only.",
                     "documented": "image_urls description: \"Upload JPEG or PNG only.\""}]}),
        cometapi(),
    ]


def main():
    check = "--check" in sys.argv
    failures = 0
    for rel, doc in all_rules():
        path = os.path.join(RULES, rel)
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        if check:
            have = json.load(open(path, encoding="utf-8"))
            if have != doc:
                print(f"{rel}: differs from what the source documents give")
                failures += 1
            else:
                print(f"{rel}: matches {', '.join(doc['source'])}")
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {rel}")
    print(f"{len(all_rules()) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
