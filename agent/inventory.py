"""Targets of a console run: ``user@host[:port]`` names, a targets file, or an Ansible inventory.

Teams reuse what they have: an Ansible inventory in INI or YAML form, with groups, ``[group:children]``,
``[group:vars]``, host ranges (``web[01:03].example.com``, ``db-[a:c]``) and the connection variables
``ansible_host``, ``ansible_port``, ``ansible_user``, ``ansible_ssh_private_key_file`` and
``ansible_python_interpreter`` (the Python that agentless payload mode runs), and a jump host from
``ansible_ssh_common_args`` / ``ansible_ssh_extra_args`` / ``ansible_ssh_args`` (``-o ProxyJump=...`` or
``-J ...``, read with shlex, never by a shell). Other variables are ignored. Host variables win over group
variables, a child group's over its parent's (as in Ansible).

Every error names the file and line.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from desktop.errors import UsageError

DEFAULT_PORT = 22
_HOSTNAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_RANGE = re.compile(r"\[([A-Za-z0-9]+):([A-Za-z0-9]+)(?::(\d+))?\]")
#: Ansible's names for the connection variables we use (the older ``ansible_ssh_*`` spellings too).
_VARS = {
    "ansible_host": "host", "ansible_ssh_host": "host",
    "ansible_port": "port", "ansible_ssh_port": "port",
    "ansible_user": "user", "ansible_ssh_user": "user",
    "ansible_ssh_private_key_file": "key_file", "ansible_private_key_file": "key_file",
    "ansible_python_interpreter": "python",
}
#: Variables holding ssh(1) arguments, in the order Ansible puts them on ssh's command line (the first
#: ProxyJump wins there, as ssh keeps the first value of an option).
_SSH_ARG_VARS = ("ansible_ssh_args", "ansible_ssh_common_args", "ansible_ssh_extra_args")
#: ssh(1) options that take an argument (its SYNOPSIS), so that argument is not read as an option.
_SSH_ARGUMENT_OPTIONS = set("BbcDEeFIiJLlmOoPpQRSWw")
MAX_RANGE = 10000


class InventoryError(UsageError):
    """A target name, targets file or inventory that cannot be used; says file and line."""


@dataclass(frozen=True)
class Target:
    """One host to run on.

    ``name`` is what the engineer calls it (the inventory name or the text given); ``host`` and ``port``
    are where to connect. ``user`` None means the console's default user.
    """

    name: str
    host: str
    port: int = DEFAULT_PORT
    user: str | None = None
    key_file: str | None = None
    python: str | None = None
    groups: tuple[str, ...] = ()
    #: Jump hosts to go through, in order (``ssh -J``): None means the console's ``--jump`` (if any),
    #: ``()`` a direct connection (``ProxyJump=none``).
    jump: tuple[Target, ...] | None = None
    #: Whether ``port`` was given (in the text, an inventory variable) rather than the console's default:
    #: only a default is replaced by the ssh config's ``Port`` (see :mod:`agent.ssh_config`).
    port_set: bool = field(default=True, compare=False)
    #: Keys from the ssh config's ``IdentityFile`` lines, tried after ``key_file`` and ``-i``.
    identity_files: tuple[str, ...] = ()
    #: The ssh config's ``ConnectTimeout`` (seconds); None: the console's.
    connect_timeout: float | None = None

    @property
    def address(self) -> str:
        """``host:port`` (``[v6]:port``), for messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def known_hosts_name(self) -> str:
        """How known_hosts names this host: ``host`` on port 22, ``[host]:port`` elsewhere."""
        return self.host if self.port == DEFAULT_PORT else f"[{self.host}]:{self.port}"


def _check_host(host: str, where: str) -> str:
    if ":" in host:  # IPv6
        if not re.fullmatch(r"[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?", host):
            raise InventoryError(f"{where}bad IPv6 address {host!r}")
        return host
    if not _HOSTNAME.match(host):
        raise InventoryError(f"{where}bad host name {host!r}: letters, digits, '.', '-' and '_' only")
    return host


def _check_port(value: Any, where: str) -> int:
    try:
        port = int(str(value))
    except ValueError:
        raise InventoryError(f"{where}bad port {value!r}: a number from 1 to 65535") from None
    if not 0 < port < 65536:
        raise InventoryError(f"{where}bad port {value!r}: a number from 1 to 65535")
    return port


def _check_user(user: str, where: str) -> str:
    if not _USER.match(user):
        raise InventoryError(f"{where}bad user name {user!r}")
    return user


