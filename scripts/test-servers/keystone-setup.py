#!/usr/bin/python3
"""Prepare and check Keystone for the tests, through its v3 API.

Usage: keystone-setup.py setup KEYSTONE_URL SWIFT_PUBLIC_URL
       keystone-setup.py check KEYSTONE_URL

KEYSTONE_URL is the v3 root (http://127.0.0.1:PORT/v3); SWIFT_PUBLIC_URL the
object-store endpoint template (http://127.0.0.1:PORT/v1/AUTH_%(tenant_id)s).

"setup" logs in as the "admin" user made by "keystone-manage bootstrap", then
ensures:

  - project "service", user "swift" with role "service" on it: the account the
    proxy's authtoken middleware uses to validate user tokens;
  - project "cloudhp", user "cloudhp" with role "swiftoperator" on it (listed in
    the proxy's keystoneauth operator_roles, so it owns its Swift account);
  - service "swift" of type "object-store" with a public endpoint in RegionOne.

It is idempotent: what exists is looked up by name and kept.

"check" logs in as "cloudhp" on project "cloudhp", takes the object-store
public endpoint from the token's catalog and sends a HEAD to that Swift account
with the token: it succeeds once Keystone and the Swift proxy accept each other.

Standard library only. All passwords here are fixed test-only credentials for
loopback-only servers.
"""
import json
import sys
import urllib.error
import urllib.request

PASSWORD = "cloudhp-test"  # test-only, loopback-only
DOMAIN_ID = "default"
REGION = "RegionOne"


def http(method, url, body=None, token=None):
    """Returns (status, body bytes, headers); HTTP errors are answers too."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


class Keystone:
    def __init__(self, url):
        self.url = url.rstrip("/")
        self.token = None

    def call(self, method, path, body=None):
        status, raw, headers = http(method, self.url + path, body, self.token)
        if status not in (200, 201, 204):
            raise SystemExit(f"keystone-setup: {method} {path} -> {status}: {raw[:500]!r}")
        return (json.loads(raw) if raw else None), headers

    def login(self, user, project):
        """Logs in; returns the token's body (with its catalog)."""
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": DOMAIN_ID}, "password": PASSWORD}}},
            "scope": {"project": {"name": project, "domain": {"id": DOMAIN_ID}}}}}
        token, headers = self.call("POST", "/auth/tokens", body)
        self.token = headers["X-Subject-Token"]
        return token["token"]

    def find(self, collection, **filters):
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        found, _ = self.call("GET", f"/{collection}?{query}")
        return found[collection][0] if found[collection] else None

    def ensure(self, collection, key, lookup, create):
        """Return the entity matching `lookup`, creating it from `create` if absent."""
        entity = self.find(collection, **lookup)
        if entity is None:
            made, _ = self.call("POST", f"/{collection}", {key: create})
            entity = made[key]
            print(f"keystone-setup: created {key} {create.get('name', create.get('url'))}",
                  file=sys.stderr)
        return entity

    def grant(self, project, user, role):
        self.call("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{role['id']}")


def setup(keystone_url, swift_url):
    ks = Keystone(keystone_url)
    ks.login("admin", "admin")

    def project(name):
        return ks.ensure("projects", "project", {"name": name, "domain_id": DOMAIN_ID},
                         {"name": name, "domain_id": DOMAIN_ID, "enabled": True})

    def user(name, default_project):
        return ks.ensure("users", "user", {"name": name, "domain_id": DOMAIN_ID},
                         {"name": name, "domain_id": DOMAIN_ID, "password": PASSWORD,
                          "default_project_id": default_project["id"], "enabled": True})

    def role(name):
        return ks.ensure("roles", "role", {"name": name}, {"name": name})

    service_project = project("service")
    ks.grant(service_project, user("swift", service_project), role("service"))

    cloudhp_project = project("cloudhp")
    ks.grant(cloudhp_project, user("cloudhp", cloudhp_project), role("swiftoperator"))

    service = ks.ensure("services", "service", {"type": "object-store"},
                        {"name": "swift", "type": "object-store", "enabled": True})
    ks.ensure("endpoints", "endpoint",
              {"service_id": service["id"], "interface": "public"},
              {"service_id": service["id"], "interface": "public",
               "region_id": REGION, "url": swift_url, "enabled": True})


def check(keystone_url):
    ks = Keystone(keystone_url)
    token = ks.login("cloudhp", "cloudhp")
    urls = [e["url"] for s in token.get("catalog", []) if s["type"] == "object-store"
            for e in s["endpoints"] if e["interface"] == "public" and e["region_id"] == REGION]
    if not urls:
        raise SystemExit("keystone-setup: no public object-store endpoint in the catalog")
    status, raw, _ = http("HEAD", urls[0], token=ks.token)
    if status not in (200, 204):
        raise SystemExit(f"keystone-setup: HEAD {urls[0]} -> {status}: {raw[:500]!r}")


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "setup":
        setup(args[1], args[2])
    elif len(args) == 2 and args[0] == "check":
        check(args[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
