"""Readable renderings of a report: Markdown and HTML, findings first, then one section per probe.

Both are built from the same intermediate form (:func:`sections`), which reads the report document
and the probes' field tables (for units and meaning), so a report collected remotely by the agent
renders the same as a local one. Long lists are cut to :data:`MAX_ROWS` rows with a note; the whole
data stays in ``report.json``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from desktop.diagnostics.base import FieldInfo
from desktop.diagnostics.findings import human_bytes, human_duration
from desktop.diagnostics.registry import probes

MAX_ROWS = 25
SEVERITY_LABEL = {"critical": "Critical", "warning": "Warning", "info": "Info"}


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    more: int = 0


@dataclass
class Section:
    name: str
    title: str
    status: str
    error: str | None
    duration_ms: float
    rows: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@cache
def _field_tables() -> dict[str, dict[str, FieldInfo]]:
    return {p.name: {f.name: f for f in p.fields} for p in probes()}


def format_value(value: Any, unit: str = "") -> str:
    """A value as a person reads it, using its declared unit."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if not value:
            return "—"
        if all(not isinstance(v, dict | list) for v in value):
            shown = ", ".join(format_value(v, unit) for v in value[:MAX_ROWS * 2])
            return shown + (f", … ({len(value) - MAX_ROWS * 2} more)" if len(value) > MAX_ROWS * 2 else "")
        return f"{len(value)} items"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "—"
    if isinstance(value, int | float):
        if unit == "bytes":
            return human_bytes(value)
        if unit == "s" and abs(value) >= 120:
            return f"{human_duration(value)} ({value:g} s)"
        if isinstance(value, float):
            text = f"{value:,.1f}".rstrip("0").rstrip(".")
        else:  # identifiers (PIDs, UIDs) have no unit and read wrong with thousands separators
            text = f"{value:,}" if unit else str(value)
        return f"{text} {unit}".rstrip() if unit else text
    return str(value)


_ACRONYMS = {
    "os": "OS", "cpu": "CPU", "ip": "IP", "ipv4": "IPv4", "ipv6": "IPv6", "dns": "DNS", "ntp": "NTP",
    "utc": "UTC", "fqdn": "FQDN", "id": "ID", "lc": "LC", "psi": "PSI", "ac": "AC", "mac": "MAC", "mtu": "MTU",
    "tcp": "TCP", "tls": "TLS", "http": "HTTP", "url": "URL", "pid": "PID", "ppid": "PPID", "uid": "UID",
    "rss": "RSS", "io": "I/O", "dpkg": "dpkg", "rpm": "RPM", "cups": "CUPS", "edid": "EDID",
    "vm": "VM", "uuid": "UUID", "ssid": "SSID", "gpu": "GPU",
}
#: Name endings that only repeat the unit, which the value already shows.
_UNIT_SUFFIXES = ("_percent", "_bytes", "_seconds", "_mhz", "_ms", "_mb", "_kb", "_celsius", "_rpm", "_minutes",
                  "_mbps")


def _labels(names: Sequence[str]) -> dict[str, str]:
    """Headings for sibling fields; where dropping the unit word makes two alike, the unit word stays."""
    short = {n: _label(n) for n in names}
    counts: dict[str, int] = {}
    for label in short.values():
        counts[label] = counts.get(label, 0) + 1
    return {n: (_label(n, keep_unit=True) if counts[short[n]] > 1 else short[n]) for n in names}


def _label(name: str, keep_unit: bool = False) -> str:
    """A field name as a heading: ``utc_offset_minutes`` -> ``UTC offset``."""
    if keep_unit:
        for suffix in _UNIT_SUFFIXES:
            if name.endswith(suffix):
                base = _label(name[: -len(suffix)])
                return f"{base} ({'%' if suffix == '_percent' else suffix[1:]})"
    for suffix in _UNIT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    words = [_ACRONYMS.get(w, w) for w in name.split("_")]
    first = words[0] if words[0] != words[0].lower() else words[0].capitalize()
    return " ".join([first, *words[1:]])


