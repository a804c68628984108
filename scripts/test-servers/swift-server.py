#!/usr/bin/python3
"""Run one Swift WSGI server in the foreground with a private swift.conf.

Usage: swift-server.py SWIFT_DIR SERVER CONF_FILE
  SWIFT_DIR  directory holding swift.conf (and the rings)
  SERVER     proxy-server, account-server, container-server or object-server
  CONF_FILE  that server's paste.deploy configuration

Swift reads its cluster-wide settings (hash path prefix/suffix, storage
policies) from /etc/swift/swift.conf unless told otherwise; the stock
swift-*-server commands cannot be told otherwise. This does what they do,
after pointing Swift at SWIFT_DIR/swift.conf, so the test cluster neither
needs nor touches the system-wide file. Logs go to stderr (verbose mode).
"""
import sys

from swift.common import utils

if len(sys.argv) != 4:
    sys.exit(__doc__)
swift_dir, server, conf_file = sys.argv[1:]

# Must happen before anything imports swift.common.storage_policy, which
# loads the storage policies from the configured swift.conf on import.
utils.set_swift_dir(swift_dir)

from swift.common.wsgi import run_wsgi  # noqa: E402

sys.exit(run_wsgi(conf_file, server, verbose=True))