def parse_target(text: str, where: str = "", default_port: int = DEFAULT_PORT) -> Target:
    """``[user@]host[:port]``, ``[user@][v6addr]:port`` or ``ssh://[user@]host[:port]``; ``where`` prefixes errors.

    ``default_port`` is used when the text names none (the agent's 2222 in agent mode)."""
    raw = text.strip()
    spec = raw.removeprefix("ssh://")
    if not spec:
        raise InventoryError(f"{where}empty target")
    user: str | None = None
    if "@" in spec:
        user, _, spec = spec.rpartition("@")
        user = _check_user(user, where)
    port = default_port
    port_set = True
    if spec.startswith("["):
        host, sep, rest = spec[1:].partition("]")
        if not sep:
            raise InventoryError(f"{where}bad target {raw!r}: no closing ']'")
        if rest:
            if not rest.startswith(":"):
                raise InventoryError(f"{where}bad target {raw!r}: expected ':PORT' after ']'")
            port = _check_port(rest[1:], where)
        else:
            port_set = False
    elif spec.count(":") == 1:
        host, _, port_text = spec.partition(":")
        port = _check_port(port_text, where)
    else:
        host = spec  # a name, IPv4, or a bare IPv6 address without a port
        port_set = False
    host = _check_host(host, where)
    return Target(name=raw, host=host, port=port, user=user, port_set=port_set)


def hop_text(hop: Target) -> str:
    """A jump host as ``--jump`` takes it: ``[user@]host:port`` (``[v6]:port``)."""
    return f"{hop.user}@{hop.address}" if hop.user else hop.address


def jump_text(hops: Sequence[Target]) -> str:
    """Jump hosts as ``--jump`` and ``ssh -J`` take them: comma-separated, first hop first."""
    return ",".join(hop_text(h) for h in hops)


def parse_jump(text: str, where: str = "") -> tuple[Target, ...]:
    """``[user@]host[:port]`` jump hosts, comma-separated, first hop first (as ``ssh -J``; port 22 unless
    given); ``none`` is no jump host (``()``). ``where`` prefixes errors."""
    raw = text.strip()
    if raw.lower() == "none":
        return ()
    hops = tuple(parse_target(part, f"{where}jump host: ") for part in raw.split(","))
    return tuple(replace(h, name=hop_text(h)) for h in hops)


def jump_from_ssh_args(text: str, where: str = "") -> tuple[Target, ...] | None:
    """The jump hosts that ssh(1) arguments name (``-J HOPS``, ``-o ProxyJump=HOPS``, ``-oProxyJump HOPS``),
    the first one given winning as in ssh; None when they name none. The text is split by shlex, never by
    a shell. A ``ProxyCommand`` is refused: this console cannot run one (say ``ProxyJump`` instead)."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise InventoryError(f"{where}cannot read the ssh arguments {text!r}: {exc}") from None
    i = 0
    found: tuple[Target, ...] | None = None
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-") or len(word) < 2 or word == "--":
            continue
        for j, letter in enumerate(word[1:], 1):
            if letter not in _SSH_ARGUMENT_OPTIONS:
                continue
            value = word[j + 1:]
            if not value:
                if i >= len(words):
                    raise InventoryError(f"{where}ssh option -{letter} without its value in {text!r}")
                value = words[i]
                i += 1
            if letter == "J":
                hops = parse_jump(value, where)
            elif letter == "o":
                m = re.match(r"\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*?)\s*$", value, re.DOTALL)
                key, rest = (m.group(1).lower(), m.group(2)) if m else ("", "")
                if key == "proxycommand" and rest.lower() != "none" and found is None:
                    raise InventoryError(f"{where}-o ProxyCommand is not supported (the console runs no "
                                         f"commands); use -o ProxyJump=[USER@]HOST[:PORT] instead")
                if key != "proxyjump":
                    break
                hops = parse_jump(rest, where)
            else:
                break
            if found is None:
                found = hops
            break
    return found


def read_targets_file(path: Path, default_port: int = DEFAULT_PORT) -> list[Target]:
    """One target per line, optionally followed by ``jump=[USER@]HOST[:PORT][,...]`` (or ``jump=none``);
    ``#`` starts a comment; blank lines are skipped."""
    lines = _read_lines(path)
    out = []
    for number, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{path}:{number}: "
        if any("=" not in word for word in words[1:]):  # not options: a target with a space in it
            parse_target(" ".join(words), where, default_port)  # raises, naming the whole text
        target = parse_target(words[0], where, default_port)
        for word in words[1:]:
            key, eq, value = word.partition("=")
            if key != "jump" or not eq:
                raise InventoryError(f"{where}unknown option {word!r} after the target (only jump=[USER@]HOST[:PORT])")
            target = replace(target, jump=parse_jump(value, where))
        out.append(target)
    return out


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc


