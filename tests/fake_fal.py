#!/usr/bin/env python3
"""A fake fal.ai queue, storage and OpenAPI server for preflight's job tests
(stdlib only, 127.0.0.1 only), built on tests/fake_api.py's machinery (its
job life, faults, fixture and output file serving).

Usage: fake_fal.py --fixtures DIR --schemas DIR[:DIR...] --port-file FILE
                   [--log FILE] [--max-seconds N]

The key comes from the environment, never argv: FAKE_FAL_KEY. As fal
documents its queue (docs.fal.ai, "Queue") and fal-js its storage:

  POST /{endpoint id}                      "Authorization: Key ..." and the
                                           input JSON, validated against the
                                           endpoint's input schema (required
                                           fields and types; the request body
                                           of an OpenAPI document's POST path
                                           with $refs resolved, or a rules
                                           file's input_schema) -> request_id,
                                           status_url, response_url, cancel_url
  GET  /{owner}/{app}/requests/{id}/status IN_QUEUE (queue_position),
                                           IN_PROGRESS, COMPLETED (with error
                                           and error_type when the job failed
                                           and fail_where is "status")
  GET  /{owner}/{app}/requests/{id}        the result: file objects {url,
                                           content_type, file_name, file_size,
                                           width, height} at the JSON paths
                                           the outputs name; 400 while not
                                           done; 422 {"detail": [...]} for a
                                           failed job (fail_where "result")
  PUT  /{owner}/{app}/requests/{id}/cancel 202 CANCELLATION_REQUESTED (queued),
                                           400 ALREADY_COMPLETED, 404 NOT_FOUND
  POST /storage/upload/initiate?storage_type=fal-cdn-v3
                                           {file_name, content_type} ->
                                           upload_url (signed), file_url
  PUT  /fal-upload/{token}/{name}?X-Goog-Signature=...  the bytes, with the
                                           initiated Content-Type and no key
  GET  /cdn/{token}/{name}                 the uploaded bytes (Range too)
  GET  /openapi.json?endpoint_id=ID        the endpoint's document

Status, result and cancel are served only under the endpoint's owner/app
(a request for fal-ai/x/v1/i2v/requests/... is a 404 and counted in
stats "bad_paths"). Endpoint documents are read from the --schemas
directories, file name = endpoint id with "/" as "__" (as
shared/schemas/fal/), or registered with POST /_fake/openapi {"id", "text"}.

Control as in fake_api.py (config, fault, clear, advance, stats), plus
config keys: outputs [{"path": "images[0]", "file", "name", "content_type",
"file_size" (overrides the real size)}], fail_where ("result" | "status"),
fetch_inputs, returned_base (the submission answer's URLs point there
instead). Faults "on": submit, status, result, cancel, initiate,
upload, file, openapi, any. Stats add uploads, initiates, key_leaks (a
request off the API that carried the key), bad_paths, openapi_fetches.
"""
import argparse, json, os, re, signal, sys, threading, urllib.request, uuid
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_api  # noqa: E402

fake_api.DEFAULTS.update({
    "outputs": [{"path": "video", "file": "mp4_noaudio.mp4", "name": "output.mp4",
                 "content_type": "video/mp4"}],
    "fail_where": "result",
    "reason": "The image could not be processed.",
})
TYPES = {"string": str, "boolean": bool, "object": dict, "array": list}


def resolve(doc, s, depth=0):
    """A schema with its $ref followed (within the document)."""
    while isinstance(s, dict) and "$ref" in s and depth < 20:
        node = doc
        for part in s["$ref"].lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        s, depth = node, depth + 1
    return s if isinstance(s, dict) else {}


def input_schema(doc):
    """The endpoint's input schema: a rules file's, or the request body of
    the OpenAPI document's POST path."""
    if "input_schema" in doc:
        return doc["input_schema"]
    for path, ops in (doc.get("paths") or {}).items():
        post = ops.get("post") if isinstance(ops, dict) else None
        if not post or path.endswith("/status") or "/requests/" in path:
            continue
        body = (post.get("requestBody") or {}).get("content", {})
        s = (body.get("application/json") or {}).get("schema")
        if s:
            return resolve(doc, s)
    # A catalogue bundle keeps only components.schemas: the input is the one
    # *Input schema no other schema references.
    schemas = (doc.get("components") or {}).get("schemas") or {}
    text = json.dumps(schemas)
    inputs = [n for n in schemas if n.endswith("Input")
              and text.count('"#/components/schemas/%s"' % n) == 0]
    return schemas[inputs[0]] if len(inputs) == 1 else None


def type_ok(want, v):
    if want == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if want == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if want == "null":
        return v is None
    t = TYPES.get(want)
    return t is None or isinstance(v, t)


