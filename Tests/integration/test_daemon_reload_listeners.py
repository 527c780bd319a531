"""SIGHUP moves listeners without dropping the others: `proxy.listen` moving from port A to B
(while the token API answers throughout), a proxy section added and removed by reload, the API's
TCP listener moving while its Unix socket keeps serving, the operations listener moving, and a
bind conflict that keeps the old listeners and names the JSON path. Free ports, own temp dirs."""

from __future__ import annotations

import socket
import threading

import pytest

from daemon import credential_entry, free_port, tcp_request, unix_request, wait_until
from echo_upstream import EchoUpstream

LONG = {"before_expiry": 2, "min_before_expiry": 1, "jitter": 0, "backoff_initial": 0.2,
        "backoff_max": 1}


def reloaded(d, count: int) -> None:
    wait_until(lambda: d.log().count("configuration reloaded") >= count, 15, 0.05,
               f"reload #{count} in the log")


def refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


def proxied(port: int) -> int:
    return tcp_request(port, "GET", "/e/hello", timeout=5).status


@pytest.fixture
def echo():
    with EchoUpstream() as upstream:
        yield upstream


def proxy_section(echo, *ports: int) -> dict:
    return {"listen": [f"127.0.0.1:{p}" for p in ports],
            "routes": [{"path_prefix": "/e/", "strip_prefix": True, "upstream": echo.url,
                        "credential": "svc"}]}


def start(tokenproxy_daemon, authserver, key_factory, *, tcp: bool = False):
    k = key_factory("p256", "serviceaccount")
    s = authserver(k, token_lifetime=600)
    d = tokenproxy_daemon().start({"svc": credential_entry(k, s.issuer, refresh=LONG)}, tcp=tcp)
    d.wait_token("svc")
    return d


def test_moving_the_proxy_listener_keeps_the_token_api_answering(tokenproxy_daemon, authserver,
                                                                  key_factory, echo):
    d = start(tokenproxy_daemon, authserver, key_factory)
    port_a, port_b = free_port(), free_port()
    d.reload({**d.config, "proxy": proxy_section(echo, port_a)})
    reloaded(d, 1)
    assert proxied(port_a) == 200

    failures: list[str] = []
    done = threading.Event()

    def hammer():
        while not done.is_set():
            try:
                status = d.token("svc").status
                if status != 200:
                    failures.append(f"status {status}")
            except OSError as error:
                failures.append(repr(error))

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    try:
        d.reload({**d.config, "proxy": proxy_section(echo, port_b)})
        reloaded(d, 2)
    finally:
        done.set()
        thread.join(10)
    assert not failures, failures[:5]
    assert refused(port_a)
    assert proxied(port_b) == 200
    log = d.log()
    assert f"proxy listener removed" in log and f"127.0.0.1:{port_a}" in log
    assert f"proxy listener added" in log and f"127.0.0.1:{port_b}" in log


def test_a_proxy_section_added_by_reload_starts_and_removed_stops(tokenproxy_daemon, authserver,
                                                                   key_factory, echo):
    d = start(tokenproxy_daemon, authserver, key_factory)
    port = free_port()
    config = dict(d.config)
    d.reload({**config, "proxy": proxy_section(echo, port)})
    reloaded(d, 1)
    assert proxied(port) == 200
    d.reload(config)
    reloaded(d, 2)
    assert refused(port)
    assert d.token("svc").status == 200


def test_a_bind_conflict_keeps_the_old_proxy_listeners(tokenproxy_daemon, authserver, key_factory,
                                                       echo):
    d = start(tokenproxy_daemon, authserver, key_factory)
    port_a = free_port()
    d.reload({**d.config, "proxy": proxy_section(echo, port_a)})
    reloaded(d, 1)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        d.reload({**d.config, "proxy": proxy_section(echo, port_a, taken)})
        reloaded(d, 2)
        assert "proxy.listen[1]" in d.log()
        assert proxied(port_a) == 200
    assert d.token("svc").status == 200


def test_moving_the_api_tcp_listener_keeps_the_unix_socket(tokenproxy_daemon, authserver,
                                                           key_factory):
    d = start(tokenproxy_daemon, authserver, key_factory, tcp=True)
    old_port, new_port = d.tcp_port, free_port()
    header = {"Metadata-Flavor": "tokenproxy"}
    assert tcp_request(old_port, "GET", "/v1/tokens/svc", header).status == 200
    api = {**d.config["api"], "tcp": {**d.config["api"]["tcp"], "listen": f"127.0.0.1:{new_port}"}}
    d.reload({**d.config, "api": api})
    reloaded(d, 1)
    assert refused(old_port)
    assert tcp_request(new_port, "GET", "/v1/tokens/svc", header).status == 200
    assert d.token("svc").status == 200
    assert "token API listener added" in d.log()


def test_moving_the_operations_listener(tokenproxy_daemon, authserver, key_factory):
    d = start(tokenproxy_daemon, authserver, key_factory)
    first, second = free_port(), free_port()
    d.reload({**d.config, "operations": {"listen": f"127.0.0.1:{first}"}})
    reloaded(d, 1)
    wait_until(lambda: tcp_request(first, "GET", "/healthz").status == 200, 10, 0.05,
               "operations listener added")
    d.reload({**d.config, "operations": {"listen": f"127.0.0.1:{second}"}})
    reloaded(d, 2)
    assert refused(first)
    assert tcp_request(second, "GET", "/healthz").status == 200
    config = {key: value for key, value in d.config.items() if key != "operations"}
    d.reload(config)
    reloaded(d, 3)
    assert refused(second)


def test_moving_the_api_socket_removes_the_old_file(tokenproxy_daemon, authserver, key_factory):
    d = start(tokenproxy_daemon, authserver, key_factory)
    old_path = d.socket_path
    new_path = d.sockdir / "moved.sock"
    d.reload({**d.config, "api": {**d.config["api"], "socket": str(new_path)}})
    reloaded(d, 1)
    assert not old_path.exists()
    assert unix_request(new_path, "GET", "/v1/tokens/svc").status == 200
    assert "token API listener added" in d.log()