def sections(document: Mapping[str, Any]) -> list[Section]:
    """One section per probe of ``document``, in report order."""
    tables = _field_tables()
    out = []
    for name, entry in document.get("probes", {}).items():
        sec = Section(name, entry.get("title", name), entry["status"], entry.get("error"),
                      float(entry.get("duration_ms", 0)))
        data = entry.get("data")
        info = tables.get(name, {})
        if isinstance(data, dict):
            labels = _labels(list(data))
            for key, value in data.items():
                unit = info[key].unit if key in info else ""
                if isinstance(value, list) and value and isinstance(value[0], dict):
                    sec.tables.append(_table(key, value, info, key))
                elif isinstance(value, dict) and value:
                    sec.tables.append(Table(labels[key], ["Name", "Value"],
                                            [[str(k), str(v)] for k, v in list(value.items())[:MAX_ROWS]],
                                            max(0, len(value) - MAX_ROWS)))
                else:
                    sec.rows.append((labels[key], format_value(value, unit)))
        out.append(sec)
    return out


def _table(key: str, items: Sequence[Mapping[str, Any]], info: Mapping[str, FieldInfo], path: str) -> Table:
    columns = [c for c in items[0] if not isinstance(items[0][c], list | dict)]
    rows = []
    for item in items[:MAX_ROWS]:
        rows.append([format_value(item.get(c), info[f"{path}[].{c}"].unit if f"{path}[].{c}" in info else "")
                     for c in columns])
    labels = _labels(columns)
    return Table(_label(key), [labels[c] for c in columns], rows, max(0, len(items) - MAX_ROWS))


def show_subject(finding: Mapping[str, Any]) -> bool:
    """Whether a finding's subject adds anything its title does not already say."""
    subject = finding.get("subject") or ""
    return bool(subject) and subject not in finding.get("title", "")


