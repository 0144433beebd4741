#!/usr/bin/env python3
"""A fake RunComfy Model API and CometAPI Runway API for preflight's job tests
(stdlib only, 127.0.0.1 only).

Usage: fake_api.py --fixtures DIR --rules DIR --port-file FILE [--log FILE]
                   [--max-seconds N]

Tokens come from the environment, never argv: FAKE_RUNCOMFY_TOKEN and
FAKE_COMETAPI_TOKEN. Requests are validated as the documents describe them
(shared/seeds/): the Bearer token, JSON bodies against the model's input
schema from rules/ (required fields, types, enums, lengths, no unknown
fields, media values that are URLs), X-Runway-Version for CometAPI.

RunComfy:  POST /v1/models/{model}, GET /v1/requests/{id}/status|result,
           POST /v1/requests/{id}/cancel
CometAPI:  POST /runwayml/v1/video_to_video, GET /runwayml/v1/tasks/{id}
Files:     GET /fixtures/NAME (inputs), GET /files/{job}/{i}/{name} (outputs),
           both with single-range support; PUT then GET /uploads/NAME, a
           stand-in for a presigned PUT and GET pair (the query is ignored;
           served with the PUT's Content-Type, binary/octet-stream when it
           sent none, as S3 does)

A job answers its status queries in_queue (queue_polls times, the position
counting down), then in_progress (progress_polls times), then its outcome;
-1 keeps it in that state until /_fake/advance moves it.

Control (no auth):
  POST /_fake/config   merge into the defaults of new jobs: queue_polls,
                       progress_polls, outcome ("completed" | "failed"),
                       reason, outputs [{"kind", "file", "name"}],
                       comet_shape ("bare" | "envelope"), comet_not_exist
                       (polls answered task_not_exist first), cancel_refusal
                       ("200" | "409"), fetch_inputs (GET each media URL on
                       submission), output_query (appended to output URLs,
                       e.g. a fake presigned signature), output_uses (N > 0:
                       each read of a result mints output URLs with a fresh
                       X-Amz-Signature that serves N GETs, then answers 403
                       AccessDenied "Request has expired" as S3 does)
  POST /_fake/fault    append a fault: {"on": "submit" | "status" | "result"
                       | "cancel" | "task" | "file" | "any", "action", "times"
                       (default 1), "skip" (matching requests to let through
                       first), ...}. Actions: "status" (code, retry_after,
                       body), "reset" (RST before answering; "create" says
                       whether a submission was processed first), "hold"
                       (process, then wait "seconds" before answering),
                       "delay" (wait, then answer), "stall" (headers and a
                       few bytes, then silence for "seconds"),
                       "reset_mid_body", "malformed", "error200" (HTTP 200
                       with error_code), "wrong_bytes" (another fixture),
                       "slow" (pace a file at "rate" bytes/s)
  POST /_fake/clear    drop the faults not yet used
  POST /_fake/advance  {"id", "state"}
  GET  /_fake/stats    {"submits", "submits_by_path", "jobs", "bad_requests",
                       "auth_failures", "cancels", "file_requests", "minted"
                       (output URL sets signed), "expired" (GETs refused)}
--log appends one JSON line per request (never a header's value).
"""
import argparse, json, os, re, signal, socket, struct, sys, threading, time, uuid
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FINAL = ("completed", "failed", "cancelled")
COMET_STATUS = {"in_queue": ("PENDING", "QUEUED"), "in_progress": ("RUNNING", "IN_PROGRESS"),
                "completed": ("SUCCEEDED", "SUCCESS"), "failed": ("FAILED", "FAILURE"),
                "cancelled": ("CANCELLED", "CANCELLED")}
DEFAULTS = {
    "queue_polls": 2, "progress_polls": 2, "outcome": "completed",
    "reason": "The model could not process the input.",
    "outputs": [{"kind": "video", "file": "mp4_noaudio.mp4", "name": "result.mp4"}],
    "comet_shape": "bare", "comet_not_exist": 0, "cancel_refusal": "200",
    "fetch_inputs": False, "output_query": "", "output_uses": 0,
}


