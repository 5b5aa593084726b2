"""The probe contract: typed, frozen results with a declared field table.

A probe is one module under ``desktop/diagnostics/probes/`` that defines

* ``NAME``: the probe's name (``"cpu"``), unique in the registry;
* ``TITLE``: a short human title ("Processor");
* ``RESULT``: a frozen dataclass, the type ``collect`` returns;
* ``collect(ctx: ProbeContext) -> RESULT``.

Each field of a result dataclass is declared with :func:`field`, which records its unit and
meaning; :func:`describe` turns that into the field table shown by ``deskline probes`` and into the
report's JSON Schema. Results hold only JSON-friendly values: ``str``, ``int``, ``float``, ``bool``,
``None``, tuples of those or of other result dataclasses, and ``dict[str, str]``.

Probes never judge: thresholds live in the configuration and are applied by the rules in
:mod:`desktop.diagnostics.rules` after collection.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import shutil
import subprocess
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from desktop.errors import DesklineError

log = logging.getLogger("deskline.probes")

#: Platform names used throughout: what ``sys.platform`` says, folded to three families.
LINUX = "linux"
WINDOWS = "windows"
MACOS = "macos"


def current_platform() -> str:
    """The platform family this process runs on: ``linux``, ``windows``, ``macos`` or ``sys.platform``."""
    if sys.platform.startswith("linux"):
        return LINUX
    if sys.platform == "win32":
        return WINDOWS
    if sys.platform == "darwin":
        return MACOS
    return sys.platform


class ProbeError(DesklineError):
    """A probe could not collect its data; the message names the probe and the cause."""


class Unsupported(ProbeError):  # noqa: N818 - reads as "probe unsupported", a state, not a failure
    """The probe has nothing to say on this platform (recorded as ``unsupported``, not ``failed``)."""


def field(*, unit: str = "", doc: str, default: Any = dataclasses.MISSING) -> Any:
    """Declare a result field with its unit (``""`` when it has none) and meaning."""
    metadata = {"unit": unit, "doc": doc}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=metadata)
    if isinstance(default, list | dict | set):
        raise TypeError("mutable defaults are not allowed in frozen results")
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class FieldInfo:
    """One row of a probe's field table."""

    name: str
    type: str
    unit: str
    doc: str


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        name = " | ".join(_type_name(a) for a in inner)
        return f"{name} | null" if len(inner) < len(args) else name
    if origin is tuple:
        return f"list[{_type_name(args[0])}]"
    if origin is dict:
        return f"dict[{_type_name(args[0])}, {_type_name(args[1])}]"
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp.__name__
    return getattr(tp, "__name__", str(tp))


def result_types(result_type: type) -> dict[str, Any]:
    """The resolved annotations of a result dataclass (``from __future__`` strings evaluated)."""
    module = sys.modules[result_type.__module__]
    return typing.get_type_hints(result_type, globalns=vars(module))


def describe(result_type: type, prefix: str = "") -> list[FieldInfo]:
    """The field table of a result dataclass, nested results flattened as ``parent[].child``."""
    rows: list[FieldInfo] = []
    hints = result_types(result_type)
    for f in dataclasses.fields(result_type):
        tp = hints[f.name]
        name = prefix + f.name
        rows.append(FieldInfo(name, _type_name(tp), f.metadata.get("unit", ""), f.metadata.get("doc", "")))
        nested = _nested_dataclass(tp)
        if nested is not None:
            sep = "[]." if typing.get_origin(_strip_optional(tp)) is tuple else "."
            rows.extend(describe(nested, name + sep))
    return rows


def _strip_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(inner) == 1:
            return inner[0]
    return tp


def _nested_dataclass(tp: Any) -> type | None:
    tp = _strip_optional(tp)
    if typing.get_origin(tp) is tuple:
        tp = typing.get_args(tp)[0]
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp
    return None


#: Field names of each dataclass met by :func:`to_jsonable` (a report converts thousands of records).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_PLAIN = (str, int, bool, type(None))


def to_jsonable(value: Any) -> Any:
    """A result (or any part of one) as plain JSON data: dataclasses to dicts, tuples to lists."""
    cls = type(value)
    if cls in _PLAIN:
        return value
    names = _FIELD_NAMES.get(cls)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: to_jsonable(getattr(value, name)) for name in names}
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


