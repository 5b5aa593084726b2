"""The one table of probes.

A probe module that fails to import is logged and disabled; the others keep working.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from functools import cache

from desktop.diagnostics.base import Argument, FieldInfo, ProbeModule, describe
from desktop.errors import UsageError

log = logging.getLogger("deskline.probes")

#: The probes of the default report, in the order their sections appear.
PROBES: tuple[str, ...] = (
    "system",
    "cpu",
    "memory",
    "disks",
    "network",
    "processes",
    "services",
    "software",
    "logs",
    "power",
    "sensors",
    "users",
    "displays",
    "printers",
    "environment",
)


@dataclass(frozen=True)
class ProbeInfo:
    """A loaded probe: its module and what it declares."""

    name: str
    title: str
    module: ProbeModule

    @property
    def result_type(self) -> type:
        return self.module.RESULT

    @property
    def fields(self) -> list[FieldInfo]:
        return describe(self.module.RESULT)

    @property
    def arguments(self) -> tuple[Argument, ...]:
        """The settings an engineer may set for one remote command of this probe (none unless declared)."""
        return tuple(getattr(self.module, "ARGUMENTS", ()))


@dataclass(frozen=True)
class BrokenProbe:
    """A probe whose module could not be imported, with the reason."""

    name: str
    reason: str


def _load(name: str, package: str) -> ProbeInfo | BrokenProbe:
    try:
        module = importlib.import_module(f"{package}.{name}")
        info = ProbeInfo(module.NAME, module.TITLE, module)
    except Exception as exc:  # noqa: BLE001 - any import error disables just this probe
        log.warning("probe %s disabled: %s: %s", name, type(exc).__name__, exc)
        return BrokenProbe(name, f"{type(exc).__name__}: {exc}")
    if info.name != name:
        return BrokenProbe(name, f"module declares NAME={info.name!r}")
    return info


@cache
def load_all(package: str = "desktop.diagnostics.probes") -> tuple[tuple[ProbeInfo, ...], tuple[BrokenProbe, ...]]:
    """Import every probe of :data:`PROBES`; returns (working, broken)."""
    ok: list[ProbeInfo] = []
    broken: list[BrokenProbe] = []
    for name in PROBES:
        loaded = _load(name, package)
        if isinstance(loaded, ProbeInfo):
            ok.append(loaded)
        else:
            broken.append(loaded)
    return tuple(ok), tuple(broken)


def probes() -> tuple[ProbeInfo, ...]:
    """The working probes, in report order."""
    return load_all()[0]


def select(names: list[str] | None) -> tuple[ProbeInfo, ...]:
    """The probes named (all when ``names`` is empty); an unknown name is a :class:`UsageError`."""
    available = {p.name: p for p in probes()}
    if not names:
        return tuple(available.values())
    broken = {b.name: b.reason for b in load_all()[1]}
    chosen: list[ProbeInfo] = []
    for name in names:
        if name in broken:
            raise UsageError(f"probe {name!r} is disabled: {broken[name]}")
        if name not in available:
            known = ", ".join(available)
            raise UsageError(f"unknown probe {name!r} (known probes: {known})")
        if available[name] not in chosen:
            chosen.append(available[name])
    return tuple(chosen)
