"""A real OAuth 2.0 token endpoint for Keyroll's XOAUTH2 tests (RFC 6749
section 6, refresh_token grant), rotating refresh tokens as Microsoft does.

    python3 token_server.py --port P --client-id ID --refresh refresh-token-1

A POST with grant_type=refresh_token, the current refresh token and the
client id answers {"access_token": "access-token-<n>", "expires_in": 3600,
"refresh_token": "refresh-token-<n+1>"}; the old refresh token then stops working
(invalid_grant), as a rotated one does. "ready" is printed once it listens.
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--refresh", required=True)
    args = p.parse_args()
    state = {"refresh": args.refresh, "issued": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            if self.path != "/token":
                return self.answer(404, {"error": "not_found"})
            if not self.headers.get("Content-Type", "").startswith(
                    "application/x-www-form-urlencoded"):
                return self.answer(400, {"error": "invalid_request",
                                         "error_description": "form encoding expected"})
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if form.get("grant_type") != "refresh_token":
                return self.answer(400, {"error": "unsupported_grant_type"})
            if form.get("client_id") != args.client_id:
                return self.answer(401, {"error": "invalid_client",
                                         "error_description": "AADSTS700016: Application not found"})
            with lock:
                if form.get("refresh_token") != state["refresh"]:
                    return self.answer(400, {
                        "error": "invalid_grant",
                        "error_description": "AADSTS70008: The provided authorization code or "
                                             "refresh token has expired due to inactivity.\r\nTrace ID: 0"})
                state["issued"] += 1
                n = state["issued"]
                state["refresh"] = "refresh-token-%d" % (n + 1)
            self.answer(200, {"token_type": "Bearer", "access_token": "access-token-%d" % n,
                              "expires_in": 3600, "refresh_token": state["refresh"],
                              "scope": form.get("scope", "")})

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
