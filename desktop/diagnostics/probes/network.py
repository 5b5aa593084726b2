"""Network: interfaces and their traffic, default routes, DNS, proxies, and whether the helpdesk is reachable.

Everything but the reachability check is local and cheap: psutil for interfaces and counters, and on Linux
``/proc/net/route``, ``/proc/net/ipv6_route`` and ``/etc/resolv.conf`` read directly (no ``ip`` or
``resolvectl`` spawned). Windows and macOS ask ``route print`` / ``netstat -rn`` for the default routes.

The reachability check goes to the configured helpdesk (probe setting ``helpdesk_url``) and to
``network.check_host``: a DNS lookup (in a daemon thread, so a stuck resolver cannot outlast the timeout),
a TCP connection to the first address, and for http(s) URLs a TLS handshake (https) and a ``HEAD``
request whose ``Date`` header gives the clock offset against the server. The check connects directly,
never through a configured proxy: where the network only lets a proxy out, a failed check is expected,
and the proxy settings collected alongside say so. ``http.client`` and ``ssl`` are imported only when a
check runs (they cost some 30 ms of import time).

Proxy values may contain credentials (``http://user:password@proxy:3128``); they are collected as they
are and redacted later with the whole report.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import psutil

from desktop.diagnostics.base import LINUX, MACOS, WINDOWS, Argument, ProbeContext, ProbeError, Unsupported, field

NAME = "network"
TITLE = "Network"

#: What an engineer may set for one remote command. The check's destination makes the user's machine look up
#: and connect to any host and port (a scan of the user's own network), so it is restricted: accepted only
#: where IT's settings list it (agent.remote_arguments). The helpdesk address is never settable from remote.
ARGUMENTS = (
    Argument("network.timeout", "number", "Seconds for the DNS lookup and for the TCP connection of each "
             "reachability check (the probe's own time limit still applies)", unit="s", minimum=0.1, maximum=5),
    Argument("network.check_host", "string", "Host name or URL to look up and reach besides the helpdesk",
             max_length=255, what="a host name or URL", restricted=True),
    Argument("network.check_port", "integer", "TCP port tried on the check host when its URL names none",
             minimum=1, maximum=65535, restricted=True),
)

#: Caps on list sizes (the totals say how many there were).
MAX_INTERFACES = 32
MAX_ADDRESSES = 8
MAX_ROUTES = 8
MAX_DNS = 8
#: systemd-resolved's local stub listener, which forwards to the real (upstream) servers.
RESOLVED_STUB = "127.0.0.53"
RESOLVED_UPSTREAM = "/run/systemd/resolve/resolv.conf"
#: Proxy variables read from the environment, each in lower and upper case.
PROXY_VARIABLES = ("http_proxy", "https_proxy", "ftp_proxy", "all_proxy", "no_proxy")
#: Seconds kept back from the probe's own timeout, so the probe returns its partial checks in time.
_MARGIN_SECONDS = 0.3

_RTF_UP = 0x0001
_RTF_REJECT = 0x0200


@dataclass(frozen=True)
class Interface:
    name: str = field(doc="Interface name as the OS calls it (eth0, wlp2s0, Wi-Fi, en0)")
    up: bool = field(doc="Switched on (administratively up)")
    link: bool | None = field(
        doc="Has a link: cable plugged in, Wi-Fi associated (Linux/macOS: the 'running' flag; Windows: the same "
        "as up). None when unknown"
    )
    loopback: bool = field(doc="The machine's internal loopback interface (lo)")
    kind: str = field(
        doc="What it is, where the OS says so cheaply (Linux): loopback, wireless, ethernet, virtual (bridges, "
        "VPN tunnels, containers), other; '' when unknown"
    )
    speed_mbps: int | None = field(unit="Mb/s", doc="Link speed the driver reports (None when it does not say)")
    mtu: int | None = field(unit="bytes", doc="Largest packet the interface sends (None when unknown)")
    mac: str | None = field(doc="Hardware (MAC) address (None when it has none)")
    ipv4: tuple[str, ...] = field(doc=f"IPv4 addresses with prefix length (192.168.1.20/24), at most {MAX_ADDRESSES}")
    ipv6: tuple[str, ...] = field(
        doc=f"IPv6 addresses with prefix length (fe80::1/64, the %interface scope left out), at most {MAX_ADDRESSES}"
    )
    bytes_sent: int | None = field(unit="bytes", doc="Bytes sent since the interface came up or the boot")
    bytes_recv: int | None = field(unit="bytes", doc="Bytes received since the interface came up or the boot")
    packets_sent: int | None = field(unit="packets", doc="Packets sent")
    packets_recv: int | None = field(unit="packets", doc="Packets received")
    errors_in: int | None = field(unit="packets", doc="Receive errors (bad frames: cable, interference, driver)")
    errors_out: int | None = field(unit="packets", doc="Transmit errors")
    drops_in: int | None = field(unit="packets", doc="Received packets dropped (full buffers, unwanted protocols)")
    drops_out: int | None = field(unit="packets", doc="Packets dropped before sending")


@dataclass(frozen=True)
class Route:
    family: str = field(doc="ipv4 or ipv6")
    destination: str = field(
        doc="0.0.0.0/0 or ::/0 for a default route; 0.0.0.0/1 and 128.0.0.0/1 (or ::/1, 8000::/1) are how VPN "
        "clients replace the default without deleting it"
    )
    gateway: str | None = field(doc="Next router; None for a link without one (point-to-point, VPN tunnel)")
    interface: str = field(doc="Interface the route leaves by (Windows IPv4: the interface's address)")
    metric: int | None = field(doc="Route preference: lower wins (None when unknown)")


@dataclass(frozen=True)
class Check:
    target: str = field(doc="What was configured: the helpdesk URL or the check host")
    role: str = field(doc="helpdesk (the probe setting helpdesk_url) or check_host (network.check_host)")
    scheme: str = field(doc="http or https for URLs; '' for a bare host, which gets the DNS and TCP steps only")
    host: str = field(doc="Host name (or address) looked up and connected to")
    port: int = field(doc="TCP port connected to")
    dns_ok: bool = field(doc="The name resolved to at least one address")
    dns_ms: float | None = field(unit="ms", doc="Time the lookup took (None when it did not finish in time)")
    addresses: tuple[str, ...] = field(doc=f"Addresses the name resolved to, at most {MAX_ADDRESSES}")
    dns_error: str | None = field(doc="Why the lookup failed, in the resolver's words (None when it worked)")
    dns_error_kind: str | None = field(
        doc="not_found (the name does not exist, for this DNS server), no_answer (no DNS server answered in "
        "time), other; None when the lookup worked"
    )
    tcp_ok: bool | None = field(doc="The TCP connection to the first address succeeded (None: not tried)")
    tcp_ms: float | None = field(unit="ms", doc="Time the connection took, or until it failed")
    tcp_address: str | None = field(doc="The address connected to (the first one the lookup gave)")
    tcp_error: str | None = field(
        doc="Why the connection failed: connection refused, timed out, network is unreachable, ..."
    )
    tls_ok: bool | None = field(doc="https only: the TLS handshake succeeded and the certificate was trusted")
    tls_version: str | None = field(doc="TLS version agreed (TLSv1.3, ...)")
    tls_error: str | None = field(doc="Why the TLS handshake failed (certificate not trusted: ..., timed out, ...)")
    http_status: int | None = field(doc="HTTP status of the HEAD request (any status proves the server answers)")
    http_error: str | None = field(doc="Why the HEAD request failed")
    server_date: str | None = field(doc="The server's Date header as sent (HTTP date, UTC)")
    clock_offset_seconds: float | None = field(
        unit="s",
        doc="Server time minus this computer's time, mid-request: negative when this clock is ahead. The Date "
        "header has 1 s resolution, so the offset is good to about ±1 s. None when the server sent no Date",
    )


@dataclass(frozen=True)
class NetworkResult:
    interfaces: tuple[Interface, ...] = field(
        doc=f"Network interfaces, connected ones first, loopback last, at most {MAX_INTERFACES}"
    )
    interfaces_total: int = field(doc="How many interfaces there were before the cap")
    default_routes: tuple[Route, ...] | None = field(
        doc=f"Default routes (Linux: of the main routing table), at most {MAX_ROUTES}; empty when there is none; "
        "None when they could not be read"
    )
    dns_servers: tuple[str, ...] | None = field(
        doc=f"DNS servers the system resolver uses (Linux/macOS: /etc/resolv.conf; Windows: per-interface "
        f"registry settings), at most {MAX_DNS}; empty when none is configured; None when unknown"
    )
    dns_search: tuple[str, ...] = field(doc=f"Search domains tried for short names, at most {MAX_DNS}")
    dns_stub_resolver: bool = field(
        doc=f"DNS goes to systemd-resolved's local stub ({RESOLVED_STUB}), which forwards to dns_upstream_servers"
    )
    dns_upstream_servers: tuple[str, ...] | None = field(
        doc=f"The servers systemd-resolved forwards to ({RESOLVED_UPSTREAM}); None when that file is absent"
    )
    dns_config_error: str | None = field(
        doc="Why the resolver configuration could not be read (a missing /etc/resolv.conf, a dangling link)"
    )
    proxy_env: dict[str, str] = field(
        doc="Proxy variables set in the environment (http_proxy, HTTPS_PROXY, no_proxy, ... in either case), "
        "as set; may hold credentials until redaction"
    )
    proxies: dict[str, str] = field(
        doc="The proxies programs using Python's urllib would use, by scheme (urllib.request.getproxies: the "
        "environment, plus the system settings on Windows and macOS); 'no' lists the exceptions"
    )
    system_proxy: dict[str, str] = field(
        doc="Windows: the user's Internet Settings (ProxyEnable, ProxyServer, ProxyOverride, AutoConfigURL) as "
        "stored; empty elsewhere"
    )
    checks: tuple[Check, ...] = field(doc="Reachability checks of the helpdesk and the check host, as configured")
    checks_skipped: str | None = field(doc="Why no check ran (nothing configured); None when checks ran")


RESULT = NetworkResult


# -- interfaces -----------------------------------------------------------------------------------------


def prefix_length(netmask: str | None) -> int | None:
    """Bits set in an IPv4 or IPv6 netmask (255.255.255.0 -> 24), None when unknown or not a mask."""
    if not netmask:
        return None
    family = socket.AF_INET6 if ":" in netmask else socket.AF_INET
    try:
        packed = socket.inet_pton(family, netmask)
    except OSError:
        return None
    return int.from_bytes(packed, "big").bit_count()


def _with_prefix(address: str, netmask: str | None) -> str:
    address = address.split("%", 1)[0]  # fe80::1%eth0: the interface is known already
    bits = prefix_length(netmask)
    return f"{address}/{bits}" if bits is not None else address


def _linux_kind(name: str, loopback: bool, sys_class_net: str = "/sys/class/net") -> str:
    if loopback:
        return "loopback"
    base = os.path.join(sys_class_net, name)
    if os.path.exists(os.path.join(base, "wireless")) or os.path.exists(os.path.join(base, "phy80211")):
        return "wireless"
    if not os.path.exists(os.path.join(base, "device")):
        return "virtual" if os.path.exists(base) else ""
    try:
        with open(os.path.join(base, "type"), encoding="ascii") as fh:
            return "ethernet" if fh.read().strip() == "1" else "other"
    except OSError:
        return ""


def interfaces(ctx: ProbeContext) -> tuple[list[Interface], int]:
    """Every interface psutil knows, sorted connected first; with its addresses and counters."""
    addrs = psutil.net_if_addrs()
    try:
        stats = psutil.net_if_stats()
    except OSError:
        stats = {}
    try:
        io = psutil.net_io_counters(pernic=True)
    except OSError:
        io = {}
    out = []
    for name in sorted(set(addrs) | set(stats)):
        st = stats.get(name)
        flags = set((getattr(st, "flags", "") or "").split(",")) - {""}
        ipv4, ipv6, mac = [], [], None
        for a in addrs.get(name, []):
            if a.family == socket.AF_INET:
                ipv4.append(_with_prefix(a.address, a.netmask))
            elif a.family == socket.AF_INET6:
                ipv6.append(_with_prefix(a.address, a.netmask))
            elif a.family == psutil.AF_LINK and a.address and a.address.strip("0:-"):
                mac = a.address.replace("-", ":").lower()
        loopback = "loopback" in flags or name == "lo" or any(ip.startswith("127.") for ip in ipv4)
        up = bool(st.isup) if st else False
        link = ("running" in flags) if flags else (up if st else None)
        counters = io.get(name)
        out.append(
            Interface(
                name=name,
                up=up,
                link=link,
                loopback=loopback,
                kind=_linux_kind(name, loopback) if ctx.platform == LINUX else ("loopback" if loopback else ""),
                speed_mbps=(st.speed or None) if st else None,
                mtu=(st.mtu or None) if st else None,
                mac=mac,
                ipv4=tuple(ipv4[:MAX_ADDRESSES]),
                ipv6=tuple(ipv6[:MAX_ADDRESSES]),
                bytes_sent=counters.bytes_sent if counters else None,
                bytes_recv=counters.bytes_recv if counters else None,
                packets_sent=counters.packets_sent if counters else None,
                packets_recv=counters.packets_recv if counters else None,
                errors_in=counters.errin if counters else None,
                errors_out=counters.errout if counters else None,
                drops_in=counters.dropin if counters else None,
                drops_out=counters.dropout if counters else None,
            )
        )
    out.sort(key=lambda i: (i.loopback, not (i.up and i.link), not (i.ipv4 or i.ipv6), i.name))
    return out[:MAX_INTERFACES], len(out)


# -- default routes -------------------------------------------------------------------------------------


def _ipv4_hex(text: str) -> str:
    """/proc/net/route's little-endian hex IPv4 address as dotted text."""
    return socket.inet_ntop(socket.AF_INET, int(text, 16).to_bytes(4, "little"))


