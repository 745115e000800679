#!/usr/bin/env python3
"""A webhook receiver that verifies every delivery with `standardwebhooks` (PyPI), the
Standard Webhooks reference library: a foreign implementation of the signature Keywarden makes.

Usage: receiver.py --secrets FILE --log FILE [--status FILE] [--port 0]
  --secrets  signing secrets (whsec_…), one per line; read again for every request, so a
             test can rotate them while the receiver runs
  --log      one JSON line per request: message id, event type, whether the signature
             verified (with which secrets: verified_by), whether the library refused the same body
             tampered and the same message re-signed with a timestamp 10 minutes old
  --status   a file holding the HTTP status to answer (default 200; a 3xx points
             to /redirected)
Prints "LISTENING <port>" once it accepts connections.
"""
import argparse, datetime, json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def refused(wh, body, headers):
    try:
        wh.verify(body, headers)
        return False
    except WebhookVerificationError:
        return True


def check(secrets, body, headers):
    out = {"verified": False, "verified_with": None, "verified_by": [],
           "tampered_refused": None, "old_refused": None}
    for i, s in enumerate(secrets):
        if not refused(Webhook(s), body, headers):
            out["verified_by"].append(i)
    for i, s in enumerate(secrets):
        wh = Webhook(s)
        try:
            wh.verify(body, headers)
        except WebhookVerificationError:
            continue
        out.update(verified=True, verified_with=i)
        out["tampered_refused"] = refused(wh, body + b" ", headers)
        old = datetime.datetime.now(tz=datetime.timezone.utc) - datetime.timedelta(minutes=10)
        old_headers = dict(headers)
        old_headers["webhook-timestamp"] = str(int(old.timestamp()))
        old_headers["webhook-signature"] = wh.sign(headers["webhook-id"], old, body)
        out["old_refused"] = refused(wh, body, old_headers)
        break
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secrets", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--status")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            secrets = [l.strip() for l in open(a.secrets) if l.strip()]
            status = 200
            if a.status:
                try:
                    status = int(open(a.status).read().strip() or "200")
                except FileNotFoundError:
                    pass
            try:
                event = json.loads(body)
            except ValueError:
                event = {}
            row = {"id": headers.get("webhook-id"), "type": event.get("type"), "answered": status,
                   "path": self.path,
                   "environment": event.get("environment"), "data": event.get("data"),
                   "signatures": len(headers.get("webhook-signature", "").split())}
            row.update(check(secrets, body, headers))
            with lock, open(a.log, "a") as f:
                f.write(json.dumps(row) + "\n")
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("location", "/redirected")
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"receiver says no")

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(f"LISTENING {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
