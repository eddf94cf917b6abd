"""A stand-in for the tenants' deployments in demo mode: accepts billing-ops' signed events and logs them.

    .venv/bin/python -m dunning.demo_receiver --port 8099

`make run` starts it on 127.0.0.1:8099, where the demo tenants' deployment webhook URLs point, so the
tenant pages show deliveries succeeding. It answers 200 to every POST and prints the event type, id and
path; it does not verify signatures (it does not know the tenants' secrets) — see dunning/outbox.py for
how a real deployment verifies them.
"""
from __future__ import annotations

import argparse
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        print(f"{self.headers.get('X-BillingOps-Event', '?')} {self.headers.get('X-BillingOps-Event-Id', '?')} -> {self.path}",
              flush=True)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"received": true}')

    def log_message(self, format, *args):  # the one line above is enough
        return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Demo receiver for tenant deployment webhooks")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), _Receiver)
    print(f"demo deployment receiver on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