def _is_default(dest_bits: int, prefix: int, width: int) -> bool:
    """0/0, or one of the two /1 halves VPN clients install to override the default route."""
    return prefix == 0 or (prefix == 1 and dest_bits in (0, 1 << (width - 1)))


def parse_proc_route(text: str) -> list[Route]:
    """Default IPv4 routes from ``/proc/net/route`` (columns: Iface Destination Gateway Flags ... Metric Mask)."""
    routes = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        try:
            dest, gateway, flags, metric, mask = (int(f[1], 16), f[2], int(f[3], 16), int(f[6]), int(f[7], 16))
        except ValueError:
            continue
        prefix = mask.bit_count()
        dest_be = int.from_bytes(dest.to_bytes(4, "little"), "big")
        if not flags & _RTF_UP or flags & _RTF_REJECT or not _is_default(dest_be, prefix, 32):
            continue
        gw = _ipv4_hex(gateway) if int(gateway, 16) else None
        routes.append(Route("ipv4", f"{_ipv4_hex(f[1])}/{prefix}", gw, f[0], metric))
    return routes


def parse_proc_ipv6_route(text: str) -> list[Route]:
    """Default IPv6 routes from ``/proc/net/ipv6_route`` (dest plen src plen nexthop metric ref use flags dev)."""
    routes = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 10:
            continue
        try:
            dest, prefix, nexthop = int(f[0], 16), int(f[1], 16), int(f[4], 16)
            metric, flags = int(f[5], 16), int(f[8], 16)
        except ValueError:
            continue
        if not flags & _RTF_UP or flags & _RTF_REJECT or f[9] == "lo" or not _is_default(dest, prefix, 128):
            continue
        gw = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(f[4])) if nexthop else None
        dest_text = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(f[0]))
        routes.append(Route("ipv6", f"{dest_text}/{prefix}", gw, f[9], metric))
    return routes