class State:
    def __init__(self, fixtures, rules):
        self.lock = threading.Lock()
        self.fixtures = os.path.realpath(fixtures)
        self.rules = rules
        self.config = json.loads(json.dumps(DEFAULTS))
        self.faults = []
        self.jobs = {}
        self.uploads = {}
        self.upload_types = {}
        self.stats = {"submits": 0, "submits_by_path": {}, "bad_requests": [],
                      "auth_failures": 0, "cancels": 0, "file_requests": 0,
                      "minted": 0, "expired": 0}
        self.signatures = {}            # signature -> GETs it still serves

    def take_fault(self, on):
        """The first fault that applies to a request of kind `on`, consumed."""
        with self.lock:
            for f in self.faults:
                if f.get("times", 1) <= 0 or f.get("on", "any") not in (on, "any"):
                    continue
                if f.get("skip", 0) > 0:
                    f["skip"] -= 1
                    continue
                f["times"] = f.get("times", 1) - 1
                return dict(f)
        return None

    def rules_for(self, provider, model):
        path = os.path.join(self.rules, provider, model + ".json")
        if ".." in model.split("/") or not os.path.isfile(path):
            return None
        with open(path) as f:
            return json.load(f)


def type_ok(want, v):
    return {"string": lambda: isinstance(v, str),
            "integer": lambda: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda: isinstance(v, bool),
            "array": lambda: isinstance(v, list),
            "object": lambda: isinstance(v, dict)}.get(want, lambda: True)()


def validate(schema, body, path=""):
    """Problems with a value against a JSON schema subset, as strings."""
    out = []
    t = schema.get("type")
    if t and not type_ok(t, body):
        return ["%s: expected %s" % (path or "body", t)]
    if "enum" in schema and body not in schema["enum"]:
        out.append("%s: %r is not one of %r" % (path, body, schema["enum"]))
    if isinstance(body, str) and "maxLength" in schema and len(body) > schema["maxLength"]:
        out.append("%s: longer than %d" % (path, schema["maxLength"]))
    if isinstance(body, (int, float)) and not isinstance(body, bool):
        if "minimum" in schema and body < schema["minimum"]:
            out.append("%s: below %s" % (path, schema["minimum"]))
        if "maximum" in schema and body > schema["maximum"]:
            out.append("%s: above %s" % (path, schema["maximum"]))
    if isinstance(body, list):
        if "minItems" in schema and len(body) < schema["minItems"]:
            out.append("%s: fewer than %d items" % (path, schema["minItems"]))
        if "maxItems" in schema and len(body) > schema["maxItems"]:
            out.append("%s: more than %d items" % (path, schema["maxItems"]))
        for i, item in enumerate(body):
            out += validate(schema.get("items", {}), item, "%s[%d]" % (path, i))
    if isinstance(body, dict) and "properties" in schema:
        props = schema["properties"]
        for name in schema.get("required", []):
            if name not in body:
                out.append("%s%s: required" % (path + "." if path else "", name))
        for name, v in body.items():
            if name not in props:
                out.append("%s%s: unknown field" % (path + "." if path else "", name))
            else:
                out += validate(props[name], v, (path + "." if path else "") + name)
    return out


