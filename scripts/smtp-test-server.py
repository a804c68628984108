#!/usr/bin/python3
"""A small SMTP server for CloudHP's tests: it stores every message it accepts.

    smtp-test-server.py [--host HOST] --port PORT --maildir DIR
                        [--mode plain|starttls|smtps] [--tls-cert CERT --tls-key KEY]
                        [--user USER --password PASS]
                        [--refuse ADDRESS=CODE[xTIMES] ...]

Listens on HOST:PORT (HOST 127.0.0.1 by default; PORT 0 picks a free port) and
prints one line, "listening on HOST:PORT", once it accepts connections. Runs until
SIGTERM or SIGINT, then exits with status 0.

Modes:
  plain     no TLS at all (the default);
  starttls  offers STARTTLS and requires it before AUTH and MAIL;
  smtps     implicit TLS from the first byte.
starttls and smtps need --tls-cert and --tls-key (PEM files).

With --user and --password, AUTH (PLAIN or LOGIN) with exactly that pair is
required before MAIL; anything else gets "535". These are whatever test-only
credentials the test passes; the server only ever listens on loopback.

With --refuse, RCPT TO:<ADDRESS> is answered CODE (e.g. 550 for a permanent
refusal, 451 for a transient one) TIMES times (every time when xTIMES is left
out), then accepted; repeat the option for several addresses. How often each
address was refused is kept in DIR/.refusals (one "ADDRESS COUNT" line each,
rewritten after every refusal), for the tests to check that a sender did not
retry a permanent refusal.

Each accepted message becomes one file DIR/<unix-nanos>-<n>.eml (n counts
from 000001; names sort in arrival order) holding the message exactly as the
client sent it in DATA (its headers and body). The file is written under a
temporary name (.<name>.tmp) in DIR and renamed, so a *.eml file is always
complete; it exists before the client gets its "250".

Needs aiosmtpd (Debian: python3-aiosmtpd), hence the system interpreter in
the first line; otherwise only the standard library.
"""

import argparse
import asyncio
import itertools
import logging
import os
import signal
import ssl
import sys
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HOST = "127.0.0.1"


def parse_args():
    parser = argparse.ArgumentParser(
        description="SMTP server for tests: writes each accepted message to a file.")
    parser.add_argument("--host", default=HOST,
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)")
    parser.add_argument("--port", type=int, required=True,
                        help="TCP port (0: any free port)")
    parser.add_argument("--maildir", required=True,
                        help="directory receiving one .eml file per message")
    parser.add_argument("--mode", choices=("plain", "starttls", "smtps"), default="plain")
    parser.add_argument("--tls-cert", help="PEM certificate (starttls, smtps)")
    parser.add_argument("--tls-key", help="PEM private key (starttls, smtps)")
    parser.add_argument("--user", help="require AUTH as this user")
    parser.add_argument("--password", help="the password of --user")
    parser.add_argument("--refuse", action="append", default=[], metavar="ADDRESS=CODE[xTIMES]",
                        help="answer RCPT TO this address with CODE (TIMES times, or always)")
    args = parser.parse_args()
    refusals = {}
    for item in args.refuse:
        address, _, rule = item.partition("=")
        code, _, times = rule.partition("x")
        if not address or not (code.isdigit() and len(code) == 3 and code[0] in "45") \
                or (times and not times.isdigit()):
            parser.error(f"--refuse {item}: use ADDRESS=CODE[xTIMES], CODE 4xx or 5xx")
        refusals[address.lower()] = (int(code), int(times) if times else None)
    args.refusals = refusals
    if args.mode != "plain" and not (args.tls_cert and args.tls_key):
        parser.error(f"--mode {args.mode} needs --tls-cert and --tls-key")
    if (args.user is None) != (args.password is None):
        parser.error("--user and --password go together")
    return args


class MaildirHandler:
    """Writes the raw DATA of each accepted message to its own file."""

    def __init__(self, maildir, refusals):
        self.maildir = maildir
        self.counter = itertools.count(1)
        self.refusals = refusals
        self.refused = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        rule = self.refusals.get(address.lower())
        if rule is not None:
            code, times = rule
            done = self.refused.get(address.lower(), 0)
            if times is None or done < times:
                self.refused[address.lower()] = done + 1
                self.write_refusals()
                return f"{code} {address} refused by the test server"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    def write_refusals(self):
        path = os.path.join(self.maildir, ".refusals")
        with open(path + ".tmp", "w") as f:
            for address, count in sorted(self.refused.items()):
                f.write(f"{address} {count}\n")
        os.replace(path + ".tmp", path)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        name = f"{time.time_ns()}-{n:06d}.eml"
        # The temporary name must not end in .eml: readers look for *.eml.
        tmp = os.path.join(self.maildir, f".{name}.tmp")
        # original_content: the bytes as received (after SMTP dot-unstuffing),
        # no header added by this server.
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.maildir, name))
        return "250 OK message stored"


def make_authenticator(user, password):
    want = (user.encode(), password.encode())

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and (auth_data.login, auth_data.password) == want)
        # handled=False: aiosmtpd answers a failure with "535 5.7.8".
        return AuthResult(success=ok, handled=False)

    return authenticator


def tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


async def serve(args):
    os.makedirs(args.maildir, exist_ok=True)
    handler = MaildirHandler(os.path.abspath(args.maildir), args.refusals)
    ctx = tls_context(args.tls_cert, args.tls_key) if args.mode != "plain" else None

    smtp_kwargs = {
        "hostname": "localhost",  # avoids a DNS lookup of the machine's name
        # AUTH over plain text is fine on loopback in tests; with starttls,
        # require_starttls already forbids AUTH and MAIL before STARTTLS.
        "auth_require_tls": False,
    }
    if args.user is not None:
        smtp_kwargs["authenticator"] = make_authenticator(args.user, args.password)
        smtp_kwargs["auth_required"] = True
    if args.mode == "starttls":
        smtp_kwargs["tls_context"] = ctx
        smtp_kwargs["require_starttls"] = True

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, **smtp_kwargs),
        host=args.host,
        port=args.port,
        ssl=ctx if args.mode == "smtps" else None,
    )
    port = server.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    print(f"listening on {args.host}:{port}", flush=True)
    await stop.wait()
    # Stop listening; open sessions are dropped when the loop shuts down.
    server.close()


def main():
    args = parse_args()
    # aiosmtpd warns that AUTH without TLS is unsafe and logs every session;
    # that is intended here (loopback, tests) and would only clutter test output.
    warnings.filterwarnings("ignore", module="aiosmtpd")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