def parse_route_print(text: str) -> list[Route]:
    """Default routes from Windows ``route print`` (IPv4 and IPv6 'Active Routes' tables)."""
    routes = []
    section = ""
    for line in text.splitlines():
        if "IPv4 Route Table" in line:
            section = "ipv4"
        elif "IPv6 Route Table" in line:
            section = "ipv6"
        elif "Persistent Routes" in line:
            section = ""
        f = line.split()
        if section == "ipv4" and len(f) == 5 and f[0] == "0.0.0.0" and f[1] == "0.0.0.0":
            gw = None if f[2].lower() == "on-link" else f[2]
            routes.append(Route("ipv4", "0.0.0.0/0", gw, f[3], int(f[4]) if f[4].isdigit() else None))
        elif section == "ipv6" and len(f) >= 4 and f[2] == "::/0":
            gw = None if f[3].lower() == "on-link" else f[3]
            routes.append(Route("ipv6", "::/0", gw, f[0], int(f[1]) if f[1].isdigit() else None))
    return routes


def parse_netstat_rn(text: str) -> list[Route]:
    """Default routes from macOS ``netstat -rn`` (sections 'Internet:' and 'Internet6:')."""
    routes = []
    family = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == "Internet:":
            family = "ipv4"
            continue
        if stripped == "Internet6:":
            family = "ipv6"
            continue
        f = line.split()
        if family and len(f) >= 4 and f[0] == "default":
            gw: str | None = f[1].split("%", 1)[0]
            if gw is not None and gw.startswith("link#"):
                gw = None
            dest = "0.0.0.0/0" if family == "ipv4" else "::/0"
            routes.append(Route(family, dest, gw, f[3], None))
    return routes