def validate(doc, s, v, path):
    """Required fields and types, as fal's own validation answers 422."""
    s = resolve(doc, s)
    out = []
    branches = s.get("anyOf") or s.get("oneOf")
    if branches:
        if not any(not validate(doc, b, v, path) for b in branches):
            out.append("%s: matches none of its types" % path)
        return out
    for part in s.get("allOf", []):
        out += validate(doc, part, v, path)
    t = s.get("type")
    if v is None and s.get("nullable"):
        return out
    if isinstance(t, list):
        if not any(type_ok(x, v) for x in t):
            return out + ["%s: expected %s" % (path, "/".join(t))]
    elif t and not type_ok(t, v):
        return out + ["%s: expected %s" % (path, t)]
    if "enum" in s and v not in s["enum"]:
        out.append("%s: %r is not one of %r" % (path, v, s["enum"]))
    if isinstance(v, dict):
        props = s.get("properties", {})
        for name in s.get("required", []):
            if name not in v:
                out.append("%s%s: field required" % (path + "." if path else "", name))
        for name, x in v.items():
            if name in props:
                out += validate(doc, props[name], x, (path + "." if path else "") + name)
    if isinstance(v, list) and "items" in s:
        for i, x in enumerate(v):
            out += validate(doc, s["items"], x, "%s[%d]" % (path, i))
    return out


def url_values(v, path=""):
    """(path, value) of every *_url / *_urls string in a request."""
    out = []
    if isinstance(v, dict):
        for k, x in v.items():
            p = path + "." + k if path else k
            if isinstance(x, str) and (k.endswith("_url") or k.endswith("_urls")):
                out.append((p, x))
            else:
                out += url_values(x, p)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            if isinstance(x, str) and path.endswith("_urls"):
                out.append(("%s[%d]" % (path, i), x))
            else:
                out += url_values(x, "%s[%d]" % (path, i))
    return out


def put_at(root, path, value):
    """Sets root at a JSON path like "images[0]" or "output.video"."""
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    node = root
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt = [] if not last and parts[i + 1].startswith("[") else {}
        if part.startswith("["):
            idx = int(part[1:-1])
            while len(node) <= idx:
                node.append(None)
            if last:
                node[idx] = value
            else:
                node[idx] = node[idx] if node[idx] is not None else nxt
                node = node[idx]
        else:
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, nxt)


class State(fake_api.State):
    def __init__(self, fixtures, schemas):
        super().__init__(fixtures, None)
        self.schema_dirs = [d for d in schemas.split(":") if d]
        self.registered = {}
        self.cdn = {}                   # token -> {name, type, data, signature}
        self.stats.update({"uploads": 0, "initiates": 0, "key_leaks": 0, "bad_paths": [],
                           "openapi_fetches": 0})

    def doc_text(self, endpoint):
        if endpoint in self.registered:
            return self.registered[endpoint]
        if ".." in endpoint.split("/"):
            return None
        for d in self.schema_dirs:
            p = os.path.join(d, endpoint.replace("/", "__") + ".json")
            if os.path.isfile(p):
                with open(p) as f:
                    return f.read()
        return None

    def doc(self, endpoint):
        text = self.doc_text(endpoint)
        try:
            return json.loads(text) if text else None
        except ValueError:
            return None


