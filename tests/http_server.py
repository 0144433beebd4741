#!/usr/bin/env python3
"""Static file server for preflight's network tests (stdlib only, 127.0.0.1 only).

Usage: http_server.py --root DIR --port-file FILE [--no-range] [--log FILE]
                      [--max-seconds N]

Serves GET/HEAD for files under DIR with single-range support (206/416), or with
--no-range ignores Range entirely so the client's "read only the head of a plain
GET" fallback can be exercised.  Fault paths (all honour Range like normal files):
  /status/NNN        that status with a short body
  /redirect?to=/p    302 to /p (local paths only)
  /slow/<file>       body paced at ~64 KiB/s
  /stall/<file>      first min(1000, length-1) body bytes, 30 s of silence, close
  /lie-length/<file> Content-Length 1000 bytes larger than the body, then close
--log appends one JSON line per request so tests can check what the client pulled.
"""
import argparse, json, mimetypes, os, re, signal, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

CHUNK = 16 * 1024          # small writes keep bytes_sent close to what was pulled
SLOW_RATE = 64 * 1024      # bytes per second for /slow/
STALL_AFTER, STALL_SECONDS = 1000, 30
LIE_EXTRA = 1000
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so libcurl sees realistic keep-alive behaviour; every response
    # therefore carries an exact Content-Length (except the deliberate lie).
    protocol_version = "HTTP/1.1"
    server_version = "preflight-test/1"
    timeout = 60               # don't keep idle keep-alive connections forever

    def log_message(self, *args):   # stderr chatter is useless; --log is the record
        pass

    def handle(self):
        # A client that only wants the head of a file hangs up mid-body; that is
        # expected behaviour under test, not a server error.
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass

    def do_GET(self):
        self.bytes_sent, self.status, self.logged = 0, None, False
        try:
            self.route()
        finally:
            self.log_request_line()

    do_HEAD = do_GET

    def log_request_line(self):
        if self.logged or self.server.log_file is None:
            return
        self.logged = True
        rec = {"method": self.command, "path": self.path,
               "range": self.headers.get("Range"), "status": self.status,
               "bytes_sent": self.bytes_sent}
        with self.server.log_lock:
            self.server.log_file.write(json.dumps(rec) + "\n")
            self.server.log_file.flush()

    def start(self, status, headers):
        self.status = status
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def simple(self, status, body=b"", extra=()):
        if status in (204, 304):
            body = b""
        self.start(status, [("Content-Type", "text/plain"),
                            ("Content-Length", str(len(body))), *extra])
        self.write(body)

    def write(self, data):
        if self.command == "HEAD" or not data:
            return
        self.wfile.write(data)
        self.wfile.flush()
        self.bytes_sent += len(data)   # counted only once the write succeeded

    def route(self):
        url = urlsplit(self.path)
        path = unquote(url.path)
        if path.startswith("/status/"):
            code = path[len("/status/"):]
            if code.isdigit() and 200 <= int(code) <= 599:
                return self.simple(int(code), b"status %s\n" % code.encode())
            return self.simple(400, b"bad status\n")
        if path == "/redirect":
            to = parse_qs(url.query).get("to", [""])[0]
            # Only same-server paths: tests must never be sent off 127.0.0.1.
            if not to.startswith("/") or to.startswith("//"):
                return self.simple(400, b"bad redirect target\n")
            return self.simple(302, b"redirect\n", [("Location", to)])
        mode = None
        for prefix in ("/slow/", "/stall/", "/lie-length/"):
            if path.startswith(prefix):
                mode, path = prefix.strip("/"), path[len(prefix) - 1:]
                break
        self.serve_file(path, mode)

    def resolve(self, path):
        """Map a URL path to a file under root, or return an HTTP error code."""
        root = self.server.root
        try:
            fs = os.path.realpath(os.path.join(root, path.lstrip("/")))
        except ValueError:             # e.g. embedded NUL
            return 400
        # realpath also resolves symlinks, so a link pointing outside root is refused.
        if fs != root and not fs.startswith(root + os.sep):
            return 403
        return fs if os.path.isfile(fs) else 404

    def pick_range(self, total):
        """Return (status, start, end_inclusive) for this request's Range header."""
        header = self.headers.get("Range")
        if self.server.no_range or header is None:
            return 200, 0, total - 1
        m = RANGE_RE.match(header.strip())
        if not m or m.group(1) == m.group(2) == "":
            # Multiple ranges or syntax we don't parse: RFC 9110 lets us ignore Range.
            return 200, 0, total - 1
        a, b = m.group(1), m.group(2)
        if a == "":                    # suffix range: last n bytes
            n = int(b)
            if n == 0 or total == 0:
                return 416, 0, 0
            return 206, max(0, total - n), total - 1
        start = int(a)
        end = total - 1 if b == "" else min(int(b), total - 1)
        if start >= total or (b != "" and int(b) < start):
            return 416, 0, 0
        return 206, start, end

    def serve_file(self, path, mode):
        fs = self.resolve(path)
        if isinstance(fs, int):
            return self.simple(fs, b"error %d\n" % fs)
        total = os.path.getsize(fs)
        status, start, end = self.pick_range(total)
        if status == 416:
            return self.simple(416, extra=[("Content-Range", "bytes */%d" % total)])
        length = end - start + 1
        headers = [("Content-Type", mimetypes.guess_type(fs)[0] or "application/octet-stream")]
        if not self.server.no_range:
            headers.append(("Accept-Ranges", "bytes"))
        if status == 206:
            headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, total)))
        declared = length + (LIE_EXTRA if mode == "lie-length" else 0)
        headers.append(("Content-Length", str(declared)))
        if mode in ("lie-length", "stall"):
            # The body will be short of Content-Length; the connection can't be reused.
            self.close_connection = True
            headers.append(("Connection", "close"))
        self.start(status, headers)
        if self.command == "HEAD":
            return
        with open(fs, "rb") as f:
            f.seek(start)
            self.send_body(f, length, mode)

    def send_body(self, f, length, mode):
        if mode == "stall":
            # Always stop short of the body, so even a tiny range visibly stalls.
            self.write(f.read(max(0, min(length - 1, STALL_AFTER))))
            self.log_request_line()    # log now: a test may not wait 30 s for the line
            time.sleep(STALL_SECONDS)
            return                     # then drop the connection without the rest
        began, sent = time.monotonic(), 0
        step = 4096 if mode == "slow" else CHUNK
        while sent < length:
            data = f.read(min(step, length - sent))
            if not data:               # file shrank under us; nothing sane to send
                self.close_connection = True
                return
            self.write(data)
            sent += len(data)
            if mode == "slow" and sent < length:  # back onto the 64 KiB/s schedule
                delay = began + sent / SLOW_RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)


class Server(ThreadingHTTPServer):
    daemon_threads = True              # a stalled handler must not block exit
    request_queue_size = 64            # parallel test clients; the default is 5

    def handle_error(self, request, client_address):
        # Client hang-ups are normal in these tests; anything else gets a traceback.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--no-range", action="store_true")
    ap.add_argument("--log")
    ap.add_argument("--max-seconds", type=int, default=300)
    args = ap.parse_args()

    def stop(signum, frame):           # unwinds serve_forever() in the main thread
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, stop)
    signal.alarm(max(1, args.max_seconds))  # a crashed test never leaves us running

    server = Server(("127.0.0.1", 0), Handler)
    server.root = os.path.realpath(args.root)
    server.no_range = args.no_range
    server.log_lock = threading.Lock()
    server.log_file = open(args.log, "a", encoding="utf-8") if args.log else None
    # Atomic publish: readers polling for the file never see a partial port number.
    tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