@dataclass(frozen=True)
class CommandResult:
    """What an external command printed and how it ended."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class ProbeContext:
    """What a probe may know and use: settings, platform, the clock, and a safe way to run commands.

    ``settings`` is the ``[probes]`` part of the configuration (a plain mapping), so probes read their
    own limits (log window, top-N sizes, the helpdesk to check) without depending on the config module.
    """

    def __init__(
        self,
        settings: Mapping[str, Any] | None = None,
        platform: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings: Mapping[str, Any] = settings or {}
        self.platform = platform or current_platform()
        self.environ: Mapping[str, str] = environ if environ is not None else os.environ

    def setting(self, key: str, default: Any) -> Any:
        """A probe setting by its key under ``[probes]`` (for example ``logs.max_entries``)."""
        return self.settings.get(key, default)

    def which(self, program: str) -> str | None:
        """The absolute path of ``program`` on PATH, or None."""
        return shutil.which(program)

    def run(self, argv: Sequence[str], timeout: float = 5.0, check: bool = False) -> CommandResult:
        """Run a program (never through a shell) with the C locale and a timeout.

        Raises :class:`ProbeError` when the program is missing, times out, or (with ``check``) fails.
        """
        env = dict(os.environ)
        env.update({"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "SYSTEMD_PAGER": "", "PAGER": "cat"})
        try:
            proc = subprocess.run(  # noqa: S603 - argv list, no shell
                list(argv),
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                env=env,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except FileNotFoundError as exc:
            raise ProbeError(f"{argv[0]}: program not found") from exc
        except subprocess.TimeoutExpired as exc:
            raise ProbeError(f"{argv[0]}: no answer within {timeout:g} s") from exc
        except OSError as exc:
            raise ProbeError(f"{argv[0]}: {exc.strerror or exc}") from exc
        result = CommandResult(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            detail = (proc.stderr.strip().splitlines() or [""])[-1][:200]
            raise ProbeError(f"{argv[0]} exited with {proc.returncode}: {detail}")
        return result


class ArgumentError(DesklineError):
    """A value an engineer gave for a probe argument that the argument does not accept."""


#: The kinds of value an :class:`Argument` takes, as JSON names them.
ARGUMENT_TYPES = ("integer", "number", "string")


@dataclass(frozen=True)
class Argument:
    """A probe setting an engineer may set for one remote command (``probe NAME`` with JSON on stdin).

    A probe module lists these in ``ARGUMENTS``; any other setting is refused from remote, however
    harmless, so a new setting is never remotely settable by accident. Bounds are inclusive unless
    ``exclusive_minimum``. ``restricted`` arguments (a network destination) are accepted only where the
    machine's IT settings list them (``agent.remote_arguments``).
    """

    key: str
    type: str
    doc: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    #: Strings only: the most characters accepted, and what the string is, in words ("a host name or URL").
    max_length: int = 255
    what: str = "text"
    restricted: bool = False

    def __post_init__(self) -> None:
        if self.type not in ARGUMENT_TYPES:
            raise TypeError(f"argument {self.key}: type {self.type!r} is not one of {', '.join(ARGUMENT_TYPES)}")

    def check(self, value: Any) -> Any:
        """``value`` if it fits this argument (an integer given as 3 for a number stays 3); raises
        :class:`ArgumentError` with the reason, which names the argument and what it accepts."""
        if not self._fits(value):
            raise ArgumentError(f"argument {self.key!r} must be {self.accepts()}, not {_shown(value)}")
        return value

    def _fits(self, value: Any) -> bool:
        if self.type == "string":
            return (isinstance(value, str) and 0 < len(value) <= self.max_length and value.isprintable()
                    and not any(c.isspace() for c in value))
        wanted = int if self.type == "integer" else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted):
            return False
        low_ok = self.minimum is None or (value > self.minimum if self.exclusive_minimum else value >= self.minimum)
        high_ok = self.maximum is None or value <= self.maximum
        return low_ok and high_ok and (isinstance(value, int) or math.isfinite(value))

    def accepts(self) -> str:
        """What this argument accepts, in words: ``a whole number from 1 to 100``."""
        if self.type == "string":
            return f"{self.what} of 1 to {self.max_length} characters, without spaces"
        kind = "a whole number" if self.type == "integer" else "a number"
        if self.unit:
            kind += f" of {_UNIT_WORDS.get(self.unit, self.unit)}"
        lo, hi = _number(self.minimum), _number(self.maximum)
        if self.minimum is not None and self.maximum is not None:
            if self.exclusive_minimum:
                return f"{kind} greater than {lo} and at most {hi}"
            return f"{kind} from {lo} to {hi}"
        if self.minimum is not None:
            return f"{kind} {'greater than' if self.exclusive_minimum else 'at least'} {lo}"
        if self.maximum is not None:
            return f"{kind} at most {hi}"
        return kind

    def table(self) -> dict[str, Any]:
        """This argument as the ``probes`` command lists it (JSON Schema's words for the bounds)."""
        row: dict[str, Any] = {"name": self.key, "type": self.type, "unit": self.unit, "doc": self.doc,
                               "accepts": self.accepts(), "restricted": self.restricted}
        if self.type == "string":
            row["maxLength"] = self.max_length
        if self.minimum is not None:
            row["exclusiveMinimum" if self.exclusive_minimum else "minimum"] = self.minimum
        if self.maximum is not None:
            row["maximum"] = self.maximum
        return row


_UNIT_WORDS = {"s": "seconds", "h": "hours", "d": "days", "B": "bytes"}


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _shown(value: Any) -> str:
    """A JSON value for a message: the value itself when short and simple, else what kind it is."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int | float):
        # (no str() of a huge integer: Python refuses to format more than 4300 digits)
        return repr(value) if isinstance(value, float) or abs(value) < 10**30 else "a number of 30 digits or more"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 and value.isprintable() else "a string"
    return "a list" if isinstance(value, list | tuple) else "an object"


class ProbeModule(Protocol):
    """The shape of a probe module, as the registry sees it (``ARGUMENTS``, a tuple of :class:`Argument`,
    is optional: without it no setting of the probe may be set from remote)."""

    NAME: str
    TITLE: str
    RESULT: type

    def collect(self, ctx: ProbeContext) -> Any: ...
