"""Printers: the print queues, their state, the default printer and the jobs waiting.

Linux and macOS ask CUPS through its own client, once: ``lpstat -d -p -a -v -o`` prints the default,
each printer's state, whether it accepts jobs, its device and the queued jobs in one answer (about
10 ms with a running scheduler). No CUPS files are read, since most need root. A machine without the
CUPS client is not a failure: the result says ``cups_available = False``.

Only the scheme of a printer's device address is kept (ipp, usb, smb, socket): the rest can name
servers and, for SMB printers, hold a password. Job owners and titles are not collected, only counts.

Windows lists its printers with ``EnumPrinters``; their state and jobs are not read there.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.diagnostics.base import LINUX, MACOS, WINDOWS, ProbeContext, ProbeError, Unsupported, field

NAME = "printers"
TITLE = "Printers"

#: Seconds lpstat may take; a scheduler that does not answer by then is reported as a failure.
LPSTAT_TIMEOUT = 2.0
#: At most this many printers are listed (printer_count still counts all).
MAX_PRINTERS = 50
#: A printer's state message is cut to this many characters.
MAX_REASON_CHARS = 200
#: What lpstat prints on stderr when it cannot reach the CUPS scheduler.
_UNREACHABLE = ("scheduler is not running", "unable to connect", "connection refused", "bad file descriptor")


@dataclass(frozen=True)
class Printer:
    name: str = field(doc="Queue name")
    state: str = field(
        doc="idle, printing, disabled (stopped: CUPS holds the jobs until someone resumes it), offline "
        "(Windows 'use printer offline'), or unknown"
    )
    accepting_jobs: bool | None = field(doc="Whether the queue takes new jobs (None when not known)")
    reason: str = field(
        doc=f"Why it is in that state, as CUPS says it ('Paper jam', 'The printer may not exist or is unavailable "
        f"at this time.'); '' when none; at most {MAX_REASON_CHARS} characters"
    )
    connection: str = field(
        doc="How it is reached: the scheme of its device address (usb, ipp, ipps, socket, lpd, smb, dnssd, "
        "implicitclass) on CUPS; network or local on Windows; '' when unknown"
    )
    is_default: bool = field(doc="Whether this is the default printer")
    queued_jobs: int | None = field(unit="jobs", doc="Jobs waiting or printing in this queue (None: not read)")


@dataclass(frozen=True)
class PrintersResult:
    cups_available: bool | None = field(
        doc="Whether the CUPS client (lpstat) is installed (Linux, macOS); None on Windows. Without it the "
        "machine cannot print through CUPS and the other fields are empty"
    )
    scheduler_running: bool | None = field(
        doc="Whether the print service answered (the CUPS scheduler; the spooler on Windows); None when unknown"
    )
    message: str = field(doc="What the print system said when it could not answer ('' when all went well)")
    default_printer: str = field(doc="Name of the default printer ('' when none is set)")
    printers: tuple[Printer, ...] = field(doc=f"Print queues in name order, at most {MAX_PRINTERS}")
    printer_count: int = field(unit="printers", doc="All print queues, including any beyond the list's cap")
    queued_jobs: int | None = field(unit="jobs", doc="Jobs waiting in all queues (None when not known)")


RESULT = PrintersResult


@dataclass
class _Draft:
    state: str = "unknown"
    accepting: bool | None = None
    reason: str = ""
    connection: str = ""
    jobs: int = 0


def _scheme(uri: str) -> str:
    uri = uri.strip()
    if uri.startswith("/"):
        return "file"
    scheme, colon, _ = uri.partition(":")
    return scheme.lower() if colon and scheme.replace("+", "").replace("-", "").isalnum() else ""


def parse_lpstat(stdout: str, stderr: str = "") -> PrintersResult:
    """A result from the output of ``lpstat -d -p -a -v -o`` run in the C locale."""
    drafts: dict[str, _Draft] = {}
    default = ""
    total_jobs = 0
    last: tuple[str, str] | None = None  # (printer, "state" | "accept") the next indented line explains
    for line in stdout.splitlines():
        if line.startswith(("\t", " ")):
            if last is not None and line.strip():
                draft = drafts[last[0]]
                # the state message wins; a reject reason only fills in when there is none
                if last[1] == "state" or not draft.reason:
                    draft.reason = line.strip()[:MAX_REASON_CHARS]
            continue
        last = None
        if line.startswith("system default destination:"):
            default = line.split(":", 1)[1].strip().split("/", 1)[0]  # drop an lpoptions instance
        elif line.startswith("printer "):
            words = line.split()
            if len(words) < 3:
                continue
            name, rest = words[1], " ".join(words[2:])
            draft = drafts.setdefault(name, _Draft())
            if rest.startswith("disabled"):
                draft.state = "disabled"
            elif rest.startswith("now printing"):
                draft.state = "printing"
            elif rest.startswith("is idle"):
                draft.state = "idle"
            last = (name, "state")
        elif line.startswith("device for "):
            name, _, uri = line[len("device for ") :].partition(": ")
            drafts.setdefault(name, _Draft()).connection = _scheme(uri)
        elif " accepting requests since" in line:
            name, _, verb = line.partition(" ")
            drafts.setdefault(name, _Draft()).accepting = not verb.startswith("not ")
            last = (name, "accept")
        elif line.strip():
            job = line.split()[0]
            queue, dash, number = job.rpartition("-")
            if dash and number.isdigit():
                total_jobs += 1
                if queue in drafts:
                    drafts[queue].jobs += 1
    unreachable = any(marker in stderr.lower() for marker in _UNREACHABLE)
    names = sorted(drafts)
    printers = tuple(
        Printer(
            name=n,
            state=drafts[n].state,
            accepting_jobs=drafts[n].accepting,
            reason=drafts[n].reason,
            connection=drafts[n].connection,
            is_default=n == default,
            queued_jobs=drafts[n].jobs,
        )
        for n in names[:MAX_PRINTERS]
    )
    message = ""
    if unreachable:
        message = next(
            (ln.removeprefix("lpstat: ").strip() for ln in stderr.splitlines() if ln.strip()), "no answer"
        )
    return PrintersResult(
        cups_available=True,
        scheduler_running=not unreachable,
        message=message[:MAX_REASON_CHARS],
        default_printer=default,
        printers=printers,
        printer_count=len(names),
        queued_jobs=None if unreachable else total_jobs,
    )


def _collect_cups(ctx: ProbeContext) -> PrintersResult:
    if ctx.which("lpstat") is None:
        return PrintersResult(
            cups_available=False,
            scheduler_running=None,
            message="the CUPS client (lpstat) is not installed",
            default_printer="",
            printers=(),
            printer_count=0,
            queued_jobs=None,
        )
    out = ctx.run(["lpstat", "-d", "-p", "-a", "-v", "-o"], timeout=LPSTAT_TIMEOUT)
    return parse_lpstat(out.stdout, out.stderr)


def _collect_windows() -> PrintersResult:
    import ctypes
    from ctypes import wintypes

    class PrinterInfo4(ctypes.Structure):
        _fields_ = (
            ("pPrinterName", wintypes.LPWSTR),
            ("pServerName", wintypes.LPWSTR),
            ("Attributes", wintypes.DWORD),
        )

    # WinDLL and get_last_error exist only on Windows; getattr keeps the type checker on Linux quiet
    winspool = getattr(ctypes, "WinDLL")("winspool.drv", use_last_error=True)  # noqa: B009
    last_error = getattr(ctypes, "get_last_error")  # noqa: B009
    enum_local, enum_connections = 0x2, 0x4
    attribute_network, attribute_offline = 0x10, 0x400
    flags = enum_local | enum_connections
    error_insufficient_buffer, rpc_s_server_unavailable = 122, 1722
    needed, returned = wintypes.DWORD(0), wintypes.DWORD(0)
    if not winspool.EnumPrintersW(flags, None, 4, None, 0, ctypes.byref(needed), ctypes.byref(returned)):
        error = last_error()
        if error == rpc_s_server_unavailable:
            return PrintersResult(
                cups_available=None,
                scheduler_running=False,
                message="the Print Spooler service is not running",
                default_printer="",
                printers=(),
                printer_count=0,
                queued_jobs=None,
            )
        if error != error_insufficient_buffer:
            raise ProbeError(f"printers: EnumPrinters failed (Windows error {error})")
    infos: list[tuple[str, int]] = []
    if needed.value:
        buf = (ctypes.c_byte * needed.value)()
        if not winspool.EnumPrintersW(flags, None, 4, buf, needed, ctypes.byref(needed), ctypes.byref(returned)):
            raise ProbeError(f"printers: EnumPrinters failed (Windows error {last_error()})")
        array = ctypes.cast(buf, ctypes.POINTER(PrinterInfo4))
        infos = [(array[i].pPrinterName or "", int(array[i].Attributes)) for i in range(returned.value)]
    size = wintypes.DWORD(0)
    winspool.GetDefaultPrinterW(None, ctypes.byref(size))
    default = ""
    if size.value:
        name_buf = ctypes.create_unicode_buffer(size.value)
        if winspool.GetDefaultPrinterW(name_buf, ctypes.byref(size)):
            default = name_buf.value
    infos.sort(key=lambda item: item[0].lower())
    printers = tuple(
        Printer(
            name=name,
            state="offline" if attrs & attribute_offline else "unknown",
            accepting_jobs=None,
            reason="",
            connection="network" if attrs & attribute_network else "local",
            is_default=name == default,
            queued_jobs=None,
        )
        for name, attrs in infos[:MAX_PRINTERS]
    )
    return PrintersResult(
        cups_available=None,
        scheduler_running=True,
        message="",
        default_printer=default,
        printers=printers,
        printer_count=len(infos),
        queued_jobs=None,
    )


def collect(ctx: ProbeContext) -> PrintersResult:
    if ctx.platform in (LINUX, MACOS):
        return _collect_cups(ctx)
    if ctx.platform == WINDOWS:
        return _collect_windows()
    raise Unsupported(f"the printers probe is not supported on {ctx.platform}")
