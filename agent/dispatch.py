"""Run one protocol command on this machine: the agentless side of the console.

Two callers, one answer:

* the forced-command dispatcher that IT installs for plain OpenSSH: an ``authorized_keys`` line
  ``restrict,command="/usr/local/bin/deskline-agent dispatch" ssh-ed25519 AAAA... engineer`` makes sshd
  run ``deskline-agent dispatch`` whatever the engineer asked for, with the request in
  ``SSH_ORIGINAL_COMMAND``; :func:`dispatch_main` parses it with the protocol's strict parser (nothing
  reaches a shell), runs it, prints the one JSON document and exits with its code;
* the self-contained payload (:mod:`agent.payload`), whose bundled copy of this module calls
  :func:`payload_main`.

Probes whose module cannot be imported here (no psutil on this host's Python, say) are disabled: they
appear in the report as ``failed`` with the reason, and the other probes still run.

This module is bundled into the payload, so it imports only the engine and the protocol.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import FrameType
from typing import IO, Any

from agent.commands import execute
from agent.protocol import (
    MAX_STDIN,
    Command,
    Exit,
    ProtocolError,
    encode,
    parse,
    parse_arguments,
    refusal,
)
from desktop.diagnostics import registry
from desktop.errors import DesklineError

log = logging.getLogger("deskline.agent")

#: Seconds a command may run before the dispatcher answers ``timeout`` and exits.
COMMAND_TIMEOUT = 120
#: Seconds to wait for the JSON arguments on stdin.
STDIN_TIMEOUT = 10.0
NO_COMMAND = ("no command given: this key runs only Deskline commands "
              "(ping, probes, probe NAME..., report, check, logs SOURCE)")


def disabled_probes() -> dict[str, str]:
    """Probes that could not be loaded on this machine, with the reason."""
    return {b.name: b.reason for b in registry.load_all()[1]}


def _first_word(line: str | bytes) -> str:
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    word = text.strip().split(" ", 1)[0]
    return word if word in ("ping", "probes", "probe", "report", "check", "logs") else ""


def _mark_disabled(document: dict[str, Any], names: list[str], disabled: Mapping[str, str]) -> None:
    """List disabled probes in a report (or check) answer as failed, with the reason."""
    result = document.get("result")
    if not document.get("ok") or not isinstance(result, dict) or not isinstance(result.get("probes"), dict):
        return
    probes = dict(result["probes"])
    for name in names:
        reason = f"disabled on this host: {disabled[name]}"
        if document["command"] == "check":
            probes[name] = "failed"
        else:
            probes[name] = {"title": name.capitalize(), "status": "failed", "duration_ms": 0.0, "error": reason,
                            "data": None}
    order = {name: i for i, name in enumerate(registry.PROBES)}  # the report's order, as if they had run
    result["probes"] = dict(sorted(probes.items(), key=lambda item: order.get(item[0], len(order))))


def execute_line(line: str | bytes, read_stdin: Callable[[], bytes]) -> dict[str, Any]:
    """Parse ``line`` strictly, read its arguments when it takes some, run it; always an answer document."""
    try:
        command: Command = parse(line, registry.PROBES)
        if command.needs_stdin:
            command = replace(command, arguments=parse_arguments(read_stdin()))
    except ProtocolError as exc:
        return refusal(_first_word(line), exc.exit, str(exc))
    disabled = disabled_probes() if command.name in ("probe", "report", "check") else {}
    marked: list[str] = []
    if command.name == "probe":
        marked = [n for n in command.probes if n in disabled]
        working = tuple(n for n in command.probes if n not in disabled)
        if not working:
            name = marked[0]
            return refusal("probe", Exit.BAD_ARGUMENTS, f"probe {name!r} is disabled on this host: {disabled[name]}")
        command = replace(command, probes=working)
    elif command.name in ("report", "check"):
        marked = [n for n in registry.PROBES if n in disabled]
    try:
        from desktop import config as desktop_config

        settings = desktop_config.load()  # this machine's settings: disabled probes, thresholds, pseudonyms
    except ImportError:  # a payload on a host without platformdirs: no user settings file to find
        settings = desktop_config.Settings()
    except DesklineError as exc:
        return refusal(command.name, Exit.INTERNAL, f"this host's Deskline settings are broken: {exc}")
    document = execute(command, probe_settings=settings.probe_settings(), thresholds=settings.section("thresholds"),
                       pseudonymize=settings["report.pseudonymize"],
                       keep_private_ips=settings["report.keep_private_ips"],
                       remote_arguments=settings["agent.remote_arguments"])
    _mark_disabled(document, marked, disabled)
    return document


def read_bounded(stream: IO[bytes], limit: int = MAX_STDIN, timeout: float = STDIN_TIMEOUT) -> bytes:
    """Up to ``limit + 1`` bytes of ``stream`` (one more than allowed, so oversize is seen), until EOF.

    A stream with a file descriptor is read with a deadline; a client that never closes its side
    gets a :class:`ProtocolError` after ``timeout`` seconds.
    """
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return stream.read(limit + 1)
    data = bytearray()
    deadline = time.monotonic() + timeout
    while len(data) <= limit:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProtocolError(f"no end of the arguments on stdin within {timeout:g} s (close stdin)")
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, min(65536, limit + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def _answer_and_exit(stdout: IO[bytes], prefix: bytes, document: dict[str, Any]) -> int:
    stdout.write(prefix + encode(document))
    stdout.flush()
    return int(document["exit"])


def _arm_timeout(seconds: int, stdout: IO[bytes], prefix: bytes, command: str) -> None:
    """Answer ``timeout`` and end the process when a command runs past ``seconds`` (main thread only)."""

    def expired(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        doc = refusal(command, Exit.TIMEOUT, f"{command or 'command'} did not finish within {seconds} s")
        _answer_and_exit(stdout, prefix, doc)
        os._exit(int(Exit.TIMEOUT))  # probe threads may still hang; the answer is out, so leave now

    if seconds > 0 and hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGALRM, expired)
        signal.alarm(seconds)


def _disarm_timeout() -> None:
    if hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread():
        signal.alarm(0)


class _StderrHandler(logging.StreamHandler):
    """Warnings and errors to stderr (added once)."""


def _quiet_logging() -> None:
    """Warnings (a disabled probe, say) to stderr, never stdout: stdout carries only the answer."""
    logger = logging.getLogger("deskline")
    if any(isinstance(h, _StderrHandler) for h in logger.handlers):
        return
    handler = _StderrHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("deskline-agent: %(name)s: %(message)s"))
    logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)  # a process of its own: nothing below warnings is wanted


def dispatch_main(
    environ: Mapping[str, str] | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
    timeout: int = COMMAND_TIMEOUT,
) -> int:
    """The forced command: run ``SSH_ORIGINAL_COMMAND``, print its answer, return its exit code."""
    environ = os.environ if environ is None else environ
    stdin = sys.stdin.buffer if stdin is None else stdin
    stdout = sys.stdout.buffer if stdout is None else stdout
    line = environ.get("SSH_ORIGINAL_COMMAND")
    if line is None or not line.strip():
        return _answer_and_exit(stdout, b"", refusal("", Exit.BAD_ARGUMENTS, NO_COMMAND))
    _quiet_logging()
    _arm_timeout(timeout, stdout, b"", _first_word(line))
    try:
        document = execute_line(line, lambda: read_bounded(stdin))
    finally:
        _disarm_timeout()
    return _answer_and_exit(stdout, b"", document)


def payload_main(argv: list[str], arguments: Mapping[str, Any], marker: str, timeout: int = COMMAND_TIMEOUT) -> int:
    """The payload's entry: run the command in ``argv``; the answer follows a ``marker`` line on stdout.

    The marker lets the console find the answer even when the account's shell printed something first
    (a chatty ~/.bashrc).
    """
    import json

    stdout = sys.stdout.buffer
    prefix = marker.encode("ascii") + b"\n"
    line = " ".join(argv)
    _quiet_logging()
    _arm_timeout(timeout, stdout, prefix, _first_word(line))
    try:
        document = execute_line(line, lambda: json.dumps(dict(arguments)).encode("utf-8"))
    finally:
        _disarm_timeout()
    return _answer_and_exit(stdout, prefix, document)
