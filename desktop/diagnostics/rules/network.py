"""Network rules: no connection, no way out, no DNS, the helpdesk not found or not reachable, a wrong clock.

One root cause, one finding: when the computer is not connected at all, or has no default route, or no DNS
server, the failed helpdesk checks that follow from it are not reported again as findings of their own
(they stay in the report's data).
"""

from __future__ import annotations

from collections.abc import Iterator

from desktop.diagnostics.findings import CRITICAL, WARNING, Finding, Results, Thresholds, human_duration, rule
from desktop.diagnostics.probes.network import Check, Interface, NetworkResult

PROBE = "network"


def _has_link(i: Interface) -> bool:
    return not i.loopback and i.up and i.link is not False


def _usable_addresses(i: Interface) -> list[str]:
    """Addresses the network gave (not the self-assigned 169.254.x.x / fe80:: ones)."""
    v4 = [a for a in i.ipv4 if not a.startswith("169.254.")]
    v6 = [a for a in i.ipv6 if not a.lower().startswith("fe80:")]
    return v4 + v6


def _linked(r: NetworkResult) -> list[Interface]:
    return [i for i in r.interfaces if _has_link(i)]


def _not_connected(r: NetworkResult) -> bool:
    return not _linked(r)


def _no_route(r: NetworkResult) -> bool:
    return r.default_routes is not None and len(r.default_routes) == 0


def _no_dns(r: NetworkResult) -> bool:
    if r.dns_servers is None:
        return False
    if r.dns_stub_resolver and r.dns_upstream_servers is not None:
        return len(r.dns_upstream_servers) == 0
    return len(r.dns_servers) == 0


def _who(c: Check) -> str:
    return "the helpdesk" if c.role == "helpdesk" else c.host


def _severity(c: Check) -> str:
    """Failing to reach the helpdesk stops reports from being sent; the extra check host matters less."""
    return CRITICAL if c.role == "helpdesk" else WARNING


def _proxy(r: NetworkResult) -> str | None:
    return r.proxies.get("https") or r.proxies.get("http") or r.proxies.get("all")


