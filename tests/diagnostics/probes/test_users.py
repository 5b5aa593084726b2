"""The users probe: the real account cross-checked with pwd/os, and sessions staged in a real utmp file."""

from __future__ import annotations

import ctypes
import datetime as dt
import json
import os
import platform
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import psutil
import pytest

from desktop.diagnostics.base import ProbeContext, Unsupported, describe, to_jsonable
from desktop.diagnostics.probes import users

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX accounts")

# struct utmp of glibc on 64-bit Linux: type, pid, line, id, user, host, exit, session, tv (32-bit), addr, unused
UTMP = struct.Struct("<hxxi32s4s32s256shhiii4i20s")
USER_PROCESS, DEAD_PROCESS = 7, 8


def utmp_record(kind: int, user: str, line: str, host: str, started: int) -> bytes:
    return UTMP.pack(
        kind, os.getpid(), line.encode(), line[-4:].encode(), user.encode(), host.encode(),
        0, 0, 0, started, 0, 0, 0, 0, 0, b"",
    )


@pytest.fixture
def staged_utmp(tmp_path: Path) -> Iterator[Path]:
    """Point this process's utmp reader (glibc's utmpname, which psutil's getutent uses) at a file we write."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc" or UTMP.size != 384:
        pytest.skip("needs glibc's utmp layout on 64-bit Linux")
    libc = ctypes.CDLL(None)
    path = tmp_path / "utmp"
    path.write_bytes(b"")
    assert libc.utmpname(str(path).encode()) == 0
    try:
        yield path
    finally:
        libc.utmpname(b"/var/run/utmp")
        libc.endutent()


@posix_only
def test_sessions_recorded_in_utmp_are_listed(staged_utmp: Path) -> None:
    started = int(time.time()) - 3600
    staged_utmp.write_bytes(
        utmp_record(USER_PROCESS, "alice", "tty2", "", started)
        + utmp_record(DEAD_PROCESS, "", "pts/3", "", started)  # a closed session: not listed
        + utmp_record(USER_PROCESS, "bob", "pts/7", "203.0.113.5", started + 60)
        + utmp_record(USER_PROCESS, "alice", "pts/8", ":0", started + 120)
    )
    # psutil calls local logins and local X displays 'localhost'; the probe folds that to ''
    assert {u.host for u in psutil.users()} == {"localhost", "203.0.113.5"}
    assert len(psutil.users()) == 3  # the staging reaches psutil itself
    r = users.collect(ProbeContext())
    assert r.session_count == 3
    assert r.user_count == 2
    assert [(s.user, s.terminal, s.host) for s in r.sessions] == [
        ("alice", "tty2", ""),
        ("bob", "pts/7", "203.0.113.5"),
        ("alice", "pts/8", ""),
    ]
    assert r.sessions[0].started == dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds")


@posix_only
def test_no_sessions_recorded(staged_utmp: Path) -> None:
    r = users.collect(ProbeContext())
    assert (r.sessions, r.session_count, r.user_count) == ((), 0, 0)


class FakeUser(NamedTuple):
    """The fields of psutil's ``suser`` record that the probe reads."""

    name: str
    terminal: str | None = "pts/0"
    host: str | None = None
    started: float = 0.0
    pid: int | None = None


def test_session_list_is_capped_but_counted() -> None:
    entries = [FakeUser(f"user{i % 7}", started=1_700_000_000 + i) for i in range(users.MAX_SESSIONS + 13)]
    sessions, count, distinct = users.sessions_from(entries)
    assert len(sessions) == users.MAX_SESSIONS
    assert count == users.MAX_SESSIONS + 13
    assert distinct == 7
    assert sessions[0].started == "2023-11-14T22:13:20+00:00"


def test_missing_fields_become_empty() -> None:
    (s,), _, _ = users.sessions_from([FakeUser("carol", terminal=None, host=None, started=0.0)])
    assert (s.terminal, s.host, s.started) == ("", "", None)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"SUDO_USER": "alice", "USER": "root"}, "alice"),
        ({"DOAS_USER": "bob"}, "bob"),
        ({"USER": "root"}, ""),
        ({"PKEXEC_UID": "abc"}, ""),
    ],
)
def test_elevated_by(environ: dict[str, str], expected: str) -> None:
    assert users.elevated_by(environ) == expected


@posix_only
def test_elevated_by_pkexec_names_the_uid() -> None:
    import pwd

    assert users.elevated_by({"PKEXEC_UID": str(os.getuid())}) == pwd.getpwuid(os.getuid()).pw_name


@posix_only
def test_real_account() -> None:
    import grp
    import pwd

    r = users.collect(ProbeContext())
    assert isinstance(r, users.UsersResult)
    assert r.uid == os.geteuid()
    assert r.user == pwd.getpwuid(os.geteuid()).pw_name
    assert r.is_admin is (os.geteuid() == 0)
    groups = {grp.getgrgid(g).gr_name for g in os.getgroups() + [os.getegid()]}
    assert r.in_admin_group is bool(groups & {"sudo", "wheel", "admin"})
    assert r.session_count == len(psutil.users())
    assert r.elevated_by == os.environ.get("SUDO_USER", os.environ.get("DOAS_USER", r.elevated_by))
    assert len(json.dumps(to_jsonable(r))) < 8192


def test_fields_documented_and_other_platforms_unsupported() -> None:
    assert all(row.doc for row in describe(users.UsersResult))
    with pytest.raises(Unsupported, match="sunos"):
        users.collect(ProbeContext(platform="sunos"))


def test_fast_enough() -> None:
    ctx = ProbeContext()
    best = min(_timed(ctx) for _ in range(3))
    assert best < 0.05, f"users probe took {best * 1000:.1f} ms"


def _timed(ctx: ProbeContext) -> float:
    start = time.perf_counter()
    users.collect(ctx)
    return time.perf_counter() - start
