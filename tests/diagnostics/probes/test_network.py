"""The network probe: recorded routing and resolver files, this machine's interfaces cross-checked with /sys
and ip(8), and real reachability checks against HTTP(S) servers on 127.0.0.1 started by the tests.

No test sends anything beyond the loopback interface: the DNS failure of a ``.invalid`` name is simulated
(here glibc would ask the configured DNS server, 10.x, about it) except inside an empty network namespace,
where the resolver's query cannot leave the machine.
"""

from __future__ import annotations

import email.utils
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from desktop.diagnostics.base import ProbeContext, Unsupported, to_jsonable
from desktop.diagnostics.probes import network
from desktop.diagnostics.probes.network import Route

FIXTURES = Path(__file__).parents[2] / "fixtures" / "network"
REPO = Path(__file__).resolve().parents[3]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and /sys")


# -- recorded routing tables ----------------------------------------------------------------------------


def test_proc_route_of_this_container() -> None:
    assert network.parse_proc_route((FIXTURES / "container.route").read_text()) == [
        Route("ipv4", "0.0.0.0/0", "192.0.2.1", "eth0", 0)
    ]


def test_proc_route_of_a_laptop_on_a_vpn_keeps_the_split_default() -> None:
    routes = network.parse_proc_route((FIXTURES / "laptop_vpn.route").read_text())
    assert routes == [
        Route("ipv4", "0.0.0.0/0", "192.168.1.1", "wlp2s0", 600),
        Route("ipv4", "0.0.0.0/1", None, "tun0", 0),
        Route("ipv4", "128.0.0.0/1", None, "tun0", 0),
    ]


def test_proc_route_without_default() -> None:
    assert network.parse_proc_route((FIXTURES / "no_default.route").read_text()) == []


def test_proc_ipv6_route_skips_the_loopback_reject_route() -> None:
    assert network.parse_proc_ipv6_route((FIXTURES / "container.ipv6_route").read_text()) == [
        Route("ipv6", "::/0", "fd00::1", "eth0", 1024)
    ]
    assert network.parse_proc_ipv6_route((FIXTURES / "laptop.ipv6_route").read_text()) == [
        Route("ipv6", "::/0", "fe80::a1b:2cff:fe3d:4e5f", "wlp2s0", 600)
    ]


def test_windows_route_print() -> None:
    assert network.parse_route_print((FIXTURES / "route_print.txt").read_text()) == [
        Route("ipv4", "0.0.0.0/0", "192.168.1.1", "192.168.1.23", 35),
        Route("ipv6", "::/0", "fe80::1", "12", 291),
    ]


def test_macos_netstat() -> None:
    assert network.parse_netstat_rn((FIXTURES / "netstat_rn.txt").read_text()) == [
        Route("ipv4", "0.0.0.0/0", "192.168.1.1", "en0", None),
        Route("ipv6", "::/0", "fe80::1", "en0", None),
        Route("ipv6", "::/0", "fe80::", "utun0", None),
    ]


# -- DNS configuration ----------------------------------------------------------------------------------


def test_systemd_resolved_stub_and_upstream() -> None:
    dns = network.dns_posix(
        str(FIXTURES / "resolved_stub.resolv.conf"), str(FIXTURES / "resolved_upstream.resolv.conf")
    )
    assert dns.servers == ("127.0.0.53",)
    assert dns.stub
    assert dns.upstream == ("10.20.0.53", "192.168.1.1", "fd00:1::53")
    assert dns.search == ("corp.example.com", "lan")
    assert dns.error is None


