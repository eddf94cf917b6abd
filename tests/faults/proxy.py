"""A fault-injecting HTTP proxy in front of the fake Paystack: it forwards each request for real and
then misbehaves on the way back, as a flaky network or load balancer would (the charge happened,
the answer never arrives), or holds a request before it reaches Paystack."""
from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Modes, per kind of request ("charge" = POST /transaction/charge_authorization, "verify", "other"):
#   pass            forward, answer what Paystack answered
#   502_after       forward (Paystack acts), answer 502 Bad Gateway
#   hang_after      forward (Paystack acts), then hold the answer for ``hang_s`` (the client times out)
#   drop_after      forward (Paystack acts), then close the connection without answering
#   hold_before     hold the request for ``hang_s`` and never forward it (a worker killed meanwhile never charged)
#   503             answer 503 without forwarding


class FaultProxy:
    def __init__(self, target: str, *, hang_s: float = 5.0):
        self.target = target.rstrip("/")
        self.hang_s = hang_s
        self.modes = {"charge": "pass", "verify": "pass", "other": "pass"}
        self.seen: list[tuple[str, str]] = []  # (kind, mode) of every request
        self.arrived = threading.Event()  # set when a charge request arrives
        self._stop = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                proxy._handle(self, "GET")

            def do_POST(self):
                proxy._handle(self, "POST")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @staticmethod
    def kind(method: str, path: str) -> str:
        if method == "POST" and path.startswith("/transaction/charge_authorization"):
            return "charge"
        if path.startswith("/transaction/verify/"):
            return "verify"
        return "other"

    def _handle(self, handler, method):
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0)) if method == "POST" else None
        kind = self.kind(method, handler.path)
        mode = self.modes[kind]
        self.seen.append((kind, mode))
        if kind == "charge":
            self.arrived.set()
        if mode == "hold_before":
            self._stop.wait(self.hang_s)
            handler.close_connection = True
            return
        if mode == "503":
            return self._answer(handler, 503, b'{"status": false, "message": "Service Unavailable"}')
        request = urllib.request.Request(self.target + handler.path, data=body, method=method, headers={
            k: v for k, v in handler.headers.items() if k.lower() in ("authorization", "content-type")})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        if mode == "502_after":
            return self._answer(handler, 502, b"<html>Bad Gateway</html>", content_type="text/html")
        if mode == "hang_after":
            self._stop.wait(self.hang_s)
        if mode == "drop_after":
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        self._answer(handler, status, payload)

    @staticmethod
    def _answer(handler, status, payload, content_type="application/json"):
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:  # the client gave up (timed out) meanwhile
            pass

    def stop(self):
        self._stop.set()
        time.sleep(0.05)
        self._server.shutdown()
        self._server.server_close()