def default_routes(ctx: ProbeContext) -> tuple[Route, ...] | None:
    if ctx.platform == LINUX:
        routes: list[Route] = []
        read_any = False
        for path, parse in (("/proc/net/route", parse_proc_route), ("/proc/net/ipv6_route", parse_proc_ipv6_route)):
            try:
                with open(path, encoding="ascii", errors="replace") as fh:
                    routes.extend(parse(fh.read()))
                read_any = True
            except OSError:
                continue  # no IPv6 in this kernel: /proc/net/ipv6_route is absent
        return tuple(routes[:MAX_ROUTES]) if read_any else None
    argv, parser = (
        (["route", "print"], parse_route_print) if ctx.platform == WINDOWS else (["netstat", "-rn"], parse_netstat_rn)
    )
    try:
        out = ctx.run(argv, timeout=2)
    except ProbeError:
        return None
    if out.returncode != 0:
        return None
    return tuple(parser(out.stdout)[:MAX_ROUTES])


# -- DNS ------------------------------------------------------------------------------------------------


def parse_resolv_conf(text: str) -> tuple[list[str], list[str]]:
    """(nameservers, search domains) of a resolv.conf; the last search/domain line wins, as in glibc."""
    servers: list[str] = []
    search: list[str] = []
    for line in text.splitlines():
        f = line.split()
        if not f or f[0].startswith(("#", ";")):
            continue
        if f[0] == "nameserver" and len(f) > 1:
            servers.append(f[1])
        elif f[0] in ("search", "domain"):
            search = [d for d in f[1:] if not d.startswith(("#", ";"))]
    return servers, search


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