def test_plain_resolv_conf_without_resolved(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("# from DHCP\ndomain office.lan\nnameserver 192.168.1.1\n; old\nnameserver 9.9.9.9 # backup\n")
    dns = network.dns_posix(str(conf), str(tmp_path / "absent"))
    assert (dns.servers, dns.search, dns.stub, dns.upstream) == (("192.168.1.1", "9.9.9.9"), ("office.lan",), False,
                                                                 None)


def test_dangling_resolv_conf_link_is_reported(tmp_path: Path) -> None:
    # systemd-resolved stopped: /etc/resolv.conf points at a file that is gone, and nothing resolves
    conf = tmp_path / "resolv.conf"
    conf.symlink_to(tmp_path / "stub-resolv.conf")
    dns = network.dns_posix(str(conf), str(tmp_path / "absent"))
    assert dns.servers == ()
    assert dns.error is not None
    assert "No such file" in dns.error
    assert "stub-resolv.conf" in dns.error


# -- proxies --------------------------------------------------------------------------------------------


def test_proxy_environment_keeps_names_and_values_as_set() -> None:
    env = {"HTTPS_PROXY": "http://u:secret@proxy:3128", "no_proxy": "localhost,.corp", "PATH": "/bin",
           "http_proxy": ""}
    assert network.proxy_environment(env) == {
        "HTTPS_PROXY": "http://u:secret@proxy:3128",
        "no_proxy": "localhost,.corp",
    }


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"HTTP_PROXY": "http://upper:1", "http_proxy": "http://lower:2"},
        {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "localhost"},
        {"HTTP_PROXY": "http://upper:1", "http_proxy": ""},
        {"ALL_PROXY": "socks5://s:1080", "ftp_proxy": "http://f:21"},
    ],
)
def test_effective_proxies_match_urllib(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name == "REQUEST_METHOD":
            monkeypatch.delenv(name)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert network.proxies_from_environment(dict(os.environ)) == urllib.request.getproxies_environment()


def test_collect_reports_proxies_from_its_context() -> None:
    ctx = ProbeContext(environ={"https_proxy": "http://proxy.corp:8080", "NO_PROXY": ".corp"})
    r = network.collect(ctx)
    assert r.proxy_env == {"NO_PROXY": ".corp", "https_proxy": "http://proxy.corp:8080"}
    assert r.proxies["https"] == "http://proxy.corp:8080"
    assert r.proxies["no"] == ".corp"


# -- small parsers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mask", "bits"),
    [("255.255.255.0", 24), ("255.0.0.0", 8), ("0.0.0.0", 0), ("ffff:ffff:ffff:ffff::", 64), (None, None), ("x", None)],
)
def test_prefix_length(mask: str | None, bits: int | None) -> None:
    assert network.prefix_length(mask) == bits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://helpdesk.example.com/", ("https", "helpdesk.example.com", 443, "/")),
        ("http://helpdesk.example.com:8080/rt/", ("http", "helpdesk.example.com", 8080, "/rt/")),
        ("https://[2001:db8::1]/", ("https", "2001:db8::1", 443, "/")),
        ("mail.example.com", ("", "mail.example.com", 993, "/")),
        ("mail.example.com:25", ("", "mail.example.com", 25, "/")),
        ("ldaps://dc1.corp:636", ("", "dc1.corp", 636, "/")),
        ("", None),
        ("https:///nohost", None),
    ],
)
def test_parse_target(text: str, expected: tuple[str, str, int, str] | None) -> None:
    t = network.parse_target(text, "helpdesk", 993)
    assert (None if t is None else (t.scheme, t.host, t.port, t.path)) == expected


def test_both_targets_and_duplicates() -> None:
    ctx = ProbeContext({"helpdesk_url": "https://hd.example.com/", "network.check_host": "hd.example.com",
                        "network.check_port": 443})
    assert [(t.role, t.scheme, t.host, t.port) for t in network.targets(ctx)] == [
        ("helpdesk", "https", "hd.example.com", 443),
        ("check_host", "", "hd.example.com", 443),
    ]
    same = ProbeContext({"helpdesk_url": "https://hd.example.com/", "network.check_host": "https://hd.example.com"})
    assert len(network.targets(same)) == 1


def test_clock_offset_parsing() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now - 600, usegmt=True)
    assert network.clock_offset(date, now) == pytest.approx(-599.5)
    assert network.clock_offset("not a date", now) is None


def test_other_platforms_are_unsupported() -> None:
    with pytest.raises(Unsupported, match="not supported on plan9"):
        network.collect(ProbeContext(platform="plan9"))


# -- this machine ---------------------------------------------------------------------------------------


@linux_only
def test_no_targets_means_no_checks_and_a_reason() -> None:
    r = network.collect(ProbeContext())
    assert isinstance(r, network.NetworkResult)
    assert r.checks == ()
    assert r.checks_skipped is not None
    assert "helpdesk" in r.checks_skipped
    assert len(json.dumps(to_jsonable(r))) < 16_000