@rule("network.not_connected", PROBE)
def not_connected(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """No network interface (other than loopback) is switched on with a link."""
    del thresholds  # a fact, not a measure
    r: NetworkResult = results[PROBE]
    if not _not_connected(r):
        return
    down = [i.name for i in r.interfaces if not i.loopback and i.kind != "virtual"]
    yield Finding(
        id="network.not_connected",
        severity=CRITICAL,
        title="Not connected to any network",
        detail=(
            "No network connection is active: no network cable with a link and no Wi-Fi network joined"
            + (f" (interfaces found: {', '.join(down[:6])}, none connected)." if down else ".")
        ),
        next_step=(
            "Turn on Wi-Fi and join your network (and check that airplane mode is off), or check that the "
            "network cable is plugged in firmly at both ends."
        ),
        probe=PROBE,
        evidence={"interfaces_total": r.interfaces_total, "disconnected": ", ".join(down[:6])},
    )


@rule("network.no_default_route", PROBE)
def no_default_route(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """Connected to a network, but without a default route (gateway): only the local network is reachable."""
    del thresholds
    r: NetworkResult = results[PROBE]
    if not _no_route(r) or _not_connected(r):
        return
    linked = _linked(r)
    with_address = [i for i in linked if _usable_addresses(i)]
    reached = [c for c in r.checks if c.tcp_ok]
    if not with_address:
        detail = (
            f"The computer has a link on {', '.join(i.name for i in linked[:4])}, but the network gave it no "
            "address (only a self-assigned one, or none), so it cannot reach anything beyond this computer."
        )
        step = (
            "Disconnect from the network and connect again (for Wi-Fi: forget the network and rejoin it). If it "
            "happens again, restart the router, or tell IT that this computer gets no address (DHCP)."
        )
    else:
        names = "; ".join(f"{i.name}: {', '.join(_usable_addresses(i)[:2])}" for i in with_address[:3])
        detail = (
            f"The computer is connected ({names}) but has no default route (no gateway), so it can reach only "
            "machines on that same network, not the internet or the company's servers."
        )
        step = (
            "Disconnect from the network and connect again, or restart the computer. If it happens again, tell "
            "IT: the network did not give this computer a gateway."
        )
    if reached:
        detail += f" {_who(reached[0]).capitalize()} can still be reached, on the local network."
    yield Finding(
        id="network.no_default_route",
        severity=WARNING if reached else CRITICAL,
        title="Connected, but no way out of the local network",
        detail=detail,
        next_step=step,
        probe=PROBE,
        evidence={"connected_interfaces": ", ".join(i.name for i in linked[:6]), "with_address": len(with_address)},
    )


@rule("network.no_dns_servers", PROBE)
def no_dns_servers(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """No DNS server configured: no name (web site, mail server, helpdesk) can be looked up."""
    del thresholds
    r: NetworkResult = results[PROBE]
    if not _no_dns(r) or _not_connected(r):
        return
    if r.dns_stub_resolver:
        why = "The local DNS service (systemd-resolved) runs, but it has no DNS server to ask."
    elif r.dns_config_error:
        why = f"The DNS settings cannot be read: {r.dns_config_error}."
    else:
        why = "No DNS server is configured."
    yield Finding(
        id="network.no_dns_servers",
        severity=CRITICAL,
        title="No DNS server: names cannot be looked up",
        detail=f"{why} Web sites, mail and the helpdesk cannot be found by name, even though the network is up.",
        next_step=(
            "Disconnect from the network and connect again, or restart the computer. If it happens again, tell "
            "IT that the computer gets no DNS server (they can check the network settings or /etc/resolv.conf)."
        ),
        probe=PROBE,
        evidence={
            "dns_servers": ", ".join(r.dns_servers or ()),
            "stub_resolver": r.dns_stub_resolver,
            "config_error": r.dns_config_error,
        },
    )


def _root_cause_reported(r: NetworkResult) -> bool:
    return _not_connected(r) or _no_route(r)


@rule("network.dns_failure", PROBE)
def dns_failure(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """The helpdesk's (or the check host's) name does not resolve."""
    del thresholds
    r: NetworkResult = results[PROBE]
    if _root_cause_reported(r) or _no_dns(r):
        return
    for c in r.checks:
        if c.dns_ok:
            continue
        if c.dns_error_kind == "not_found":
            step = (
                f"Check the address {c.target} for a typo (Deskline settings: helpdesk address). If it is right, "
                "the name may exist only inside the company network: connect to the company VPN and try again."
            )
        elif c.dns_error_kind == "no_answer":
            step = (
                "No DNS server answered in time. Disconnect from the network (or the VPN) and connect again; if it "
                "keeps happening, restart the router or tell IT."
            )
        else:
            step = f"Tell IT that {c.host} cannot be looked up on this computer, with the error shown."
        yield Finding(
            id="network.dns_failure",
            severity=_severity(c),
            title=f"The name of {_who(c)} cannot be found",
            detail=f"Looking up {c.host} (DNS) failed: {c.dns_error}.",
            next_step=step,
            probe=PROBE,
            subject=c.host,
            evidence={"host": c.host, "role": c.role, "error": c.dns_error, "kind": c.dns_error_kind},
        )


def _unreachable_step(c: Check, timeout_text: str) -> str:
    err = c.tcp_error or ""
    if err == "connection refused":
        return (
            f"{c.host} answers but refuses connections on port {c.port}: the service may be down, or the port in "
            "the address is wrong. Tell IT by phone or e-mail."
        )
    if err == "timed out":
        return (
            f"Nothing answered within {timeout_text}: a firewall or a missing VPN connection usually causes this. "
            "If you work outside the office, connect to the company VPN and try again."
        )
    return "Disconnect from the network (or the VPN) and connect again; if it keeps failing, tell IT."


@rule("network.helpdesk_unreachable", PROBE)
def helpdesk_unreachable(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """The name resolves but the TCP connection fails."""
    del thresholds
    r: NetworkResult = results[PROBE]
    if _root_cause_reported(r):
        return
    proxy = _proxy(r)
    for c in r.checks:
        if not c.dns_ok or c.tcp_ok is not False:
            continue
        when = f" after {c.tcp_ms:g} ms" if c.tcp_ms is not None and c.tcp_error != "timed out" else ""
        where = c.host if c.tcp_address in (None, c.host) else f"{c.host} ({c.tcp_address})"
        detail = f"Connecting to {where} on port {c.port} failed: {c.tcp_error}{when}."
        step = _unreachable_step(c, f"{c.tcp_ms / 1000:g} s" if c.tcp_ms else "the time allowed")
        if proxy:
            detail += (
                f" A proxy is configured ({proxy}); this check connects directly, and networks that allow only "
                "the proxy block that."
            )
            step = "If web pages open normally, the proxy is probably the way out here: tell IT the result. " + step
        yield Finding(
            id="network.helpdesk_unreachable",
            severity=WARNING if proxy else _severity(c),
            title=f"Cannot connect to {_who(c)}",
            detail=detail,
            next_step=step,
            probe=PROBE,
            subject=c.host,
            evidence={
                "host": c.host, "address": c.tcp_address, "port": c.port, "error": c.tcp_error, "role": c.role,
                "proxy": proxy,
            },
        )  # fmt: skip


@rule("network.tls_failure", PROBE)
def tls_failure(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """The secure (TLS) connection to an https helpdesk fails, often an untrusted certificate."""
    del thresholds
    r: NetworkResult = results[PROBE]
    for c in r.checks:
        if c.tls_ok is not False:
            continue
        err = c.tls_error or ""
        clock = any(w in err for w in ("expired", "not yet valid"))
        yield Finding(
            id="network.tls_failure",
            severity=_severity(c),
            title=f"The secure connection to {_who(c)} fails",
            detail=f"{c.host} answered, but the secure connection (TLS) failed: {err}.",
            next_step=(
                ("First check this computer's date and time: a wrong clock makes valid certificates look expired. "
                 if clock else "Check that this computer's date and time are right. ")
                + "If they are, tell IT: the server's certificate is not trusted on this computer (a company "
                "certificate may be missing, or something on the network intercepts secure connections)."
            ),
            probe=PROBE,
            subject=c.host,
            evidence={"host": c.host, "port": c.port, "error": err, "role": c.role},
        )


@rule("network.clock_skew", PROBE)
def clock_skew(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """This computer's clock differs from the helpdesk server's by more than the threshold."""
    limit = float(thresholds["clock_skew_seconds"])
    r: NetworkResult = results[PROBE]
    measured = [c for c in r.checks if c.clock_offset_seconds is not None]
    measured.sort(key=lambda c: c.role != "helpdesk")  # the helpdesk server's clock first
    if not measured:
        return
    c = measured[0]
    offset = float(c.clock_offset_seconds or 0.0)
    if abs(offset) <= limit:
        return
    direction = "behind" if offset > 0 else "ahead of"
    yield Finding(
        id="network.clock_skew",
        severity=WARNING,
        title="This computer's clock is wrong",
        detail=(
            f"This computer's clock is {human_duration(round(abs(offset)))} {direction} the time of {c.host} "
            f"(the server says {c.server_date}); more than {human_duration(limit)} apart breaks sign-in to "
            "company services (Kerberos, Active Directory) and secure connections, whose certificates then look "
            "expired or not yet valid."
        ),
        next_step=(
            "Open the date and time settings, turn on 'Set time automatically' and check the time zone. If it is "
            "on already, tell IT that time synchronisation (NTP) does not work on this computer."
        ),
        probe=PROBE,
        subject=c.host,
        evidence={"host": c.host, "offset_seconds": offset, "server_date": c.server_date, "limit_seconds": limit},
    )
