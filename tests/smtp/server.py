"""A real SMTP server for Keyroll's tests and benchmark: aiosmtpd, with a
handler that keeps each message as a file and can misbehave on purpose.

    python3 server.py --port P --dir DIR [--defer ADDR]... [--refuse ADDR]...
                      [--drop-at N] [--delay-ms MS] [--sink]

--defer ADDR    answer 451 to RCPT TO:<ADDR> the first time, then accept
--refuse ADDR   answer 550 to RCPT TO:<ADDR> always
--drop-at N     close the connection instead of answering the Nth DATA (once)
--delay-ms MS   wait this long before accepting each message
--sink          keep nothing (the benchmark)
--user U --password P   require AUTH PLAIN or LOGIN with these (no TLS needed)
--user U --xoauth2      require AUTH XOAUTH2 as U with a bearer token "access-token-<n>"
                        (the tests' token server issues those)

Each accepted message is DIR/<n>.eml: an "X-Envelope-To: ADDR" line, then
the message as received. "ready" is printed once the server listens.
"""

import argparse
import asyncio
import base64
import os
import re
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Handler:
    def __init__(self, args):
        self.args = args
        self.deferred = set()
        self.data_seen = 0
        self.dropped = False
        self.count = 0

    async def auth_XOAUTH2(self, server, args):
        """RFC-less but documented by Google and Microsoft: base64 of
        "user=U^Aauth=Bearer T^A^A", as the initial response."""
        if len(args) < 2:
            return AuthResult(success=False, handled=False)
        try:
            fields = base64.b64decode(args[1]).decode().split("\x01")
        except Exception:
            return AuthResult(success=False, handled=False)
        user = next((f[5:] for f in fields if f.startswith("user=")), "")
        bearer = next((f[5:] for f in fields if f.startswith("auth=")), "")
        ok = (self.args.xoauth2 and user == self.args.user
              and re.fullmatch(r"Bearer access-token-\d+", bearer) is not None)
        if ok:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False,
                          message="535 5.7.3 Authentication unsuccessful")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        lower = address.lower()
        if lower in self.args.refuse:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if lower in self.args.defer and lower not in self.deferred:
            self.deferred.add(lower)
            return "451 4.3.0 <%s>: Temporary lookup failure, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_seen += 1
        if self.args.drop_at and not self.dropped and self.data_seen == self.args.drop_at:
            self.dropped = True
            server.transport.close()
            return "421 4.4.2 connection dropped on purpose"
        if self.args.delay_ms:
            await asyncio.sleep(self.args.delay_ms / 1000)
        if not self.args.sink:
            self.count += 1
            name = os.path.join(self.args.dir, "%06d-%d.eml" % (self.count, os.getpid()))
            with open(name + ".tmp", "wb") as f:
                for rcpt in envelope.rcpt_tos:
                    f.write(b"X-Envelope-To: " + rcpt.encode() + b"\r\n")
                f.write(envelope.original_content)
            os.rename(name + ".tmp", name)
        return "250 2.0.0 Ok: queued"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", default=".")
    p.add_argument("--defer", action="append", default=[])
    p.add_argument("--refuse", action="append", default=[])
    p.add_argument("--drop-at", type=int, default=0)
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--sink", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--xoauth2", action="store_true")
    args = p.parse_args()
    args.defer = {a.lower() for a in args.defer}
    args.refuse = {a.lower() for a in args.refuse}
    auth = {}
    if args.user and args.xoauth2:
        auth = dict(auth_require_tls=False, auth_required=True,
                    auth_exclude_mechanism=["PLAIN", "LOGIN"])
    elif args.user:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login.decode() == args.user and auth_data.password.decode() == args.password
            return AuthResult(success=ok, handled=False)
        auth = dict(authenticator=authenticator, auth_require_tls=False, auth_required=True)
    controller = Controller(Handler(args), hostname="127.0.0.1", port=args.port,
                            decode_data=False, enable_SMTPUTF8=True, **auth)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # runs until the harness closes our stdin or kills us
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
