"""``deskline-agent diff A B``: what changed between two reports (since the ticket was filed, say).

Inputs are report documents (``report.json``, ``deskline-agent probe > x.json``), answer documents of
``probe``/``report``/``check`` (``ssh ... report > x.json``), one line of ``run --format jsonl``, or
bundles (zip, read with :func:`desktop.diagnostics.bundle.read_bundle`, hashes checked).

What is compared:

* findings: appeared, resolved, changed severity (a finding is its rule ``id`` and ``subject``);
* probes: status (ok -> failed, ...);
* disks: filesystems filling or freed (used percent), mounted or gone;
* services: newly failed, recovered;
* software packages: added, removed, upgraded or downgraded;
* every other field of the probes' data, lists of records matched by their name.

Numbers move within a tolerance without counting (``tolerance`` percent of the larger value; for
``*_percent`` fields, that many percentage points), and fields that change on every run (CPU usage,
uptime, traffic counters, process lists, log entries, sampling times) are left out unless ``everything``
is asked for, so the real changes are not flooded.
"""

from __future__ import annotations

import fnmatch
import json
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeGuard

from desktop.diagnostics.bundle import read_bundle
from desktop.diagnostics.findings import human_bytes
from desktop.diagnostics.report import check_document
from desktop.errors import ReportError, UsageError

#: Fields that change on every run; skipped unless everything is asked for. Globs over ``probe.path``
#: where list items read ``[]`` (``network.interfaces[].bytes_sent``).
VOLATILE = (
    "*.collected_at", "*.sample_seconds", "*_ms",
    "system.uptime_seconds",
    "cpu.usage_percent", "cpu.per_core_percent", "cpu.frequency_mhz", "cpu.load_*", "cpu.iowait_percent",
    "cpu.steal_percent",
    "memory.available_bytes", "memory.used_bytes", "memory.cached_bytes", "memory.shared_bytes",
    "memory.committed_bytes", "memory.commit_percent", "memory.kernel_unreclaimable_bytes", "memory.psi_*",
    "memory.swap_in_bytes", "memory.swap_out_bytes",
    "processes.total", "processes.running", "processes.sleeping", "processes.disk_sleep", "processes.threads_total",
    "processes.top_cpu", "processes.top_memory",
    "network.interfaces[].bytes_*", "network.interfaces[].packets_*", "network.interfaces[].errors_*",
    "network.interfaces[].drops_*",
    "disks.disks", "disks.filesystems[].free_bytes", "disks.filesystems[].used_bytes",
    "disks.filesystems[].inodes_free", "disks.filesystems[].inodes_used_percent",
    "logs.entries", "logs.top_sources", "logs.total", "logs.total_is_lower_bound", "logs.truncated",
    "software.recent", "software.recent_total", "software.recent_packages", "software.package_count",
    "power.percent", "power.seconds_left", "power.batteries[].percent", "power.batteries[].seconds_left",
    "sensors.temperatures[].current*", "sensors.fans[].rpm",
    "users.sessions[].idle*",
)
#: Fields reported by the special sections, not again as plain field changes.
HANDLED = ("software.packages", "services.failed", "services.failed_total", "disks.filesystems[].used_percent",
           "disks.filesystems_total")
#: How records of a list are matched between the two reports.
RECORD_KEYS: dict[str, tuple[str, ...]] = {
    "disks.filesystems": ("mount_point",),
    "software.packages": ("name", "arch"),
    "services.failed": ("name",),
    "services.user_failed": ("name",),
}
_FALLBACK_KEYS = ("name", "mount_point", "id", "label", "device", "path", "connector")
DEFAULT_TOLERANCE = 5.0
#: Lines per section in the text output (all of them are in JSON).
TEXT_LIMIT = 40


@dataclass(frozen=True)
class Change:
    """One difference: its kind, the probe and field path, the two values, and a sentence."""

    kind: str
    probe: str
    path: str
    before: Any
    after: Any
    text: str


@dataclass
class Side:
    """One report, reduced to what is compared."""

    source: str
    report_id: str
    created: str
    host: str
    findings: list[dict[str, Any]]
    probes: dict[str, dict[str, Any]]


# ---------------------------------------------------------------------------------------- loading

def _unwrap(document: Any, source: str) -> Any:
    if isinstance(document, dict) and "answer" in document and "host" in document:  # a line of run --format jsonl
        if document.get("answer") is None:
            raise ReportError(f"{source}: host {document.get('host')} gave no answer ({document.get('error')})")
        document = document["answer"]
    if isinstance(document, dict) and "protocol" in document and "ok" in document:  # an answer document
        if not document.get("ok"):
            err = document.get("error") or {}
            raise ReportError(f"{source}: the answer is a refusal ({err.get('code')}: {err.get('message')})")
        if document.get("command") not in ("probe", "report", "check"):
            raise ReportError(f"{source}: a {document.get('command')!r} answer has no report to compare")
        document = document.get("result")
    return document