# --------------------------------------------------------------------------------------- host ranges

def expand_range(pattern: str, where: str = "") -> list[str]:
    """``web[01:03]`` -> web01, web02, web03 (leading zeros kept); ``db-[a:c]``; ``x[0:10:5]`` steps."""
    m = _RANGE.search(pattern)
    if not m:
        if "[" in pattern or "]" in pattern:
            raise InventoryError(f"{where}bad host range {pattern!r}: use [START:END] or [START:END:STEP]")
        return [pattern]
    start, end, step_text = m.group(1), m.group(2), m.group(3)
    step = int(step_text) if step_text else 1
    if step < 1:
        raise InventoryError(f"{where}bad host range {pattern!r}: the step must be at least 1")
    head, tail = pattern[: m.start()], pattern[m.end():]
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") and len(start) > 1 else 0
        first, last = int(start), int(end)
        if last < first or (last - first) // step >= MAX_RANGE:
            raise InventoryError(f"{where}bad host range {pattern!r}: the end must follow the start "
                                 f"(at most {MAX_RANGE} hosts)")
        items = [str(i).zfill(width) for i in range(first, last + 1, step)]
    elif len(start) == 1 and len(end) == 1 and start.isalpha() and end.isalpha():
        if ord(end) < ord(start):
            raise InventoryError(f"{where}bad host range {pattern!r}: the end must follow the start")
        items = [chr(c) for c in range(ord(start), ord(end) + 1, step)]
    else:
        raise InventoryError(f"{where}bad host range {pattern!r}: numbers or single letters only")
    out: list[str] = []
    for item in items:
        out.extend(expand_range(head + item + tail, where))
        if len(out) > MAX_RANGE:
            raise InventoryError(f"{where}host range {pattern!r} makes more than {MAX_RANGE} hosts")
    return out


# ---------------------------------------------------------------------------------- the inventory

class _Complex:
    """A variable whose value is a list or mapping (allowed, but never a connection variable)."""