class _Dns(NamedTuple):
    servers: tuple[str, ...] | None
    search: tuple[str, ...]
    stub: bool
    upstream: tuple[str, ...] | None
    error: str | None


def dns_posix(resolv_conf: str = "/etc/resolv.conf", upstream_conf: str = RESOLVED_UPSTREAM) -> _Dns:
    try:
        servers, search = parse_resolv_conf(_read_text(resolv_conf))
        error = None
    except OSError as exc:
        servers, search = [], []
        error = f"{resolv_conf}: {exc.strerror or exc}"
        if os.path.islink(resolv_conf):
            error += f" (a link to {os.readlink(resolv_conf)}, which is missing)"
    upstream = None
    if os.path.exists(upstream_conf):
        try:
            upstream = tuple(parse_resolv_conf(_read_text(upstream_conf))[0][:MAX_DNS])
        except OSError:
            upstream = None
    return _Dns(tuple(servers[:MAX_DNS]), tuple(search[:MAX_DNS]), RESOLVED_STUB in servers, upstream, error)


def _dns_windows() -> _Dns:  # pragma: no cover - Windows only
    import winreg  # type: ignore[import-not-found,unused-ignore]

    reg: Any = winreg
    servers: list[str] = []
    search: list[str] = []
    base = r"SYSTEM\CurrentControlSet\Services\Tcpip\Parameters"
    try:
        with reg.OpenKey(reg.HKEY_LOCAL_MACHINE, base) as key:
            try:
                search = [d for d in str(reg.QueryValueEx(key, "SearchList")[0]).replace(",", " ").split() if d]
            except OSError:
                search = []
        with reg.OpenKey(reg.HKEY_LOCAL_MACHINE, base + r"\Interfaces") as key:
            for i in range(reg.QueryInfoKey(key)[0]):
                with reg.OpenKey(key, reg.EnumKey(key, i)) as sub:
                    for value in ("NameServer", "DhcpNameServer"):
                        try:
                            text = str(reg.QueryValueEx(sub, value)[0])
                        except OSError:
                            continue
                        for s in text.replace(",", " ").split():
                            if s not in servers:
                                servers.append(s)
    except OSError as exc:
        return _Dns(None, (), False, None, f"registry {base}: {exc.strerror or exc}")
    return _Dns(tuple(servers[:MAX_DNS]), tuple(search[:MAX_DNS]), False, None, None)