def load(path: Path) -> Side:
    """Read a report, an answer, a JSON line or a bundle; raises ReportError naming the file."""
    source = str(path)
    if zipfile.is_zipfile(path):
        document: Any = read_bundle(path).document
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ReportError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
        try:
            document = json.loads(text)
        except ValueError as exc:
            lines = [ln for ln in text.splitlines() if ln.strip()]
            if len(lines) > 1:
                raise ReportError(f"{path}: {len(lines)} JSON lines (a fleet run?): give one host's answer") from None
            raise ReportError(f"{path}: not JSON: {exc}") from None
        document = _unwrap(document, source)
    if not isinstance(document, dict):
        raise ReportError(f"{path}: not a Deskline report")
    if "format" in document:
        try:
            check_document(document)
        except ReportError as exc:
            raise ReportError(f"{path}: {exc}") from None
        probes = {n: dict(p) for n, p in document["probes"].items()}
    elif isinstance(document.get("probes"), dict) and "findings" in document:  # a check answer: statuses only
        probes = {n: {"status": s, "error": None, "data": None} for n, s in document["probes"].items()}
    else:
        raise ReportError(f"{path}: not a Deskline report (no 'format': 'deskline-report')")
    return Side(source, str(document.get("report_id", "")), str(document.get("created", "")),
                str(document.get("host", "")), list(document.get("findings") or []), probes)


# ---------------------------------------------------------------------------------------- comparing

def _volatile(path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in VOLATILE)


def _handled(path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in HANDLED)


def _number_changed(path: str, a: float, b: float, tolerance: float) -> bool:
    if path.endswith("_percent"):
        return abs(b - a) > tolerance
    scale = max(abs(a), abs(b))
    return scale > 0 and abs(b - a) > scale * tolerance / 100


def _is_number(v: Any) -> TypeGuard[int | float]:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return repr(value) if value else "''"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 80 else text[:79] + "…"
    return str(value)


def _record_key(path: str, items: Sequence[Any]) -> tuple[str, ...] | None:
    if path in RECORD_KEYS:
        return RECORD_KEYS[path]
    dicts = [i for i in items if isinstance(i, dict)]
    if not dicts or len(dicts) != len(items):
        return None
    for key in _FALLBACK_KEYS:
        if all(key in d for d in dicts):
            return (key,)
    return None


def _ident(item: Mapping[str, Any], key: tuple[str, ...]) -> str:
    return ":".join(str(item.get(k)) for k in key)


class _Comparer:
    def __init__(self, tolerance: float, everything: bool) -> None:
        self.tolerance = tolerance
        self.everything = everything
        self.changes: list[Change] = []

    def add(self, kind: str, probe: str, path: str, before: Any, after: Any, text: str) -> None:
        self.changes.append(Change(kind, probe, path, before, after, text))

    def value(self, probe: str, pattern: str, shown: str, a: Any, b: Any) -> None:
        """Compare two values at ``pattern`` (list items as ``[]``) shown to people as ``shown``."""
        if (not self.everything and _volatile(pattern)) or _handled(pattern) or a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in list(dict.fromkeys([*a, *b])):
                self.value(probe, f"{pattern}.{k}", f"{shown}.{k}", a.get(k), b.get(k))
            return
        if isinstance(a, list) and isinstance(b, list):
            self.sequence(probe, pattern, shown, a, b)
            return
        if _is_number(a) and _is_number(b):
            if _number_changed(pattern, float(a), float(b), self.tolerance):
                self.add("field", probe, shown, a, b, f"{shown}: {_show(a)} → {_show(b)}")
            return
        self.add("field", probe, shown, a, b, f"{shown}: {_show(a)} → {_show(b)}")

    def sequence(self, probe: str, pattern: str, shown: str, a: list[Any], b: list[Any]) -> None:
        key = _record_key(pattern, a + b)
        if key is None:
            if all(not isinstance(v, dict | list) for v in a + b):
                added = [v for v in b if v not in a]
                removed = [v for v in a if v not in b]
                for v in added:
                    self.add("item_added", probe, shown, None, v, f"{shown}: + {_show(v)}")
                for v in removed:
                    self.add("item_removed", probe, shown, v, None, f"{shown}: − {_show(v)}")
                return
            self.add("field", probe, shown, a, b, f"{shown}: {len(a)} → {len(b)} items (changed)")
            return
        before = {_ident(i, key): i for i in a}
        after = {_ident(i, key): i for i in b}
        for ident, item in after.items():
            if ident not in before:
                self.add("item_added", probe, f"{shown}[{ident}]", None, item, f"{shown}: + {ident}")
        for ident, item in before.items():
            if ident not in after:
                self.add("item_removed", probe, f"{shown}[{ident}]", item, None, f"{shown}: − {ident}")
            else:
                self.value(probe, f"{pattern}[]", f"{shown}[{ident}]", item, after[ident])