@dataclass
class _Group:
    name: str
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class Inventory:
    """Hosts (name -> their own variables, in file order) and groups, as read from one file."""

    path: Path
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    host_lines: dict[str, int] = field(default_factory=dict)
    groups: dict[str, _Group] = field(default_factory=dict)

    def group(self, name: str) -> _Group:
        if name not in self.groups:
            self.groups[name] = _Group(name)
        return self.groups[name]

    def add_host(self, name: str, variables: Mapping[str, Any], line: int) -> None:
        self.hosts.setdefault(name, {}).update(variables)
        self.host_lines.setdefault(name, line)

    def members(self, group: str, _seen: frozenset[str] = frozenset()) -> list[str]:
        """Hosts of ``group`` and its children, in file order; ``all`` is every host."""
        if group == "all":
            return list(self.hosts)
        if group in _seen:
            raise InventoryError(f"{self.path}: group {group!r} is its own descendant")
        g = self.groups[group]
        names = set(g.hosts)
        for child in g.children:
            if child not in self.groups:
                raise InventoryError(f"{self.path}: group {group!r} lists unknown child group {child!r}")
            names.update(self.members(child, _seen | {group}))
        return [h for h in self.hosts if h in names]

    def _depths(self) -> dict[str, int]:
        depth: dict[str, int] = {}

        def walk(name: str, d: int, seen: frozenset[str]) -> None:
            if name in seen:
                raise InventoryError(f"{self.path}: group {name!r} is its own descendant")
            depth[name] = max(depth.get(name, 0), d)
            for child in self.groups[name].children:
                if child in self.groups:
                    walk(child, d + 1, seen | {name})

        for name in self.groups:
            walk(name, 1 if name != "all" else 0, frozenset())
        return depth

    def targets(self, limit: str | None = None, default_port: int = DEFAULT_PORT) -> list[Target]:
        """The hosts as targets, with their variables resolved; ``limit`` as :func:`select`; hosts without
        ``ansible_port`` get ``default_port``."""
        names = self.select(limit) if limit else list(self.hosts)
        depths = self._depths()
        memberships: dict[str, list[str]] = {h: [] for h in names}
        for gname in self.groups:
            if gname == "all":
                continue
            for h in self.members(gname):
                if h in memberships:
                    memberships[h].append(gname)
        out = []
        for h in names:
            merged: dict[str, Any] = dict(self.groups["all"].vars) if "all" in self.groups else {}
            for gname in sorted(memberships[h], key=lambda g: (depths.get(g, 1), g)):
                merged.update(self.groups[gname].vars)
            merged.update(self.hosts[h])
            out.append(self._target(h, merged, tuple(memberships[h]), default_port))
        return out

    def _target(self, name: str, variables: Mapping[str, Any], groups: tuple[str, ...], default_port: int) -> Target:
        where = f"{self.path}:{self.host_lines.get(name, 0)}: host {name}: "
        conn = {_VARS[k]: v for k, v in variables.items() if k in _VARS}
        for key, value in conn.items():
            if isinstance(value, _Complex):
                raise InventoryError(f"{where}{key} must be a plain value")
        host = _check_host(str(conn.get("host", name)), where)
        port = _check_port(conn.get("port", default_port), where)
        user = _check_user(str(conn["user"]), where) if conn.get("user") is not None else None
        key_file = str(conn["key_file"]) if conn.get("key_file") else None
        python = str(conn["python"]) if conn.get("python") else None
        if python is not None and not python.startswith("/"):
            raise InventoryError(f"{where}ansible_python_interpreter must be an absolute path, not {python!r}")
        jump: tuple[Target, ...] | None = None
        for var in _SSH_ARG_VARS:
            value = variables.get(var)
            if isinstance(value, _Complex):
                raise InventoryError(f"{where}{var} must be a plain value")
            if value and jump is None:
                jump = jump_from_ssh_args(str(value), f"{where}{var}: ")
        return Target(name=name, host=host, port=port, user=user, key_file=key_file, python=python, groups=groups,
                      jump=jump, port_set="port" in conn)

    def select(self, limit: str) -> list[str]:
        """Hosts named by ``limit``: group or host names (globs allowed), joined by ',' or ':';
        ``!name`` excludes. Unknown names are an error."""
        include: list[str] = []
        exclude: set[str] = set()
        for word in re.split(r"[,:]", limit):
            word = word.strip()
            if not word:
                continue
            negate = word.startswith("!")
            word = word.lstrip("!")
            matched = self._resolve(word)
            if negate:
                exclude.update(matched)
            else:
                include.extend(h for h in matched if h not in include)
        if not include and not any(not w.strip().startswith("!") for w in re.split(r"[,:]", limit) if w.strip()):
            include = list(self.hosts)
        return [h for h in include if h not in exclude]

    def _resolve(self, word: str) -> list[str]:
        if word == "all" or word in self.groups:
            return self.members(word)
        if word in self.hosts:
            return [word]
        globbed = [h for h in self.hosts if fnmatch.fnmatchcase(h, word)]
        for g in self.groups:
            if fnmatch.fnmatchcase(g, word):
                globbed.extend(h for h in self.members(g) if h not in globbed)
        if not globbed:
            known = ", ".join(sorted(self.groups)) or "none"
            raise InventoryError(f"{self.path}: --limit {word!r} matches no group or host (groups: {known})")
        return globbed


def parse_ini(path: Path, text: str) -> Inventory:
    """An Ansible INI inventory."""
    inv = Inventory(path)
    section, kind = "ungrouped", "hosts"
    inv.group("all")
    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{path}:{number}: "
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            header = line[1:-1].strip()
            name, _, suffix = header.partition(":")
            if suffix not in ("", "children", "vars") or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                raise InventoryError(f"{where}bad section [{header}]: use [group], [group:children] or [group:vars]")
            section, kind = name, (suffix or "hosts")
            inv.group(section)
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise InventoryError(f"{where}cannot read line: {exc}") from None
        if not words:
            continue
        if kind == "vars":
            for word in words:
                key, eq, value = word.partition("=")
                if not eq or not key:
                    raise InventoryError(f"{where}expected key=value in [{section}:vars], got {word!r}")
                inv.group(section).vars[key] = value
            continue
        if kind == "children":
            if len(words) != 1:
                raise InventoryError(f"{where}one group name per line in [{section}:children]")
            child = words[0]
            inv.group(child)
            if child not in inv.groups[section].children:
                inv.groups[section].children.append(child)
            continue
        pattern, settings = words[0], words[1:]
        variables: dict[str, Any] = {}
        for word in settings:
            key, eq, value = word.partition("=")
            if not eq or not key:
                raise InventoryError(f"{where}expected key=value after the host name, got {word!r}")
            variables[key] = value
        for name in expand_range(pattern, where):
            if name.count(":") == 1:  # Ansible's "host:port" spelling
                name, _, port = name.partition(":")
                variables = {"ansible_port": _check_port(port, where), **variables}
            inv.add_host(name, variables, number)
            members = inv.group(section).hosts
            if name not in members:
                members.append(name)
    return inv