@linux_only
def test_interfaces_agree_with_sysfs_and_proc() -> None:
    before = {}
    for line in Path("/proc/net/dev").read_text().splitlines()[2:]:
        name, _, data = line.partition(":")
        f = data.split()
        before[name.strip()] = (int(f[0]), int(f[8]))  # bytes received, bytes sent
    r = network.collect(ProbeContext())
    names = set(os.listdir("/sys/class/net"))
    assert r.interfaces_total == len(names)
    assert {i.name for i in r.interfaces} == names
    assert r.interfaces[-1].loopback  # loopback last
    for i in r.interfaces:
        base = Path("/sys/class/net") / i.name
        assert i.mtu == int((base / "mtu").read_text())
        flags = int((base / "flags").read_text(), 16)
        assert i.up == bool(flags & 0x1)  # IFF_UP
        if not i.loopback:
            assert i.mac == (base / "address").read_text().strip()
        assert i.bytes_recv is not None
        assert i.bytes_sent is not None
        assert i.bytes_recv >= before[i.name][0]
        assert i.bytes_sent >= before[i.name][1]
    lo = next(i for i in r.interfaces if i.loopback)
    assert (lo.kind, lo.ipv4[:1]) == ("loopback", ("127.0.0.1/8",))


@linux_only
def test_addresses_and_default_routes_agree_with_ip() -> None:
    if shutil.which("ip") is None:
        pytest.skip("iproute2 is not installed")
    r = network.collect(ProbeContext())
    for i in r.interfaces:
        out = subprocess.run(["ip", "-o", "addr", "show", "dev", i.name], capture_output=True, text=True,
                             check=True).stdout
        fams: dict[str, list[str]] = {"inet": [], "inet6": []}
        for line in out.splitlines():
            f = line.split()
            fams[f[2]].append(f[3])
        assert sorted(i.ipv4) == sorted(fams["inet"])
        assert sorted(i.ipv6) == sorted(fams["inet6"])
    expected = set()
    for fam, flag in (("ipv4", "-4"), ("ipv6", "-6")):
        routes = subprocess.run(["ip", flag, "route", "show", "default"], capture_output=True, text=True, check=True)
        for line in routes.stdout.splitlines():
            f = line.split()
            gw = f[f.index("via") + 1] if "via" in f else None
            expected.add((fam, gw, f[f.index("dev") + 1]))
    assert r.default_routes is not None
    assert {(x.family, x.gateway, x.interface) for x in r.default_routes} == expected


@linux_only
def test_dns_servers_of_this_machine() -> None:
    r = network.collect(ProbeContext())
    text = Path("/etc/resolv.conf").read_text()
    assert r.dns_servers == tuple(line.split()[1] for line in text.splitlines() if line.startswith("nameserver"))
    assert r.dns_stub_resolver == ("127.0.0.53" in (r.dns_servers or ()))


