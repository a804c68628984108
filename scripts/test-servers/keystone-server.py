#!/usr/bin/python3
"""Serve Keystone's public (v3) WSGI application in the foreground.

Usage: keystone-server.py CONF_FILE PORT

Listens on 127.0.0.1:PORT and logs to stderr. This is what Keystone's own
keystone-wsgi-public test runner does, minus its banner on stdout and its
reverse DNS lookups. Requests are served one at a time, on purpose: Keystone's
lazy initialisation (policy enforcer) and its SQLite sessions are not safe to
use from several threads at once, and each request takes milliseconds.
"""
import os
import sys
import wsgiref.simple_server as wss

if len(sys.argv) != 3:
    sys.exit(__doc__)
conf_file, port = os.path.abspath(sys.argv[1]), int(sys.argv[2])
# Keystone parses the command line itself (oslo.config): leave it nothing.
del sys.argv[1:]

# Keystone's WSGI entry point reads its configuration files from these.
os.environ["OS_KEYSTONE_CONFIG_DIR"] = ""
os.environ["OS_KEYSTONE_CONFIG_FILES"] = conf_file

from keystone.server.wsgi import initialize_public_application  # noqa: E402


class Handler(wss.WSGIRequestHandler):
    def address_string(self):
        # No reverse DNS lookup of the client for each log line.
        return self.client_address[0]


app = initialize_public_application()
server = wss.make_server("127.0.0.1", port, app, handler_class=Handler)
print(f"keystone listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
server.serve_forever()