def parse_yaml(path: Path, text: str) -> Inventory:
    """An Ansible YAML inventory (``all:`` / ``children:`` / ``hosts:`` / ``vars:``)."""
    try:
        import yaml
    except ImportError as exc:  # PyYAML is a dependency; say what is missing if it is not there
        raise InventoryError(f"{path}: reading a YAML inventory needs PyYAML (pip install PyYAML)") from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}: " if mark is not None else ""
        raise InventoryError(f"{path}:{line}not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    inv = Inventory(path)
    inv.group("all")
    if root is None:
        return inv

    def where(node: yaml.Node) -> str:
        return f"{path}:{node.start_mark.line + 1}: "

    def mapping(node: yaml.Node | None, what: str) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null")):
            return []
        if not isinstance(node, yaml.MappingNode):
            raise InventoryError(f"{where(node)}{what} must be a mapping")
        out = []
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise InventoryError(f"{where(key)}{what}: keys must be plain names")
            out.append((key, value))
        return out

    def value_of(node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return _Complex()  # lists and mappings are fine for other variables; we never read them
        return None if node.tag.endswith(":null") else node.value

    def group(name: str, node: yaml.Node | None) -> None:
        g = inv.group(name)
        for key, value in mapping(node, f"group {name}"):
            if key.value == "hosts":
                for host_key, host_vars in mapping(value, f"hosts of group {name}"):
                    variables = {k.value: value_of(v) for k, v in mapping(host_vars, f"host {host_key.value}")}
                    for host in expand_range(str(host_key.value), where(host_key)):
                        inv.add_host(host, variables, host_key.start_mark.line + 1)
                        if host not in g.hosts:
                            g.hosts.append(host)
            elif key.value == "children":
                for child_key, child in mapping(value, f"children of group {name}"):
                    if child_key.value not in g.children and child_key.value != "all":
                        g.children.append(child_key.value)
                    group(child_key.value, child)
            elif key.value == "vars":
                for k, v in mapping(value, f"vars of group {name}"):
                    g.vars[k.value] = value_of(v)
            else:
                raise InventoryError(f"{where(key)}group {name}: unknown key {key.value!r} "
                                     "(expected hosts, children or vars)")

    for key, value in mapping(root, "the inventory"):
        group(key.value, value)
    return inv


def read_inventory(path: Path) -> Inventory:
    """An Ansible inventory file: YAML when its name ends in .yml/.yaml or it starts like YAML, else INI."""
    text = "\n".join(_read_lines(path))
    first = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    if path.suffix.lower() in (".yml", ".yaml") or first == "---" or re.fullmatch(r"[A-Za-z0-9_.-]+:\s*", first):
        return parse_yaml(path, text)
    return parse_ini(path, text)


def gather(
    names: Sequence[str] = (),
    *,
    targets_files: Iterable[Path] = (),
    inventories: Iterable[Path] = (),
    limit: str | None = None,
    default_port: int = DEFAULT_PORT,
) -> list[Target]:
    """All targets from the command line, targets files and inventories, without duplicates.

    ``limit`` selects groups or hosts of the inventories (an error without one); targets that name no
    port get ``default_port``."""
    out: list[Target] = [parse_target(n, "target: ", default_port) for n in names]
    for path in targets_files:
        out.extend(read_targets_file(path, default_port))
    invs = list(inventories)
    if limit and not invs:
        raise InventoryError("--limit selects groups of an inventory: give one with --inventory FILE")
    for path in invs:
        out.extend(read_inventory(path).targets(limit, default_port))
    seen: dict[tuple[str, str, int, str | None, tuple[Target, ...] | None], Target] = {}
    for t in out:
        seen.setdefault((t.name, t.host, t.port, t.user, t.jump), t)
    unique = list(seen.values())
    names_used: dict[str, int] = {}
    result = []
    for t in unique:  # two targets with one display name (same host, other user or port) get told apart
        names_used[t.name] = names_used.get(t.name, 0) + 1
        result.append(t if names_used[t.name] == 1 else replace(t, name=f"{t.name}#{names_used[t.name]}"))
    return result