@linux_only
def test_no_target_collect_is_fast_and_does_not_import_http() -> None:
    code = (
        "import sys, time\n"
        "from desktop.diagnostics.base import ProbeContext\n"
        "from desktop.diagnostics.probes import network\n"
        "ctx = ProbeContext()\n"
        "network.collect(ctx)\n"
        "best = min((lambda t: (network.collect(ctx), time.perf_counter() - t)[1])(time.perf_counter())"
        " for _ in range(5))\n"
        "print(best, 'http.client' in sys.modules, 'ssl' in sys.modules, 'urllib.request' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}).stdout.split()
    assert out[1:] == ["False", "False", "False"]
    assert float(out[0]) < 0.1, f"network probe took {float(out[0]) * 1000:.1f} ms"


# -- reachability against local servers ----------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    #: the Date header to send (None: none at all)
    date: str | None = None

    def do_HEAD(self) -> None:  # noqa: N802 - the http.server naming
        self.send_response_only(200)  # without the automatic Date and Server headers
        if self.date is not None:
            self.send_header("Date", self.date)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def serve(date: str | None, tls: ssl.SSLContext | None = None) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """An HTTP(S) server on 127.0.0.1 sending ``date`` as its Date header; stop it with ``stop``."""
    handler = type("Handler", (_Handler,), {"date": date})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


def stop(server: ThreadingHTTPServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def past_server() -> Iterator[int]:
    """An HTTP server on 127.0.0.1 whose clock is 10 minutes behind; yields its port."""
    server, thread = serve(email.utils.formatdate(time.time() - 600, usegmt=True))
    yield server.server_address[1]
    stop(server, thread)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that is bound but not listening: connecting is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def mute_port() -> Iterator[int]:
    """A port that accepts connections but never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


def check(url: str, **settings: Any) -> network.Check:
    r = network.collect(ProbeContext({"helpdesk_url": url, **settings}))
    assert r.checks_skipped is None
    (c,) = r.checks
    return c


def test_http_check_measures_the_clock_offset(past_server: int) -> None:
    c = check(f"http://127.0.0.1:{past_server}/helpdesk/")
    assert (c.role, c.scheme, c.host, c.port) == ("helpdesk", "http", "127.0.0.1", past_server)
    assert (c.dns_ok, c.addresses, c.dns_error) == (True, ("127.0.0.1",), None)
    assert (c.tcp_ok, c.tcp_address, c.tcp_error) == (True, "127.0.0.1", None)
    assert c.tcp_ms is not None
    assert c.tcp_ms < 1000
    assert c.tls_ok is None  # plain http
    assert c.http_status == 200
    assert c.server_date is not None
    assert c.server_date.endswith("GMT")
    assert c.clock_offset_seconds == pytest.approx(-600, abs=2)


def test_server_without_date_gives_no_offset() -> None:
    server, thread = serve(None)
    try:
        c = check(f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        stop(server, thread)
    assert c.http_status == 200
    assert (c.server_date, c.clock_offset_seconds) == (None, None)


def test_closed_port_is_refused(closed_port: int) -> None:
    c = check(f"http://127.0.0.1:{closed_port}/")
    assert c.dns_ok
    assert (c.tcp_ok, c.tcp_error) == (False, "connection refused")
    assert (c.http_status, c.clock_offset_seconds) == (None, None)


def test_bare_check_host_gets_dns_and_tcp_only(past_server: int) -> None:
    r = network.collect(ProbeContext({"network.check_host": "localhost", "network.check_port": past_server}))
    (c,) = r.checks
    assert (c.role, c.scheme, c.port) == ("check_host", "", past_server)
    assert c.dns_ok  # from /etc/hosts
    assert "127.0.0.1" in c.addresses
    if c.tcp_address == "127.0.0.1":
        assert c.tcp_ok
    assert (c.http_status, c.tls_ok) == (None, None)


def test_server_that_never_answers_times_out_within_the_setting(mute_port: int) -> None:
    start = time.monotonic()
    c = check(f"http://127.0.0.1:{mute_port}/", **{"network.timeout": 0.3})
    assert time.monotonic() - start < 2
    assert c.tcp_ok  # the kernel accepted the connection
    assert c.http_error == "timed out"
    assert c.http_status is None


def test_dns_failure_of_an_invalid_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # Here glibc would ask the configured (non-local) DNS server about helpdesk.invalid, so the resolver's
    # answer is simulated; test_staged_empty_network_namespace lets the real resolver fail.
    real = socket.getaddrinfo

    def fake(host: str, *args: Any, **kw: Any) -> Any:
        if host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    c = check("https://helpdesk.invalid/")
    assert (c.dns_ok, c.dns_error, c.dns_error_kind, c.addresses) == (
        False, "Name or service not known", "not_found", ()
    )
    assert c.dns_ms is not None
    assert (c.tcp_ok, c.tls_ok, c.http_status) == (None, None, None)


def test_a_stuck_resolver_costs_only_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def stuck(*args: Any, **kw: Any) -> Any:
        release.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", stuck)
    try:
        start = time.monotonic()
        c = check("https://helpdesk.example.com/", **{"network.timeout": 0.2})
        elapsed = time.monotonic() - start
    finally:
        release.set()
    assert elapsed < 1.5
    assert (c.dns_ok, c.dns_error, c.dns_error_kind, c.dns_ms) == (False, "no answer within 0.2 s", "no_answer", None)


def test_checks_stop_before_the_probe_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: release.wait(30))
    try:
        start = time.monotonic()
        r = network.collect(ProbeContext({"helpdesk_url": "https://a.example/", "network.check_host": "b.example",
                                          "network.timeout": 10.0, "timeouts": {"network": 0.8}}))
        elapsed = time.monotonic() - start
    finally:
        release.set()
    assert elapsed < 0.8  # the runner's limit for this probe: the partial result arrives in time
    assert [c.dns_error_kind for c in r.checks] == ["no_answer", "no_answer"]


# -- https ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (key, cert), made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    key, cert = d / "key.pem", d / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        capture_output=True, check=True,
    )  # fmt: skip
    return key, cert


@pytest.fixture
def https_server(certificate: tuple[Path, Path]) -> Iterator[int]:
    key, cert = certificate
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server, thread = serve(email.utils.formatdate(time.time() + 3600, usegmt=True), tls=ctx)
    yield server.server_address[1]
    stop(server, thread)


def test_https_with_an_untrusted_certificate(https_server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    c = check(f"https://127.0.0.1:{https_server}/")
    assert c.tcp_ok
    assert c.tls_ok is False
    assert c.tls_error is not None
    assert c.tls_error.startswith("certificate not trusted: ")
    assert "self-signed" in c.tls_error or "self signed" in c.tls_error
    assert (c.http_status, c.clock_offset_seconds) == (None, None)


def test_https_trusted_gives_version_and_offset(
    https_server: int, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[1]))  # trust our certificate, as a company CA would be
    c = check(f"https://127.0.0.1:{https_server}/")
    assert (c.tls_ok, c.tls_error) == (True, None)
    assert c.tls_version is not None
    assert c.tls_version.startswith("TLSv1.")
    assert c.http_status == 200
    assert c.clock_offset_seconds == pytest.approx(3600, abs=2)


# -- a real empty network, in a private network namespace (root) -----------------------------------------

#: Runs in the namespace: the network probe with the settings in argv[1], the network rules with the
#: thresholds in argv[2]; prints the result and the findings as JSON.
CHILD = """
import dataclasses, json, sys
from desktop.diagnostics.base import ProbeContext, to_jsonable
from desktop.diagnostics.probes import network
from desktop.diagnostics.rules import network as rules
r = network.collect(ProbeContext(json.loads(sys.argv[1])))
th = json.loads(sys.argv[2])
res = {"network": r}
found = []
for fn in (rules.not_connected, rules.no_default_route, rules.no_dns_servers, rules.dns_failure,
           rules.helpdesk_unreachable, rules.tls_failure, rules.clock_skew):
    found += [dataclasses.asdict(f) for f in fn(res, th)]
print(json.dumps({"network": to_jsonable(r), "findings": found}))
"""


def in_network_namespace(setup: list[str], settings: dict[str, Any], thresholds: dict[str, Any]) -> dict[str, Any]:
    """Run ``setup`` (ip commands) then :data:`CHILD` in a new, empty network namespace.

    Nothing in such a namespace reaches the host's network: its only interfaces are the ones ``setup`` makes.
    """
    if not sys.platform.startswith("linux"):
        pytest.skip("network namespaces are Linux only")
    if os.geteuid() != 0:
        pytest.skip("needs root to create a network namespace")
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("util-linux unshare is not installed")
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {probe.stderr.strip()}")
    script = "{ " + " && ".join(setup or ["true"]) + "; } >&2 || exit 97\nexec \"$@\""
    argv = [unshare, "-n", "sh", "-c", script, "sh", sys.executable, "-c", CHILD, json.dumps(settings),
            json.dumps(thresholds)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    if proc.returncode == 97:
        pytest.skip(f"cannot set up the namespace's interfaces: {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


#: A veth pair with an address and a link, but no gateway: "connected, no way out".
VETH = [
    "ip link set lo up",
    "ip link add dl0 type veth peer name dl1",
    "ip addr add 10.9.9.9/24 dev dl0",
    "ip link set dl0 up",
    "ip link set dl1 up",
]


@pytest.mark.root
def test_staged_empty_network_namespace() -> None:
    start = time.monotonic()
    out = in_network_namespace([], {"helpdesk_url": "https://helpdesk.invalid/", "network.timeout": 2.0},
                               {"clock_skew_seconds": 120.0})
    elapsed = time.monotonic() - start
    r = out["network"]
    assert [(i["name"], i["up"], i["loopback"]) for i in r["interfaces"]] == [("lo", False, True)]
    assert r["default_routes"] == []
    (c,) = r["checks"]
    # the real resolver: its query to the configured server cannot leave an empty namespace
    assert c["dns_ok"] is False
    assert c["dns_error_kind"] == "no_answer"
    assert elapsed < 10


@pytest.mark.root
def test_staged_link_without_gateway() -> None:
    out = in_network_namespace(VETH, {}, {"clock_skew_seconds": 120.0})
    r = out["network"]
    dl0 = next(i for i in r["interfaces"] if i["name"] == "dl0")
    assert (dl0["up"], dl0["link"], dl0["ipv4"]) == (True, True, ["10.9.9.9/24"])
    assert r["default_routes"] == []
    gateway = [*VETH, "ip route add default via 10.9.9.1 dev dl0"]
    with_gw = in_network_namespace(gateway, {}, {"clock_skew_seconds": 120.0})
    assert [(x["destination"], x["gateway"], x["interface"]) for x in with_gw["network"]["default_routes"]] == [
        ("0.0.0.0/0", "10.9.9.1", "dl0")
    ]
