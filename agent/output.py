"""What a fleet run shows: a table, JSON lines, or one HTML page; and the progress bar on stderr.

* table: one row per host (host, status, time, key figures or findings, or why it failed) and a total;
* JSON lines: one object per host with its name, address, mode, status, exit code, time and the whole
  answer document (:meth:`agent.console.HostResult.to_json`);
* HTML: a summary table linking to one section per host; reports render as the local report page does
  (findings first, then the probes, from :func:`desktop.diagnostics.render.sections`).
"""

from __future__ import annotations

import html
import json
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any

from agent.console import HostResult
from desktop.diagnostics import render
from desktop.diagnostics.findings import SEVERITIES
from desktop.diagnostics.registry import probes

FORMATS = ("table", "jsonl", "html")
#: Up to this many fields of a probe are shown as its key figures in the table.
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "system": ("os_name", "uptime_seconds"),
    "cpu": ("usage_percent", "load_1"),
    "memory": ("used_percent", "available_bytes"),
    "network": ("interfaces_total", "default_routes"),
    "processes": ("total", "zombies"),
    "services": ("failed_total",),
    "software": ("package_count", "recent_packages"),
    "logs": ("total",),
    "power": ("percent", "ac_connected"),
    "sensors": ("temperatures_total",),
    "users": ("user", "session_count"),
    "displays": ("monitor_count",),
    "printers": ("printer_count", "queued_jobs"),
}
STATUS_TEXT = {
    "ok": "ok", "failed": "refused by host", "refused": "no answer", "unreachable": "unreachable",
    "host_key_unknown": "host key unknown", "host_key_changed": "HOST KEY CHANGED", "auth_failed": "auth failed",
    "timeout": "timeout", "bad_answer": "bad answer", "error": "error",
}


def _units() -> dict[str, dict[str, str]]:
    return {p.name: {f.name: f.unit for f in p.fields} for p in probes()}


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def findings_summary(findings: Sequence[Mapping[str, Any]]) -> str:
    """``1 critical, 2 warnings: Disk / almost full`` (the worst finding's title), or ``no findings``."""
    if not findings:
        return "no findings"
    counts = {s: sum(1 for f in findings if f.get("severity") == s) for s in SEVERITIES}
    words = [f"{n} {s}{'s' if n > 1 and s == 'warning' else ''}" for s, n in counts.items() if n]
    return f"{', '.join(words)}: {findings[0].get('title', '')}"


def _disk_figure(data: Mapping[str, Any]) -> str:
    fss = [f for f in data.get("filesystems") or [] if isinstance(f, dict) and f.get("used_percent") is not None]
    if not fss:
        return ""
    fullest = max(fss, key=lambda f: f["used_percent"])
    return f"fullest {fullest.get('mount_point')} {fullest['used_percent']:g} %"


def probe_figures(name: str, entry: Mapping[str, Any], units: Mapping[str, Mapping[str, str]]) -> str:
    """A probe's key figures: ``cpu: usage 53.8 %, load 1 0.69``; or its status and reason."""
    if entry.get("status") != "ok":
        return f"{name}: {entry.get('status')} ({entry.get('error') or 'no reason'})"
    data = entry.get("data") or {}
    if name == "disks":
        figure = _disk_figure(data)
        return f"{name}: {figure}" if figure else name
    fields = KEY_FIELDS.get(name) or tuple(k for k, v in data.items() if isinstance(v, int | float | str))[:2]
    parts = []
    for key in fields:
        if key not in data:
            continue
        value = render.format_value(data[key], units.get(name, {}).get(key, ""))
        label = key
        for suffix in ("_percent", "_bytes", "_seconds", "_total", "_count"):
            label = label.removesuffix(suffix)
        parts.append(f"{label.replace('_', ' ')} {value}")
    return f"{name}: {', '.join(parts)}" if parts else name


