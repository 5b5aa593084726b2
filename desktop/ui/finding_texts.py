"""Findings and probe names in the user's language.

The diagnostics engine writes its findings in English (the text that goes into tickets). The app shows
them in the interface language: :func:`texts` looks the finding's stable ``id`` up in a table of
translatable templates (context ``Findings``) and fills them from the finding's ``evidence`` and
``subject``. In English the engine's own text is shown (it is the fullest); an id missing from the
table, or evidence that does not fit the template, falls back to it too, so a new rule is never shown
blank, only untranslated.

The templates say what the evidence supports: where the engine's sentence uses a value the evidence
does not carry (the busiest program's name in ``memory.pressure``, the exact limit crossed in
``disk.almost_full``), the translated text leaves that part out rather than guess.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QCoreApplication, QLocale

from desktop.diagnostics.findings import CRITICAL, INFO, WARNING, Finding

log = logging.getLogger("deskline.ui")

translate = QCoreApplication.translate
Texts = tuple[str, str, str]

_PLACEHOLDER = re.compile(r"%(\d)")


def fill(template: str, *args: object) -> str:
    """``%1``..``%9`` replaced by ``args`` in one pass (an argument holding ``%2`` stays as it is)."""

    def value(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return str(args[index]) if 0 <= index < len(args) else match.group(0)

    return _PLACEHOLDER.sub(value, template)


def current_language() -> str:
    """The interface language as :func:`desktop.ui.i18n.install` set it (through the default locale)."""
    return "ru" if QLocale().language() == QLocale.Language.Russian else "en"


# -- numbers as the reader writes them ------------------------------------------------------------------


def number(value: float, decimals: int = 0) -> str:
    """A number in the interface locale: ``1,5`` in Russian, ``12 345`` with its group separator."""
    if decimals == 0:
        return QLocale().toString(int(round(float(value))))
    return QLocale().toString(float(value), "f", decimals)


def size(n: float) -> str:
    """Bytes in binary units, named as people know them (``1,5 ГБ``)."""
    value = float(n)
    units = (
        translate("Findings", "%1 bytes"),
        translate("Findings", "%1 KB"),
        translate("Findings", "%1 MB"),
        translate("Findings", "%1 GB"),
        translate("Findings", "%1 TB"),
    )
    for index, unit in enumerate(units):
        if abs(value) < 1024 or index == len(units) - 1:
            return fill(unit, number(value, 0 if index == 0 else 1))
        value /= 1024
    return fill(units[-1], number(value, 1))  # pragma: no cover - the loop always returns


def duration(seconds: float) -> str:
    """A duration in words: ``3 дня``, ``5 часов``, ``12 минут``."""
    # (the count is computed before the call: lupdate reads "//" as a comment and gets lost in a nested call,
    # and then misses the string; tests/ui/test_translation_sources.py checks that it sees every one)
    s = int(abs(float(seconds)))
    days, hours, minutes = s // 86400, s // 3600, s // 60
    if days:
        return translate("Findings", "%n day(s)", "", days)
    if hours:
        return translate("Findings", "%n hour(s)", "", hours)
    if minutes:
        return translate("Findings", "%n minute(s)", "", minutes)
    return translate("Findings", "%n second(s)", "", s)


def period(seconds: float) -> str:
    """A time window ("in the last ..."): hours up to two days (``24 часа``, not ``1 день``), else days."""
    hours = int(abs(float(seconds))) // 3600
    if 1 <= hours < 48:
        return translate("Findings", "%n hour(s)", "", hours)
    return duration(seconds)


def _ev(f: Finding, key: str, default: Any = None) -> Any:
    value = f.evidence.get(key)
    return default if value is None else value


def _error(text: str) -> str:
    """A connection error as the engine words it, translated when it is one of the common ones."""
    known = {
        "connection refused": translate("Findings", "connection refused"),
        "timed out": translate("Findings", "timed out"),
    }
    return known.get(text, text)


# -- network --------------------------------------------------------------------------------------------


def _network_not_connected(f: Finding) -> Texts:
    down = str(_ev(f, "disconnected", ""))
    if down:
        detail = fill(translate("Findings", "No network connection is active: no network cable with a link and no "
                                            "Wi-Fi network joined (interfaces found: %1, none connected)."), down)
    else:
        detail = translate("Findings", "No network connection is active: no network cable with a link and no Wi-Fi "
                                       "network joined.")
    return (
        translate("Findings", "Not connected to any network"),
        detail,
        translate("Findings", "Turn on Wi-Fi and join your network (and check that airplane mode is off), or check "
                              "that the network cable is plugged in firmly at both ends."),
    )


def _network_no_default_route(f: Finding) -> Texts:
    names = str(_ev(f, "connected_interfaces", ""))
    if not _ev(f, "with_address", 0):
        detail = fill(translate("Findings", "The computer has a link on %1, but the network gave it no address (only "
                                            "a self-assigned one, or none), so it cannot reach anything beyond this "
                                            "computer."), names)
        step = translate("Findings", "Disconnect from the network and connect again (for Wi-Fi: forget the network "
                                     "and rejoin it). If it happens again, restart the router, or tell IT that this "
                                     "computer gets no address (DHCP).")
    else:
        detail = fill(translate("Findings", "The computer is connected (%1) but has no default route (no gateway), so "
                                            "it can reach only machines on that same network, not the internet or the "
                                            "company's servers."), names)
        step = translate("Findings", "Disconnect from the network and connect again, or restart the computer. If it "
                                     "happens again, tell IT: the network did not give this computer a gateway.")
    if f.severity == WARNING:  # the engine lowers it when a server could still be reached
        detail += " " + translate("Findings", "Some servers can still be reached, on the local network.")
    return translate("Findings", "Connected, but no way out of the local network"), detail, step


def _network_no_dns_servers(f: Finding) -> Texts:
    if _ev(f, "stub_resolver", False):
        why = translate("Findings", "The local DNS service (systemd-resolved) runs, but it has no DNS server to ask.")
    elif _ev(f, "config_error"):
        why = fill(translate("Findings", "The DNS settings cannot be read: %1."), _ev(f, "config_error"))
    else:
        why = translate("Findings", "No DNS server is configured.")
    return (
        translate("Findings", "No DNS server: names cannot be looked up"),
        why + " " + translate("Findings", "Web sites, mail and the helpdesk cannot be found by name, even though the "
                                          "network is up."),
        translate("Findings", "Disconnect from the network and connect again, or restart the computer. If it happens "
                              "again, tell IT that the computer gets no DNS server (they can check the network "
                              "settings or /etc/resolv.conf)."),
    )


def _network_dns_failure(f: Finding) -> Texts:
    host = str(_ev(f, "host", f.subject))
    kind = _ev(f, "kind")
    if kind == "not_found":
        step = fill(translate("Findings", "Check the address %1 for a typo (Deskline settings: helpdesk address). If "
                                          "it is right, the name may exist only inside the company network: connect "
                                          "to the company VPN and try again."), host)
    elif kind == "no_answer":
        step = translate("Findings", "No DNS server answered in time. Disconnect from the network (or the VPN) and "
                                     "connect again; if it keeps happening, restart the router or tell IT.")
    else:
        step = fill(translate("Findings", "Tell IT that %1 cannot be looked up on this computer, with the error "
                                          "shown."), host)
    if _ev(f, "role") == "helpdesk":
        title = translate("Findings", "The helpdesk's name cannot be found")
    else:
        title = fill(translate("Findings", "The name %1 cannot be found"), host)
    detail = fill(translate("Findings", "Looking up %1 (DNS) failed: %2."), host, _ev(f, "error", ""))
    return title, detail, step


def _network_helpdesk_unreachable(f: Finding) -> Texts:
    host = str(_ev(f, "host", f.subject))
    address = _ev(f, "address")
    where = host if address in (None, host) else f"{host} ({address})"
    port = _ev(f, "port", "")
    error = str(_ev(f, "error", ""))
    proxy = _ev(f, "proxy")
    detail = fill(translate("Findings", "Connecting to %1 on port %2 failed: %3."), where, port, _error(error))
    if error == "connection refused":
        step = fill(translate("Findings", "%1 answers but refuses connections on port %2: the service may be down, or "
                                          "the port in the address is wrong. Tell IT by phone or e-mail."), host, port)
    elif error == "timed out":
        step = translate("Findings", "Nothing answered in time: a firewall or a missing VPN connection usually causes "
                                     "this. If you work outside the office, connect to the company VPN and try again.")
    else:
        step = translate("Findings", "Disconnect from the network (or the VPN) and connect again; if it keeps failing, "
                                     "tell IT.")
    if proxy:
        detail += " " + fill(translate("Findings", "A proxy is configured (%1); this check connects directly, and "
                                                   "networks that allow only the proxy block that."), proxy)
        step = translate("Findings", "If web pages open normally, the proxy is probably the way out here: tell IT the "
                                     "result.") + " " + step
    if _ev(f, "role") == "helpdesk":
        title = translate("Findings", "Cannot connect to the helpdesk")
    else:
        title = fill(translate("Findings", "Cannot connect to %1"), host)
    return title, detail, step


def _network_tls_failure(f: Finding) -> Texts:
    host = str(_ev(f, "host", f.subject))
    error = str(_ev(f, "error", ""))
    if any(w in error for w in ("expired", "not yet valid")):
        first = translate("Findings", "First check this computer's date and time: a wrong clock makes valid "
                                      "certificates look expired.")
    else:
        first = translate("Findings", "Check that this computer's date and time are right.")
    if _ev(f, "role") == "helpdesk":
        title = translate("Findings", "The secure connection to the helpdesk fails")
    else:
        title = fill(translate("Findings", "The secure connection to %1 fails"), host)
    return (
        title,
        fill(translate("Findings", "%1 answered, but the secure connection (TLS) failed: %2."), host, error),
        first + " " + translate("Findings", "If they are, tell IT: the server's certificate is not trusted on this "
                                            "computer (a company certificate may be missing, or something on the "
                                            "network intercepts secure connections)."),
    )


def _network_clock_skew(f: Finding) -> Texts:
    offset = float(_ev(f, "offset_seconds", 0.0))
    limit = float(_ev(f, "limit_seconds", 0.0))
    host = str(_ev(f, "host", f.subject))
    if offset > 0:
        template = translate("Findings", "This computer's clock is %1 behind the time of %2 (the server says %3); more "
                                         "than %4 apart breaks sign-in to company services (Kerberos, Active "
                                         "Directory) and secure connections, whose certificates then look expired or "
                                         "not yet valid.")
    else:
        template = translate("Findings", "This computer's clock is %1 ahead of the time of %2 (the server says %3); "
                                         "more than %4 apart breaks sign-in to company services (Kerberos, Active "
                                         "Directory) and secure connections, whose certificates then look expired or "
                                         "not yet valid.")
    return (
        translate("Findings", "This computer's clock is wrong"),
        fill(template, duration(round(abs(offset))), host, _ev(f, "server_date", ""), duration(limit)),
        translate("Findings", "Open the date and time settings, turn on 'Set time automatically' and check the time "
                              "zone. If it is on already, tell IT that time synchronisation (NTP) does not work on "
                              "this computer."),
    )


# -- resources ------------------------------------------------------------------------------------------


def _memory_pressure(f: Finding) -> Texts:
    available = float(_ev(f, "available_percent", 0.0))
    low = available < float(_ev(f, "threshold_available_percent", 0.0))
    parts = [fill(translate("Findings", "Only %1 of %2 of memory (%3 %) is free for programs."),
                  size(_ev(f, "available_bytes", 0)), size(_ev(f, "total_bytes", 0)), number(available, 1))]
    psi = _ev(f, "psi_some_avg60")
    if psi is not None and (float(psi) >= 1 or not low):
        parts.append(fill(translate("Findings", "Over the last minute programs were held up waiting for memory %1 % "
                                                "of the time."), number(float(psi))))
    return (
        translate("Findings", "The computer is running out of memory") if low
        else translate("Findings", "Programs are waiting for memory"),
        " ".join(parts),
        translate("Findings", "Save your work and close programs you are not using (a web browser with many tabs open "
                              "uses a lot). If this keeps happening, ask IT about more memory."),
    )


def _memory_swap_heavy(f: Finding) -> Texts:
    detail = fill(translate("Findings", "%1 of %2 of swap space (%3 %) is in use: memory has been moved out to disk, "
                                        "which makes programs slow to respond."),
                  size(_ev(f, "swap_used_bytes", 0)), size(_ev(f, "swap_total_bytes", 0)),
                  number(float(_ev(f, "swap_used_percent", 0.0))))
    if f.severity == CRITICAL:  # the engine raises it when memory is short as well
        detail += " " + translate("Findings", "Memory is short as well.")
    return (
        translate("Findings", "Swap space is almost full"),
        detail,
        translate("Findings", "Save your work, then close the programs that have been open the longest or use the "
                              "most memory. If the computer stays slow, restart it."),
    )


def _cpu_high_load(f: Finding) -> Texts:
    cores = int(_ev(f, "logical_cores", 1))
    detail = fill(translate("Findings", "Over the last 5 minutes an average of %1 tasks wanted the processor, which "
                                        "has %2: %3 per core."),
                  number(float(_ev(f, "load_5", 0.0)), 1), translate("Findings", "%n core(s)", "", cores),
                  number(float(_ev(f, "load_per_core", 0.0)), 1))
    return (
        translate("Findings", "The processor is overloaded"),
        detail,
        translate("Findings", "Close programs you do not need right now; if the computer stays slow, restart it."),
    )


def _processes_runaway_cpu(f: Finding) -> Texts:
    name = str(_ev(f, "name", f.subject))
    pid = _ev(f, "pid", "")
    cpu = float(_ev(f, "cpu_percent", 0.0))
    if cpu >= 150:
        use = fill(translate("Findings", "%1 (process %2) kept about %3 processor cores busy (%4 % of one core)."),
                   name, pid, number(cpu / 100), number(cpu))
    else:
        use = fill(translate("Findings", "%1 (process %2) kept a processor core %3 % busy."),
                   name, pid, number(min(cpu, 100.0)))
    return (
        fill(translate("Findings", "%1 is keeping the processor busy"), name),
        use + " " + translate("Findings", "A program stuck like this slows everything else down and drains the "
                                          "battery."),
        fill(translate("Findings", "Save your work in %1, then close it and open it again. If it does not close, end "
                                   "it from the task manager, or restart the computer."), name),
    )


def _processes_memory_hog(f: Finding) -> Texts:
    name = str(_ev(f, "name", f.subject))
    return (
        fill(translate("Findings", "%1 is using a large part of the memory"), name),
        fill(translate("Findings", "%1 (process %2) holds %3, %4 % of all memory. Other programs are left with little, "
                                   "and the computer slows down."),
             name, _ev(f, "pid", ""), size(_ev(f, "memory_rss_bytes", 0)), number(float(_ev(f, "memory_percent", 0)))),
        fill(translate("Findings", "Save your work in %1, then close it and open it again; it will start with far less "
                                   "memory. If it grows back quickly, tell IT which program it is."), name),
    )


def _processes_zombies(f: Finding) -> Texts:
    count = int(_ev(f, "zombies", 0))
    detail = translate("Findings", "%n finished program(s) are still listed because the program that started them has "
                                   "not cleaned up after them (zombie processes). They use no memory or processor time "
                                   "themselves, but they show that program is not working properly.", "", count)
    parent = _ev(f, "parent_name")
    if parent:
        detail += " " + fill(translate("Findings", "They were left by %1 (process %2)."),
                             parent, _ev(f, "parent_pid", ""))
        step = fill(translate("Findings", "Close and reopen %1, which should clean them up; restart the computer if "
                                          "the number keeps growing."), parent)
    else:
        step = translate("Findings", "Restart the computer if the number keeps growing.")
    return translate("Findings", "A program is leaving finished processes behind"), detail, step


def _power_battery_health(f: Finding) -> Texts:
    detail = fill(translate("Findings", "The battery now holds only %1 % of the charge it held when new, so it runs "
                                        "out much sooner than it should."), number(float(_ev(f, "health_percent", 0))))
    cycles = _ev(f, "cycle_count")
    if cycles:
        count = int(cycles)
        detail += " " + translate("Findings", "It has been through %n charge cycle(s).", "", count)
    return (
        translate("Findings", "The battery is worn out"),
        detail,
        translate("Findings", "Ask IT to replace the battery. Until then, keep the charger connected when you can, and "
                              "save your work often when on battery."),
    )


def _power_battery_low(f: Finding) -> Texts:
    percent = number(float(_ev(f, "percent", 0)))
    left = _ev(f, "seconds_left")
    if left:
        detail = fill(translate("Findings", "The computer is running on battery at %1 %, about %2 left. It will switch "
                                            "itself off soon."), percent, duration(float(left)))
    else:
        detail = fill(translate("Findings", "The computer is running on battery at %1 %. It will switch itself off "
                                            "soon."), percent)
    return (
        translate("Findings", "The battery is almost empty"),
        detail,
        translate("Findings", "Connect the charger now, and save your work."),
    )


def _part(chip: str) -> str:
    """A sensor chip as the part of the computer it measures, with a capital letter (it starts a sentence)."""
    from desktop.diagnostics.rules.resources import CHIP_NAMES

    parts = {
        "processor": translate("Findings", "Processor"),
        "SSD": translate("Findings", "SSD"),
        "disk": translate("Findings", "Disk"),
        "graphics card": translate("Findings", "Graphics card"),
        "mainboard": translate("Findings", "Mainboard"),
        "chipset": translate("Findings", "Chipset"),
        "Wi-Fi adapter": translate("Findings", "Wi-Fi adapter"),
        "laptop": translate("Findings", "Laptop"),
    }
    english = CHIP_NAMES.get(chip)
    return parts[english] if english in parts else fill(translate("Findings", "Part %1"), chip)


def _sensors_overheating(f: Finding) -> Texts:
    part = _part(f.subject)
    label = _ev(f, "label", "")
    sensor = f"{f.subject}, {label}" if label else f.subject
    current = float(_ev(f, "current_celsius", 0.0))
    high, crit = _ev(f, "high_celsius"), _ev(f, "critical_celsius")
    detail = fill(translate("Findings", "%1: the temperature (%2) is %3 °C."), part, sensor, number(current))
    if high and crit and round(float(high)) != round(float(crit)):
        detail += " " + fill(translate("Findings", "Its high mark is %1 °C and its critical mark %2 °C."),
                             number(float(high)), number(float(crit)))
    elif high:
        detail += " " + fill(translate("Findings", "Its high mark is %1 °C."), number(float(high)))
    elif crit:
        detail += " " + fill(translate("Findings", "Its critical mark is %1 °C."), number(float(crit)))
    if f.severity == CRITICAL:
        detail += " " + translate("Findings", "At this temperature the hardware slows itself down hard or switches off "
                                              "to protect itself.")
        title = fill(translate("Findings", "%1 is overheating"), part)
    else:
        title = fill(translate("Findings", "%1 is running very hot"), part)
    return (
        title,
        detail,
        translate("Findings", "Make sure the air vents are free and not dusty, and use a laptop on a hard, flat "
                              "surface; close demanding programs. If it stays this hot, ask IT to check the cooling."),
    )


# -- services, logs, software ---------------------------------------------------------------------------


def _services_failed(f: Finding) -> Texts:
    total = int(_ev(f, "failed_total", 0)) + int(_ev(f, "user_failed", 0))
    units = str(_ev(f, "units", ""))
    if f.severity == INFO:  # Windows: automatic services that are not running
        title = translate("Findings", "%n service(s) set to start automatically are not running", "", total)
        detail = fill(translate("Findings", "Windows is set to start these services on its own, but they are stopped: "
                                            "%1. Some services stop on purpose when they have nothing to do, so this "
                                            "is only a hint."), units)
    else:
        title = translate("Findings", "%n background service(s) failed", "", total)
        detail = fill(translate("Findings", "Background services are programs the computer runs on its own "
                                            "(printing, network, backups, ...). These stopped with an error, could not "
                                            "start, or keep restarting: %1."), units)
    return (
        title,
        detail,
        translate("Findings", "Restart the computer. If the same services fail again, send this report to IT support: "
                              "the names above tell them where to look."),
    )


def _services_system_degraded(f: Finding) -> Texts:
    state = _ev(f, "system_state", "")
    if state == "maintenance":
        return (
            translate("Findings", "The computer is running in rescue mode"),
            translate("Findings", "The system started in maintenance (rescue or emergency) mode, which happens when "
                                  "something needed at start-up failed, such as a disk that could not be checked or "
                                  "mounted."),
            translate("Findings", "Restart the computer. If it comes back in rescue mode, call IT support before using "
                                  "it."),
        )
    if state in ("initializing", "starting"):
        return (
            translate("Findings", "The computer has not finished starting up"),
            fill(translate("Findings", "The system still reports start-up in progress (state '%1'): some service may "
                                       "be waiting for something that does not come, such as a network drive."), state),
            translate("Findings", "Wait a few minutes and check again. If it still says so, restart the computer."),
        )
    return (
        translate("Findings", "Part of the system reported a failure"),
        translate("Findings", "The system says it is running in a degraded state, but no failed service could be "
                              "listed: the failure may have cleared a moment ago."),
        translate("Findings", "If something does not work, restart the computer and report the problem if it stays."),
    )


def _logs_many_errors(f: Finding) -> Texts:
    total = int(_ev(f, "total", 0))
    window = period(float(_ev(f, "window_hours", 0)) * 3600)
    if _ev(f, "total_is_lower_bound", False):
        detail = fill(translate("Findings", "The system logs hold at least %1 error entries from the last %2."),
                      number(total), window)
    else:
        detail = fill(translate("Findings", "The system logs hold %1 error entries from the last %2."),
                      number(total), window)
    top = _ev(f, "top_source")
    if top:
        detail += " " + fill(translate("Findings", "Most came from %1."), top)
    return (
        translate("Findings", "Many errors in the system logs"),
        detail,
        translate("Findings", "If something is not working as it should, send this report to IT support: the newest "
                              "errors are included. If everything works, nothing needs to be done."),
    )


def _software_recent_changes(f: Finding) -> Texts:
    packages = int(_ev(f, "recent_packages", 0))
    changes = int(_ev(f, "recent_total", packages))
    window = period(float(_ev(f, "recent_days", 0)) * 86400)
    return (
        fill(translate("Findings", "%n software package(s) changed in the last %1", "", packages), window),
        fill(translate("Findings", "%n package(s) installed, updated or removed in the last %1", "", packages), window)
        + " " + translate("Findings", "(%n change(s) in all).", "", changes),
        translate("Findings", "If your problem started recently, tell IT support when it started: a change made around "
                              "that time may be the cause."),
    )


# -- storage --------------------------------------------------------------------------------------------


def _disk_name(mount_point: str) -> str:
    from desktop.diagnostics.rules.storage import _is_home, _is_system

    if _is_system(mount_point):
        return fill(translate("Findings", "the system disk (%1)"), mount_point)
    if _is_home(mount_point):
        return fill(translate("Findings", "the disk with your files (%1)"), mount_point)
    return mount_point


def _cleanup_step(mp: str, fs_type: str) -> str:
    from desktop.diagnostics.rules.storage import _TEMP_DIRS, _is_home, _is_system, _under

    if fs_type == "tmpfs" or any(_under(mp, d) for d in _TEMP_DIRS):
        return fill(translate("Findings", "Temporary files fill %1. Close programs you do not need, then restart the "
                                          "computer: %1 is emptied at start-up on most systems."), mp)
    if _under(mp, "/boot"):
        return fill(translate("Findings", "Old system versions fill %1. Ask IT to remove old kernels (on "
                                          "Debian/Ubuntu: sudo apt autoremove)."), mp)
    if _under(mp, "/var"):
        return fill(translate("Findings", "Logs or caches fill %1. Ask IT to clear old logs and package caches "
                                          "there."), mp)
    if _is_home(mp):
        return fill(translate("Findings", "Empty the Trash, then delete or move files you no longer need from your "
                                          "home folder on %1 (Downloads, videos, old backups are usually the "
                                          "largest)."), mp)
    if _is_system(mp):
        return fill(translate("Findings", "Empty the Trash and delete or move large files you no longer need "
                                          "(Downloads, videos). If %1 is still full, ask IT to clear old logs, caches "
                                          "and updates on it."), mp)
    return fill(translate("Findings", "Delete or move files you no longer need from %1, or move them to a larger "
                                      "disk."), mp)


def _disk_almost_full(f: Finding) -> Texts:
    mp = str(_ev(f, "mount_point", f.subject))
    return (
        fill(translate("Findings", "Disk almost full: %1"), mp),
        fill(translate("Findings", "Only %1 (%2 %) is free on %3. Programs may fail to save files, update or start."),
             size(_ev(f, "free_bytes", 0)), number(float(_ev(f, "free_percent", 0)), 1), _disk_name(mp)),
        _cleanup_step(mp, str(_ev(f, "fs_type", ""))),
    )


def _disk_inodes_exhausted(f: Finding) -> Texts:
    mp = str(_ev(f, "mount_point", f.subject))
    return (
        fill(translate("Findings", "Too many files: %1"), mp),
        fill(translate("Findings", "There is room for only %1 more files on %2 (%3 % of its %4 file slots left). When "
                                   "none are left, programs cannot create any new file."),
             number(int(_ev(f, "inodes_free", 0))), _disk_name(mp), number(float(_ev(f, "inodes_free_percent", 0)), 1),
             number(int(_ev(f, "inodes_total", 0)))),
        fill(translate("Findings", "A folder with a huge number of small files (often a cache, mail or temporary "
                                   "folder) fills %1. Ask IT to find it (for example: du --inodes -x %1 | sort -n) and "
                                   "clean it."), mp),
    )


def _disk_read_only(f: Finding) -> Texts:
    from desktop.diagnostics.rules.storage import _is_home, _is_system, _under

    mp = str(_ev(f, "mount_point", f.subject))
    fs_type = str(_ev(f, "fs_type", ""))
    network = f.severity == INFO  # only network shares are reported as information
    detail = fill(translate("Findings", "%1 (%2 on %3) is mounted read-only: nothing can be saved or changed there."),
                  mp, fs_type, _ev(f, "device", ""))
    if not network:
        detail += " " + translate("Findings", "On a disk that is normally writable this usually means the system found "
                                              "errors on it and stopped writing to protect your data.")
    removable = any(_under(mp, p) for p in ("/media", "/run/media", "/mnt", "/Volumes"))
    if network:
        step = fill(translate("Findings", "If you need to save files on %1, ask IT whether the share is meant to be "
                                          "read-only for you."), mp)
    elif fs_type.lower() in ("ntfs", "ntfs3", "fuseblk"):
        step = translate("Findings", "Windows disks open read-only when Windows was not shut down completely (Fast "
                                     "Startup or hibernation): start Windows, choose Shut down while holding Shift, "
                                     "and try again.")
    elif removable and not _is_system(mp) and not _is_home(mp):
        step = fill(translate("Findings", "If %1 is a USB stick or memory card, check its write-protect switch, then "
                                          "remove it safely and plug it in again. If it stays read-only, copy your "
                                          "files off it: it may be failing."), mp)
    else:
        step = translate("Findings", "Save your work somewhere else if you can, then restart the computer. If the disk "
                                     "is still read-only after the restart, contact IT: the system found errors on it "
                                     "and it may be failing.")
    return fill(translate("Findings", "Disk is read-only: %1"), mp), detail, step


# -- system, users, printers ----------------------------------------------------------------------------


def _system_pending_reboot(f: Finding) -> Texts:
    detail = translate("Findings", "Updates were installed that take effect only after a restart.")
    packages = [p.strip() for p in str(_ev(f, "packages", "")).split(",") if p.strip()]
    if packages:
        shown = ", ".join(packages[:5])
        if len(packages) > 5:
            shown = fill(translate("Findings", "%1 and %2 more"), shown, len(packages) - 5)
        detail += " " + fill(translate("Findings", "Updated: %1."), shown)
    detail += " " + fill(translate("Findings", "Until then the old versions keep running, which can cause errors and "
                                               "leaves security fixes unapplied. The computer last started %1 ago."),
                         duration(float(_ev(f, "uptime_seconds", 0))))
    return (
        translate("Findings", "Restart needed to finish updates"),
        detail,
        translate("Findings", "Save your work, close your programs and restart the computer."),
    )


def _system_long_uptime(f: Finding) -> Texts:
    uptime = duration(float(_ev(f, "uptime_seconds", 0)))
    limit = float(_ev(f, "uptime_days_limit", 0))
    return (
        fill(translate("Findings", "Not restarted for %1"), uptime),
        fill(translate("Findings", "The computer has been running for %1 without a restart (since %2 UTC); the "
                                   "suggested limit is %3. Over time programs hold on to memory, updates wait, and the "
                                   "system gets slower."),
             uptime, _ev(f, "boot_time", ""), duration(limit * 86400)),
        translate("Findings", "Restart the computer at a convenient moment, after saving your work."),
    )


def _system_clock_not_synchronised(f: Finding) -> Texts:
    return (
        translate("Findings", "The clock is not set automatically"),
        fill(translate("Findings", "The computer's clock is not being kept in time over the network (NTP). A clock "
                                   "that drifts causes failed logins, certificate errors on secure websites and "
                                   "problems syncing files and mail. When this report was made the clock showed %1 "
                                   "(UTC), time zone %2."), _ev(f, "collected_at", ""), _ev(f, "timezone", "")),
        translate("Findings", "Turn on 'Set time automatically' in the date and time settings (on Linux: timedatectl "
                              "set-ntp true); if it is on already, ask IT to check that the time server can be "
                              "reached."),
    )


def _users_running_as_root(f: Finding) -> Texts:
    risk = translate("Findings", "Every program started the same way can change or delete anything on the computer, by "
                                 "mistake or through a malicious file, and some programs refuse to run like this.")
    if _ev(f, "uid") == 0:
        return (
            translate("Findings", "Working as the administrator account (root)"),
            fill(translate("Findings", "Deskline runs as %1, the account with unlimited rights."),
                 _ev(f, "user", "root"))
            + " " + risk,
            translate("Findings", "Log out and log in with your own user account; use sudo only for the single task "
                                  "that needs administrator rights."),
        )
    return (
        translate("Findings", "Deskline runs with administrator rights"),
        fill(translate("Findings", "Deskline runs with full administrator rights (as %1)."), _ev(f, "user", "?"))
        + " " + risk,
        translate("Findings", "Close Deskline and start it normally, not with 'Run as administrator'."),
    )


def _printers_stopped(f: Finding) -> Texts:
    name = str(_ev(f, "printer", f.subject))
    if _ev(f, "is_default", False):
        detail = fill(translate("Findings", "The printer %1 (your default printer) is stopped, so nothing sent to "
                                            "it is printed."), name)
    else:
        detail = fill(translate("Findings", "The printer %1 is stopped, so nothing sent to it is printed."), name)
    reason = _ev(f, "reason")
    if reason:
        detail += " " + fill(translate("Findings", "The printer reported: %1."), reason)
    jobs = int(_ev(f, "queued_jobs", 0))
    if jobs:
        detail += " " + translate("Findings", "%n job(s) waiting in it.", "", jobs)
    if _ev(f, "accepting_jobs") is False:
        detail += " " + translate("Findings", "It also refuses new jobs.")
    return (
        fill(translate("Findings", "Printer stopped: %1"), name),
        detail,
        fill(translate("Findings", "Fix what the printer reports (paper, toner, cable, power), then resume it in the "
                                   "printer settings (or ask IT to run: cupsenable %1; cupsaccept %1)."), name),
    )


def _printers_service_down(f: Finding) -> Texts:
    detail = translate("Findings", "The computer's printing service does not answer, so nothing can be printed.")
    if _ev(f, "message"):
        detail += " " + fill(translate("Findings", "It said: %1."), _ev(f, "message"))
    if sys.platform == "win32":
        step = translate("Findings", "If you need to print, ask IT to start the printing service (the Print Spooler "
                                     "service).")
    else:
        step = translate("Findings", "If you need to print, ask IT to start the printing service (CUPS: systemctl "
                                     "start cups).")
    return translate("Findings", "The printing service is not running"), detail, step


# Finding id -> the function that writes its texts in the interface language.
TABLE: Mapping[str, Callable[[Finding], Texts]] = {
    "network.not_connected": _network_not_connected,
    "network.no_default_route": _network_no_default_route,
    "network.no_dns_servers": _network_no_dns_servers,
    "network.dns_failure": _network_dns_failure,
    "network.helpdesk_unreachable": _network_helpdesk_unreachable,
    "network.tls_failure": _network_tls_failure,
    "network.clock_skew": _network_clock_skew,
    "memory.pressure": _memory_pressure,
    "memory.swap_heavy": _memory_swap_heavy,
    "cpu.high_load": _cpu_high_load,
    "processes.runaway_cpu": _processes_runaway_cpu,
    "processes.memory_hog": _processes_memory_hog,
    "processes.zombies": _processes_zombies,
    "power.battery_health": _power_battery_health,
    "power.battery_low": _power_battery_low,
    "sensors.overheating": _sensors_overheating,
    "services.failed": _services_failed,
    "services.system_degraded": _services_system_degraded,
    "logs.many_errors": _logs_many_errors,
    "software.recent_changes": _software_recent_changes,
    "disk.almost_full": _disk_almost_full,
    "disk.inodes_exhausted": _disk_inodes_exhausted,
    "disk.read_only": _disk_read_only,
    "system.pending_reboot": _system_pending_reboot,
    "system.long_uptime": _system_long_uptime,
    "system.clock_not_synchronised": _system_clock_not_synchronised,
    "users.running_as_root": _users_running_as_root,
    "printers.stopped": _printers_stopped,
    "printers.service_down": _printers_service_down,
}


def texts(finding: Finding, language: str | None = None) -> Texts:
    """(title, detail, next step) of ``finding`` in ``language`` (the interface language when None)."""
    english = (finding.title, finding.detail, finding.next_step)
    if (language or current_language()) == "en":
        return english
    write = TABLE.get(finding.id)
    if write is None:
        return english
    try:
        return write(finding)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        # evidence not shaped as the template expects (an older or newer engine): the English text is right
        log.info("finding %s shown in English: %s: %s", finding.id, type(exc).__name__, exc)
        return english


def severity_label(severity: str) -> str:
    return {
        CRITICAL: translate("Findings", "Needs attention now"),
        WARNING: translate("Findings", "Worth a look"),
        INFO: translate("Findings", "For your information"),
    }.get(severity, severity)


def probe_title(name: str, english: str = "") -> str:
    """A probe's title (what was checked) in the interface language; ``english`` for an unknown probe."""
    titles = {
        "system": translate("Findings", "System"),
        "cpu": translate("Findings", "Processor"),
        "memory": translate("Findings", "Memory"),
        "disks": translate("Findings", "Disks"),
        "network": translate("Findings", "Network"),
        "processes": translate("Findings", "Programs running"),
        "services": translate("Findings", "Background services"),
        "software": translate("Findings", "Installed software"),
        "logs": translate("Findings", "Recent errors in logs"),
        "power": translate("Findings", "Battery and power"),
        "sensors": translate("Findings", "Temperatures and fans"),
        "users": translate("Findings", "Users and sessions"),
        "displays": translate("Findings", "Displays"),
        "printers": translate("Findings", "Printers"),
        "environment": translate("Findings", "Environment"),
    }
    return titles.get(name, english or name)
