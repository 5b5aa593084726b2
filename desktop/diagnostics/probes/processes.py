"""Processes: how many there are, the busiest by CPU and by memory, and zombies left unreaped.

CPU use is measured, not guessed: every process's CPU time is read, the probe sleeps the sampling
interval once (``processes.sample_seconds``), and reads again; the difference over the interval is the
process's use in percent of ONE core (a program keeping two cores busy shows 200 %).

Speed: the whole pass over a few hundred processes must stay far below the report's budget, and the
probes share one interpreter. On Linux each pass therefore reads only ``/proc/<pid>/stat`` (one small
file per process, which holds state, parent, threads, CPU ticks and resident memory); psutil gives the
few details (full name, user, start time, command line) for the handful of processes that are listed.
psutil's own per-process accessors cost about three times as much per pass (measured: about 60 ms
against 18 ms for 380 processes), so they are used on the other platforms only, where there is no
``/proc`` to read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import psutil

from desktop.diagnostics.base import LINUX, MACOS, WINDOWS, Argument, ProbeContext, ProbeError, Unsupported, field

NAME = "processes"
TITLE = "Processes"

#: What an engineer may set for one remote command.
ARGUMENTS = (
    Argument("processes.top", "integer", "How many processes to list by CPU and by memory", minimum=1, maximum=100),
    Argument("processes.sample_seconds", "number", "Seconds over which CPU use of the machine and of each "
             "process is measured (0: no wait; the first reading is then meaningless)", unit="s",
             minimum=0, maximum=2),
)

#: At most this many zombies are listed (all are counted).
ZOMBIES_MAX = 20
#: Command lines are cut to this many characters.
CMDLINE_MAX = 200
#: One read of /proc/<pid>/stat: the line is about 300 bytes; 52 fields of at most 20 digits and the name fit.
STAT_READ_MAX = 4096

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessInfo:
    pid: int = field(doc="Process id")
    name: str = field(doc="Program name as the OS reports it")
    user: str = field(doc="Account the process runs as ('' when the OS does not say)")
    cpu_percent: float = field(
        unit="%",
        doc="CPU use over the sampling interval in percent of ONE core (above 100 when it keeps several cores "
        "busy); a process started during the interval is measured over the whole interval",
    )
    memory_rss_bytes: int = field(unit="bytes", doc="Resident memory: the RAM the process holds now")
    memory_percent: float = field(unit="%", doc="memory_rss_bytes as a share of all RAM")
    status: str = field(doc="running, sleeping, disk-sleep, stopped, zombie, idle, ... (psutil's names)")
    create_time: str = field(doc="When the process started, ISO 8601 local time with offset ('' when unknown)")
    cmdline: str = field(
        doc=f"Command line, arguments joined by spaces, cut to {CMDLINE_MAX} characters ('' for kernel "
        "threads or when denied); may hold secrets, which the report's redaction handles"
    )


@dataclass(frozen=True)
class ZombieInfo:
    pid: int = field(doc="Process id of the zombie (a finished process its parent has not collected)")
    name: str = field(doc="Program name of the zombie")
    parent_pid: int = field(doc="Process id of the parent that should have collected it")
    parent_name: str = field(doc="Program name of that parent ('' when it cannot be read): the one to restart")


@dataclass(frozen=True)
class ProcessesResult:
    total: int = field(unit="processes", doc="Processes that exist (kernel threads included on Linux)")
    running: int = field(unit="processes", doc="Processes running or ready to run")
    sleeping: int = field(unit="processes", doc="Processes waiting for something (sleeping or idle)")
    disk_sleep: int = field(
        unit="processes", doc="Processes in uninterruptible wait, usually for a disk or network filesystem"
    )
    stopped: int = field(unit="processes", doc="Processes stopped (suspended or traced)")
    zombies: int = field(unit="processes", doc="Zombie processes: finished, but not collected by their parent")
    threads_total: int = field(unit="threads", doc="Threads of all processes together")
    restricted: int = field(
        unit="processes",
        doc="Processes whose figures the OS refused to give (access denied); counted, but missing from the lists",
    )
    top_cpu: tuple[ProcessInfo, ...] = field(
        doc="The busiest processes by cpu_percent, busiest first; at most processes.top of them, and only those "
        "that used any CPU during the interval"
    )
    top_memory: tuple[ProcessInfo, ...] = field(
        doc="The processes holding the most RAM (memory_rss_bytes), largest first; at most processes.top. On "
        "Linux the ranking uses the kernel's fast approximate counter, the figures shown are exact"
    )
    zombie_list: tuple[ZombieInfo, ...] = field(doc=f"Zombie processes, at most {ZOMBIES_MAX} (all are counted)")
    sample_seconds: float = field(unit="s", doc="Length of the interval over which cpu_percent was measured")


RESULT = ProcessesResult


class Sample(NamedTuple):
    """One process as the sampling pass saw it (internal; the result holds ProcessInfo)."""

    pid: int
    comm: str
    status: str
    ppid: int
    threads: int
    cpu_percent: float | None
    rss: int | None


class StatLine(NamedTuple):
    """The fields of ``/proc/<pid>/stat`` this probe uses (a NamedTuple: hundreds are made per pass)."""

    pid: int
    comm: str
    state: str
    ppid: int
    cpu_ticks: int
    threads: int
    start_ticks: int
    rss_pages: int


#: Linux process state letters (``man 5 proc``) in psutil's words.
STATES = {
    "R": psutil.STATUS_RUNNING,
    "S": psutil.STATUS_SLEEPING,
    "D": psutil.STATUS_DISK_SLEEP,
    "T": psutil.STATUS_STOPPED,
    "t": psutil.STATUS_TRACING_STOP,
    "Z": psutil.STATUS_ZOMBIE,
    "X": psutil.STATUS_DEAD,
    "x": psutil.STATUS_DEAD,
    "K": "wake-kill",  # psutil has no constant for it but uses this word
    "W": psutil.STATUS_WAKING,
    "I": psutil.STATUS_IDLE,
    "P": psutil.STATUS_PARKED,
}


def parse_stat(data: bytes) -> StatLine:
    """One ``/proc/<pid>/stat`` line. The name sits in parentheses and may itself hold spaces and ')'."""
    open_paren = data.index(b"(")
    close_paren = data.rindex(b")")
    rest = data[close_paren + 2 :].split()
    return StatLine(
        pid=int(data[:open_paren]),
        comm=data[open_paren + 1 : close_paren].decode("utf-8", "replace"),
        state=rest[0].decode("ascii", "replace"),
        ppid=int(rest[1]),
        cpu_ticks=int(rest[11]) + int(rest[12]),  # utime + stime; children's time is theirs, not ours
        threads=int(rest[17]),
        start_ticks=int(rest[19]),
        rss_pages=int(rest[21]),
    )


def read_stats(proc: Path = PROC) -> dict[int, StatLine]:
    """``/proc/<pid>/stat`` of every process under ``proc``; processes that vanish meanwhile are skipped.

    Plain descriptors relative to the directory, one read each: with a few hundred processes this runs
    twice per report, and ``open()`` and paths cost more than the kernel's work (a third less time)."""
    out: dict[int, StatLine] = {}
    try:
        dir_fd = os.open(proc, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise ProbeError(f"{proc}: cannot list processes: {exc.strerror or exc}") from exc
    try:
        for name in os.listdir(dir_fd):
            if not name.isdigit():
                continue
            try:
                fd = os.open(f"{name}/stat", os.O_RDONLY, dir_fd=dir_fd)
            except OSError:  # gone between listdir and open, or hidden (hidepid)
                continue
            try:
                data = os.read(fd, STAT_READ_MAX)
            except OSError:  # exited between open and read
                continue
            finally:
                os.close(fd)
            try:
                out[int(name)] = parse_stat(data)
            except (ValueError, IndexError):
                continue
    finally:
        os.close(dir_fd)
    return out


def samples_from_stats(before: Mapping[int, StatLine], after: Mapping[int, StatLine], elapsed: float,
                       ticks_per_second: int, page_size: int) -> list[Sample]:
    """Samples from two ``/proc`` passes ``elapsed`` seconds apart."""
    out: list[Sample] = []
    for pid, now in after.items():
        then = before.get(pid)
        # a pid reused within the interval is another process: count its ticks from zero
        prior = then.cpu_ticks if then is not None and then.start_ticks == now.start_ticks else 0
        used = max(0, now.cpu_ticks - prior) / ticks_per_second
        out.append(Sample(
            pid=pid,
            comm=now.comm,
            status=STATES.get(now.state, now.state),
            ppid=now.ppid,
            threads=now.threads,
            cpu_percent=round(100.0 * used / elapsed, 1) if elapsed > 0 else 0.0,
            rss=now.rss_pages * page_size,
        ))
    return out


def _sample_linux(interval: float, proc: Path = PROC) -> tuple[list[Sample], float]:
    ticks = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    t0 = time.monotonic()
    before = read_stats(proc)
    time.sleep(interval)
    t1 = time.monotonic()
    after = read_stats(proc)
    # each process is read at about the same offset into both passes, so t1 - t0 is its interval
    elapsed = t1 - t0
    return samples_from_stats(before, after, elapsed, ticks, page), elapsed


def _sample_psutil(interval: float) -> tuple[list[Sample], float]:
    for p in psutil.process_iter():
        try:
            p.cpu_percent(None)  # the first call only records the starting point
        except psutil.Error:  # NoSuchProcess, AccessDenied, ZombieProcess: this process only
            continue
    t0 = time.monotonic()
    time.sleep(interval)
    out: list[Sample] = []
    attrs = ["name", "status", "ppid", "num_threads", "cpu_percent", "memory_info"]
    for p in psutil.process_iter(attrs, ad_value=None):
        info = p.info
        mem = info["memory_info"]
        out.append(Sample(
            pid=p.pid,
            comm=info["name"] or "",
            status=info["status"] or "",
            ppid=info["ppid"] or 0,
            threads=info["num_threads"] or 0,
            cpu_percent=round(info["cpu_percent"], 1) if info["cpu_percent"] is not None else None,
            rss=int(mem.rss) if mem is not None else None,
        ))
    return out, max(interval, time.monotonic() - t0)


_user_names: dict[int, str] = {}


def _user_name(uid: int) -> str:
    if uid not in _user_names:
        try:
            import pwd

            _user_names[uid] = pwd.getpwuid(uid).pw_name
        except (KeyError, ImportError):
            _user_names[uid] = str(uid)
    return _user_names[uid]


def _iso(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def _cmdline(argv: Iterable[str] | None) -> str:
    text = " ".join(argv or ())
    return text if len(text) <= CMDLINE_MAX else text[: CMDLINE_MAX - 1] + "…"


def _details(sample: Sample, total_ram: int, platform: str) -> ProcessInfo | None:
    """Full details of one listed process; None when it has exited since it was sampled."""
    attrs = ["name", "create_time", "cmdline", "memory_info", "username" if platform == WINDOWS else "uids"]
    try:
        info = psutil.Process(sample.pid).as_dict(attrs, ad_value=None)
    except psutil.NoSuchProcess:
        return None
    if platform == WINDOWS:
        user = info["username"] or ""
    else:
        user = _user_name(info["uids"].real) if info["uids"] is not None else ""
    # Linux's /proc/<pid>/stat rss is the kernel's per-CPU approximation (off by up to a few hundred
    # KiB, more on many-core machines); fine for ranking, but the figure shown is the exact one (statm)
    rss = int(info["memory_info"].rss) if info["memory_info"] is not None else sample.rss or 0
    return ProcessInfo(
        pid=sample.pid,
        name=info["name"] or sample.comm,
        user=user,
        cpu_percent=sample.cpu_percent or 0.0,
        memory_rss_bytes=rss,
        memory_percent=round(100.0 * rss / total_ram, 1) if total_ram > 0 else 0.0,
        status=sample.status,
        create_time=_iso(info["create_time"]),
        cmdline=_cmdline(info["cmdline"]),
    )


def _name_of(pid: int, known: Mapping[int, Sample]) -> str:
    try:
        return psutil.Process(pid).name()
    except psutil.Error:
        sample = known.get(pid)
        return sample.comm if sample else ""


def summarize(samples: list[Sample], top: int, total_ram: int, sample_seconds: float,
              platform: str) -> ProcessesResult:
    """Counts and lists from the samples; details are fetched only for the processes listed."""
    by_pid = {s.pid: s for s in samples}
    counts = {"running": 0, "sleeping": 0, "disk_sleep": 0, "stopped": 0, "zombies": 0}
    bucket = {
        psutil.STATUS_RUNNING: "running",
        psutil.STATUS_SLEEPING: "sleeping",
        psutil.STATUS_IDLE: "sleeping",
        psutil.STATUS_DISK_SLEEP: "disk_sleep",
        psutil.STATUS_STOPPED: "stopped",
        psutil.STATUS_TRACING_STOP: "stopped",
        psutil.STATUS_ZOMBIE: "zombies",
    }
    for s in samples:
        key = bucket.get(s.status)
        if key:
            counts[key] += 1
    measured = [s for s in samples if s.cpu_percent is not None and s.rss is not None]
    busy = sorted((s for s in measured if s.cpu_percent), key=lambda s: (-(s.cpu_percent or 0.0), s.pid))
    big = sorted(measured, key=lambda s: (-(s.rss or 0), s.pid))
    zombies = sorted((s for s in samples if s.status == psutil.STATUS_ZOMBIE), key=lambda s: s.pid)

    details: dict[int, ProcessInfo | None] = {}  # a process in both lists is looked up once

    def listed(candidates: list[Sample]) -> tuple[ProcessInfo, ...]:
        out: list[ProcessInfo] = []
        for s in candidates:
            if len(out) >= top:
                break
            if s.pid not in details:
                details[s.pid] = _details(s, total_ram, platform)
            info = details[s.pid]
            if info is not None:
                out.append(info)
        return tuple(out)

    return ProcessesResult(
        total=len(samples),
        threads_total=sum(s.threads for s in samples),
        restricted=len(samples) - len(measured),
        top_cpu=listed(busy),
        top_memory=tuple(sorted(listed(big), key=lambda p: (-p.memory_rss_bytes, p.pid))),
        zombie_list=tuple(
            ZombieInfo(s.pid, s.comm, s.ppid, _name_of(s.ppid, by_pid) if s.ppid else "")
            for s in zombies[:ZOMBIES_MAX]
        ),
        sample_seconds=round(sample_seconds, 3),
        **counts,
    )


def collect(ctx: ProbeContext) -> ProcessesResult:
    top = max(1, int(ctx.setting("processes.top", 10)))
    interval = max(0.0, float(ctx.setting("processes.sample_seconds", 0.1)))
    if ctx.platform == LINUX and PROC.joinpath("self", "stat").exists():
        samples, elapsed = _sample_linux(interval)
    elif ctx.platform in (LINUX, WINDOWS, MACOS):
        samples, elapsed = _sample_psutil(interval)
    else:
        raise Unsupported(f"processes is not supported on {ctx.platform}")
    return summarize(samples, top, int(psutil.virtual_memory().total), elapsed, ctx.platform)
