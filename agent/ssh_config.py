"""The engineer's OpenSSH client configuration (``~/.ssh/config``, or ``-F FILE``), read with paramiko's
:class:`paramiko.SSHConfig`, so host aliases and per-host settings work in the console as with ``ssh``.

Read once per run (a fleet has hundreds of hosts), then looked up per target and per jump host. Honoured:
``HostName``, ``User``, ``Port``, ``IdentityFile`` (several), ``ProxyJump`` (as ``--jump``, hops looked up
in the file too), ``ConnectTimeout``, and ``UserKnownHostsFile`` files that exist (added to the
known_hosts read). As in ssh, what the command line and the target say (``user@host:port``, inventory
variables, ``--user``, ``--jump``, ``--connect-timeout``) wins over the file, and the file wins over the
console's defaults, except:

* ``Port`` is not applied to targets in agent mode: in an OpenSSH file it means sshd's port, and the
  agent listens on its own (2222). It is applied in dispatch and payload modes and to jump hosts.
* ``Match exec`` blocks are skipped with a warning: evaluating them would run a shell command.
* ``ProxyCommand`` is refused for a host that would use it (the console runs no commands), as in
  inventories; say ``ProxyJump``.
* ``StrictHostKeyChecking`` and ``UserKnownHostsFile /dev/null`` never weaken the reject policy.
* ``Include`` is not followed (paramiko does not), with a warning; ``/etc/ssh/ssh_config`` is not read.
"""

from __future__ import annotations

import logging
import re
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import paramiko

from agent.inventory import InventoryError, Target, hop_text, parse_jump, parse_target
from desktop.errors import UsageError

log = logging.getLogger("deskline.agent")

#: The file read when ``-F`` is not given (if it exists).
DEFAULT_FILE = "~/.ssh/config"
#: How deep ProxyJump hops may themselves name ProxyJump hops.
MAX_JUMP_DEPTH = 8


def _keyword(line: str) -> tuple[str, str]:
    m = re.match(r"\s*([A-Za-z]+)\s*(?:=\s*|\s+|$)(.*?)\s*$", line)
    return (m.group(1).lower(), m.group(2)) if m else ("", "")


def _without_match_exec(text: str, path: str) -> str:
    """``text`` with every ``Match`` block that has an ``exec`` criterion removed (warned about once)."""
    out: list[str] = []
    skipping = False
    skipped: list[int] = []
    for number, line in enumerate(text.splitlines(), 1):
        key, rest = _keyword(line)
        if key in ("host", "match"):
            skipping = False
            if key == "match":
                try:
                    words = [w.lower().lstrip("!") for w in shlex.split(rest)]
                except ValueError:
                    words = rest.lower().split()
                if "exec" in words:
                    skipping = True
                    skipped.append(number)
        out.append("" if skipping else line)  # keep the line numbers of paramiko's errors
    if skipped:
        log.warning("%s: Match exec block(s) at line(s) %s ignored: the console runs no commands",
                    path, ", ".join(map(str, skipped)))
    return "\n".join(out) + "\n"