def media_values(rules, body):
    """(path, value) for each value of a media field the rules name:
    "image_urls[]" each element, "references[].uri" each element's uri."""
    out = []
    for mpath in rules.get("media", {}):
        nodes = [("", body)]
        for part in mpath.split("."):
            each = part.endswith("[]")
            name = part[:-2] if each else part
            nxt = []
            for p, n in nodes:
                if not isinstance(n, dict) or name not in n:
                    continue
                v, q = n[name], (p + "." + name if p else name)
                if not each:
                    nxt.append((q, v))
                elif isinstance(v, list):
                    nxt += [("%s[%d]" % (q, i), e) for i, e in enumerate(v)]
            nodes = nxt
        out += nodes
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-api/1"
    timeout = 60

    def log_message(self, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass

    @property
    def st(self):
        return self.server.state

    # ---- plumbing --------------------------------------------------------

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    do_HEAD = do_GET

    def dispatch(self):
        self.status, self.sent, self.fault_name = None, 0, None
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        try:
            self.route()
        finally:
            self.log()

    def log(self):
        if self.server.log_file is None:
            return
        rec = {"method": self.command, "path": urlsplit(self.path).path,
               "status": self.status, "range": self.headers.get("Range"),
               "bytes_sent": self.sent, "fault": self.fault_name,
               "has_auth": "Authorization" in self.headers}
        with self.server.log_lock:
            self.server.log_file.write(json.dumps(rec) + "\n")
            self.server.log_file.flush()

    def start(self, status, headers):
        self.status = status
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def write(self, data):
        if self.command == "HEAD" or not data:
            return
        self.wfile.write(data)
        self.wfile.flush()
        self.sent += len(data)

    def json(self, status, obj, extra=()):
        data = json.dumps(obj).encode()
        self.start(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data))), *extra])
        self.write(data)

    def reset(self):
        """Close with RST: the client sees a connection reset."""
        self.status = "reset"
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def apply_fault(self, on, produce):
        """Runs a fault if one applies to this request; produce() makes the
        normal answer (status, object) and, for a submission, the job.
        Returns True when the fault answered."""
        f = self.st.take_fault(on)
        if not f:
            return False
        a = f["action"]
        self.fault_name = a
        if a == "status":
            extra = [("Retry-After", str(f["retry_after"]))] if "retry_after" in f else []
            body = f.get("body", {"error_code": "http_%d" % f["code"],
                                  "error_message": "fault injected"})
            self.json(f["code"], body, extra)
        elif a == "reset":
            if f.get("create"):
                produce()
            self.reset()
        elif a == "hold":
            status, obj = produce()
            time.sleep(f.get("seconds", 30))
            self.json(status, obj)
        elif a == "delay":
            time.sleep(f.get("seconds", 1))
            return False
        elif a == "stall":
            status, obj = produce()
            data = json.dumps(obj).encode()
            self.start(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(data)))])
            self.write(data[:5])
            time.sleep(f.get("seconds", 30))
            self.close_connection = True
        elif a == "reset_mid_body":
            status, obj = produce()
            data = json.dumps(obj).encode()
            self.start(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(data)))])
            self.write(data[:len(data) // 2])
            self.reset()
        elif a == "malformed":
            if f.get("create", True):
                produce()
            data = b'{"request_id": "oops", "status'
            self.start(200, [("Content-Type", "application/json"),
                             ("Content-Length", str(len(data)))])
            self.write(data)
        elif a == "error200":
            self.json(200, {"error_code": f.get("code", "internal_error"),
                            "error_message": f.get("message", "Something went wrong.")})
        else:
            return False
        return True

    def auth(self, provider):
        want = os.environ.get("FAKE_RUNCOMFY_TOKEN" if provider == "runcomfy"
                              else "FAKE_COMETAPI_TOKEN", "")
        got = self.headers.get("Authorization", "")
        if want and got == "Bearer " + want:
            return True
        with self.st.lock:
            self.st.stats["auth_failures"] += 1
        self.json(401, {"error_code": "unauthorized",
                        "error_message": "Invalid or missing API token."})
        return False

    def bad(self, message):
        with self.st.lock:
            self.st.stats["bad_requests"].append({"path": urlsplit(self.path).path,
                                                  "problem": message})
        self.json(400, {"error_code": "invalid_request", "error_message": message})

    # ---- routes -----------------------------------------------------------

    def route(self):
        raw = urlsplit(self.path).path
        m = re.match(r"^/files/([^/]+)/(\d+)/([^/]+)$", raw)
        if m and self.command in ("GET", "HEAD"):
            return self.output_file(m.group(1), int(m.group(2)))
        path = unquote(raw)
        m = re.match(r"^/uploads/([A-Za-z0-9._-]+)$", raw)
        if m:
            return self.upload(m.group(1))
        if path.startswith("/_fake/"):
            return self.control(path[len("/_fake/"):])
        if path.startswith("/fixtures/"):
            return self.serve_file(path[len("/fixtures/"):], None)
        if path.startswith("/v1/models/") and self.command == "POST":
            return self.submit("runcomfy", path[len("/v1/models/"):])
        m = re.match(r"^/v1/requests/([^/]+)/(status|result|cancel)$", path)
        if m:
            if m.group(2) == "cancel" and self.command == "POST":
                return self.cancel(m.group(1))
            if m.group(2) != "cancel" and self.command == "GET":
                return self.runcomfy_query(m.group(1), m.group(2))
        if path == "/runwayml/v1/video_to_video" and self.command == "POST":
            return self.submit("cometapi", "runwayml/v1/video_to_video")
        m = re.match(r"^/runwayml/v1/tasks/([^/]+)$", path)
        if m and self.command == "GET":
            return self.comet_task(m.group(1))
        self.json(404, {"error_code": "not_found", "error_message": "no route " + path})

    def control(self, what):
        try:
            arg = json.loads(self.body or b"{}")
        except ValueError:
            return self.json(400, {"error": "bad JSON"})
        with self.st.lock:
            if what == "config":
                self.st.config.update(arg)
            elif what == "fault":
                self.st.faults.append(arg)
            elif what == "clear":
                self.st.faults = []
            elif what == "advance":
                job = self.st.jobs.get(arg.get("id"))
                if not job:
                    return self.json(404, {"error": "no job"})
                job["state"] = arg["state"]
            elif what == "stats":
                out = dict(self.st.stats)
                out["jobs"] = {k: {x: v[x] for x in ("provider", "model", "state", "polls",
                                                     "body")}
                               for k, v in self.st.jobs.items()}
                return self.json(200, out)
            else:
                return self.json(404, {"error": "no control " + what})
        self.json(200, {"ok": True})

    def submit(self, provider, model):
        if not self.auth(provider):
            return
        if provider == "cometapi":
            version = self.headers.get("X-Runway-Version")
            if not version or not VERSION_RE.match(version):
                return self.bad("X-Runway-Version header missing or not a date")
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            return self.bad("Content-Type must be application/json")
        rules = self.st.rules_for(provider, model)
        if rules is None:
            return self.json(404, {"error_code": "model_not_found",
                                   "error_message": "unknown model " + model})
        try:
            body = json.loads(self.body)
        except ValueError:
            return self.bad("body is not JSON")
        problems = validate(rules["input_schema"], body)
        for p, v in media_values(rules, body):
            if not isinstance(v, str) or not re.match(r"^(https?://|data:)", v):
                problems.append("%s: not a URL the server can fetch: %r" % (p, v))
        if problems:
            return self.bad("; ".join(problems))
        if self.st.config.get("fetch_inputs"):
            for p, v in media_values(rules, body):
                if v.startswith("data:"):
                    continue
                try:
                    with urllib.request.urlopen(v, timeout=10) as r:
                        if not r.read(1):
                            return self.bad("%s: empty at %s" % (p, v))
                except Exception as e:      # noqa: any failure to fetch
                    return self.bad("%s: cannot fetch: %s" % (p, e))

        created = {}

        def produce():
            if not created:
                created["id"] = self.create_job(provider, model, body)
            jid = created["id"]
            if provider == "cometapi":
                return 200, {"id": jid}
            base = "http://%s:%d" % self.server.server_address[:2]
            return 200, {"request_id": jid,
                         "status_url": "%s/v1/requests/%s/status" % (base, jid),
                         "result_url": "%s/v1/requests/%s/result" % (base, jid),
                         "cancel_url": "%s/v1/requests/%s/cancel" % (base, jid)}

        if self.apply_fault("submit", produce):
            return
        status, obj = produce()
        self.json(status, obj)

    def create_job(self, provider, model, body):
        jid = str(uuid.uuid4())
        with self.st.lock:
            c = self.st.config
            self.st.jobs[jid] = {
                "provider": provider, "model": model, "body": body, "polls": 0,
                "state": "in_queue" if c["queue_polls"] != 0 else "in_progress",
                "queue_left": c["queue_polls"], "progress_left": c["progress_polls"],
                "outcome": c["outcome"], "reason": c["reason"],
                "outputs": json.loads(json.dumps(c["outputs"])),
                "not_exist": c["comet_not_exist"], "created": time.time()}
            self.st.stats["submits"] += 1
            key = "%s %s" % (provider, model)
            self.st.stats["submits_by_path"][key] = self.st.stats["submits_by_path"].get(key, 0) + 1
        return jid

    def step(self, job):
        """The state to answer, then the job moves on one poll."""
        with self.st.lock:
            job["polls"] += 1
            state, pos = job["state"], job["queue_left"]
            if state == "in_queue" and job["queue_left"] != -1:
                job["queue_left"] -= 1
                if job["queue_left"] <= 0:
                    job["state"] = "in_progress" if job["progress_left"] != 0 else job["outcome"]
            elif state == "in_progress" and job["progress_left"] != -1:
                job["progress_left"] -= 1
                if job["progress_left"] <= 0:
                    job["state"] = job["outcome"]
        return state, pos

    def output_urls(self, jid, job):
        base = "http://%s:%d" % self.server.server_address[:2]
        query = [self.st.config.get("output_query")]
        uses = self.st.config.get("output_uses", 0)
        if uses > 0:
            sig = uuid.uuid4().hex
            with self.st.lock:
                self.st.stats["minted"] += 1
                self.st.signatures[sig] = uses
            query.append("X-Amz-Expires=60&X-Amz-Signature=" + sig)
        q = "&".join(x for x in query if x)
        return [("%s/files/%s/%d/%s%s" % (base, jid, i, o["name"], "?" + q if q else ""),
                 o["kind"]) for i, o in enumerate(job["outputs"])]

    def signature_spent(self):
        """Counts a GET against the URL's signature; True once it has
        served all it may (an expired presigned URL)."""
        sig = parse_qs(urlsplit(self.path).query).get("X-Amz-Signature", [None])[0]
        with self.st.lock:
            if sig not in self.st.signatures:
                return False
            if self.st.signatures[sig] <= 0:
                self.st.stats["expired"] += 1
                return True
            self.st.signatures[sig] -= 1
            return False

    def runcomfy_query(self, jid, what):
        if not self.auth("runcomfy"):
            return
        job = self.st.jobs.get(jid)
        if not job or job["provider"] != "runcomfy":
            return self.json(404, {"error_code": "request_not_found",
                                   "error_message": "No request " + jid})

        def produce():
            if what == "status":
                state, pos = self.step(job)
                obj = {"request_id": jid, "status": state}
                if state == "in_queue":
                    obj["queue_position"] = pos if pos > 0 else 1
                return 200, obj
            state = job["state"]
            obj = {"request_id": jid, "status": state}
            if state == "completed":
                out = {}
                for url, kind in self.output_urls(jid, job):
                    single = kind                  # "video" / "image"
                    if single not in out:
                        out[single] = url
                    else:
                        out.setdefault(single + "s", [out[single]]).append(url)
                obj.update({"output": out, "created_at": "2026-11-21T10:00:00Z",
                            "finished_at": "2026-11-21T10:01:00Z"})
            elif state == "failed":
                obj["error_message"] = job["reason"]
            return 200, obj

        if self.apply_fault(what, produce):
            return
        self.json(*produce())

    def cancel(self, jid):
        if not self.auth("runcomfy"):
            return
        job = self.st.jobs.get(jid)
        if not job:
            return self.json(404, {"error_code": "request_not_found",
                                   "error_message": "No request " + jid})

        def produce():
            with self.st.lock:
                self.st.stats["cancels"] += 1
                if job["state"] == "in_queue":
                    job["state"] = "cancelled"
                    return 200, {"request_id": jid, "outcome": "cancelled"}
                if job["state"] == "in_progress":
                    if self.st.config["cancel_refusal"] == "409":
                        return 409, {"error_code": "not_cancellable",
                                     "error_message": "The request is in progress."}
                    return 200, {"request_id": jid, "outcome": "not_cancellable"}
                return 409, {"error_code": "already_" + job["state"],
                             "error_message": "The request is " + job["state"] + "."}

        if self.apply_fault("cancel", produce):
            return
        self.json(*produce())

    def comet_task(self, jid):
        if not self.auth("cometapi"):
            return
        version = self.headers.get("X-Runway-Version")
        if version is not None and not VERSION_RE.match(version):
            return self.bad("X-Runway-Version is not a date")
        job = self.st.jobs.get(jid)
        envelope = self.st.config["comet_shape"] == "envelope"
        if job and job["not_exist"] > 0:
            with self.st.lock:
                job["not_exist"] -= 1
            job = None
        if not job or job["provider"] != "cometapi":
            return self.json(200, {"code": "task_not_exist", "message": "task_not_exist",
                                   "data": None})

        def produce():
            state, _ = self.step(job)
            bare_status, env_status = COMET_STATUS[state]
            task = {"id": jid, "status": bare_status, "createdAt": "2026-11-21T10:00:00Z"}
            if state == "completed":
                task["output"] = [u for u, _ in self.output_urls(jid, job)]
            elif state == "failed":
                task["failure"] = job["reason"]
                task["failureCode"] = "INTERNAL.BAD_OUTPUT"
            elif state == "in_progress":
                task["progress"] = 0.5
            if not envelope:
                return 200, task
            return 200, {"code": "success", "message": "", "data": {
                "task_id": jid, "action": "VIDEO_TO_VIDEO", "status": env_status,
                "fail_reason": task.get("failure", ""), "progress": "50%", "data": task}}

        if self.apply_fault("task", produce):
            return
        self.json(*produce())

    # ---- files -------------------------------------------------------------

    def upload(self, name):
        """A stand-in for a presigned PUT/GET pair: PUT stores, GET serves."""
        if self.command == "PUT":
            with self.st.lock:
                # Kept with its type and served with it, as S3 does; none
                # sent is served as S3 serves it, binary/octet-stream.
                self.st.uploads[name] = self.body
                self.st.upload_types[name] = self.headers.get("Content-Type") or \
                    "binary/octet-stream"
                self.st.stats["uploads"] = self.st.stats.get("uploads", 0) + 1
            return self.json(200, {"stored": len(self.body)}, [("ETag", '"%d"' % len(self.body))])
        data = self.st.uploads.get(name)
        if data is None or self.command not in ("GET", "HEAD"):
            return self.json(404, {"error": "no such upload"})
        start, end, status = 0, len(data) - 1, 200
        m = RANGE_RE.match((self.headers.get("Range") or "").strip())
        if m and m.group(1) and int(m.group(1)) < len(data):
            start = int(m.group(1))
            end = min(int(m.group(2)), len(data) - 1) if m.group(2) else len(data) - 1
            status = 206
        headers = [("Content-Type", self.st.upload_types.get(name, "binary/octet-stream")),
                   ("Content-Length", str(end - start + 1))]
        if status == 206:
            headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, len(data))))
        self.start(status, headers)
        self.write(data[start:end + 1])

    def output_file(self, jid, idx):
        job = self.st.jobs.get(jid)
        with self.st.lock:
            self.st.stats["file_requests"] += 1
        if not job or idx >= len(job["outputs"]) or job["state"] != "completed":
            return self.json(404, {"error": "no such output"})
        if self.signature_spent():
            self.fault_name = "expired"
            data = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied'
                    b'</Code><Message>Request has expired</Message></Error>')
            self.start(403, [("Content-Type", "application/xml"),
                             ("Content-Length", str(len(data)))])
            return self.write(data)
        f = self.st.take_fault("file")
        name = job["outputs"][idx]["file"]
        if f:
            self.fault_name = f["action"]
            if f["action"] == "status":
                return self.json(f["code"], {"error": "fault injected"})
            if f["action"] == "wrong_bytes":
                name = f.get("file", "jpg_640x480.jpg")
                f = None
        self.serve_file(name, f)

    def serve_file(self, name, fault):
        fs = os.path.realpath(os.path.join(self.st.fixtures, name))
        if not fs.startswith(self.st.fixtures + os.sep) or not os.path.isfile(fs):
            return self.json(404, {"error": "no such file"})
        total = os.path.getsize(fs)
        start, end, status = 0, total - 1, 200
        header = self.headers.get("Range")
        m = RANGE_RE.match(header.strip()) if header else None
        if m and m.group(1):
            start = int(m.group(1))
            end = min(int(m.group(2)), total - 1) if m.group(2) else total - 1
            if start >= total:
                self.start(416, [("Content-Range", "bytes */%d" % total),
                                 ("Content-Length", "0")])
                return
            status = 206
        elif m and m.group(2):
            start, status = max(0, total - int(m.group(2))), 206
        headers = [("Content-Type", "application/octet-stream"),
                   ("Content-Length", str(end - start + 1)), ("Accept-Ranges", "bytes")]
        if status == 206:
            headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, total)))
        self.start(status, headers)
        if self.command == "HEAD":
            return
        action = fault["action"] if fault else None
        with open(fs, "rb") as fh:
            fh.seek(start)
            left, sent = end - start + 1, 0
            while left > 0:
                chunk = fh.read(min(16384, left))
                if not chunk:
                    break
                if action == "reset_mid_body" and sent + len(chunk) > (end - start + 1) // 2:
                    self.write(chunk[:max(0, (end - start + 1) // 2 - sent)])
                    return self.reset()
                if action == "stall" and sent >= fault.get("after", 1000):
                    time.sleep(fault.get("seconds", 30))
                    self.close_connection = True
                    return
                self.write(chunk)
                sent += len(chunk)
                left -= len(chunk)
                if action == "slow":
                    time.sleep(len(chunk) / float(fault.get("rate", 65536)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--max-seconds", type=float, default=300)
    a = ap.parse_args()

    # A listen backlog for the soak's 50 simultaneous clients (the default
    # of 5 lets the kernel reset connections a real API would queue).
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(a.fixtures, a.rules)
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
