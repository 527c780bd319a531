"""config.schema.json must accept config.sample.json and refuse the mistakes the Swift parser refuses.

Run with `python3 -m pytest Tests/integration/test_config_schema.py` (or plain `python3` on this file).
The Swift tests (ConfigurationParser*Tests) check the same cases against the parser itself.
"""

import copy
import json
import pathlib
import unittest

import jsonschema

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "config.schema.json").read_text())
SAMPLE = json.loads((ROOT / "config.sample.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
MINIMAL = {"credentials": {"a": {"key_file": "/etc/tokenproxy/a.json", "issuer": "https://idp.example.com"}}}


def errors(document):
    return list(VALIDATOR.iter_errors(document))


def with_credential(**fields):
    document = copy.deepcopy(MINIMAL)
    document["credentials"]["a"].update(fields)
    return document


ROUTE = {"host": "api.example.com", "upstream": "https://api.example.com", "credential": "a"}


def with_proxy(**fields):
    document = copy.deepcopy(MINIMAL)
    document["proxy"] = {"listen": ["127.0.0.1:8787"], "routes": [ROUTE], **fields}
    return document


def with_route(**fields):
    route = {**ROUTE, **fields}
    return with_proxy(routes=[{key: value for key, value in route.items() if value is not None}])


def with_api(**fields):
    document = copy.deepcopy(MINIMAL)
    document["api"] = fields
    return document


class ConfigSchemaTests(unittest.TestCase):
    def test_schema_is_valid_draft_2020_12(self):
        jsonschema.Draft202012Validator.check_schema(SCHEMA)

    def test_sample_is_valid(self):
        self.assertEqual(errors(SAMPLE), [])

    def test_sample_sets_every_documented_option(self):
        credential_keys = set()
        for credential in SAMPLE["credentials"].values():
            credential_keys |= set(credential)
        self.assertEqual(credential_keys, set(SCHEMA["$defs"]["credential"]["properties"]))
        self.assertEqual(set(SAMPLE["api"]), set(SCHEMA["properties"]["api"]["properties"]))
        self.assertEqual(set(SAMPLE), set(SCHEMA["properties"]))
        self.assertEqual(set(SAMPLE["proxy"]), set(SCHEMA["properties"]["proxy"]["properties"]))
        route_keys = set()
        for route in SAMPLE["proxy"]["routes"]:
            route_keys |= set(route)
        self.assertEqual(route_keys, set(SCHEMA["$defs"]["route"]["properties"]))

    def test_every_property_is_described(self):
        def walk(node, path):
            if isinstance(node, dict):
                for name, child in node.get("properties", {}).items():
                    self.assertIn("description", child, f"{path}.{name}")
                for key, child in node.items():
                    walk(child, f"{path}.{key}")
            elif isinstance(node, list):
                for child in node:
                    walk(child, path)

        walk(SCHEMA, "")

    def test_minimal_is_valid(self):
        self.assertEqual(errors(MINIMAL), [])

    def test_accepts_valid_variants(self):
        for document in [
            with_credential(key_file="credential:gateway-key"),
            with_credential(issuer="http://localhost:8080"),
            with_credential(issuer="http://127.0.0.1/realm", token_endpoint="http://[::1]:9000/token?x=1"),
            with_credential(audience="https://aud.example.com"),
            with_credential(audience=["a", "b"], assertion_lifetime=3600, clock_skew=0),
            with_api(tcp={"listen": "[::1]:0"}, socket_mode="600", allowed_uids=[0, 4294967294]),
            with_api(tcp={"listen": "127.255.0.1:65535"}),
            with_proxy(listen=["[::1]:0", "unix:/run/tokenproxy/proxy.sock"]),
            with_proxy(routes=[], tunnels=["github.com:443", "[2001:db8::1]:8443"]),
            with_route(host=None, path_prefix="/zitadel/", strip_prefix=True),
            with_route(host="API.Example.com:8443", path_prefix="/v1"),
            with_route(upstream="http://127.0.0.1:9000/base"),
            with_route(upstream="http://[::1]:9000"),
            with_route(upstream="http://legacy.lan", allow_plain_http=True),
            with_route(ca_file="/etc/ssl/ca.pem", client_certificate="/c.pem", client_key="/c.key"),
            with_route(upgrades=[]),
            with_route(upgrades=["WebSocket", "my-proto.v2"]),
            with_proxy(connect_timeout=0.5, max_replay_body_bytes=0, refresh_header="X-Refresh"),
            with_credential(sinks=[{"path": "/run/t/a.token"}]),
            with_credential(sinks=[{"path": "/run/t/a.env", "format": "env", "mode": "640", "owner": "1000",
                                    "group": "tokenproxy", "variable": "MY_TOKEN",
                                    "command": ["/bin/true", "x"], "command_timeout": 0.5,
                                    "remove_on_exit": True}]),
        ]:
            with self.subTest(document=document):
                self.assertEqual(errors(document), [])

    def test_refuses_mistakes(self):
        cases = {
            "unknown top-level key": {**MINIMAL, "credentail": {}},
            "relative sink path": with_credential(sinks=[{"path": "a.token"}]),
            "sink without path": with_credential(sinks=[{"format": "raw"}]),
            "unknown sink format": with_credential(sinks=[{"path": "/a", "format": "yaml"}]),
            "numeric sink mode": with_credential(sinks=[{"path": "/a", "mode": 600}]),
            "bad sink variable": with_credential(sinks=[{"path": "/a", "variable": "1X"}]),
            "relative sink command": with_credential(sinks=[{"path": "/a", "command": ["true"]}]),
            "unknown sink key": with_credential(sinks=[{"path": "/a", "mod": "0600"}]),
            "no credentials": {},
            "empty credentials": {"credentials": {}},
            "bad credential name": {"credentials": {"a/b": MINIMAL["credentials"]["a"]}},
            "dot-dot credential name": {"credentials": {"..": MINIMAL["credentials"]["a"]}},
            "long credential name": {"credentials": {"n" * 65: MINIMAL["credentials"]["a"]}},
            "typo key": with_credential(grnat="jwt-bearer"),
            "missing issuer": {"credentials": {"a": {"key_file": "/k"}}},
            "relative key file": with_credential(key_file="keys/a.json"),
            "http issuer": with_credential(issuer="http://idp.example.com"),
            "issuer with query": with_credential(issuer="https://idp.example.com?x=1"),
            "issuer with user": with_credential(issuer="https://u:p@idp.example.com"),
            "scopes as a string": with_credential(scopes="openid"),
            "scope with space": with_credential(scopes=["openid profile"]),
            "lifetime too long": with_credential(assertion_lifetime=7200),
            "fractional skew": with_credential(clock_skew=1.5),
            "unknown grant": with_credential(grant="jwt_bearer"),
            "unknown algorithm": with_credential(algorithm="es256"),
            "reserved extra param": with_credential(extra_params={"scope": "x"}),
            "empty audience list": with_credential(audience=[]),
            "resource with fragment": with_credential(resources=["https://x#y"]),
            "refresh jitter": with_credential(refresh={"jitter": 0.9}),
            "refresh typo": with_credential(refresh={"defualt_lifetime": 1}),
            "numeric socket mode": with_api(socket_mode=660),
            "bad socket mode": with_api(socket_mode="0o660"),
            "relative socket": with_api(socket="run/x.sock"),
            "long socket": with_api(socket="/" + "a" * 107),
            "negative uid": with_api(allowed_uids=[-1]),
            "non-loopback listen": with_api(tcp={"listen": "0.0.0.0:8181"}),
            "localhost listen": with_api(tcp={"listen": "localhost:8181"}),
            "port out of range": with_api(tcp={"listen": "127.0.0.1:65536"}),
            "port with leading zero": with_api(tcp={"listen": "127.0.0.1:080"}),
            "bad header name": with_api(tcp={"listen": "127.0.0.1:1", "required_header": "Bad Header"}),
            "unknown log level": {**MINIMAL, "log": {"level": "verbose"}},
            "proxy not an object": {**MINIMAL, "proxy": []},
            "proxy without listen": {**MINIMAL, "proxy": {"routes": [ROUTE]}},
            "proxy typo": with_proxy(tunels=[]),
            "proxy listens on all addresses": with_proxy(listen=["0.0.0.0:8787"]),
            "proxy listens on a name": with_proxy(listen=["localhost:8787"]),
            "proxy listen not a list": with_proxy(listen="127.0.0.1:8787"),
            "proxy empty listen": with_proxy(listen=[]),
            "proxy relative unix socket": with_proxy(listen=["unix:run/p.sock"]),
            "proxy duplicate listen": with_proxy(listen=["127.0.0.1:1", "127.0.0.1:1"]),
            "catch-all route": with_route(host=None),
            "route without upstream": with_route(upstream=None),
            "route without credential": with_route(credential=None),
            "route typo": with_route(credentail="a"),
            "strip without prefix": with_route(strip_prefix=True),
            "prefix without slash": with_route(path_prefix="zitadel/"),
            "prefix with query": with_route(path_prefix="/a?b"),
            "wildcard host": with_route(host="*.example.com"),
            "host with path": with_route(host="api.example.com/v1"),
            "host port zero": with_route(host="api.example.com:0"),
            "unbracketed ipv6 host": with_route(host="::1"),
            "plain http upstream": with_route(upstream="http://api.example.com"),
            "plain http to localhost.evil": with_route(upstream="http://localhost.evil.com"),
            "upstream with user": with_route(upstream="https://u:p@api.example.com"),
            "upstream with query": with_route(upstream="https://api.example.com/?x=1"),
            "relative upstream": with_route(upstream="/api"),
            "ftp upstream": with_route(upstream="ftp://api.example.com"),
            "certificate without key": with_route(client_certificate="/c.pem"),
            "tls on http upstream": with_route(upstream="http://127.0.0.1:9000", ca_file="/ca.pem"),
            "relative ca file": with_route(ca_file="ca.pem"),
            "h2c upgrade": with_route(upgrades=["websocket", "h2c"]),
            "upgrade with version": with_route(upgrades=["websocket/13"]),
            "upgrade not a token": with_route(upgrades=["web socket"]),
            "upgrade twice": with_route(upgrades=["websocket", "websocket"]),
            "upgrades not a list": with_route(upgrades="websocket"),
            "tunnel without port": with_proxy(tunnels=["github.com"]),
            "bad refresh header": with_proxy(refresh_header="X Refresh"),
            "negative replay size": with_proxy(max_replay_body_bytes=-1),
            "fractional connections": with_proxy(max_connections=1.5),
            "huge timeout": with_proxy(response_timeout=100000),
        }
        for name, document in cases.items():
            with self.subTest(name):
                self.assertNotEqual(errors(document), [], name)


if __name__ == "__main__":
    unittest.main()