def version_order(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is older, the same or newer than ``b``: a rough Debian-style comparison (epoch,
    then digit and non-digit runs; ``~`` sorts before everything, even the end: 1.0~rc1 < 1.0)."""

    def parts(v: str) -> tuple[int, list[tuple[int, Any]]]:
        epoch, colon, rest = v.partition(":")
        if not colon or not epoch.isdigit():
            epoch, rest = "0", v
        tokens: list[tuple[int, Any]] = []
        for tok in re.findall(r"\d+|~|[^\d~]+", rest):
            tokens.append((3, int(tok)) if tok.isdigit() else (0, tok) if tok == "~" else (2, tok))
        return int(epoch), [*tokens, (1, "")]

    pa, pb = parts(a), parts(b)
    if pa == pb:
        return 0
    return -1 if pa < pb else 1


def _findings(c: _Comparer, a: Side, b: Side) -> None:
    def key(f: Mapping[str, Any]) -> tuple[str, str]:
        return str(f.get("id")), str(f.get("subject") or "")

    before = {key(f): f for f in a.findings}
    after = {key(f): f for f in b.findings}
    for k, f in after.items():
        label = f"[{f.get('severity')}] {f.get('title')}"
        if k not in before:
            c.add("finding_appeared", str(f.get("probe", "")), "findings", None, f, f"appeared: {label}")
        elif before[k].get("severity") != f.get("severity"):
            c.add("finding_changed", str(f.get("probe", "")), "findings", before[k], f,
                  f"{before[k].get('severity')} → {f.get('severity')}: {f.get('title')}")
    for k, f in before.items():
        if k not in after:
            c.add("finding_resolved", str(f.get("probe", "")), "findings", f, None,
                  f"resolved: [{f.get('severity')}] {f.get('title')}")


def _disks(c: _Comparer, a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
    before = {fs.get("mount_point"): fs for fs in a.get("filesystems") or [] if isinstance(fs, dict)}
    after = {fs.get("mount_point"): fs for fs in b.get("filesystems") or [] if isinstance(fs, dict)}
    for mount, fs in after.items():
        old = before.get(mount)
        if old is None:
            continue  # a new mount is reported with the other list changes
        raw_a, raw_b = old.get("used_percent"), fs.get("used_percent")
        if not (_is_number(raw_a) and _is_number(raw_b)):
            continue
        pa, pb = float(raw_a), float(raw_b)
        if abs(pb - pa) > c.tolerance:
            kind = "disk_filling" if pb > pa else "disk_freed"
            free = ""
            if _is_number(old.get("free_bytes")) and _is_number(fs.get("free_bytes")):
                free = f" (free {human_bytes(old['free_bytes'])} → {human_bytes(fs['free_bytes'])})"
            verb = "filling" if pb > pa else "freed"
            c.add(kind, "disks", f"disks.filesystems[{mount}].used_percent", pa, pb,
                  f"{mount} {verb}: {pa:g} % → {pb:g} % used{free}")


def _services(c: _Comparer, a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
    before = {s.get("name"): s for s in a.get("failed") or [] if isinstance(s, dict)}
    after = {s.get("name"): s for s in b.get("failed") or [] if isinstance(s, dict)}
    for name, s in after.items():
        if name not in before:
            detail = ", ".join(str(s[k]) for k in ("description", "result") if s.get(k))
            c.add("service_failed", "services", f"services.failed[{name}]", None, s,
                  f"newly failed: {name}" + (f" ({detail})" if detail else ""))
    for name, s in before.items():
        if name not in after:
            c.add("service_recovered", "services", f"services.failed[{name}]", s, None, f"no longer failed: {name}")


def _packages(c: _Comparer, a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
    def index(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        out: dict[str, Mapping[str, Any]] = {}
        for p in data.get("packages") or []:
            if isinstance(p, dict):
                arch = p.get("arch")
                out[f"{p.get('name')}:{arch}" if arch else str(p.get("name"))] = p
        return out

    before, after = index(a), index(b)
    for name, p in after.items():
        old = before.get(name)
        if old is None:
            c.add("package_added", "software", f"software.packages[{name}]", None, p.get("version"),
                  f"added: {name} {p.get('version', '')}".rstrip())
        elif old.get("version") != p.get("version"):
            order = version_order(str(old.get("version", "")), str(p.get("version", "")))
            kind = {-1: "package_upgraded", 1: "package_downgraded"}.get(order, "package_changed")
            verb = {-1: "upgraded", 1: "DOWNGRADED"}.get(order, "changed")
            c.add(kind, "software", f"software.packages[{name}]", old.get("version"), p.get("version"),
                  f"{verb}: {name} {old.get('version')} → {p.get('version')}")
    for name, p in before.items():
        if name not in after:
            c.add("package_removed", "software", f"software.packages[{name}]", p.get("version"), None,
                  f"removed: {name} {p.get('version', '')}".rstrip())


def compare(a: Side, b: Side, tolerance: float = DEFAULT_TOLERANCE, everything: bool = False) -> list[Change]:
    """Every change from ``a`` to ``b``."""
    if tolerance < 0:
        raise UsageError("--tolerance must not be negative")
    c = _Comparer(tolerance, everything)
    _findings(c, a, b)
    for name in list(dict.fromkeys([*a.probes, *b.probes])):
        pa, pb = a.probes.get(name), b.probes.get(name)
        if pa is None or pb is None:
            c.add("probe_added" if pa is None else "probe_removed", name, name, None if pa is None else pa["status"],
                  None if pb is None else pb["status"],
                  f"{name}: only in {'the second' if pa is None else 'the first'} report")
            continue
        if pa.get("status") != pb.get("status"):
            reason = f" ({pb.get('error')})" if pb.get("status") != "ok" and pb.get("error") else ""
            c.add("probe_status", name, name, pa.get("status"), pb.get("status"),
                  f"{name}: {pa.get('status')} → {pb.get('status')}{reason}")
        da, db = pa.get("data"), pb.get("data")
        if not isinstance(da, dict) or not isinstance(db, dict):
            continue
        if name == "disks":
            _disks(c, da, db)
        elif name == "services":
            _services(c, da, db)
        elif name == "software":
            _packages(c, da, db)
        c.value(name, name, name, da, db)
    return c.changes


# ---------------------------------------------------------------------------------------- showing

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Findings", ("finding_appeared", "finding_changed", "finding_resolved")),
    ("Probes", ("probe_status", "probe_added", "probe_removed")),
    ("Disks", ("disk_filling", "disk_freed")),
    ("Services", ("service_failed", "service_recovered")),
    ("Packages", ("package_added", "package_removed", "package_upgraded", "package_downgraded", "package_changed")),
    ("Other changes", ("field", "item_added", "item_removed")),
)


def _heading(a: Side, b: Side) -> Iterator[str]:
    yield f"From {a.source} ({a.created or 'undated'}, report {a.report_id[:8] or '?'})"
    yield f"  to {b.source} ({b.created or 'undated'}, report {b.report_id[:8] or '?'})"
    if a.host and b.host and a.host != b.host:
        yield f"Note: these are reports of two hosts ({a.host} and {b.host})."


def to_text(a: Side, b: Side, changes: Sequence[Change], limit: int | None = TEXT_LIMIT) -> str:
    lines = list(_heading(a, b))
    if not changes:
        lines.append("No changes (within the tolerance).")
        return "\n".join(lines) + "\n"
    for title, kinds in SECTIONS:
        chosen = [ch for ch in changes if ch.kind in kinds]
        if not chosen:
            continue
        lines += ["", f"{title} ({len(chosen)})"]
        shown = chosen if limit is None else chosen[:limit]
        lines += [f"  {ch.text}" for ch in shown]
        if len(shown) < len(chosen):
            lines.append(f"  … and {len(chosen) - len(shown)} more (--format json lists all)")
    return "\n".join(lines) + "\n"


def to_json(a: Side, b: Side, changes: Sequence[Change]) -> str:
    def meta(s: Side) -> dict[str, str]:
        return {"source": s.source, "report_id": s.report_id, "created": s.created, "host": s.host}

    counts: dict[str, int] = {}
    for ch in changes:
        counts[ch.kind] = counts.get(ch.kind, 0) + 1
    return json.dumps({"from": meta(a), "to": meta(b), "counts": counts, "changes": [asdict(ch) for ch in changes]},
                      ensure_ascii=False, indent=1) + "\n"


def run_diff(first: str, second: str, fmt: str = "text", tolerance: float = DEFAULT_TOLERANCE,
             everything: bool = False) -> int:
    """``deskline-agent diff A B``: 0 no changes, 1 changes, 2 bad input (as ``diff``)."""
    import sys

    try:
        a, b = load(Path(first)), load(Path(second))
        changes = compare(a, b, tolerance, everything)
    except (ReportError, UsageError) as exc:
        print(f"deskline-agent diff: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's error line
        return 2
    sys.stdout.write(to_json(a, b, changes) if fmt == "json" else to_text(a, b, changes,
                                                                             None if everything else TEXT_LIMIT))
    return 1 if changes else 0