class Handler(fake_api.Handler):
    server_version = "fake-fal/1"

    def do_PUT(self):
        self.dispatch()

    def key_ok(self):
        want = os.environ.get("FAKE_FAL_KEY", "")
        if want and self.headers.get("Authorization", "") == "Key " + want:
            return True
        with self.st.lock:
            self.st.stats["auth_failures"] += 1
        self.json(401, {"detail": "Authentication is required to access this application."})
        return False

    def no_key(self):
        """Off the API (the CDN, output files, inputs): the key must not come."""
        want = os.environ.get("FAKE_FAL_KEY", "")
        if want and want in self.headers.get("Authorization", ""):
            with self.st.lock:
                self.st.stats["key_leaks"] += 1

    def bad422(self, problems):
        with self.st.lock:
            self.st.stats["bad_requests"].append({"path": urlsplit(self.path).path,
                                                  "problem": "; ".join(problems)})
        self.json(422, {"detail": [{"loc": ["body"] + p.split(":")[0].split("."),
                                    "msg": p, "type": "value_error"} for p in problems]})

    def base(self):
        return "http://%s:%d" % self.server.server_address[:2]

    def route(self):
        u = urlsplit(self.path)
        raw, query = u.path, parse_qs(u.query)
        if raw.startswith("/_fake/"):
            return self.control(raw[len("/_fake/"):])
        if raw.startswith("/fixtures/") or raw.startswith("/files/"):
            self.no_key()
            return super().route()
        if raw == "/openapi.json" and self.command == "GET":
            return self.openapi(query.get("endpoint_id", [""])[0])
        if raw == "/storage/upload/initiate" and self.command == "POST":
            return self.initiate(query)
        m = re.match(r"^/fal-upload/([0-9a-f]+)/([^/]+)$", raw)
        if m and self.command == "PUT":
            return self.cdn_put(m.group(1), query)
        m = re.match(r"^/cdn/([0-9a-f]+)/([^/]+)$", raw)
        if m and self.command in ("GET", "HEAD"):
            return self.cdn_get(m.group(1))
        m = re.match(r"^/([^/]+)/([^/]+)/requests/([^/]+)(/status|/cancel)?$", raw)
        if m:
            what = (m.group(4) or "/result")[1:]
            if (what == "cancel") == (self.command == "PUT") and self.command in ("GET", "PUT"):
                return self.query(m.group(1) + "/" + m.group(2), m.group(3), what)
        if "/requests/" in raw:
            # Under the endpoint's sub-path, or any other shape: fal has none.
            with self.st.lock:
                self.st.stats["bad_paths"].append(raw)
            return self.json(404, {"detail": "Not Found: " + raw})
        if self.command == "POST" and raw.count("/") >= 2:
            return self.fal_submit(raw[1:])
        self.json(404, {"detail": "Not Found: " + raw})

    def control(self, what):
        if what == "openapi":
            arg = json.loads(self.body or b"{}")
            with self.st.lock:
                self.st.registered[arg["id"]] = arg["text"]
            return self.json(200, {"ok": True})
        return super().control(what)

    # ---- the OpenAPI documents ------------------------------------------

    def openapi(self, endpoint):
        with self.st.lock:
            self.st.stats["openapi_fetches"] += 1
        text = self.st.doc_text(endpoint)
        if text is None:
            return self.json(404, {"detail": "Endpoint %s not found" % endpoint})

        def produce():
            return 200, json.loads(text) if text.strip().startswith("{") else text

        if self.apply_fault("openapi", produce):
            return
        data = text.encode()
        self.start(200, [("Content-Type", "application/json"),
                         ("Content-Length", str(len(data)))])
        self.write(data)

    # ---- storage -----------------------------------------------------------

    def initiate(self, query):
        if not self.key_ok():
            return
        if query.get("storage_type") != ["fal-cdn-v3"]:
            return self.bad422(["storage_type: expected fal-cdn-v3"])
        try:
            arg = json.loads(self.body)
        except ValueError:
            return self.bad422(["body: not JSON"])
        problems = [k + ": field required" for k in ("file_name", "content_type")
                    if not isinstance(arg.get(k), str) or not arg.get(k)]
        if problems:
            return self.bad422(problems)
        token, sig = uuid.uuid4().hex, uuid.uuid4().hex
        name = re.sub(r"[^A-Za-z0-9._-]", "_", arg["file_name"]) or "file"

        def produce():
            with self.st.lock:
                self.st.stats["initiates"] += 1
                self.st.cdn[token] = {"name": name, "type": arg["content_type"],
                                      "data": None, "signature": sig}
            return 200, {"upload_url": "%s/fal-upload/%s/%s?X-Goog-Signature=%s"
                                       % (self.base(), token, name, sig),
                         "file_url": "%s/cdn/%s/%s" % (self.base(), token, name)}

        if self.apply_fault("initiate", produce):
            return
        self.json(*produce())

    def cdn_put(self, token, query):
        self.no_key()
        slot = self.st.cdn.get(token)
        if not slot or query.get("X-Goog-Signature") != [slot["signature"]]:
            return self.json(403, {"detail": "bad signature"})
        if self.headers.get("Content-Type") != slot["type"]:
            return self.json(400, {"detail": "Content-Type must be %s, not %s"
                                             % (slot["type"], self.headers.get("Content-Type"))})
        f = self.st.take_fault("upload")
        if f:
            self.fault_name = f["action"]
            if f["action"] == "status":
                return self.json(f["code"], {"detail": "fault injected"})
            if f["action"] == "reset":
                return self.reset()
        with self.st.lock:
            slot["data"] = self.body
            self.st.stats["uploads"] += 1
        self.json(200, {"ok": True})

    def cdn_get(self, token):
        self.no_key()
        slot = self.st.cdn.get(token)
        if not slot or slot["data"] is None:
            return self.json(404, {"detail": "no such file"})
        data, start, status = slot["data"], 0, 200
        end = len(data) - 1
        m = fake_api.RANGE_RE.match((self.headers.get("Range") or "").strip())
        if m and m.group(1) and int(m.group(1)) < len(data):
            start = int(m.group(1))
            end = min(int(m.group(2)), end) if m.group(2) else end
            status = 206
        headers = [("Content-Type", slot["type"]), ("Content-Length", str(end - start + 1))]
        if status == 206:
            headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, len(data))))
        self.start(status, headers)
        self.write(data[start:end + 1])

    # ---- the queue ---------------------------------------------------------

    def fal_submit(self, endpoint):
        if not self.key_ok():
            return
        doc = self.st.doc(endpoint)
        schema = input_schema(doc) if doc else None
        if schema is None:
            return self.json(404, {"detail": "Application %s not found" % endpoint})
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            return self.bad422(["body: Content-Type must be application/json"])
        try:
            body = json.loads(self.body)
        except ValueError:
            return self.bad422(["body: not JSON"])
        problems = validate(doc, schema, body, "")
        for p, v in url_values(body):
            if not re.match(r"^(https?://|data:)", v):
                problems.append("%s: not a URL fal can fetch: %r" % (p, v))
        if problems:
            return self.bad422(problems)
        if self.st.config.get("fetch_inputs"):
            for p, v in url_values(body):
                if v.startswith("data:"):
                    continue
                try:
                    with urllib.request.urlopen(v, timeout=10) as r:
                        if not r.read(1):
                            return self.bad422(["%s: empty file at %s" % (p, v)])
                except Exception as e:      # noqa: any failure to fetch
                    return self.bad422(["%s: cannot fetch: %s" % (p, e)])
        created = {}
        app = "/".join(endpoint.split("/")[:2])

        def produce():
            if not created:
                created["id"] = self.create_job("fal", endpoint, body)
            # returned_base: answer with URLs elsewhere (a client must not
            # follow them with its key).
            jid = created["id"]
            base = "%s/%s/requests/%s" % (self.st.config.get("returned_base") or self.base(),
                                          app, jid)
            return 200, {"request_id": jid, "response_url": base,
                         "status_url": base + "/status", "cancel_url": base + "/cancel",
                         "queue_position": 0}

        if self.apply_fault("submit", produce):
            return
        self.json(*produce())

    def result(self, jid, job):
        out = {}
        for i, o in enumerate(job["outputs"]):
            fs = os.path.join(self.st.fixtures, o["file"])
            put_at(out, o["path"], {
                "url": "%s/files/%s/%d/%s" % (self.base(), jid, i, o["name"]),
                "content_type": o.get("content_type", "application/octet-stream"),
                "file_name": o["name"],
                "file_size": o.get("file_size", os.path.getsize(fs)),
                "width": o.get("width"), "height": o.get("height")})
        out["seed"] = 42
        return out

    def query(self, app, jid, what):
        if not self.key_ok():
            return
        job = self.st.jobs.get(jid)
        if not job or job["provider"] != "fal":
            return self.json(404, {"detail": "Request %s not found" % jid, "status": "NOT_FOUND"}
                             if what == "cancel" else {"detail": "Request %s not found" % jid})
        if "/".join(job["model"].split("/")[:2]) != app:
            with self.st.lock:
                self.st.stats["bad_paths"].append(urlsplit(self.path).path)
            return self.json(404, {"detail": "Request %s not found under %s" % (jid, app)})
        failed_status = self.st.config.get("fail_where") == "status"

        def produce():
            if what == "status":
                state, pos = self.step(job)
                base = "%s/%s/requests/%s" % (self.base(), app, jid)
                obj = {"status": {"in_queue": "IN_QUEUE", "in_progress": "IN_PROGRESS"}
                       .get(state, "COMPLETED"), "request_id": jid, "response_url": base,
                       "logs": None, "metrics": {}}
                if state == "in_queue":
                    obj["queue_position"] = pos - 1 if pos > 0 else 0
                if state == "failed" and failed_status:
                    obj.update({"error": job["reason"], "error_type": "image_load_error"})
                if state == "cancelled":
                    obj.update({"error": "Request was cancelled", "error_type": "cancelled"})
                return 200, obj
            if what == "cancel":
                with self.st.lock:
                    self.st.stats["cancels"] += 1
                    if job["state"] in ("in_queue", "in_progress"):
                        job["state"] = "cancelled"
                        return 202, {"status": "CANCELLATION_REQUESTED"}
                    return 400, {"status": "ALREADY_COMPLETED"}
            state = job["state"]
            if state in ("in_queue", "in_progress"):
                return 400, {"detail": "Request is still in progress"}
            if state == "failed":
                return 422, {"detail": [{"loc": ["body", "image_url"], "msg": job["reason"],
                                         "type": "image_load_error"}]}
            if state == "cancelled":
                return 400, {"detail": "Request was cancelled"}
            return 200, self.result(jid, job)

        if self.apply_fault(what, produce):
            return
        self.json(*produce())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--schemas", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--max-seconds", type=float, default=300)
    a = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(a.fixtures, a.schemas)
    srv.log_file = open(a.log, "a") if a.log else None
    srv.log_lock = threading.Lock()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    timer = threading.Timer(a.max_seconds, lambda: os._exit(3))
    timer.daemon = True
    timer.start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
