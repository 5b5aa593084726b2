"""Consent: the user's yes, time-boxed, before an engineer's first command runs.

The agent asks a :class:`ConsentGate`. The gates here decide by policy alone; the gate that asks the
logged-in user's desktop app over the local channel (a Unix socket, a named pipe on Windows) is added
beside them. Without an answer, the answer is no.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from desktop.errors import DesklineError


@dataclass(frozen=True)
class ConsentRequest:
    """What the user is asked: who, with which key, for which ticket, what may run, for how long."""

    engineer: str
    fingerprint: str
    peer: str
    commands: tuple[str, ...]
    ticket: str = ""
    duration_seconds: int = 1800


@dataclass(frozen=True)
class Grant:
    """A yes: valid until ``expires`` (epoch seconds) for ``commands``; ``how`` says who decided."""

    request: ConsentRequest
    expires: float
    how: str  # "user", "policy:unattended", ...
    commands: tuple[str, ...] = field(default=())

    def allows(self, command: str, now: float | None = None) -> bool:
        """Whether ``command`` may run now under this grant."""
        current = time.time() if now is None else now
        return current < self.expires and (not self.commands or command in self.commands)


@dataclass(frozen=True)
class Denial:
    """A no, with the reason shown to the engineer and written to the audit log. ``declined``: the user
    said no themselves (not a timeout, nor no app to ask); the server then holds that answer for the
    same key and ticket for a short cool-down instead of asking again."""

    reason: str
    declined: bool = False


class ConsentGate(Protocol):
    """Decides on a request; must answer within ``timeout`` seconds (no answer is a Denial).

    Optional, looked up with ``getattr`` by the server: ``withdraw(request, reason)`` takes back a
    question still open (the engineer left), ``notify``, ``command_ran`` and ``ended`` (see
    :class:`agent.consent_channel.DesktopGate`).
    """

    def ask(self, request: ConsentRequest, timeout: float) -> Grant | Denial: ...

    def revoked(self, grant: Grant) -> bool:
        """Whether the user has ended this grant early (the app's End now button)."""
        ...


class DenyAll:
    """No user to ask and no policy that allows: every request is refused."""

    def __init__(self, reason: str = "no one is signed in to approve remote diagnostics on this machine") -> None:
        self.reason = reason

    def ask(self, request: ConsentRequest, timeout: float) -> Grant | Denial:
        return Denial(self.reason)

    def revoked(self, grant: Grant) -> bool:
        return True


class NotNotified(DesklineError):
    """The user could not be told of an unattended session (no app to tell); the message says why."""


class UnattendedPolicy:
    """IT policy: the listed key fingerprints may run without asking (servers); the user is only notified.

    Any other key is passed to ``fallback`` (the desktop app's gate, or :class:`DenyAll`). The notice
    goes through the fallback's ``notify`` (:meth:`agent.consent_channel.DesktopGate.notify`); the
    server sends it off its command path, so it never waits for the app.

    An unattended grant lasts ``duration_seconds``; None (the default): the duration the request asks
    for, which the server takes from ``agent.consent_duration``, as for a grant the user gives.
    """

    def __init__(self, fingerprints: Iterable[str], fallback: ConsentGate, duration_seconds: int | None = None) -> None:
        self.fingerprints = frozenset(fingerprints)
        self.fallback = fallback
        self.duration_seconds = duration_seconds

    def ask(self, request: ConsentRequest, timeout: float) -> Grant | Denial:
        if request.fingerprint in self.fingerprints:
            duration = request.duration_seconds if self.duration_seconds is None else self.duration_seconds
            return Grant(request, time.time() + duration, "policy:unattended")
        return self.fallback.ask(request, timeout)

    def revoked(self, grant: Grant) -> bool:
        if grant.how == "policy:unattended":
            return False
        return self.fallback.revoked(grant)

    # The fallback's grants stay the fallback's: the session notices the server sends (the desktop app's
    # ledger and banner) go to it, or they would be lost whenever IT lists any unattended key.
    def command_ran(self, grant: Grant, command: str, exit_code: int, duration_ms: float) -> None:
        forward = getattr(self.fallback, "command_ran", None)
        if grant.how != "policy:unattended" and callable(forward):
            forward(grant, command, exit_code, duration_ms)

    def ended(self, grant: Grant, reason: str = "") -> None:
        forward = getattr(self.fallback, "ended", None)
        if grant.how != "policy:unattended" and callable(forward):
            forward(grant, reason)

    def withdraw(self, request: ConsentRequest, reason: str) -> bool:
        forward = getattr(self.fallback, "withdraw", None)
        return bool(forward(request, reason)) if callable(forward) else False

    def notify(self, grant: Grant) -> None:
        """Tell the user's app of an unattended ``grant`` (no answer expected); raises a DesklineError
        (NotNotified, or the channel's error) when nobody could be told."""
        forward = getattr(self.fallback, "notify", None)
        if not callable(forward):
            why = getattr(self.fallback, "reason", "") or f"{type(self.fallback).__name__} has no app to notify"
            raise NotNotified(f"no desktop app to notify: {why}")
        forward(grant)

    def close(self) -> None:
        forward = getattr(self.fallback, "close", None)
        if callable(forward):
            forward()
