#!/usr/bin/env python3
"""Fault-injecting HTTP server for preflight's request and upload tests
(stdlib only, 127.0.0.1 only).

Usage: fault_server.py --port-file FILE [--log FILE] [--max-seconds N]

Every request body is read (and counted) unless the path says otherwise.
Paths (KEY names a counter, so each test gets fresh state):
  /ok                     200, JSON {"method", "length", "content_type",
                          "sha256", "expect"} of the request received
  /status/NNN             that status, short text body
  /flaky/KEY/N/STATUS     STATUS (500, 503, 408...) for the first N requests
                          to KEY, then as /ok
  /retry-after/KEY/S      429 with "Retry-After: S" once, then /ok
  /retry-date/KEY/S       503 with Retry-After as an HTTP date S s ahead, once
  /reset/KEY/N            the first N requests: connection reset after the
                          headers are read (SO_LINGER 0), then /ok
  /stall                  headers and 10 body bytes of 1000, then silence
  /stall-upload           reads 64 KiB of the body, then silence
  /s3/deny-midupload      reads 64 KiB of the body, answers 403 with S3's
                          SignatureDoesNotMatch XML, then drains and closes
  /s3/expired             403 AccessDenied "Request has expired"
  /s3/no-such-bucket      404 NoSuchBucket XML
  /json/error             400 {"error_code", "error_message"} (RunComfy)
  /json/error-200         200 with an error_code
  /json/detail            422 FastAPI {"detail": [{"msg"}]}
  /json/nested            500 {"error": {"message", "type"}}
  /range/N                N bytes of a pattern; honours "Range: bytes=A-" and
                          "bytes=A-B"; ?type=T serves it as Content-Type T
                          (default application/octet-stream), ?norange
                          ignores Range (200 and the whole body)
  /flaky-range/KEY/N/WHAT/TOTAL
                          the first N requests to KEY fail with WHAT (a status
                          such as 503, or "reset"), then as /range/TOTAL
  /sized/N/HEX            206 "bytes 0-0/N" with the one byte 0xHEX: a GET URL
                          for a large file the server never holds
  /discard                reads the body in large blocks and answers 200
                          (the benchmark's fast sink)
--log appends one JSON line per request: method, path, status, received
(body bytes read), headers (names only, and Content-Type / Content-Length).
"""
import argparse, hashlib, json, os, signal, socket, struct, sys, threading, time
from urllib.parse import parse_qs, urlsplit
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

S3_DENY = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch'
           b'</Code><Message>The request signature we calculated does not match the '
           b'signature you provided. Check your key and signing method.</Message>'
           b'<RequestId>4442587FB7D0A2F9</RequestId></Error>')
S3_EXPIRED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
              b'<Message>Request has expired</Message><X-Amz-Expires>60</X-Amz-Expires>'
              b'</Error>')