# -- proxies --------------------------------------------------------------------------------------------


def proxy_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The proxy variables that are set, under the names they are set with."""
    wanted = {v for name in PROXY_VARIABLES for v in (name, name.upper())}
    return {k: v for k, v in sorted(environ.items()) if k in wanted and v}


def proxies_from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What ``urllib.request.getproxies_environment`` gives, for a given environment (lower case wins).

    On Linux this is all ``getproxies`` does; computing it here spares importing urllib.request (~30 ms).
    """
    proxies: dict[str, str] = {}
    for name, value in environ.items():
        if value and name.lower().endswith("_proxy"):
            proxies[name.lower()[:-6]] = value
    for name, value in environ.items():  # lower-case names win over upper-case ones, as in urllib
        if name.endswith("_proxy") and name.islower():
            if value:
                proxies[name[:-6]] = value
            else:
                proxies.pop(name[:-6], None)
    if "REQUEST_METHOD" in environ:
        proxies.pop("http", None)  # CGI: HTTP_PROXY may come from a request header (httpoxy)
    return proxies


def _windows_system_proxy() -> dict[str, str]:  # pragma: no cover - Windows only
    import winreg  # type: ignore[import-not-found,unused-ignore]

    reg: Any = winreg
    out: dict[str, str] = {}
    path = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings"
    try:
        with reg.OpenKey(reg.HKEY_CURRENT_USER, path) as key:
            for value in ("ProxyEnable", "ProxyServer", "ProxyOverride", "AutoConfigURL"):
                try:
                    out[value] = str(reg.QueryValueEx(key, value)[0])
                except OSError:
                    continue
    except OSError:
        return {}
    return out


def _system_proxies(ctx: ProbeContext) -> dict[str, str]:
    if ctx.platform == LINUX:
        return proxies_from_environment(ctx.environ)
    import urllib.request  # reads the registry (Windows) or SystemConfiguration (macOS)

    try:
        return {str(k): str(v) for k, v in urllib.request.getproxies().items()}
    except OSError:
        return proxies_from_environment(ctx.environ)


# -- reachability checks --------------------------------------------------------------------------------


class Target(NamedTuple):
    target: str
    role: str
    scheme: str
    host: str
    port: int
    path: str


def parse_target(text: str, role: str, default_port: int) -> Target | None:
    """A check target from a URL (http/https) or a bare ``host[:port]``; None when nothing usable is given."""
    text = text.strip()
    if not text:
        return None
    from urllib.parse import urlsplit

    if "://" in text:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            scheme = ""
        default = {"http": 80, "https": 443}.get(scheme, default_port)
        path = parts.path or "/"
    else:
        parts = urlsplit("//" + text)
        scheme, default, path = "", default_port, "/"
    try:
        port = parts.port or default
    except ValueError:
        port = default
    if not parts.hostname:
        return None
    return Target(text, role, scheme, parts.hostname, port, path)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _dns_kind(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    not_found = {getattr(socket, n) for n in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, n)}
    no_answer = {getattr(socket, n) for n in ("EAI_AGAIN",) if hasattr(socket, n)}
    if code in not_found or code == 11001:  # 11001: WSAHOST_NOT_FOUND
        return "not_found"
    if code in no_answer or code == 11002:  # 11002: WSATRY_AGAIN
        return "no_answer"
    return "other"