@dataclass
class SshConfig:
    """One parsed client configuration; :meth:`apply` resolves a target with it."""

    path: str
    config: paramiko.SSHConfig
    #: The ``UserKnownHostsFile`` files that exist (never /dev/null) of the hosts resolved so far, in order.
    known_hosts: list[Path] = field(default_factory=list)

    @classmethod
    def load(cls, choice: str | None) -> SshConfig | None:
        """``choice`` as ``-F``: None for ~/.ssh/config when it exists, ``none`` for no file."""
        if choice is not None and choice.lower() == "none":
            return None
        path = Path(choice or DEFAULT_FILE).expanduser()
        if choice is None and not path.is_file():
            return None
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: cannot read the ssh config: {getattr(exc, 'strerror', None) or exc}") from exc
        for number, line in enumerate(text.splitlines(), 1):
            if _keyword(line)[0] == "include":
                log.warning("%s:%d: Include is not followed by the console", path, number)
        try:
            config = paramiko.SSHConfig.from_text(_without_match_exec(text, str(path)))
        except (paramiko.ssh_exception.ConfigParseError, ValueError) as exc:
            raise UsageError(f"{path}: bad ssh config: {exc}") from None
        return cls(str(path), config)

    def lookup(self, host: str) -> dict[str, Any]:
        try:
            return dict(self.config.lookup(host))
        except Exception as exc:  # noqa: BLE001 - paramiko raises several kinds on odd files; name the file
            raise UsageError(f"{self.path}: host {host}: cannot apply the ssh config: {exc}") from None

    def apply(self, target: Target, *, mode: str, user_given: bool = False, jump_given: bool = False,
              timeout_given: bool = False) -> Target:
        """``target`` with the file's settings for it where neither it nor the command line has one.

        ``user_given``: ``--user`` was given (it wins over ``User``); ``jump_given``: ``--jump`` was
        given (it wins over ``ProxyJump``); ``timeout_given``: ``--connect-timeout`` was given."""
        return self._apply(target, mode=mode, user_given=user_given, jump_given=jump_given,
                           timeout_given=timeout_given, depth=0)

    def _apply(self, target: Target, *, mode: str, user_given: bool, jump_given: bool, timeout_given: bool,
               depth: int) -> Target:
        where = f"{self.path}: host {target.host}: "
        found = self.lookup(target.host)
        changes: dict[str, Any] = {}
        for word in found.get("userknownhostsfile", "").split():  # more keys to read, never fewer
            p = Path(word).expanduser()
            if str(p) != "/dev/null" and p.is_file() and p not in self.known_hosts:
                self.known_hosts.append(p)
        host = found.get("hostname")
        if host and host != target.host:
            changes["host"] = parse_target(host if ":" not in host else f"[{host}]", where).host
        if found.get("port") and not target.port_set and mode != "agent":
            changes["port"] = parse_target(f"x:{found['port']}", where).port
            changes["port_set"] = True
        if found.get("user") and target.user is None and not user_given:
            changes["user"] = parse_target(f"{found['user']}@x", where).user
        files = tuple(f for f in found.get("identityfile", []) if Path(f).expanduser().is_file())
        if files:
            changes["identity_files"] = target.identity_files + files
        if found.get("connecttimeout") and not timeout_given:
            try:
                changes["connect_timeout"] = float(found["connecttimeout"])
            except ValueError:
                raise InventoryError(f"{where}bad ConnectTimeout {found['connecttimeout']!r}") from None
        if target.jump is not None:  # the target's own hops (inventory, targets file): config for each hop
            changes["jump"] = self.hops(target.jump, depth + 1)
        elif not jump_given:
            proxy = found.get("proxycommand", "none")
            jump_spec = found.get("proxyjump")
            if jump_spec:
                changes["jump"] = self.hops(parse_jump(jump_spec, where), depth + 1)
            elif proxy.lower() != "none":
                raise InventoryError(f"{where}ProxyCommand is not supported (the console runs no commands); "
                                     f"use ProxyJump [USER@]HOST[:PORT] instead, or -F none")
        return replace(target, **changes) if changes else target

    def hops(self, hops: tuple[Target, ...], depth: int = 1) -> tuple[Target, ...]:
        """Jump hosts with the file's settings (all of them, ``Port`` too: a hop is an sshd), a hop's own
        ``ProxyJump`` put before it, as ssh does."""
        if not hops:
            return hops
        if depth > MAX_JUMP_DEPTH:
            raise InventoryError(f"{self.path}: ProxyJump chains deeper than {MAX_JUMP_DEPTH} hops (a loop?)")
        out: list[Target] = []
        for hop in hops:
            resolved = self._apply(hop, mode="dispatch", user_given=False, jump_given=False, timeout_given=True,
                                   depth=depth)
            before = resolved.jump or ()
            resolved = replace(resolved, jump=None)
            out.extend(before)
            out.append(replace(resolved, name=hop_text(resolved)))
        return tuple(out)
