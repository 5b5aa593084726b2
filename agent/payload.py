"""The agentless payload: the diagnostics engine as one self-contained script for ``python3 -I -``.

For accounts that have a shell but no Deskline installed (as Ansible does with its modules), the
console sends this script on stdin to ``/usr/bin/python3 -I - probe cpu``. The script carries the
engine's source (``desktop/diagnostics`` without its renderers, ``desktop/config.py``,
``desktop/errors.py``, ``agent/protocol.py``, ``agent/commands.py``, ``agent/dispatch.py``) as one
compressed blob, and imports it from memory through a meta-path importer placed first on
``sys.meta_path`` (so an installed Deskline of another version on the host is not used). Nothing is
written to the host's disk.

The answer is the same JSON document as the agent's, after a marker line (a random token per run),
so anything the account's shell prints first (a chatty ~/.bashrc) cannot corrupt it. ``-I`` keeps
the user's site-packages, ``PYTHON*`` variables and the current folder out of the import path; the
host's system packages stay visible, so probes that need psutil work where the host's Python has it
(Debian's python3-psutil) and are reported disabled, with the reason, where it has not.

The bundled engine needs Python 3.11 or newer on the host; an older Python answers a clear refusal.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import secrets
import zlib
from functools import cache
from pathlib import Path
from typing import Any

#: Packages bundled whole (their modules and subpackages), and single modules.
PACKAGES = ("desktop.diagnostics.probes", "desktop.diagnostics.rules")
MODULES = (
    "desktop", "desktop.errors", "desktop.config",
    "desktop.diagnostics", "desktop.diagnostics.base", "desktop.diagnostics.findings",
    "desktop.diagnostics.redaction", "desktop.diagnostics.registry", "desktop.diagnostics.report",
    "desktop.diagnostics.runner",
    "agent", "agent.protocol", "agent.commands", "agent.dispatch",
)
#: The oldest Python the bundled engine runs on.
MIN_PYTHON = (3, 11)
MARKER_PREFIX = "DESKLINE-ANSWER-"

_SCRIPT = '''import json, sys
def _deskline_payload():
    if sys.version_info < MIN_PYTHON:
        sys.stdout.write(MARKER + "\\n" + json.dumps({"protocol": 1, "command": "", "ok": False, "exit": 70,
            "error": {"code": "internal", "message": "this host's Python is %d.%d; the Deskline payload needs "
            "%d.%d or newer (set the Python with --python or ansible_python_interpreter)"
            % (sys.version_info[:2] + MIN_PYTHON)}}) + "\\n")
        return 70
    import base64, importlib.util, zlib
    modules = json.loads(zlib.decompress(base64.b64decode(BLOB)))

    class Importer:
        """Finds and loads the bundled modules from memory (a meta-path finder and its loader)."""

        def find_spec(self, fullname, path=None, target=None):
            entry = modules.get(fullname)
            if entry is None:
                return None
            return importlib.util.spec_from_loader(fullname, self, origin="deskline-payload",
                                                   is_package=entry[0])

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            is_package, source = modules[module.__name__]
            filename = "<deskline>/" + module.__name__.replace(".", "/") + ("/__init__.py" if is_package else ".py")
            exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)

    sys.meta_path.insert(0, Importer())
    from agent.dispatch import payload_main
    return payload_main(sys.argv[1:], ARGUMENTS, MARKER, TIMEOUT)
MIN_PYTHON = @MIN_PYTHON@
MARKER = @MARKER@
TIMEOUT = @TIMEOUT@
ARGUMENTS = json.loads(@ARGUMENTS@)
BLOB = @BLOB@
sys.exit(_deskline_payload())
'''


def _source_of(module: str) -> tuple[bool, str]:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"payload: cannot find the source of {module}")
    return spec.submodule_search_locations is not None, Path(spec.origin).read_text(encoding="utf-8")


def module_names() -> list[str]:
    """Every module the payload carries."""
    names = list(MODULES)
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"payload: cannot find package {package}")
        names.append(package)
        for folder in spec.submodule_search_locations:
            names += [f"{package}.{p.stem}" for p in sorted(Path(folder).glob("*.py")) if p.stem != "__init__"]
    return names


@cache
def blob() -> str:
    """The bundled modules: JSON ``{name: [is_package, source]}``, compressed, base64 (built once)."""
    modules = {name: _source_of(name) for name in module_names()}
    raw = json.dumps(modules, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def new_marker() -> str:
    """A fresh marker for one run (the answer follows it on stdout)."""
    return MARKER_PREFIX + secrets.token_hex(8)


def script(arguments: dict[str, Any] | None = None, marker: str | None = None, timeout: int = 120) -> bytes:
    """The payload for one command: the engine, the command's JSON ``arguments`` and the answer marker.

    The command itself goes on the Python command line (``python3 -I - probe cpu``), where the host's
    process list and audit logs show it.
    """
    values = {
        "@MIN_PYTHON@": repr(MIN_PYTHON),
        "@MARKER@": repr(marker or new_marker()),
        "@TIMEOUT@": str(int(timeout)),
        "@ARGUMENTS@": repr(json.dumps(arguments or {})),
        "@BLOB@": repr(blob()),
    }
    # one pass: a value (the engineer's arguments, say) is never searched for another placeholder
    text = re.sub("|".join(re.escape(p) for p in values), lambda m: values[m.group(0)], _SCRIPT)
    return text.encode("utf-8")


def split_answer(stdout: bytes, marker: str) -> tuple[bytes, bytes]:
    """(what the shell printed before the marker, the answer after it); the answer is b"" without one."""
    token = marker.encode("ascii") + b"\n"
    at = stdout.rfind(token)
    if at < 0:
        return stdout, b""
    return stdout[:at], stdout[at + len(token):]