def _header_facts(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    app = document.get("app", {})
    return [
        ("Report", str(document.get("report_id", ""))),
        ("Created", str(document.get("created", ""))),
        ("Host", str(document.get("host", ""))),
        ("Platform", str(document.get("platform", ""))),
        ("Collected by", f"Deskline {app.get('version', '?')} ({document.get('collector', 'local')})"),
        ("Collection time", format_value(document.get("timings", {}).get("total_ms"), "ms")),
    ]


def _masking_summary(document: Mapping[str, Any]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for m in document.get("redaction", {}).get("maskings", []):
        counts[m["kind"]] = counts.get(m["kind"], 0) + int(m.get("count", 1))
    return sorted(counts.items())


# ---------------------------------------------------------------------------------------------- Markdown

def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(document: Mapping[str, Any]) -> str:
    """The report as Markdown: header facts, findings, probe sections, redaction, attachments."""
    lines = [f"# Deskline report: {document.get('host', '')}", ""]
    lines += [f"- **{k}:** {v}" for k, v in _header_facts(document)]
    lines += ["", "## Findings", ""]
    found = document.get("findings", [])
    if not found:
        lines.append("No problems found.")
    for f in found:
        subject = f" ({f['subject']})" if show_subject(f) else ""
        lines.append(f"- **{SEVERITY_LABEL.get(f['severity'], f['severity'])}: {f['title']}**{subject}. "
                     f"{f['detail']} *Next step:* {f['next_step']}")
    for sec in sections(document):
        lines += ["", f"## {sec.title}", ""]
        if sec.status != "ok":
            lines.append(f"*{sec.status.capitalize()}: {sec.error}*")
            continue
        if sec.rows:
            lines += ["| Field | Value |", "|---|---|"]
            lines += [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in sec.rows]
        for t in sec.tables:
            lines += ["", f"**{t.title}**", ""]
            if not t.rows:
                lines.append("none")
                continue
            lines.append("| " + " | ".join(_md_cell(c) for c in t.columns) + " |")
            lines.append("|" + "---|" * len(t.columns))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows]
            if t.more:
                lines.append(f"\n… and {t.more} more in report.json")
    lines += ["", "## Redaction", ""]
    masked = _masking_summary(document)
    if masked:
        lines.append("Masked before leaving the machine: " + ", ".join(f"{k} × {n}" for k, n in masked) + ".")
    else:
        lines.append("Nothing needed masking.")
    if document.get("redaction", {}).get("pseudonymized"):
        lines.append("User names, host names, e-mail and IP addresses are replaced by consistent placeholders.")
    atts = document.get("attachments", [])
    if atts:
        lines += ["", "## Attachments", ""]
        lines += [f"- {a['name']} ({human_bytes(a['size'])}, sha256 {a['sha256'][:12]}…)" for a in atts]
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------------------------------- HTML

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:72em;
color:#1d2125;background:#fff;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #dde;padding-bottom:.2em;
margin-top:1.6em}dl.facts{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;color:#444}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.wide{overflow-x:auto;max-width:100%}table{border-collapse:collapse;margin:.4em 0 1em;font-size:13px}
td{overflow-wrap:break-word;max-width:48em}th,td{border:1px solid #dde;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f4f5f7}td.num{text-align:right}
.finding{border-left:6px solid #888;background:#f8f9fa;padding:.5em .9em;margin:.5em 0;border-radius:4px}
.finding.critical{border-color:#c62828;background:#fdecea}.finding.warning{border-color:#ef8f00;
background:#fff4e0}.finding.info{border-color:#1e6bb8;background:#eaf2fb}
.finding .sev{font-weight:700;text-transform:uppercase;font-size:11px;letter-spacing:.05em}
.finding .next{margin-top:.3em}.ok{color:#2e7d32}.bad{color:#c62828}.muted{color:#666}
@media (prefers-color-scheme:dark){body{background:#16181b;color:#e6e6e6}th{background:#23272b}
th,td{border-color:#333a40}.finding{background:#202326}.finding.critical{background:#3a1f1f}
.finding.warning{background:#3a2f1a}.finding.info{background:#1a2a3a}dl.facts{color:#bbb}}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def findings_html(found: Sequence[Mapping[str, Any]]) -> list[str]:
    """Findings as coloured boxes, worst first as given; tolerant of a remote answer's missing keys."""
    if not found:
        return ['<p class="ok">No problems found.</p>']
    out = []
    for f in found:
        severity = f.get("severity", "")
        subject = f' <span class="muted">({_e(f["subject"])})</span>' if show_subject(f) else ""
        out.append(
            f'<div class="finding {_e(severity)}"><div class="sev">{_e(SEVERITY_LABEL.get(severity, ""))}'
            f"</div><strong>{_e(f.get('title', ''))}</strong>{subject}<div>{_e(f.get('detail', ''))}</div>"
            f"<div class=\"next\"><strong>Next step:</strong> {_e(f.get('next_step', ''))}</div></div>"
        )
    return out


def sections_html(document: Mapping[str, Any], heading: int = 2, anchor: str = "probe",
                  source: str = "report.json") -> list[str]:
    """One section per probe: ``<h{heading}>`` titles with ids ``{anchor}-{name}``, tables one level
    lower; ``source`` names where the rows cut at :data:`MAX_ROWS` can be read whole."""
    out = []
    for sec in sections(document):
        out.append(f'<h{heading} id="{_e(anchor)}-{_e(sec.name)}">{_e(sec.title)}</h{heading}>')
        if sec.status != "ok":
            out.append(f'<p class="bad">{_e(sec.status.capitalize())}: {_e(sec.error)}</p>')
            continue
        if sec.rows:
            out.append("<table>")
            out += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in sec.rows]
            out.append("</table>")
        for t in sec.tables:
            out.append(f"<h{heading + 1}>{_e(t.title)}</h{heading + 1}>")
            if not t.rows:
                out.append('<p class="muted">none</p>')
                continue
            out.append('<div class="wide"><table><tr>' + "".join(f"<th>{_e(c)}</th>" for c in t.columns) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in t.rows]
            out.append("</table></div>")
            if t.more:
                out.append(f'<p class="muted">… and {t.more} more in {_e(source)}</p>')
    return out


def to_html(document: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page (no scripts, no external resources)."""
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width,initial-scale=1">',
           f"<title>Deskline report: {_e(document.get('host', ''))}</title><style>{CSS}</style></head><body>",
           f"<h1>Deskline report: {_e(document.get('host', ''))}</h1>", '<dl class="facts">']
    out += [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _header_facts(document)]
    out.append("</dl><h2>Findings</h2>")
    out += findings_html(document.get("findings") or [])
    out += sections_html(document)
    out.append("<h2>Redaction</h2>")
    masked = _masking_summary(document)
    out.append("<p>" + (_e("Masked before leaving the machine: " + ", ".join(f"{k} × {n}" for k, n in masked) + ".")
                        if masked else "Nothing needed masking.") + "</p>")
    atts = document.get("attachments", [])
    if atts:
        out.append("<h2>Attachments</h2><ul>")
        out += [f"<li>{_e(a['name'])} ({_e(human_bytes(a['size']))}, sha256 <code>{_e(a['sha256'][:12])}…</code>)</li>"
                for a in atts]
        out.append("</ul>")
    out.append("</body></html>\n")
    return "".join(out)
