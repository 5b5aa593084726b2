"""Network rules on staged results, on real checks against local servers, and in real empty networks (root)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from typing import Any

import pytest

from desktop.config import SCHEMA_BY_KEY
from desktop.diagnostics import findings
from desktop.diagnostics.base import ProbeContext
from desktop.diagnostics.findings import CRITICAL, WARNING, Finding
from desktop.diagnostics.probes import network
from desktop.diagnostics.probes.network import Check, Interface, NetworkResult, Route
from tests.diagnostics.probes.test_network import VETH, in_network_namespace, serve, stop

DEFAULTS: dict[str, Any] = {
    k.removeprefix("thresholds."): s.default for k, s in SCHEMA_BY_KEY.items() if k.startswith("thresholds.")
}
NETWORK_RULES = (
    "network.not_connected",
    "network.no_default_route",
    "network.no_dns_servers",
    "network.dns_failure",
    "network.helpdesk_unreachable",
    "network.tls_failure",
    "network.clock_skew",
)


def nic(name: str = "wlp2s0", **kw: Any) -> Interface:
    values: dict[str, Any] = {
        "name": name, "up": True, "link": True, "loopback": False, "kind": "wireless", "speed_mbps": None,
        "mtu": 1500, "mac": "a4:c3:f0:85:3b:21", "ipv4": ("192.168.1.23/24",), "ipv6": ("fe80::1/64",),
        "bytes_sent": 1, "bytes_recv": 1, "packets_sent": 1, "packets_recv": 1, "errors_in": 0, "errors_out": 0,
        "drops_in": 0, "drops_out": 0,
    }  # fmt: skip
    values.update(kw)
    return Interface(**values)


LO = nic("lo", loopback=True, kind="loopback", mac=None, ipv4=("127.0.0.1/8",), ipv6=("::1/128",))


def chk(**kw: Any) -> Check:
    """A successful https check of the helpdesk, changed by ``kw``."""
    values: dict[str, Any] = {
        "target": "https://helpdesk.example.com/", "role": "helpdesk", "scheme": "https",
        "host": "helpdesk.example.com", "port": 443, "dns_ok": True, "dns_ms": 12.0, "addresses": ("203.0.113.5",),
        "dns_error": None, "dns_error_kind": None, "tcp_ok": True, "tcp_ms": 20.0, "tcp_address": "203.0.113.5",
        "tcp_error": None, "tls_ok": True, "tls_version": "TLSv1.3", "tls_error": None, "http_status": 200,
        "http_error": None, "server_date": "Tue, 14 Nov 2023 22:13:20 GMT", "clock_offset_seconds": 0.4,
    }  # fmt: skip
    values.update(kw)
    return Check(**values)


GATEWAY = (Route("ipv4", "0.0.0.0/0", "192.168.1.1", "wlp2s0", 600),)


def result(
    interfaces: tuple[Interface, ...] = (nic(), LO),
    routes: tuple[Route, ...] | None = GATEWAY,
    dns: tuple[str, ...] | None = ("192.168.1.1",),
    checks: tuple[Check, ...] = (chk(),),
    **kw: Any,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "interfaces": interfaces, "interfaces_total": len(interfaces), "default_routes": routes,
        "dns_servers": dns, "dns_search": (), "dns_stub_resolver": False, "dns_upstream_servers": None,
        "dns_config_error": None, "proxy_env": {}, "proxies": {}, "system_proxy": {}, "checks": checks,
        "checks_skipped": None,
    }  # fmt: skip
    values.update(kw)
    return {"network": NetworkResult(**values)}


def all_findings(res: dict[str, Any], **thresholds: float) -> list[Finding]:
    registered = findings.rules()
    th = {**DEFAULTS, **thresholds}
    return [f for rid in NETWORK_RULES for f in registered[rid].func(res, th)]


def ids(found: list[Finding]) -> list[tuple[str, str]]:
    return [(f.id, f.severity) for f in found]


def test_rules_are_registered_on_the_network_probe() -> None:
    registered = findings.rules()
    for rid in NETWORK_RULES:
        assert registered[rid].probes == ("network",)


def test_healthy_network_gives_no_findings() -> None:
    assert findings.evaluate(result(), DEFAULTS) == []


def test_no_checks_configured_gives_no_check_findings() -> None:
    assert all_findings(result(checks=(), checks_skipped="nothing configured")) == []


# -- connection -----------------------------------------------------------------------------------------


def test_not_connected_when_only_loopback_is_up() -> None:
    res = result(
        interfaces=(nic(up=False, link=False, ipv4=(), ipv6=()), nic("enp0s31f6", up=True, link=False, kind="ethernet"),
                    LO),
        routes=(),
        checks=(chk(dns_ok=False, dns_error="Temporary failure in name resolution", dns_error_kind="no_answer",
                    addresses=(), tcp_ok=None, tls_ok=None, http_status=None, clock_offset_seconds=None),),
    )
    found = all_findings(res)
    # one root cause, one finding: the failed helpdesk lookup follows from it
    assert ids(found) == [("network.not_connected", CRITICAL)]
    assert "Wi-Fi" in found[0].next_step
    assert "wlp2s0" in found[0].detail
    assert "enp0s31f6" in found[0].detail


def test_link_state_unknown_counts_as_connected() -> None:
    # Windows reports no separate link flag: an interface that is up is taken as connected
    assert all_findings(result(interfaces=(nic(link=None), LO))) == []


def test_no_default_route_while_connected() -> None:
    res = result(
        routes=(),
        checks=(chk(tcp_ok=False, tcp_error="network is unreachable", tls_ok=None, http_status=None,
                    clock_offset_seconds=None),),
    )
    found = all_findings(res)
    assert ids(found) == [("network.no_default_route", CRITICAL)]
    assert "192.168.1.23/24" in found[0].detail
    assert "gateway" in found[0].detail


def test_no_default_route_but_the_helpdesk_answers_is_a_warning() -> None:
    found = all_findings(result(routes=()))
    assert ids(found) == [("network.no_default_route", WARNING)]
    assert "helpdesk can still be reached" in found[0].detail


def test_no_default_route_with_only_a_self_assigned_address_points_at_dhcp() -> None:
    res = result(interfaces=(nic(ipv4=("169.254.12.7/16",), ipv6=("fe80::1/64",)), LO), routes=(), checks=())
    (f,) = all_findings(res)
    assert f.id == "network.no_default_route"
    assert "no address" in f.detail
    assert "DHCP" in f.next_step


def test_unknown_routes_are_not_a_finding() -> None:
    assert all_findings(result(routes=None)) == []


def test_a_vpn_split_default_counts_as_a_default_route() -> None:
    vpn = (Route("ipv4", "0.0.0.0/1", None, "tun0", 0), Route("ipv4", "128.0.0.0/1", None, "tun0", 0))
    assert all_findings(result(routes=vpn)) == []


# -- DNS ------------------------------------------------------------------------------------------------


def test_no_dns_servers() -> None:
    (f,) = all_findings(result(dns=(), dns_config_error="/etc/resolv.conf: No such file or directory", checks=()))
    assert (f.id, f.severity) == ("network.no_dns_servers", CRITICAL)
    assert "/etc/resolv.conf" in f.detail


def test_resolved_stub_without_upstream_servers() -> None:
    res = result(dns=("127.0.0.53",), dns_stub_resolver=True, dns_upstream_servers=(), checks=())
    (f,) = all_findings(res)
    assert f.id == "network.no_dns_servers"
    assert "systemd-resolved" in f.detail
    good = result(dns=("127.0.0.53",), dns_stub_resolver=True, dns_upstream_servers=("10.0.0.53",))
    assert all_findings(good) == []
    unknown = result(dns=("127.0.0.53",), dns_stub_resolver=True, dns_upstream_servers=None)
    assert all_findings(unknown) == []


def test_dns_servers_unknown_is_not_a_finding() -> None:
    assert all_findings(result(dns=None)) == []


def _dns_failed(kind: str, **kw: Any) -> Check:
    return chk(dns_ok=False, addresses=(), dns_error="Name or service not known", dns_error_kind=kind,
               tcp_ok=None, tcp_address=None, tls_ok=None, http_status=None, clock_offset_seconds=None, **kw)


def test_helpdesk_name_not_found() -> None:
    (f,) = all_findings(result(checks=(_dns_failed("not_found"),)))
    assert (f.id, f.severity, f.subject) == ("network.dns_failure", CRITICAL, "helpdesk.example.com")
    assert "Name or service not known" in f.detail
    assert "typo" in f.next_step
    assert "VPN" in f.next_step


def test_check_host_name_not_answered_is_a_warning() -> None:
    c = _dns_failed("no_answer", role="check_host", host="intranet.corp", target="intranet.corp")
    (f,) = all_findings(result(checks=(c,)))
    assert (f.id, f.severity, f.subject) == ("network.dns_failure", WARNING, "intranet.corp")
    assert "intranet.corp" in f.title
    assert "No DNS server answered" in f.next_step


def test_dns_failure_is_not_repeated_when_there_are_no_dns_servers() -> None:
    assert ids(all_findings(result(dns=(), checks=(_dns_failed("no_answer"),)))) == [
        ("network.no_dns_servers", CRITICAL)
    ]


# -- reachability ---------------------------------------------------------------------------------------


def _refused(**kw: Any) -> Check:
    values: dict[str, Any] = {
        "tcp_ok": False, "tcp_ms": 0.4, "tcp_error": "connection refused", "tls_ok": None, "tls_version": None,
        "http_status": None, "server_date": None, "clock_offset_seconds": None,
    }  # fmt: skip
    return chk(**{**values, **kw})


def test_helpdesk_refuses_connections() -> None:
    (f,) = all_findings(result(checks=(_refused(),)))
    assert (f.id, f.severity, f.subject) == ("network.helpdesk_unreachable", CRITICAL, "helpdesk.example.com")
    assert "connection refused" in f.detail
    assert "203.0.113.5" in f.detail
    assert "port 443" in f.next_step


def test_helpdesk_timeout_suggests_the_vpn() -> None:
    c = _refused(tcp_error="timed out", tcp_ms=2000.0)
    (f,) = all_findings(result(checks=(c,)))
    assert "VPN" in f.next_step
    assert "2 s" in f.next_step


def test_a_configured_proxy_softens_a_direct_failure() -> None:
    res = result(checks=(_refused(tcp_error="timed out", tcp_ms=2000.0),), proxies={"https": "http://proxy.corp:3128"})
    (f,) = all_findings(res)
    assert (f.id, f.severity) == ("network.helpdesk_unreachable", WARNING)
    assert "proxy.corp:3128" in f.detail
    assert f.evidence["proxy"] == "http://proxy.corp:3128"


def test_untrusted_certificate() -> None:
    c = chk(tls_ok=False, tls_version=None, tls_error="certificate not trusted: self-signed certificate in "
            "certificate chain", http_status=None, clock_offset_seconds=None)
    (f,) = all_findings(result(checks=(c,)))
    assert (f.id, f.severity) == ("network.tls_failure", CRITICAL)
    assert "self-signed" in f.detail
    expired = chk(tls_ok=False, tls_error="certificate not trusted: certificate has expired", http_status=None,
                  clock_offset_seconds=None)
    (g,) = all_findings(result(checks=(expired,)))
    assert g.next_step.startswith("First check this computer's date and time")


# -- clock ----------------------------------------------------------------------------------------------


def test_clock_skew_follows_the_threshold() -> None:
    res = result(checks=(chk(clock_offset_seconds=-600.0),))
    (f,) = all_findings(res)
    assert (f.id, f.severity, f.subject) == ("network.clock_skew", WARNING, "helpdesk.example.com")
    assert "10 minutes ahead of" in f.detail
    assert "sign-in" in f.detail
    assert "certificates" in f.detail
    assert "automatically" in f.next_step
    assert all_findings(res, clock_skew_seconds=900.0) == []
    # the Date header has whole seconds: 599.6 s is ten minutes, not nine
    assert "10 minutes ahead of" in all_findings(result(checks=(chk(clock_offset_seconds=-599.6),)))[0].detail
    behind = result(checks=(chk(clock_offset_seconds=300.0),))
    assert "5 minutes behind" in all_findings(behind)[0].detail
    assert all_findings(result(checks=(chk(clock_offset_seconds=None),)), clock_skew_seconds=1.0) == []


def test_clock_skew_prefers_the_helpdesk_server() -> None:
    other = chk(role="check_host", host="intranet.corp", clock_offset_seconds=5000.0)
    res = result(checks=(other, chk(clock_offset_seconds=1.0)))
    assert all_findings(res) == []  # the helpdesk server agrees with this clock


# -- real checks against local servers -------------------------------------------------------------------


@pytest.fixture
def past_server() -> Iterator[int]:
    server, thread = serve(email.utils.formatdate(time.time() - 600, usegmt=True))
    yield server.server_address[1]
    stop(server, thread)


def test_real_clock_skew_against_a_local_server(past_server: int) -> None:
    r = network.collect(ProbeContext({"helpdesk_url": f"http://127.0.0.1:{past_server}/"}))
    found = all_findings({"network": r})
    assert [(f.id, f.severity, f.subject) for f in found] == [("network.clock_skew", WARNING, "127.0.0.1")]
    assert "10 minutes ahead of" in found[0].detail
    assert all_findings({"network": r}, clock_skew_seconds=700.0) == []


def test_real_refused_connection() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        r = network.collect(ProbeContext({"helpdesk_url": f"http://127.0.0.1:{port}/"}, environ={}))
        proxied = network.collect(
            ProbeContext({"helpdesk_url": f"http://127.0.0.1:{port}/"}, environ={"https_proxy": "http://p.corp:8080"})
        )
    (f,) = all_findings({"network": r})
    assert (f.id, f.severity) == ("network.helpdesk_unreachable", CRITICAL)
    assert "connection refused" in f.detail
    (g,) = all_findings({"network": proxied})
    assert (g.id, g.severity) == ("network.helpdesk_unreachable", WARNING)


# -- real empty networks (root, private network namespaces) ----------------------------------------------


@pytest.mark.root
def test_staged_no_network_at_all() -> None:
    out = in_network_namespace([], {"helpdesk_url": "https://helpdesk.invalid/"}, DEFAULTS)
    assert [(f["id"], f["severity"]) for f in out["findings"]] == [("network.not_connected", CRITICAL)]


@pytest.mark.root
def test_staged_connected_without_a_gateway() -> None:
    out = in_network_namespace(VETH, {"helpdesk_url": "http://127.0.0.1:9/"}, DEFAULTS)
    assert [(f["id"], f["severity"]) for f in out["findings"]] == [("network.no_default_route", CRITICAL)]
    assert "10.9.9.9/24" in out["findings"][0]["detail"]