def key_figures(result: HostResult, units: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """What the table shows for a host: the answer's gist, or why there is none."""
    doc = result.document
    if not result.ok or doc is None:
        error = result.error or ""
        if error.startswith(result.target.name) and ": " in error:
            error = error.split(": ", 1)[1]  # the table's first column names the host already
        return error
    res = doc.get("result")
    command = doc.get("command")
    if command == "ping" and isinstance(res, dict):
        return f"{res.get('agent', 'agent')} {res.get('version', '?')} on {res.get('platform', '?')}"
    if command == "probes" and isinstance(res, list):
        return f"{len(res)} probes: " + ", ".join(str(p.get("name")) for p in res)
    if command == "logs" and isinstance(res, dict):
        data = res.get("data") or {}
        return f"{data.get('total', 0)} log entries ({data.get('source', '?')})" if res.get("status") == "ok" \
            else f"logs {res.get('status')}: {res.get('error')}"
    if not isinstance(res, dict):
        return ""
    summary = findings_summary(res.get("findings") or [])
    probes_doc = res.get("probes") or {}
    if command == "check":
        bad = [n for n, s in probes_doc.items() if s != "ok"]
        return summary + (f"; probes not ok: {', '.join(bad)}" if bad else "")
    if command == "report":
        bad = [n for n, p in probes_doc.items() if p.get("status") != "ok"]
        return f"{len(probes_doc)} probes" + (f" ({len(bad)} not ok: {', '.join(bad)})" if bad else "") \
            + f"; {summary}"
    units = units if units is not None else _units()
    figures = [probe_figures(n, p, units) for n, p in probes_doc.items()]
    return "; ".join([*figures, summary])


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 10000 else f"{ms / 1000:.1f} s"


def totals(results: Sequence[HostResult]) -> str:
    """``3 hosts: 2 ok, 1 unreachable``."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    parts = [f"{n} {STATUS_TEXT.get(s, s)}" for s, n in sorted(counts.items(), key=lambda kv: kv[0] != "ok")]
    return f"{len(results)} host{'s' if len(results) != 1 else ''}: " + ", ".join(parts)


#: Hosts whose whole error text follows the table when the table had to cut it.
MAX_FULL_ERRORS = 20


def to_table(results: Sequence[HostResult], width: int | None = None) -> str:
    """A plain-text table (fits ``width`` columns; the terminal's width by default)."""
    width = width or shutil.get_terminal_size((140, 24)).columns
    units = _units()
    rows = [(r.target.name, STATUS_TEXT.get(r.status, r.status) + (f" ({r.exit})" if r.status in (
        "failed", "refused") and r.exit is not None else ""), _duration(r.duration_ms), key_figures(r, units))
        for r in results]
    head = ("HOST", "STATUS", "TIME", "DETAILS")
    w = [max(len(head[i]), *(len(row[i]) for row in rows)) if rows else len(head[i]) for i in range(3)]
    rest = max(20, width - sum(w) - 6)
    lines = [f"{head[0]:<{w[0]}}  {head[1]:<{w[1]}}  {head[2]:>{w[2]}}  {head[3]}"]
    lines += [f"{a:<{w[0]}}  {b:<{w[1]}}  {c:>{w[2]}}  {_short(d, rest)}" for a, b, c, d in rows]
    lines.append(totals(results))
    # a cut-off error hides what to do (the trust command, the setting to fix): say it whole below
    cut = [(row[0], row[3]) for row, r in zip(rows, results, strict=True) if not r.ok and len(row[3]) > rest]
    if cut:
        lines.append("")
        lines += [f"{host}: {detail}" for host, detail in cut[:MAX_FULL_ERRORS]]
        if len(cut) > MAX_FULL_ERRORS:
            lines.append(f"... and {len(cut) - MAX_FULL_ERRORS} more (see --format jsonl)")
    return "\n".join(lines) + "\n"


def to_jsonl(results: Sequence[HostResult]) -> str:
    """One JSON object per host and line."""
    return "".join(r.json_line() for r in results)


# -------------------------------------------------------------------------------------------- HTML

def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


_EXTRA_CSS = ".host{border-top:3px solid #dde;margin-top:2.5em}.status-ok{color:#2e7d32}" \
             ".status-bad{color:#c62828;font-weight:600}pre{white-space:pre-wrap;font-size:12px}"


def _report_html(document: Mapping[str, Any], anchor: str) -> list[str]:
    """A report's findings and probe sections, as the local report page shows them, one heading lower."""
    return ["<h3>Findings</h3>", *render.findings_html(document.get("findings") or []),
            *render.sections_html(document, heading=3, anchor=f"{anchor}-probe", source="the JSON answer")]


def _host_html(index: int, result: HostResult) -> list[str]:
    anchor = f"host-{index}"
    cls = "status-ok" if result.ok else "status-bad"
    out = [f'<section class="host" id="{anchor}"><h2>{_e(result.target.name)} '
           f'<span class="{cls}">{_e(STATUS_TEXT.get(result.status, result.status))}</span></h2>',
           '<dl class="facts">',
           f"<dt>Address</dt><dd>{_e(result.target.address)}</dd><dt>Mode</dt><dd>{_e(result.mode)}</dd>",
           f"<dt>Time</dt><dd>{_e(_duration(result.duration_ms))}</dd>"]
    if result.exit is not None:
        out.append(f"<dt>Exit code</dt><dd>{_e(result.exit)}</dd>")
    doc = result.document or {}
    res = doc.get("result")
    if isinstance(res, dict) and res.get("format") == "deskline-report":
        out += [f"<dt>Report</dt><dd>{_e(res.get('report_id', ''))}</dd>",
                f"<dt>Created</dt><dd>{_e(res.get('created', ''))}</dd>",
                f"<dt>Host name</dt><dd>{_e(res.get('host', ''))}</dd>",
                f"<dt>Platform</dt><dd>{_e(res.get('platform', ''))}</dd>"]
    out.append("</dl>")
    if result.error:
        out.append(f'<p class="bad">{_e(result.error)}</p>')
    if isinstance(res, dict) and res.get("format") == "deskline-report":
        out += _report_html(res, anchor)
    elif doc.get("command") == "check" and isinstance(res, dict):
        out += ["<h3>Findings</h3>", *render.findings_html(res.get("findings") or []), "<h3>Probes</h3><table>"]
        out += [f"<tr><th>{_e(n)}</th><td>{_e(s)}</td></tr>" for n, s in (res.get("probes") or {}).items()]
        out.append("</table>")
    elif doc.get("ok") and res is not None:
        text = json.dumps(res, ensure_ascii=False, indent=1)
        out.append(f"<pre>{_e(text[:200_000])}</pre>")
    out.append("</section>")
    return out


def to_html(results: Sequence[HostResult], title: str) -> str:
    """One self-contained page (no scripts, no external resources): summary, then a section per host."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width,initial-scale=1">',
           f"<title>{_e(title)}</title><style>{render.CSS}{_EXTRA_CSS}</style></head><body>",
           f"<h1>{_e(title)}</h1><p class=\"muted\">{_e(stamp)}: {_e(totals(results))}</p>",
           "<table><tr><th>Host</th><th>Status</th><th>Time</th><th>Details</th></tr>"]
    units = _units()
    for i, r in enumerate(results):
        cls = "status-ok" if r.ok else "status-bad"
        out.append(f'<tr><td><a href="#host-{i}">{_e(r.target.name)}</a></td><td class="{cls}">'
                   f"{_e(STATUS_TEXT.get(r.status, r.status))}</td><td class=\"num\">{_e(_duration(r.duration_ms))}"
                   f"</td><td>{_e(_short(key_figures(r, units), 300))}</td></tr>")
    out.append("</table>")
    for i, r in enumerate(results):
        out += _host_html(i, r)
    out.append("</body></html>\n")
    return "".join(out)


def render_results(results: Sequence[HostResult], fmt: str, title: str = "Deskline run") -> str:
    if fmt == "table":
        return to_table(results)
    if fmt == "jsonl":
        return to_jsonl(results)
    if fmt == "html":
        return to_html(results, title)
    raise ValueError(f"unknown format {fmt!r}")


class ProgressBar:
    """``[#####.....]  12/40 hosts  2 not ok`` on one stderr line, redrawn as hosts finish; only on a terminal."""

    def __init__(self, stream: IO[str] | None = None, enabled: bool | None = None, width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.width = width
        self.bad = 0

    def __call__(self, result: HostResult, done: int, total: int) -> None:
        if not self.enabled:
            return
        if not result.ok:
            self.bad += 1
        filled = self.width * done // max(1, total)
        bar = "#" * filled + "." * (self.width - filled)
        bad = f"  {self.bad} not ok" if self.bad else ""
        self.stream.write(f"\r[{bar}] {done}/{total} hosts{bad}  {_short(result.target.name, 30):<30}")
        if done == total:
            self.stream.write("\r" + " " * (self.width + 70) + "\r")
        self.stream.flush()
