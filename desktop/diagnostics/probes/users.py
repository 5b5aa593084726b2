"""Users and sessions: who runs Deskline and with which rights, and who is logged in to the machine.

The sessions come from psutil (the utmp database on Linux and macOS, the terminal services API on
Windows). Graphical logins that do not write utmp (some Wayland sessions) are not listed; the count is
what the system records, not necessarily everyone at the keyboard.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psutil

from desktop.diagnostics.base import LINUX, MACOS, WINDOWS, ProbeContext, ProbeError, Unsupported, field

NAME = "users"
TITLE = "Users and sessions"

#: At most this many sessions are listed (session_count still counts all of them).
MAX_SESSIONS = 50
#: Groups whose members may administer the machine (sudo on Debian/Ubuntu, wheel on Fedora/Arch, admin on macOS).
ADMIN_GROUPS = frozenset({"sudo", "wheel", "admin"})


@dataclass(frozen=True)
class Session:
    user: str = field(doc="Login name of the session's user")
    terminal: str = field(doc="Terminal or seat of the session (tty2, pts/0, :0; '' when the system records none)")
    host: str = field(
        doc="Remote host the session comes from; '' for local logins (psutil reports those, and local X "
        "displays, as 'localhost', which is folded to '')"
    )
    started: str | None = field(doc="When the session started, ISO 8601 in UTC (None when not recorded)")


@dataclass(frozen=True)
class UsersResult:
    user: str = field(doc="Name of the account running Deskline")
    uid: int | None = field(doc="Effective numeric user id of that account (None on Windows)")
    is_admin: bool | None = field(
        doc="Whether Deskline runs with full administrator rights: as root (uid 0) on Linux and macOS, "
        "elevated ('Run as administrator') on Windows; None when it cannot be told"
    )
    elevated_by: str = field(
        doc="The account that started Deskline with raised rights through sudo, doas or pkexec ('' when it was "
        "not): then the administrator rights were asked for on purpose, for this program only"
    )
    in_admin_group: bool | None = field(
        doc="Whether the account belongs to a group allowed to administer the machine (sudo, wheel, admin); "
        "None on Windows"
    )
    sessions: tuple[Session, ...] = field(doc=f"Logged-in sessions as the system records them, at most {MAX_SESSIONS}")
    session_count: int = field(unit="sessions", doc="All recorded sessions, including any beyond the list's cap")
    user_count: int = field(unit="users", doc="Distinct user names among the recorded sessions")


RESULT = UsersResult


def _iso(timestamp: float | None) -> str | None:
    if not timestamp:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def sessions_from(entries: Iterable[Any]) -> tuple[tuple[Session, ...], int, int]:
    """(capped sessions, total count, distinct users) from psutil ``suser`` records."""
    listed: list[Session] = []
    names: set[str] = set()
    count = 0
    for e in entries:
        count += 1
        names.add(e.name)
        if len(listed) < MAX_SESSIONS:
            host = "" if e.host in (None, "localhost") else e.host
            listed.append(Session(user=e.name, terminal=e.terminal or "", host=host, started=_iso(e.started)))
    return tuple(listed), count, len(names)


def _posix_identity(ctx: ProbeContext) -> tuple[str, int, bool, bool | None]:
    import grp
    import pwd

    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid without a passwd entry (containers, some LDAP set-ups)
        name = ctx.environ.get("USER") or ctx.environ.get("LOGNAME") or str(uid)
    group_names = set()
    for gid in {os.getegid(), *os.getgroups()}:
        try:
            group_names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return name, uid, uid == 0, bool(group_names & ADMIN_GROUPS)


def elevated_by(environ: Mapping[str, str]) -> str:
    """The user who raised Deskline's rights with sudo, doas or pkexec, from the variables those tools set."""
    for var in ("SUDO_USER", "DOAS_USER"):
        if environ.get(var):
            return environ[var]
    pkexec_uid = environ.get("PKEXEC_UID", "")
    if pkexec_uid.isdigit():
        try:
            import pwd

            return pwd.getpwuid(int(pkexec_uid)).pw_name
        except (ImportError, KeyError):
            return pkexec_uid
    return ""


def _windows_identity(ctx: ProbeContext) -> tuple[str, None, bool | None, None]:
    import ctypes

    name = ctx.environ.get("USERNAME", "")
    windll = getattr(ctypes, "windll", None)
    admin = bool(windll.shell32.IsUserAnAdmin()) if windll is not None else None
    return name, None, admin, None


def collect(ctx: ProbeContext) -> UsersResult:
    identity: tuple[str, int | None, bool | None, bool | None]
    if ctx.platform in (LINUX, MACOS):
        identity = _posix_identity(ctx)
    elif ctx.platform == WINDOWS:
        identity = _windows_identity(ctx)
    else:
        raise Unsupported(f"the users probe is not supported on {ctx.platform}")
    user, uid, is_admin, in_group = identity
    try:
        entries = psutil.users()
    except (OSError, RuntimeError) as exc:
        raise ProbeError(f"users: cannot list the logged-in sessions: {exc}") from exc
    sessions, count, distinct = sessions_from(entries)
    return UsersResult(
        user=user,
        uid=uid,
        is_admin=is_admin,
        elevated_by=elevated_by(ctx.environ) if ctx.platform != WINDOWS else "",
        in_admin_group=in_group,
        sessions=sessions,
        session_count=count,
        user_count=distinct,
    )
