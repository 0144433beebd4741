#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets that read what servers send
and what users type (fuzz/corpus/{api,errors,headers,request,url,fix}).

The provider replies follow the shapes tests/fake_api.py answers with (and
the providers' documents in ../shared/seeds): RunComfy's request_id /
status / output / error_code, CometAPI's bare Runway task and its
{"code", "data"} envelope. The S3 error bodies follow AWS's documented
<Error><Code>/<Message> XML. The fix seeds are the probe corpus's images
(made with ffmpeg's lavfi sources, see fuzz/README.md).

Usage: tools/fuzz_seeds.py [fuzz/corpus]
"""
import base64
import json
import os
import shutil
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus")
SEP = b"\xff"
# Status picks in fuzz_api.c's table: 0 -> 200, 6 -> 400, 9 -> 404,
# 13 -> 429, 14 -> 500, 15 -> 503.
OK, E400, E404, E429, E500, E503 = b"\x00", b"\x06", b"\x09", b"\x0d", b"\x0e", b"\x0f"


def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def j(obj):
    return json.dumps(obj).encode()


# ---- api: byte 0 = provider (0 RunComfy, 1 CometAPI) + model shape -------
RID = "0d6bd2c4-5b2e-4c8e-9a43-2f6c1c3b9e11"
rc_done = {"request_id": RID, "status": "completed",
           "output": {"video": "https://cdn.example/out/v.mp4?X-Amz-Signature=abc",
                      "images": ["https://cdn.example/a.png", "https://cdn.example/b.png"]},
           "created_at": "2026-11-21T10:00:00Z"}
runcomfy = {
    "runcomfy_complete": [j({"request_id": RID}), OK + j({"request_id": RID, "status": "in_queue",
                          "queue_position": 3}), OK + j({"request_id": RID, "status": "in_progress"}),
                          OK + j({"request_id": RID, "status": "completed"}), OK + j(rc_done)],
    "runcomfy_failed": [j({"request_id": RID}), OK + j({"status": "failed"}),
                        OK + j({"status": "failed", "error_message": "NSFW content"})],
    "runcomfy_failed_object": [j({"request_id": RID}), OK + j({"status": "error",
                               "error": {"message": "out of credits"}}), E500 + b"oops"],
    "runcomfy_error_200": [j({"error_code": "invalid_model", "error_message": "no such model"}),
                           OK + j({"error_code": "request_not_found"})],
    "runcomfy_cancel_409": [j({"request_id": RID}), OK + j({"status": "in_queue"}),
                            b"\x0a" + j({"error_code": "not_cancellable",
                                         "error_message": "The request is in progress."})],
    "runcomfy_not_json": [b"<html>502 Bad Gateway</html>", E503 + b"", E429 + j({"detail": "slow down"})],
    "runcomfy_bad_id": [j({"request_id": "../../etc"}), OK + j({"status": "queued"})],
    "runcomfy_outputs_odd": [j({"request_id": RID}), OK + j({"status": "succeeded"}),
                             OK + j({"status": "completed", "output": {"video": 5, "videos": [None, "", "x"],
                                     "image": "https://h/i.webp", "images": {"a": "b"}}})],
}
TID = "5f1c7d2e-0a3b-4c5d-8e9f-0123456789ab"
comet = {
    "comet_bare_complete": [j({"id": TID}), OK + j({"id": TID, "status": "PENDING"}),
                            OK + j({"id": TID, "status": "RUNNING", "progress": 0.5}),
                            OK + j({"id": TID, "status": "SUCCEEDED",
                                    "output": ["https://cdn.example/v.mp4?sig=1", {"url": "https://h/a.png"}]})],
    "comet_envelope": [j({"code": "success", "data": {"task_id": TID}}),
                       OK + j({"code": "success", "message": "", "data": {
                           "task_id": TID, "status": "SUCCESS", "data": {
                               "id": TID, "status": "SUCCEEDED", "output": ["https://h/o.mp4"]}}})],
    "comet_failed": [j({"id": TID}), OK + j({"id": TID, "status": "FAILED", "failure": "bad input",
                                             "failureCode": "INPUT.INVALID"})],
    "comet_not_exist": [j({"data": {"id": TID}}), OK + j({"code": "task_not_exist",
                        "message": "task_not_exist", "data": None}), OK + j({"code": "quota", "message": "no"})],
    "comet_error": [j({"message": "invalid key"}), b"\x07" + j({"error": {"message": "Unauthorized",
                                                                        "type": "auth"}})],
}
for name, parts in runcomfy.items():
    put("api", name, b"\x00" + SEP.join(parts))
    put("api", name + "_headers", b"\x80" + SEP.join(parts))
for name, parts in comet.items():
    put("api", name, b"\x01" + SEP.join(parts))
    put("api", name + "_envelope_model", b"\x83" + SEP.join(parts))

# ---- errors: S3 XML and JSON error bodies ----------------------------------
errors = {
    "s3_access_denied.xml": '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                            '<Message>Access Denied</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>',
    "s3_signature.xml": '<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we '
                        'calculated does not match &amp; &lt;the&gt; &quot;one&quot; you &apos;sent&apos;.'
                        '</Message><StringToSign>AWS4-HMAC-SHA256\n...</StringToSign></Error>',
    "s3_expired.xml": "<Error><Code>AccessDenied</Code><Message>Request has expired</Message>"
                      "<Expires>2026-11-21T10:00:00Z</Expires></Error>",
    "s3_entity_cut.xml": "<Error><Code>Bad&am</Code><Message>&</Message>",
    "s3_no_close.xml": "  \r\n<Error><Code>NoSuchKey",
    "s3_control_chars.xml": "<Error><Message>a\x01b\tc\n\nd     e</Message></Error>",
    "runcomfy.json": j({"error_code": "invalid_api_key", "error_message": "The API key is invalid"}),
    "openai_shape.json": j({"error": {"message": "quota exceeded", "type": "insufficient_quota", "code": None}}),
    "error_string.json": j({"error": "Bad Request"}),
    "message.json": j({"message": "Too many requests", "code": 429}),
    "fastapi_detail.json": j({"detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "missing"}]}),
    "detail_string.json": j({"detail": "Not authenticated"}),
    "numbers.json": j({"error_code": 1e308, "error_message": -0.0}),
    "empty": "",
    "spaces": " \t\r\n ",
    "html": "<html><body>502</body></html>",
}
for name, data in errors.items():
    put("errors", name, data)

# ---- headers ---------------------------------------------------------------
headers = {
    "206_range": "HTTP/1.1 206 Partial Content\r\nContent-Type: video/mp4\r\nContent-Length: 65536\r\n"
                 "Content-Range: bytes 0-65535/10485760\r\nETag: \"abc\"\r\n\r\n",
    "range_star": "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */0\r\n\r\n",
    "range_bad": "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 10-5/100\r\n\r\n",
    "range_last_eq_total": "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-100/100\r\n\r\n",
    "range_huge": "HTTP/1.1 206 OK\r\nContent-Range: bytes 0-1/99999999999999999999999\r\n\r\n",
    "429_seconds": "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\n\r\n",
    "503_date": "HTTP/1.1 503 Service Unavailable\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n",
    "retry_huge": "HTTP/2 429\r\nretry-after: 99999999999999999999\r\n\r\n",
    "retry_junk": "HTTP/2 429\r\nretry-after: 1.5\r\nRetry-After:  \r\n\r\n",
    "redirect_then_final": "HTTP/1.1 302 Found\r\nLocation: https://h/x?sig=1\r\nRetry-After: 5\r\n\r\n"
                           "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 12\r\n"
                           "Content-Type: image/png; charset=binary\r\n\r\n",
    "no_colon_long": "HTTP/1.1 200 OK\r\n" + "X" * 600 + "\r\nContent-Length: -1\r\nContent-Length: 12x\r\n",
    "lf_only": "HTTP/1.0 201 Created\nLocation: /jobs/1\nETag: W/\"1\"\n\n",
}
for name, data in headers.items():
    put("headers", name, data)

# ---- request: --input JSON, then 0xFF, then FIELD=VALUE lines ---------------
png = base64.b64encode(open(os.path.join(root, "probe", "png_rgb.png"), "rb").read()).decode() \
    if os.path.exists(os.path.join(root, "probe", "png_rgb.png")) else "iVBORw0KGgo="
requests = {
    "input_only": j({"prompt": "a cat", "duration": 5, "image_url": "https://h/a.jpg",
                     "tags": ["x", "y"], "opts": {"seed": 1, "n": None, "b": True}}),
    "args_only": SEP + b"prompt=a cat\nduration:=5\nimages=https://h/1.png\nimages=https://h/2.png\n"
                 b"flag:=true\nobj:={\"a\":[1,2,{\"b\":null}]}\nimage=@/nonexistent\n=x\n:=1\nnoequals",
    "input_then_args": j({"prompt": "x", "images": ["a"]}) + SEP + b"images=b\nprompt=y\nprompt:=\"z\"",
    "data_uri": j({"image_url": "data:image/png;base64," + png}),
    "unicode": j({"prompt": "caf\u00e9 \u2603 \ud83d\ude00", "n\u00e4me": "\u0000"}),
    "not_object": b"[1,2,3]",
    "truncated": b"{\"prompt\": \"a",
    "deep": b"[" * 2000,
    "numbers": j({"a": 1e308, "b": -0.0, "c": 12345678901234567890, "d": 0.1}),
    "dotted_fields": SEP + b"a.b=1\na.b.c:=2\nx[0]=3\n\xc3\x28=bad utf8",
}
for name, data in requests.items():
    put("request", name, data)

# ---- url: URLs and data URIs -----------------------------------------------
urls = {
    "presigned": "https://bucket.s3.amazonaws.com/out/video.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=deadbeef",
    "userinfo": "https://user:secret@host.example:8443/path/file%20name.png#frag",
    "http_loopback": "http://127.0.0.1:8080/a/b/c.webp",
    "http_remote": "http://example.com/x.jpg",
    "no_path": "https://host",
    "dots": "https://h/../..",
    "percent": "https://h/%2e%2e%2f%00%ZZ%41.mp4",
    "long_name": "https://h/" + "a" * 300 + ".mp4",
    "ftp": "ftp://h/x",
    "id_like": "abc-DEF_123.x",
    "id_dotdot": "..",
    "data_png": "data:image/png;base64," + png,
    "data_bad": "data:image/png;base64,@@@@",
    "data_no_comma": "data:image/png;base64",
    "data_text": "data:text/plain,hello",
    "data_nopad": "data:image/png;base64," + png.rstrip("="),
    "text_with_urls": "failed at https://a:b@h/x?sig=1, see http://h2/y?z. and https://h3?...",
}
for name, data in urls.items():
    put("url", name, data)

# ---- fix: the probe corpus's images ----------------------------------------
probe = os.path.join(root, "probe")
for f in sorted(os.listdir(probe)) if os.path.isdir(probe) else []:
    low = f.lower()
    if low.startswith(("jpeg", "png", "img.", "anim", "corrupt_empty", "corrupt_garbage", "corrupt_huge", "corrupt_text.jpg", "corrupt_truncated.", "corrupt_truncated_header")) or \
            low.endswith((".jpg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")):
        if os.path.getsize(os.path.join(probe, f)) <= 100_000:
            shutil.copy(os.path.join(probe, f), os.path.join(root, "fix", f))