def resolve(host: str, port: int, timeout: float) -> tuple[list[tuple[int, str]], str | None, str | None, float | None]:
    """Look ``host`` up in a daemon thread, waiting at most ``timeout`` seconds.

    Returns ([(family, address)], error, error kind, milliseconds or None when it did not finish).
    """
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:  # gaierror is an OSError; UnicodeError: a bad IDN
            box["error"] = exc
        finally:
            done.set()

    start = time.perf_counter()
    threading.Thread(target=work, name="network-dns", daemon=True).start()
    if not done.wait(max(0.0, timeout)):
        return [], f"no answer within {timeout:g} s", "no_answer", None
    ms = _ms(start)
    if "error" in box:
        exc = box["error"]
        text = getattr(exc, "strerror", None) or str(exc)
        return [], text, _dns_kind(exc), ms
    seen: list[tuple[int, str]] = []
    for family, _type, _proto, _canon, sockaddr in box["infos"]:
        item = (int(family), str(sockaddr[0]))
        if item not in seen:
            seen.append(item)
    if not seen:
        return [], "no address", "not_found", ms
    return seen, None, None, ms


def connect_error(exc: OSError) -> str:
    """A connection failure in a few plain words."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def _host_header(host: str, port: int, scheme: str) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if port == {"http": 80, "https": 443}.get(scheme) else f"{name}:{port}"


def run_check(target: Target, timeout: float, deadline: float) -> Check:
    """Run the DNS, TCP and (for URLs) TLS and HTTP steps of one check, each within ``timeout`` and all
    before ``deadline`` (a ``time.monotonic()`` value)."""
    r: dict[str, Any] = {
        "target": target.target, "role": target.role, "scheme": target.scheme, "host": target.host,
        "port": target.port, "dns_ok": False, "dns_ms": None, "addresses": (), "dns_error": None,
        "dns_error_kind": None, "tcp_ok": None, "tcp_ms": None, "tcp_address": None, "tcp_error": None,
        "tls_ok": None, "tls_version": None, "tls_error": None, "http_status": None, "http_error": None,
        "server_date": None, "clock_offset_seconds": None,
    }  # fmt: skip

    def budget() -> float:
        return min(timeout, deadline - time.monotonic())

    found, r["dns_error"], r["dns_error_kind"], r["dns_ms"] = resolve(target.host, target.port, budget())
    r["dns_ok"] = bool(found)
    r["addresses"] = tuple(a for _, a in found[:MAX_ADDRESSES])
    if not found:
        return Check(**r)

    family, address = found[0]
    r["tcp_address"] = address
    if budget() <= 0:
        r["tcp_ok"], r["tcp_error"] = False, "not tried: the probe ran out of time"
        return Check(**r)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(budget())
        start = time.perf_counter()
        try:
            sock.connect((address, target.port))
        except OSError as exc:
            r["tcp_ok"], r["tcp_ms"], r["tcp_error"] = False, _ms(start), connect_error(exc)
            return Check(**r)
        r["tcp_ok"], r["tcp_ms"] = True, _ms(start)
        if target.scheme:
            sock = _http_steps(sock, target, budget, r)
    finally:
        sock.close()
    return Check(**r)


def _http_steps(sock: socket.socket, target: Target, budget: Callable[[], float], r: dict[str, Any]) -> socket.socket:
    """TLS (https) and a HEAD request over the connected ``sock``; fills ``r``; returns the socket to close."""
    import http.client  # imported here: only checks need it, and it costs ~30 ms with ssl and email

    if target.scheme == "https":
        import ssl

        context = ssl.create_default_context()
        try:
            sock.settimeout(max(0.01, budget()))
            tls = context.wrap_socket(sock, server_hostname=target.host)
        except ssl.SSLCertVerificationError as exc:
            r["tls_ok"], r["tls_error"] = False, f"certificate not trusted: {exc.verify_message or exc.reason}"
            return sock
        except ssl.SSLError as exc:
            r["tls_ok"], r["tls_error"] = False, f"TLS failed: {exc.reason or exc}"
            return sock
        except OSError as exc:
            r["tls_ok"], r["tls_error"] = False, connect_error(exc)
            return sock
        r["tls_ok"], r["tls_version"] = True, tls.version()
        sock = tls
    if budget() <= 0:
        r["http_error"] = "not tried: the probe ran out of time"
        return sock
    conn = http.client.HTTPConnection(target.host, target.port, timeout=budget())
    conn.sock = sock
    sock.settimeout(budget())
    try:
        sent = time.time()
        conn.request(
            "HEAD",
            target.path,
            headers={
                "Host": _host_header(target.host, target.port, target.scheme),
                "User-Agent": "Deskline-check",
                "Connection": "close",
            },
        )
        response = conn.getresponse()
        received = time.time()
        r["http_status"] = response.status
        date = response.getheader("Date")
        response.close()
    except (OSError, http.client.HTTPException) as exc:
        r["http_error"] = connect_error(exc) if isinstance(exc, OSError) else f"bad HTTP answer: {exc!r}"[:200]
        return sock
    if date:
        r["server_date"] = date[:64]
        r["clock_offset_seconds"] = clock_offset(date, (sent + received) / 2)
    return sock


def clock_offset(date_header: str, local_time: float) -> float | None:
    """Server time (an HTTP Date) minus ``local_time`` (epoch seconds), in seconds; None if unparsable.

    The header is truncated to the second, so half a second is added to centre the estimate.
    """
    from email.utils import parsedate_to_datetime

    try:
        server = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if server.tzinfo is None:
        return None  # RFC 9110 dates are always GMT; one without a zone is not one we can trust
    return round(server.timestamp() + 0.5 - local_time, 1)


def _probe_timeout(ctx: ProbeContext) -> float:
    """The time the runner gives this probe (the same rule as the runner's)."""
    overrides = ctx.setting("timeouts", {}) or {}
    if NAME in overrides:
        return float(overrides[NAME])
    return float(ctx.setting("timeout", 5.0))


def run_checks(targets: Iterable[Target], timeout: float, deadline: float) -> list[Check]:
    """All checks at once, each in a daemon thread; a check not finished by ``deadline`` is not reported."""
    todo = list(targets)
    results: list[Check | None] = [None] * len(todo)

    def one(i: int, t: Target) -> None:
        results[i] = run_check(t, timeout, deadline)

    threads = [threading.Thread(target=one, args=(i, t), name="network-check", daemon=True) for i, t in enumerate(todo)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(max(0.0, deadline - time.monotonic()) + 0.2)
    return [c for c in results if c is not None]


def targets(ctx: ProbeContext) -> list[Target]:
    port = int(ctx.setting("network.check_port", 443))
    found: list[Target] = []
    for role, text in (
        ("helpdesk", str(ctx.setting("helpdesk_url", "") or "")),
        ("check_host", str(ctx.setting("network.check_host", "") or "")),
    ):
        t = parse_target(text, role, port)
        if t is not None and all((t.host, t.port, t.scheme) != (o.host, o.port, o.scheme) for o in found):
            found.append(t)
    return found


def collect(ctx: ProbeContext) -> NetworkResult:
    if ctx.platform not in (LINUX, WINDOWS, MACOS):
        raise Unsupported(f"the network probe is not supported on {ctx.platform}")
    start = time.monotonic()
    to_check = targets(ctx)
    checks: list[Check] = []
    checker: threading.Thread | None = None
    if to_check:
        # the checks wait on the network: run them while the local facts are gathered
        timeout = float(ctx.setting("network.timeout", 2.0))
        deadline = start + max(0.2, _probe_timeout(ctx) - _MARGIN_SECONDS)
        checker = threading.Thread(
            target=lambda: checks.extend(run_checks(to_check, timeout, deadline)), name="network-checks", daemon=True
        )
        checker.start()
    nics, nics_total = interfaces(ctx)
    routes = default_routes(ctx)
    dns = _dns_windows() if ctx.platform == WINDOWS else dns_posix()
    env = proxy_environment(ctx.environ)
    proxies = _system_proxies(ctx)
    system_proxy = _windows_system_proxy() if ctx.platform == WINDOWS else {}
    if checker is not None:
        checker.join()
    return NetworkResult(
        interfaces=tuple(nics),
        interfaces_total=nics_total,
        default_routes=routes,
        dns_servers=dns.servers,
        dns_search=dns.search,
        dns_stub_resolver=dns.stub,
        dns_upstream_servers=dns.upstream,
        dns_config_error=dns.error,
        proxy_env=env,
        proxies=proxies,
        system_proxy=system_proxy,
        checks=tuple(checks),
        checks_skipped=None if to_check else "no helpdesk address (helpdesk_url) or network.check_host configured",
    )