S3_NOBUCKET = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchBucket</Code>'
               b'<Message>The specified bucket does not exist</Message>'
               b'<BucketName>nope</BucketName></Error>')


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "preflight-fault/1"
    timeout = 60

    def log_message(self, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass

    def record(self):
        if self.logged or self.server.log_file is None:
            return
        self.logged = True
        rec = {"method": self.command, "path": self.path, "status": self.status,
               "received": self.received,
               "headers": sorted(k.lower() for k in self.headers.keys()),
               "content_type": self.headers.get("Content-Type"),
               "content_length": self.headers.get("Content-Length"),
               "transfer_encoding": self.headers.get("Transfer-Encoding")}
        with self.server.lock:
            self.server.log_file.write(json.dumps(rec) + "\n")
            self.server.log_file.flush()

    def count(self, key):
        with self.server.lock:
            n = self.server.counters.get(key, 0)
            self.server.counters[key] = n + 1
            return n

    def read_body(self, limit=None, block=1 << 16):
        length = int(self.headers.get("Content-Length") or 0)
        want = length if limit is None else min(limit, length)
        h = hashlib.sha256()
        while self.received < want:
            data = self.rfile.read(min(block, want - self.received))
            if not data:
                break
            h.update(data)
            self.received += len(data)
        return h.hexdigest()

    def reply(self, status, body=b"", ctype="text/plain", extra=()):
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def ok(self, digest=None):
        if digest is None:
            digest = self.read_body()
        doc = {"method": self.command, "length": self.received,
               "content_type": self.headers.get("Content-Type"),
               "expect": self.headers.get("Expect"), "sha256": digest}
        self.reply(200, json.dumps(doc).encode(), "application/json")

    def reset(self):
        self.status = 0
        self.record()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def answer_early(self, status, body, ctype):
        """Answer before the body is in, as S3 does when it refuses an
        upload, then drain what the client still sends and close."""
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.status = status
        self.record()
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(5)
            while self.connection.recv(1 << 16):
                pass
        except OSError:
            pass

    def route(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        head = parts[0]
        if head == "ok":
            return self.ok()
        if head == "status" and len(parts) == 2 and parts[1].isdigit():
            self.read_body()
            return self.reply(int(parts[1]), b"status %s\n" % parts[1].encode())
        if head == "flaky" and len(parts) == 4:
            n = self.count("flaky/" + parts[1])
            self.read_body()
            if n < int(parts[2]):
                return self.reply(int(parts[3]), b"try again\n")
            return self.ok("")
        if head == "retry-after" and len(parts) == 3:
            self.read_body()
            if self.count("ra/" + parts[1]) == 0:
                return self.reply(429, b"slow down\n", extra=[("Retry-After", parts[2])])
            return self.ok("")
        if head == "retry-date" and len(parts) == 3:
            self.read_body()
            if self.count("rd/" + parts[1]) == 0:
                when = formatdate(time.time() + int(parts[2]), usegmt=True)
                return self.reply(503, b"later\n", extra=[("Retry-After", when)])
            return self.ok("")
        if head == "reset" and len(parts) == 3:
            if self.count("reset/" + parts[1]) < int(parts[2]):
                return self.reset()
            return self.ok()
        if head == "stall":
            self.status = 200
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.wfile.flush()
            self.record()
            time.sleep(30)
            self.close_connection = True
            return
        if head == "stall-upload":
            self.read_body(limit=65536)
            self.status = 0
            self.record()
            time.sleep(30)
            self.close_connection = True
            return
        if head == "s3" and len(parts) == 2:
            if parts[1] == "deny-midupload":
                self.read_body(limit=65536)
                return self.answer_early(403, S3_DENY, "application/xml")
            self.read_body()
            if parts[1] == "expired":
                return self.reply(403, S3_EXPIRED, "application/xml")
            if parts[1] == "no-such-bucket":
                return self.reply(404, S3_NOBUCKET, "application/xml")
        if head == "json" and len(parts) == 2:
            self.read_body()
            j = "application/json"
            if parts[1] == "error":
                return self.reply(400, b'{"error_code":"INVALID_INPUT",'
                                  b'"error_message":"prompt is required"}', j)
            if parts[1] == "error-200":
                return self.reply(200, b'{"error_code":"QUOTA_EXCEEDED",'
                                  b'"error_message":"no credits left"}', j)
            if parts[1] == "detail":
                return self.reply(422, b'{"detail":[{"loc":["body","prompt"],'
                                  b'"msg":"field required"}]}', j)
            if parts[1] == "nested":
                return self.reply(500, b'{"error":{"message":"model crashed",'
                                  b'"type":"server_error"}}', j)
        if head == "flaky-range" and len(parts) == 5 and parts[4].isdigit():
            if self.count("flaky-range/" + parts[1]) < int(parts[2]):
                if parts[3] == "reset":
                    return self.reset()
                return self.reply(int(parts[3]), b"try again\n")
            return self.serve_range(int(parts[4]))
        if head == "range" and len(parts) == 2 and parts[1].isdigit():
            return self.serve_range(int(parts[1]))
        if head == "sized" and len(parts) == 3 and parts[1].isdigit():
            # A GET URL for a file of N bytes starting with byte HEX, without
            # holding N bytes: answers any request with byte 0 only.
            self.read_body()
            return self.reply(206, bytes([int(parts[2], 16)]), "application/octet-stream",
                              [("Content-Range", "bytes 0-0/%s" % parts[1])])
        if head == "discard":
            self.read_body(block=1 << 20)
            return self.reply(200, b"")
        self.read_body()
        return self.reply(404, b"no such path\n")

    def serve_range(self, total):
        """total bytes of the pattern, with single-range support."""
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        ctype = query.get("type", ["application/octet-stream"])[0]
        data = bytes((i * 7 + 3) & 0xFF for i in range(total))
        rng = self.headers.get("Range", "") if "norange" not in query else ""
        first, _, last = rng[6:].partition("-") if rng.startswith("bytes=") else ("", "", "")
        if first.isdigit() and (last == "" or last.isdigit()):
            start = int(first)
            end = min(int(last), total - 1) if last else total - 1
            if start >= total:
                return self.reply(416, extra=[("Content-Range", "bytes */%d" % total)])
            return self.reply(206, data[start:end + 1], ctype,
                              [("Content-Range", "bytes %d-%d/%d" % (start, end, total))])
        return self.reply(200, data, ctype)

    def dispatch(self):
        self.received, self.status, self.logged = 0, None, False
        try:
            self.route()
        finally:
            self.record()

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = dispatch


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, OSError)):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--max-seconds", type=int, default=300)
    args = ap.parse_args()

    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, stop)
    signal.alarm(max(1, args.max_seconds))

    server = Server(("127.0.0.1", 0), Handler)
    server.lock = threading.Lock()
    server.counters = {}
    server.log_file = open(args.log, "a", encoding="utf-8") if args.log else None
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
