"""Environment: the environment variables the settings choose (``probes.environment.variables``).

Only the variables named in the settings are read, never the whole environment: variables often hold
tokens and passwords, and what is not collected cannot leak. The values are collected as they are; the
redaction pass masks secrets in the whole report before it leaves the machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from desktop.diagnostics.base import ProbeContext, ProbeError, field

NAME = "environment"
TITLE = "Environment"

#: At most this many variable names are looked at, however many the settings list.
MAX_VARIABLES = 100
#: A longer value is cut to this many characters and marked with a trailing "…" (long PATHs).
MAX_VALUE_CHARS = 4096

#: Used when the settings do not say; the shipped settings schema lists the same kind of names.
DEFAULT_VARIABLES = ("PATH", "LANG", "LC_ALL", "TZ", "SHELL", "DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")


@dataclass(frozen=True)
class EnvironmentResult:
    variables: dict[str, str] = field(
        doc="The chosen variables that are set, name to value, in the order the settings list them; values "
        f"longer than {MAX_VALUE_CHARS} characters are cut and end in '…'. Collected as they are here; the "
        "report's redaction pass masks secrets (tokens, passwords, user and host names as configured) before "
        "anything leaves the machine"
    )
    missing: tuple[str, ...] = field(doc="The chosen variables that are not set in Deskline's environment")
    truncated: tuple[str, ...] = field(doc="Names of the variables whose values were cut to the length cap")


RESULT = EnvironmentResult


def select(environ: Mapping[str, str], names: Iterable[str]) -> EnvironmentResult:
    """The variables ``names`` from ``environ``: present ones with their (capped) values, and the missing ones."""
    found: dict[str, str] = {}
    missing: list[str] = []
    cut: list[str] = []
    seen: set[str] = set()
    for name in names:
        if name in seen or len(seen) >= MAX_VARIABLES:
            continue
        seen.add(name)
        value = environ.get(name)
        if value is None:
            missing.append(name)
            continue
        if len(value) > MAX_VALUE_CHARS:
            value = value[: MAX_VALUE_CHARS - 1] + "…"
            cut.append(name)
        found[name] = value
    return EnvironmentResult(variables=found, missing=tuple(missing), truncated=tuple(cut))


def collect(ctx: ProbeContext) -> EnvironmentResult:
    names = ctx.setting("environment.variables", list(DEFAULT_VARIABLES))
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ProbeError("environment: the setting probes.environment.variables must be a list of names")
    return select(ctx.environ, names)
