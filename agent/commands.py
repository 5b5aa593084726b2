"""Run one parsed protocol command on this machine and return its answer document.

The same function serves the SSH agent, the forced-command dispatcher that IT installs for plain
OpenSSH, and the agentless payload: one engine, the same JSON out. Everything leaves through the
report's redaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from agent.protocol import Command, Exit, ProtocolError, answer, refusal
from desktop import __version__
from desktop.diagnostics import registry, report
from desktop.diagnostics.base import Argument, ArgumentError, current_platform
from desktop.errors import DesklineError

log = logging.getLogger("deskline.agent")


def probe_table(remote_arguments: Collection[str] = (), disabled: Collection[str] = ()) -> list[dict[str, Any]]:
    """Every probe with its field table and the arguments it accepts on this machine, as ``probes`` answers
    (restricted arguments only where ``remote_arguments``, IT's ``agent.remote_arguments``, lists them),
    and whether IT switched it off here (``disabled``: asking for it is refused as not allowed)."""
    return [
        {"name": p.name, "title": p.title, "disabled": p.name in disabled,
         "fields": [{"name": f.name, "type": f.type, "unit": f.unit, "doc": f.doc} for f in p.fields],
         "arguments": [a.table() for a in accepted_arguments((p,), remote_arguments).values()]}
        for p in registry.probes()
    ]


def accepted_arguments(probes: Iterable[registry.ProbeInfo], remote_arguments: Collection[str] = ()
                       ) -> dict[str, Argument]:
    """The arguments a command of ``probes`` accepts: those the probes declare, restricted ones only when
    ``remote_arguments`` lists them; in the probes' order."""
    accepted: dict[str, Argument] = {}
    for probe in probes:
        for argument in probe.arguments:
            if not argument.restricted or argument.key in remote_arguments:
                accepted.setdefault(argument.key, argument)
    return accepted


def check_arguments(probes: Iterable[registry.ProbeInfo], arguments: Mapping[str, Any],
                    remote_arguments: Collection[str] = ()) -> dict[str, Any]:
    """The engineer's ``arguments`` for a command of ``probes``, each checked against its declaration.

    Only what the probes declare as settable from remote is accepted (an allow-list, as osquery's tables or
    Ansible's argument specs): any other key, a setting the probes read but do not declare (``timeout``,
    ``disabled``, ``helpdesk_url``) or a restricted one IT did not allow, is a :class:`ProtocolError`
    (exit 2) naming it and listing what is accepted.
    """
    probes = tuple(probes)
    accepted = accepted_arguments(probes, remote_arguments)
    checked: dict[str, Any] = {}
    for key, value in arguments.items():
        argument = accepted.get(key) if isinstance(key, str) else None
        if argument is None:
            raise ProtocolError(_refused(key, probes, accepted))
        try:
            checked[key] = argument.check(value)
        except ArgumentError as exc:
            raise ProtocolError(str(exc)) from exc
    return checked


def _refused(key: Any, probes: tuple[registry.ProbeInfo, ...], accepted: Mapping[str, Argument]) -> str:
    shown = key if isinstance(key, str) and key.isprintable() and len(key) <= 64 else repr(str(key)[:64])
    listed = ", ".join(accepted) or "none"
    names = ", ".join(p.name for p in probes)
    where = f"probe {names}" if len(probes) == 1 else f"probes {names}" if probes else "this command"
    if any(a.key == key and a.restricted for p in probes for a in p.arguments):
        return (f"argument {shown!r} of {where} may be set remotely only where IT's settings allow it "
                f"(agent.remote_arguments); accepted here: {listed}")
    return f"argument {shown!r} is not accepted by {where} (accepted: {listed})"


def warm_up(
    names: tuple[str, ...] | list[str],
    *,
    probe_settings: Mapping[str, Any] | None = None,
    thresholds: Mapping[str, Any] | None = None,
    pseudonymize: bool = False,
    keep_private_ips: bool = True,
) -> float:
    """Build a report of ``names`` once and throw it away, so that the first engineer's command finds
    everything a report needs loaded and primed: the rule modules imported, the patterns compiled, the
    package database parsed, the redaction memo filled. Nothing is sent anywhere; the samplers' waits are
    skipped. Returns the seconds it took. Failures are logged, never raised: warming is an optimisation."""
    start = time.perf_counter()
    try:
        settings = {**(probe_settings or {}), "processes.sample_seconds": 0.0}
        report.build(registry.select(list(names)), probe_settings=settings, thresholds=thresholds,
                     pseudonymize=pseudonymize, keep_private_ips=keep_private_ips, collector="agent")
    except Exception:  # noqa: BLE001 - the agent serves without it
        log.warning("warming up the report failed", exc_info=True)
    took = time.perf_counter() - start
    log.debug("report warmed up in %.0f ms", took * 1000)
    return took


def _probe_settings(settings: Mapping[str, Any] | None, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The machine's probe settings with the (checked) arguments of one command over them."""
    return {**(settings or {}), **arguments}


def _refuse_disabled(names: list[str], disabled: set[str]) -> None:
    """IT may switch probes off (probes.disabled): asking for one by name is refused, not ignored."""
    refused = [n for n in names if n in disabled]
    if refused:
        raise ProtocolError(f"probe {refused[0]!r} is disabled on this machine", Exit.NOT_ALLOWED)


def execute(
    command: Command,
    *,
    probe_settings: Mapping[str, Any] | None = None,
    thresholds: Mapping[str, Any] | None = None,
    pseudonymize: bool = False,
    keep_private_ips: bool = True,
    remote_arguments: Collection[str] = (),
) -> dict[str, Any]:
    """The answer document of ``command``; failures become refusals, never exceptions.

    ``command.arguments`` must be what the named probes declare (:func:`check_arguments`);
    ``remote_arguments`` is IT's ``agent.remote_arguments``, the restricted arguments allowed here.
    """
    start = time.perf_counter()
    try:
        if command.name == "ping":
            return answer("ping", {"agent": "deskline-agent", "version": __version__,
                                   "platform": current_platform(), "time": time.time()})
        if command.name == "probes":
            return answer("probes", probe_table(remote_arguments, set((probe_settings or {}).get("disabled", ()))))
        if command.name in ("probe", "report", "check"):
            names = list(command.probes) if command.name == "probe" else []
            disabled = set((probe_settings or {}).get("disabled", ()))
            _refuse_disabled(names, disabled)
            selected = tuple(p for p in registry.select(names) if p.name not in disabled)
            arguments = check_arguments(selected if names else (), command.arguments, remote_arguments)
            rep = report.build(
                selected,
                probe_settings=_probe_settings(probe_settings, arguments),
                thresholds=thresholds,
                pseudonymize=pseudonymize,
                keep_private_ips=keep_private_ips,
                collector="agent",
            )
            if command.name == "check":
                doc = rep.document
                return answer("check", {"report_id": doc["report_id"], "host": doc["host"],
                                        "findings": doc["findings"],
                                        "probes": {n: p["status"] for n, p in doc["probes"].items()}})
            return answer(command.name, rep.document)
        if command.name == "logs":
            settings = dict(probe_settings or {})
            if command.since_seconds is not None:
                settings["logs.window_hours"] = command.since_seconds / 3600
            settings["logs.source"] = command.source
            _refuse_disabled(["logs"], set(settings.get("disabled", ())))
            rep = report.build(registry.select(["logs"]), probe_settings=settings, thresholds=thresholds,
                               pseudonymize=pseudonymize, keep_private_ips=keep_private_ips, collector="agent")
            return answer("logs", rep.document["probes"]["logs"])
    except ProtocolError as exc:
        return refusal(command.name, exc.exit, str(exc))
    except DesklineError as exc:  # a probe disabled by a failed import, an unreadable setting, ...
        return refusal(command.name, Exit.BAD_ARGUMENTS, str(exc))
    except Exception as exc:  # noqa: BLE001 - the engineer gets a refusal, the agent keeps serving
        log.exception("command %s failed after %.0f ms", command.name, (time.perf_counter() - start) * 1000)
        return refusal(command.name, Exit.INTERNAL, f"{type(exc).__name__}: {exc}")
    return refusal(command.name, Exit.BAD_ARGUMENTS, f"unknown command {command.name!r}")
