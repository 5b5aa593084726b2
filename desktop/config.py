"""Settings: one schema, one TOML file format.

Every setting is declared once in :data:`SCHEMA` with its type, default, title, description and whether
IT policy may lock it. The user's file lives in the platform's config directory (platformdirs), or is
named by ``--config FILE`` or ``DESKLINE_CONFIG``. A wrong key, type or value is reported with its file
and line; unknown keys are errors, never silently ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.errors import ConfigError

#: The format version written into new files; older files are migrated on load.
CONFIG_VERSION = 1
ENV_VAR = "DESKLINE_CONFIG"
POLICY_ENV_VAR = "DESKLINE_POLICY"
#: Kinds of item in a report, as ``report.review_skip`` names them.
REVIEW_KINDS = ("summary", "findings", "system_report", "attachments", "screenshots")
#: Shown beside a locked setting when the policy file gives no reason of its own.
DEFAULT_LOCK_REASON = "Set by your organisation's IT policy."


@dataclass(frozen=True)
class Setting:
    """One declared setting. ``type`` is one of bool, int, float, str, list (of str), dict (str to number)."""

    key: str
    type: type
    default: Any
    title: str
    description: str
    lockable: bool = True
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    #: For a list setting: what is wrong with one item (with a hint), or None when it is fine.
    item_check: Callable[[str], str | None] | None = None

    def bad_item(self, value: Any) -> tuple[str, str] | None:
        """The first item of a list ``value`` that ``item_check`` refuses, and why; None when all pass."""
        if self.item_check is not None and isinstance(value, list):
            for item in value:
                problem = self.item_check(item) if isinstance(item, str) else None
                if problem:
                    return item, problem
        return None

    def check(self, value: Any) -> str | None:
        """None when ``value`` fits this setting, else what is wrong with it, in words."""
        t = self.type
        if t is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"expected a number, got {_kind(value)}"
        elif t is int:
            if isinstance(value, bool) or not isinstance(value, int):
                return f"expected a whole number, got {_kind(value)}"
        elif t is list:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return f"expected a list of strings, got {_kind(value)}"
        elif t is dict:
            if not isinstance(value, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()
            ):
                return f"expected a table of numbers, got {_kind(value)}"
        elif not isinstance(value, t):
            return f"expected {_KIND_NAMES.get(t, t.__name__)}, got {_kind(value)}"
        if self.choices and value not in self.choices:
            return f"{value!r} is not one of: {', '.join(self.choices)}"
        if isinstance(value, int | float) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                return f"{value} is below the minimum {self.minimum:g}"
            if self.maximum is not None and value > self.maximum:
                return f"{value} is above the maximum {self.maximum:g}"
        if t is dict:
            for k, v in value.items():
                if self.minimum is not None and v < self.minimum:
                    return f"{k} = {v} is below the minimum {self.minimum:g}"
        bad = self.bad_item(value)
        return bad[1] if bad else None


_KIND_NAMES = {bool: "true or false", str: "a string", int: "a whole number", float: "a number"}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _s(key: str, type_: type, default: Any, title: str, description: str, **kw: Any) -> Setting:
    return Setting(key, type_, default, title, description, **kw)


#: A key fingerprint as ``ssh-keygen -lf`` prints it and the agent compares it (agent.authkeys.fingerprint):
#: SHA256, then the 32-byte digest in unpadded base64, 43 characters whose last carries 2 zero bits.
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]")
_FINGERPRINT_IN = re.compile(r"(?<![A-Za-z0-9+/])SHA256:[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048](?![A-Za-z0-9+/=])")
_MD5_FINGERPRINT = re.compile(r"(?:MD5:)?[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){15}")
_HOW_TO_FINGERPRINT = "ssh-keygen -lf KEYFILE.pub prints it"


def fingerprint_problem(value: str) -> str | None:
    """None when ``value`` is a key fingerprint as the agent compares them (``SHA256:`` and 43 characters
    of unpadded base64, as ``ssh-keygen -lf`` prints), else what is wrong with it, with a hint: the
    fingerprint itself when ``value`` is a public key line or an ``ssh-keygen -lf`` line."""
    if _FINGERPRINT.fullmatch(value):
        return None
    shown = repr(value if len(value) <= 60 else value[:57] + "...")
    text = value.strip()
    if text != value and _FINGERPRINT.fullmatch(text):
        return f"{shown} has blanks around the fingerprint (did you mean {text!r}?)"
    if _MD5_FINGERPRINT.fullmatch(text):
        return (f"{shown} is an MD5 fingerprint: the agent compares SHA256 ones; "
                "ssh-keygen -E sha256 -lf KEYFILE.pub prints it")
    if text[:7].upper() == "SHA256:" and _FINGERPRINT.fullmatch("SHA256:" + text[7:].rstrip("=")):
        fixed = "SHA256:" + text[7:].rstrip("=")
        why = "is padded with '='" if text[:7] == "SHA256:" else "must start with SHA256: in capitals"
        return f"{shown} {why} (did you mean {fixed!r}?)"
    if _FINGERPRINT.fullmatch("SHA256:" + text.rstrip("=")):
        return f"{shown} lacks the SHA256: prefix (did you mean {'SHA256:' + text.rstrip('=')!r}?)"
    key_hint = _public_key_hint(text)
    if key_hint:
        return f"{shown} is not a key fingerprint: {key_hint}"
    found = _FINGERPRINT_IN.search(text)
    if found:
        return (f"{shown} is not a key fingerprint alone: an ssh-keygen -lf line? "
                f"its fingerprint is {found.group(0)!r}")
    if text.startswith("SHA256:"):
        digest = text[7:]
        if len(digest) != 43 or not re.fullmatch(r"[A-Za-z0-9+/]*", digest):
            return (f"{shown} is not a key fingerprint: after SHA256: come 43 characters of base64, "
                    f"not {len(digest)}{'' if re.fullmatch(r'[A-Za-z0-9+/]*', digest) else ' with others'} "
                    f"(cut short or mistyped? {_HOW_TO_FINGERPRINT})")
        return (f"{shown} cannot be a SHA256 fingerprint: no digest ends in {digest[-1]!r} "
                f"(mistyped? {_HOW_TO_FINGERPRINT})")
    return (f"{shown} is not a key fingerprint (a key's comment or a user name is not enough): give "
            f"SHA256: and 43 characters, as ssh-keygen -lf KEYFILE.pub prints")


def _public_key_hint(text: str) -> str | None:
    """What to say when ``text`` is a public key (an authorized_keys line, or only its base64): its
    fingerprint, or why the agent would not take that key; None when it is no key at all."""
    import base64
    import binascii

    # the agent owns the key format: parse as it parses authorized_keys (late: the agent imports this module)
    from agent.authkeys import KEY_TYPES, UNSUPPORTED_TYPES, AuthorizedKeysError, parse_line

    what = "a public key line?"
    if text.startswith("AAAA") and " " not in text:  # the base64 of a key, without its type
        what = "a public key's base64?"
        try:
            blob = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None
        key_type = blob[4:4 + int.from_bytes(blob[:4], "big")].decode("ascii", "replace")
        if key_type not in KEY_TYPES:
            return None
        text = f"{key_type} {text}"
    words = text.split()
    if not any(w in KEY_TYPES or w in UNSUPPORTED_TYPES or w.endswith("-cert-v01@openssh.com") for w in words):
        return None
    try:
        key = parse_line(text)
    except AuthorizedKeysError as exc:
        return f"{what} the agent cannot take that key: {exc}"
    if key is None:
        return None
    return f"{what} its fingerprint is {key.fingerprint!r}"


SCHEMA: tuple[Setting, ...] = (
    _s("version", int, CONFIG_VERSION, "File format version",
       "Written by Deskline; older files are migrated when read.", lockable=False, minimum=1),
    # -- the interface
    _s("ui.language", str, "system", "Language",
       "Language of the interface: 'system' follows the desktop's locale.", choices=("system", "en", "ru")),
    _s("ui.notifications", bool, True, "Notifications",
       "Show a desktop notification when a ticket changes status or gets a reply."),
    _s("kb.folder", str, "", "Organisation's articles",
       "A folder of the organisation's own help articles (Markdown, one subfolder per language: en, ru); "
       "they are searched with the bundled ones and replace a bundled article with the same id."),
    _s("tickets.refresh_minutes", float, 5.0, "Check tickets every",
       "How often the app asks the helpdesk about the user's open tickets (minutes).", minimum=1),
    # -- where reports go (the delivery connectors extend this table)
    _s("helpdesk.backend", str, "local", "Helpdesk",
       "Where reports go: 'local' keeps them in the local store, to export and hand over.",
       choices=("local", "django-helpdesk", "redmine", "rt", "zammad", "glpi", "jira", "email", "webhook")),
    _s("helpdesk.url", str, "", "Helpdesk address",
       "Base URL of the organisation's helpdesk; the network probe checks it can be reached."),
    _s("helpdesk.reporter_name", str, "", "Your name",
       "The name reports are filed under. Empty: the name you log in with."),
    _s("helpdesk.reporter_email", str, "", "Your e-mail address",
       "The address the helpdesk answers to (helpdesks that file tickets by e-mail address need it)."),
    _s("helpdesk.queue", str, "", "Queue",
       "Where new tickets go on the helpdesk: for django-helpdesk the queue's number (its id, shown in "
       "the address of the queue's page in the admin); for Redmine the project's identifier (as in "
       "/projects/IDENTIFIER), of a project the account may add issues to; for Request Tracker the queue's "
       "name; for Zammad the group's name; for GLPI the ITIL category's number (empty: none); for Jira "
       "Service Management the service desk's id or project key."),
    _s("helpdesk.token", str, "", "Helpdesk credential",
       "Where the API token (or, with helpdesk.username, the password) is kept: env:NAME for an "
       "environment variable or keyring:SERVICE/USER for the OS keyring. Never the secret itself."),
    _s("helpdesk.username", str, "", "Helpdesk user name",
       "Account to log in as with a password (basic authentication). Empty: helpdesk.token is an API token."),
    _s("helpdesk.timeout", float, 20.0, "Helpdesk timeout",
       "Seconds to wait for the helpdesk to connect and for each answer; then the report is retried later.",
       minimum=1, maximum=600),
    _s("helpdesk.verify_tls", bool, True, "Check the helpdesk's certificate",
       "Refuse a helpdesk whose TLS certificate is not trusted. Turn off only for a test server."),
    _s("helpdesk.ca_bundle", str, "", "Extra trusted certificates",
       "PEM file of the certificate authorities that signed the helpdesk's certificate, when they are not "
       "the system's (an organisation's own CA). Empty: the system's."),
    _s("helpdesk.proxy", str, "", "Proxy",
       "Proxy for the helpdesk's address, http://HOST:PORT. Empty: the system's proxy settings."),
    _s("helpdesk.attachment_extensions", list, [], "File types the helpdesk accepts",
       "File name endings (.json, .zip, ...) the helpdesk takes as attachments; others are refused before "
       "sending. Empty: the helpdesk's stock list (django-helpdesk 2.6: .txt .asc .pdf .doc .docx .odt "
       ".jpg .png .eml; its administrator can add more with HELPDESK_VALID_EXTENSIONS; Redmine: any)."),
    _s("helpdesk.max_upload_mb", float, 0.0, "Largest upload",
       "MiB the helpdesk (or the web server in front of it) accepts in one request; larger attachments are "
       "sent in parts or, a single file over it, refused. 0: the connector's default (django-helpdesk: 10; "
       "Redmine: 5, its stock 'Maximum attachment size' under Administration > Settings > Files; Request "
       "Tracker: 9.5, its $MaxAttachmentSize; Zammad: 50 per request, files base64-encoded; GLPI: 2, its "
       "document size under Setup > General; Jira: 10).",
       minimum=0, maximum=4096),
    _s("helpdesk.tracker", str, "", "Tracker",
       "Redmine: the tracker new issues get, by name (Bug, Feature, Support, ...). Empty: the project's "
       "first tracker, as Redmine chooses."),
    _s("jira.request_type", str, "", "Jira request type",
       "Jira Service Management: the id of the request type new requests get (a number, shown in the address "
       "of the request type's settings page: .../request-types/request-type/ID)."),
    _s("glpi.app_token", str, "", "GLPI application token",
       "GLPI: where the API client's App-Token is kept (env:NAME or keyring:SERVICE/USER), when the API "
       "client under Setup > General > API asks for one. Empty: none."),
    _s("zammad.tags", list, ["deskline"], "Zammad tags",
       "Zammad: tags every new ticket gets (the incident number is added to them)."),
    _s("rt.submission_field", str, "", "RT submission field",
       "Request Tracker: a ticket custom field (by name) that takes each report's submission id, so an "
       "interrupted report is found again without RT's full-text search. Empty: search the ticket text."),
    # -- e-mail (helpdesk.backend = "email"): reports sent to a helpdesk's mail intake
    _s("smtp.host", str, "", "Mail server",
       "The SMTP server that takes the reports' mail (host name or address)."),
    _s("smtp.port", int, 0, "Mail server port",
       "0: the usual port of smtp.security (587 for starttls, 465 for ssl, 25 for plain).", minimum=0, maximum=65535),
    _s("smtp.security", str, "starttls", "Mail encryption",
       "starttls: encrypt after connecting (port 587); ssl: encrypted from the start (port 465); plain: no "
       "encryption, only for a mail relay on this machine or a trusted local network (credentials are then "
       "sent only to this machine).", choices=("starttls", "ssl", "plain")),
    _s("smtp.username", str, "", "Mail login",
       "Account to log in to the mail server with. Empty: send without logging in."),
    _s("smtp.password", str, "", "Mail password",
       "Where the mail password is kept: env:NAME or keyring:SERVICE/USER. Never the password itself."),
    _s("smtp.from", str, "", "Sender address",
       "The From address of the reports' mail (the Message-ID uses its domain)."),
    _s("smtp.to", str, "", "Helpdesk's mail intake",
       "The address the helpdesk turns mail into tickets from."),
    _s("smtp.timeout", float, 30.0, "Mail timeout",
       "Seconds to wait for the mail server to connect and for each answer.", minimum=1, maximum=600),
    _s("smtp.ca_bundle", str, "", "Mail server certificates",
       "PEM file of the certificate authorities that signed the mail server's certificate, when they are "
       "not the system's. Empty: the system's."),
    _s("smtp.verify_tls", bool, True, "Check the mail server's certificate",
       "Refuse a mail server whose TLS certificate is not trusted. Turn off only for a test server."),
    _s("smtp.max_message_bytes", int, 20 * 1024 * 1024, "Largest mail",
       "Bytes one mail may have; files go in several mails below it, a single larger file is refused. The "
       "server's own limit (SIZE) is honoured too.", minimum=64 * 1024, maximum=1024 * 1024 * 1024),
    # -- the generic webhook (helpdesk.backend = "webhook"; the payload is described in docs/webhook.md)
    _s("webhook.secret", str, "", "Webhook secret",
       "Where the shared secret that signs every request (HMAC-SHA256) is kept: env:NAME or "
       "keyring:SERVICE/USER. Never the secret itself."),
    _s("webhook.status_url", str, "", "Webhook status address",
       "Address to ask for a ticket's status, with {ticket_id} in it. Empty: no status."),
    _s("webhook.find_url", str, "", "Webhook find address",
       "Address to ask for the ticket of a submission, with {submission_id} in it. Empty: the receiver's "
       "Idempotency-Key handling alone prevents duplicates."),
    _s("webhook.max_request_bytes", int, 20 * 1024 * 1024, "Largest webhook request",
       "Bytes one request may have; files (base64 in the JSON) are split over several requests below it.",
       minimum=64 * 1024, maximum=1024 * 1024 * 1024),
    # -- the outbox: every report is saved here before it is sent, and retried until it arrives
    _s("outbox.path", str, "", "Outbox folder",
       "Folder holding the outbox database and the reports' files. Empty: 'outbox' in Deskline's data "
       "folder."),
    _s("outbox.retry_base", float, 10.0, "First retry delay",
       "Seconds before a report that could not be sent is tried again; each further failure doubles "
       "the delay (a random part of it, to spread retries), up to outbox.retry_cap. A server's "
       "Retry-After is always honoured.", minimum=0.01, maximum=3600),
    _s("outbox.retry_cap", float, 900.0, "Longest retry delay",
       "The retry delay never grows past this many seconds.", minimum=1, maximum=86400),
    _s("outbox.send_timeout", float, 30.0, "Send-now time limit",
       "Seconds 'deskline report' spends sending a new report right away before leaving it queued "
       "for later (each request also has its own timeout).", minimum=1, maximum=600),
    # -- what the probes collect
    _s("probes.timeout", float, 5.0, "Probe timeout",
       "Seconds any one probe may take before it is recorded as timed out.", minimum=0.1, maximum=300),
    _s("probes.timeouts", dict, {}, "Per-probe timeouts",
       "Seconds for individual probes, overriding probes.timeout (for example logs = 10).", minimum=0.1),
    _s("probes.disabled", list, [], "Disabled probes",
       "Probes never run, even when the report asks for all of them."),
    _s("probes.processes.top", int, 10, "Top processes",
       "How many processes to list by CPU and by memory.", minimum=1, maximum=200),
    _s("probes.processes.sample_seconds", float, 0.1, "CPU sampling interval",
       "Seconds over which CPU use of the machine and of each process is measured.", minimum=0.05, maximum=5),
    _s("probes.logs.window_hours", float, 24.0, "Log window",
       "How far back the logs probe looks for errors, in hours.", minimum=0.1, maximum=24 * 30),
    _s("probes.logs.max_entries", int, 100, "Log entries",
       "At most this many recent error entries are kept.", minimum=1, maximum=5000),
    _s("probes.logs.max_bytes", int, 64 * 1024, "Log size cap",
       "At most this many bytes of log text are kept.", minimum=1024, maximum=16 * 1024 * 1024),
    _s("probes.software.recent_days", float, 14.0, "Recently changed software",
       "Packages installed, upgraded or removed in this many days are listed as recent.", minimum=0),
    _s("probes.network.check_host", str, "", "Host to check",
       "Host name to look up and reach besides the helpdesk (empty: the helpdesk only)."),
    _s("probes.network.check_port", int, 443, "Port to check",
       "TCP port tried on the check host when its URL names none.", minimum=1, maximum=65535),
    _s("probes.network.timeout", float, 2.0, "Network check timeout",
       "Seconds for the DNS lookup and for the TCP connection of the reachability check.",
       minimum=0.1, maximum=60),
    _s("probes.environment.variables", list,
       ["PATH", "LANG", "LC_ALL", "LANGUAGE", "TZ", "SHELL", "TERM", "DISPLAY", "WAYLAND_DISPLAY",
        "XDG_SESSION_TYPE", "XDG_CURRENT_DESKTOP", "DESKTOP_SESSION", "HTTP_PROXY", "HTTPS_PROXY",
        "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "ALL_PROXY", "all_proxy",
        "QT_QPA_PLATFORM", "QT_SCALE_FACTOR", "GDK_SCALE", "PYTHONPATH", "VIRTUAL_ENV",
        "JAVA_HOME", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "COMPUTERNAME", "USERDOMAIN",
        "PROCESSOR_ARCHITECTURE", "NUMBER_OF_PROCESSORS"],
       "Environment variables",
       "Which environment variables the report includes; their values are redacted like all else."),
    # -- the report
    _s("report.pseudonymize", bool, False, "Pseudonymize",
       "Replace user names, host names, e-mail and IP addresses with consistent placeholders."),
    _s("report.keep_private_ips", bool, True, "Keep private addresses",
       "When pseudonymizing, leave loopback and private-range IP addresses as they are."),
    _s("report.never_send", list, [], "Never send",
       "Parts of the system report (probe names) that are never collected for a report from this app."),
    _s("report.review_skip", list, [], "Sent without review",
       "Kinds of item that may leave without the review screen (IT policy): summary, findings, "
       "system_report, attachments, screenshots. The screen is skipped only when every item is of such a kind."),
    # -- findings thresholds: applied after collection, never inside probes
    _s("thresholds.disk_free_percent_warning", float, 10.0, "Disk space: warning",
       "Warn when a filesystem has less than this percentage free.", minimum=0, maximum=100),
    _s("thresholds.disk_free_percent_critical", float, 3.0, "Disk space: critical",
       "Critical when a filesystem has less than this percentage free.", minimum=0, maximum=100),
    _s("thresholds.disk_free_min_mb", float, 1024.0, "Disk space: minimum",
       "Also warn when a filesystem of the user's has less than this many MiB free.", minimum=0),
    _s("thresholds.inodes_free_percent", float, 5.0, "File slots (inodes)",
       "Warn when a filesystem has less than this percentage of its file slots (inodes) free.",
       minimum=0, maximum=100),
    _s("thresholds.memory_available_percent", float, 10.0, "Memory pressure",
       "Warn when less than this percentage of RAM is available.", minimum=0, maximum=100),
    _s("thresholds.memory_psi_some_avg60", float, 20.0, "Memory stall",
       "Warn when tasks stalled on memory more than this percentage of the last minute (Linux PSI).",
       minimum=0, maximum=100),
    _s("thresholds.swap_used_percent", float, 80.0, "Swap use",
       "Warn when more than this percentage of swap is in use.", minimum=0, maximum=100),
    _s("thresholds.load_per_core", float, 2.0, "System load",
       "Warn when the 5-minute load average per logical core exceeds this.", minimum=0),
    _s("thresholds.runaway_cpu_percent", float, 90.0, "Runaway process",
       "A process using more than this percentage of one core is called out.", minimum=1),
    _s("thresholds.runaway_memory_percent", float, 50.0, "Memory-hungry process",
       "A process holding more than this percentage of RAM is called out.", minimum=1, maximum=100),
    _s("thresholds.zombies", int, 5, "Zombie processes",
       "Warn when more than this many zombie processes exist.", minimum=0),
    _s("thresholds.clock_skew_seconds", float, 120.0, "Clock skew",
       "Warn when the clock differs from the helpdesk server's by more than this many seconds.", minimum=1),
    _s("thresholds.uptime_days", float, 30.0, "Long uptime",
       "Suggest a restart when the machine has run this many days without one.", minimum=1),
    _s("thresholds.battery_health_percent", float, 60.0, "Battery health",
       "Warn when the battery holds less than this percentage of its design capacity.",
       minimum=0, maximum=100),
    _s("thresholds.battery_low_percent", float, 15.0, "Battery charge",
       "Warn when on battery with less than this much charge left.", minimum=0, maximum=100),
    _s("thresholds.temperature_margin_celsius", float, 5.0, "Temperature margin",
       "Warn when a sensor is within this many degrees of its high mark (or above 90 °C without one).",
       minimum=0),
    _s("thresholds.log_errors", int, 50, "Log errors",
       "Mention the error log when the window holds more than this many error entries.", minimum=0),
    _s("thresholds.log_errors_warning", int, 500, "Log errors: warning",
       "Warn (rather than only mention) when the log window holds more than this many error entries.",
       minimum=0),
    # -- the agent: deskline-agent serve (SSH server for remote diagnostics)
    _s("agent.listen", str, "127.0.0.1:2222", "Agent listen address",
       "HOST:PORT the agent's SSH server listens on ([::1]:2222 for IPv6). The default, loopback, is "
       "reachable only from this machine and through the agent's own bastion tunnel (serve --via); set "
       "an address of this machine (or 0.0.0.0) to let engineers connect directly."),
    _s("agent.authorized_keys", str, "", "Engineers' keys",
       "authorized_keys file listing the engineers' public keys (from= and expiry-time= are honoured). "
       "Empty: /etc/deskline/agent/authorized_keys for an agent run as root on Linux, else agent/authorized_keys in "
       "Deskline's data folder."),
    _s("agent.host_key", str, "", "Agent host key",
       "The agent's ed25519 host key, made on first start (mode 0600). Empty: "
       "/var/lib/deskline/agent/host_ed25519_key for an agent run as root on Linux, else agent/host_ed25519_key in "
       "Deskline's data folder."),
    _s("agent.audit_log", str, "", "Agent audit log",
       "JSON-lines audit log of connections, logins, consent and commands. Empty: "
       "/var/log/deskline/agent-audit.jsonl for an agent run as root on Linux, else agent/audit.jsonl in Deskline's "
       "data folder."),
    _s("agent.audit_max_bytes", int, 4 * 1024 * 1024, "Audit log size",
       "The audit log is rotated when it would grow past this many bytes.",
       minimum=64 * 1024, maximum=1024 * 1024 * 1024),
    _s("agent.audit_keep", int, 5, "Audit log files kept",
       "How many rotated audit log files are kept besides the current one.", minimum=0, maximum=100),
    _s("agent.command_timeout", float, 30.0, "Command timeout",
       "Seconds a remote command may run; then the engineer gets a timeout answer (exit 5).",
       minimum=0.1, maximum=600),
    _s("agent.max_output_bytes", int, 8 * 1024 * 1024, "Answer size cap",
       "Largest answer, in bytes, the agent sends for one command; a larger one is refused (exit 4).",
       minimum=4096, maximum=256 * 1024 * 1024),
    _s("agent.max_sessions", int, 16, "Concurrent sessions",
       "SSH connections the agent serves at once, counting those still logging in; more are closed.",
       minimum=1, maximum=1000),
    _s("agent.max_channels", int, 4, "Channels per session",
       "Commands one SSH connection may have open at once.", minimum=1, maximum=64),
    _s("agent.auth_deadline", float, 10.0, "Login deadline",
       "Seconds a client has for the SSH handshake and authentication before it is dropped.",
       minimum=1, maximum=300),
    _s("agent.idle_timeout", float, 600.0, "Idle session timeout",
       "Seconds a logged-in connection may stay without a command before it is closed.",
       minimum=1, maximum=86400),
    _s("agent.consent_timeout", float, 60.0, "Consent timeout",
       "Seconds the agent waits for the user to answer a consent request; no answer is a no.",
       minimum=1, maximum=600),
    _s("agent.consent_duration", int, 1800, "Consent duration",
       "Seconds of remote diagnostics the agent asks the user to allow; the user may allow less.",
       minimum=60, maximum=86400),
    _s("agent.unattended", list, [], "Unattended engineer keys",
       "Key fingerprints (SHA256:...) that may run commands without asking the user, who is only "
       "notified: for servers and unattended machines, set by IT policy.", item_check=fingerprint_problem),
    _s("agent.remote_arguments", list, [], "Restricted remote arguments",
       "Probe arguments an engineer may set remotely although they are refused by default, because they "
       "make this machine reach the network: network.check_host and network.check_port let an engineer "
       "have this machine look up and connect to any host and port. Empty: none (the safe arguments, such "
       "as processes.top, are always accepted)."),
)

SCHEMA_BY_KEY: dict[str, Setting] = {s.key: s for s in SCHEMA}
#: Table names (every dotted prefix of a setting's key) that may appear as TOML tables.
_TABLES = {".".join(s.key.split(".")[:i]) for s in SCHEMA for i in range(1, s.key.count(".") + 1)}


@dataclass
class Settings:
    """Loaded settings: every declared key with its value, and where each value came from."""

    values: dict[str, Any] = field(default_factory=lambda: {s.key: _copy(s.default) for s in SCHEMA})
    sources: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    #: Settings IT policy locks: key -> the reason shown to the user.
    locked: dict[str, str] = field(default_factory=dict)
    #: The user's own values the policy overrode (key -> where the user set it), to say so once.
    overridden: dict[str, str] = field(default_factory=dict)
    policy_path: Path | None = None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def section(self, prefix: str) -> dict[str, Any]:
        """Settings under ``prefix.`` with the prefix removed (``section('probes')['timeout']``)."""
        p = prefix + "."
        return {k[len(p):]: v for k, v in self.values.items() if k.startswith(p)}

    def probe_settings(self) -> dict[str, Any]:
        """What the probes read: ``[probes]``, plus the helpdesk's address (the network probe checks it)."""
        probes = self.section("probes")
        probes["helpdesk_url"] = self["helpdesk.url"]
        return probes


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def default_path() -> Path:
    """The user's settings file in the platform's config directory."""
    from platformdirs import user_config_path  # imported late: only needed without --config

    return user_config_path("deskline", appauthor=False) / "deskline.toml"


def resolve_path(
    explicit: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> tuple[Path, bool]:
    """The settings file to read and whether it was named explicitly (then it must exist)."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit), True
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR]), True
    return default_path(), False


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        full = f"{prefix}{key}"
        setting = SCHEMA_BY_KEY.get(full)
        if isinstance(value, dict) and (setting is None or setting.type is not dict):
            if full not in _TABLES:
                yield full, value  # reported as an unknown key below
                continue
            yield from _flatten(value, full + ".")
        else:
            yield full, value


_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"]+)\s*=")


def locate(text: str, key: str) -> int | None:
    """The 1-based line where ``key`` (dotted) is set in TOML ``text``, or None if not found."""
    table = ""
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = header.group(1).replace('"', "").replace(" ", "")
            if table == key:
                return number
            continue
        m = _KEY.match(line)
        if m:
            k = m.group(1).replace('"', "")
            full = f"{table}.{k}" if table else k
            if full == key or key.startswith(full + "."):
                return number
    return None


def _item_line(text: str, line: int | None, setting: Setting, value: Any) -> int | None:
    """The line of the item of list ``value`` that ``setting`` refuses (an array may span lines), from
    the key's ``line`` on; else ``line``."""
    bad = setting.bad_item(value)
    if bad is None or line is None:
        return line
    # as TOML writes it: a basic string escapes " and \ as JSON does; a literal string escapes nothing
    lines, quoted = text.splitlines(), (json.dumps(bad[0], ensure_ascii=False), f"'{bad[0]}'")
    for number in range(line, len(lines) + 1):
        if any(q in lines[number - 1] for q in quoted):
            return number
        if number > line and (_KEY.match(lines[number - 1]) or _HEADER.match(lines[number - 1])):
            break
    return line


#: Migrations: version N -> function turning a version-N flat mapping into version N+1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def parse(text: str, path: Path | str = "<settings>") -> Settings:
    """Parse and check settings ``text``; raises :class:`ConfigError` naming file, line and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    flat = dict(_flatten(data))
    version = flat.get("version", CONFIG_VERSION)
    if isinstance(version, int) and not isinstance(version, bool) and version > CONFIG_VERSION:
        raise ConfigError(
            f"{path}:{locate(text, 'version') or 1}: version = {version} was written by a newer Deskline "
            f"(this one reads up to {CONFIG_VERSION})"
        )
    if isinstance(version, int) and not isinstance(version, bool):
        while version < CONFIG_VERSION and version in MIGRATIONS:
            flat = MIGRATIONS[version](flat)
            version += 1
            flat["version"] = version
    settings = Settings(path=Path(path) if not isinstance(path, Path) else path)
    for key, value in flat.items():
        line = locate(text, key)
        where = f"{path}:{line}" if line else str(path)
        setting = SCHEMA_BY_KEY.get(key)
        if setting is None:
            if isinstance(value, dict):
                raise ConfigError(f"{where}: unknown section [{key}]{_suggest(key)}")
            raise ConfigError(f"{where}: unknown setting {key!r}{_suggest(key)}")
        problem = setting.check(value)
        if problem:
            line = _item_line(text, line, setting, value)
            raise ConfigError(f"{path}:{line}: {key}: {problem}" if line else f"{where}: {key}: {problem}")
        settings.values[key] = float(value) if setting.type is float else _copy(value)
        settings.sources[key] = where
    _check_consistency(settings, text, path)
    return settings


def _check_consistency(settings: Settings, text: str, path: Path | str) -> None:
    warn, crit = settings["thresholds.disk_free_percent_warning"], settings["thresholds.disk_free_percent_critical"]
    if crit > warn:
        line = locate(text, "thresholds.disk_free_percent_critical") or locate(text, "thresholds") or 1
        raise ConfigError(
            f"{path}:{line}: thresholds.disk_free_percent_critical ({crit:g}) must not exceed "
            f"thresholds.disk_free_percent_warning ({warn:g})"
        )
    timeouts = settings["probes.timeouts"]
    from desktop.diagnostics.registry import PROBES  # the probe table has no imports of its own

    for name in [*timeouts, *settings["probes.disabled"], *settings["report.never_send"]]:
        if name not in PROBES:
            key = ("probes.timeouts" if name in timeouts else
                   "probes.disabled" if name in settings["probes.disabled"] else "report.never_send")
            line = locate(text, key) or 1
            raise ConfigError(f"{path}:{line}: {key}: unknown probe {name!r} (known: {', '.join(PROBES)})")
    for key in settings["agent.remote_arguments"]:
        if key.partition(".")[0] not in PROBES or not key.partition(".")[2]:
            line = locate(text, "agent.remote_arguments") or 1
            raise ConfigError(f"{path}:{line}: agent.remote_arguments: {key!r} is not a probe argument "
                              "(PROBE.SETTING, for example network.check_host)")
    for kind in settings["report.review_skip"]:
        if kind not in REVIEW_KINDS:
            line = locate(text, "report.review_skip") or 1
            raise ConfigError(f"{path}:{line}: report.review_skip: unknown kind {kind!r} "
                              f"(known: {', '.join(REVIEW_KINDS)})")


def _suggest(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key, SCHEMA_BY_KEY, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def default_policy_path(environ: Mapping[str, str] | None = None) -> Path:
    """The machine-wide policy file IT deploys (``DESKLINE_POLICY`` names another one)."""
    env = os.environ if environ is None else environ
    if env.get(POLICY_ENV_VAR):
        return Path(env[POLICY_ENV_VAR])
    if sys.platform == "win32":
        return Path(env.get("PROGRAMDATA", r"C:\ProgramData")) / "Deskline" / "policy.toml"
    if sys.platform == "darwin":
        return Path("/Library/Application Support/Deskline/policy.toml")
    return Path("/etc/deskline/policy.toml")


@dataclass
class Policy:
    """IT's machine-wide file: ``[defaults]`` preset settings the user may change, ``[locked]`` ones they
    cannot; ``reason`` is shown beside every lock (for example who to ask)."""

    defaults: dict[str, Any] = field(default_factory=dict)
    locked: dict[str, Any] = field(default_factory=dict)
    reason: str = DEFAULT_LOCK_REASON
    path: Path | None = None


_POLICY_TABLES = ("defaults", "locked")


def parse_policy(text: str, path: Path | str = "<policy>") -> Policy:
    """Parse and check a policy file; raises :class:`ConfigError` naming file, line and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    policy = Policy(path=Path(path))
    for top, value in data.items():
        where = f"{path}:{locate(text, top) or 1}"
        if top == "reason":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: reason: expected a non-empty string")
            policy.reason = " ".join(value.split())
            continue
        if top not in _POLICY_TABLES:
            raise ConfigError(f"{where}: unknown policy entry {top!r} (a policy has: reason, [defaults], [locked])")
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {top} must be a table: [{top}]")
        target = getattr(policy, top)
        for key, item in _flatten(value):
            line = locate(text, f"{top}.{key}")
            at = f"{path}:{line}" if line else str(path)
            setting = SCHEMA_BY_KEY.get(key)
            if setting is None or key == "version":
                raise ConfigError(f"{at}: [{top}]: unknown setting {key!r}{_suggest(key)}")
            if top == "locked" and not setting.lockable:
                raise ConfigError(f"{at}: [locked]: {key} cannot be locked")
            problem = setting.check(item)
            if problem:
                line = _item_line(text, line, setting, item)
                raise ConfigError(f"{path}:{line}: {key}: {problem}" if line else f"{at}: {key}: {problem}")
            target[key] = float(item) if setting.type is float else _copy(item)
    both = sorted(set(policy.defaults) & set(policy.locked))
    if both:
        raise ConfigError(f"{path}: {both[0]} is both in [defaults] and [locked]; keep one")
    return policy


def load_policy(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Policy:
    """The machine's policy; an empty one when there is no file. A file named by ``DESKLINE_POLICY``
    must exist."""
    env = os.environ if environ is None else environ
    named = path is not None or bool(env.get(POLICY_ENV_VAR))
    path = path or default_policy_path(env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        if named:
            raise ConfigError(f"{path}: policy file not found") from exc
        return Policy()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{path}: cannot read policy file: {reason}") from exc
    return parse_policy(text, path)


def apply_policy(settings: Settings, policy: Policy) -> Settings:
    """Presets where the user's file is silent, then locked values over everything (in place)."""
    for key, value in policy.defaults.items():
        if key not in settings.sources:
            settings.values[key] = _copy(value)
            settings.sources[key] = f"{policy.path} [defaults]"
    for key, value in policy.locked.items():
        if key in settings.sources and settings.values[key] != value:
            settings.overridden[key] = settings.sources[key]
        settings.values[key] = _copy(value)
        settings.sources[key] = f"{policy.path} [locked]"
        settings.locked[key] = policy.reason
    settings.policy_path = policy.path
    return settings


def load(explicit: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None,
         policy: Policy | None = None) -> Settings:
    """Load the settings: the named file (which must exist), or the user's file if it exists, else
    defaults; then the machine's policy (``policy``, else the policy file) presets and locks."""
    if policy is None:
        policy = load_policy(environ=environ)
    path, named = resolve_path(explicit, environ)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        if named:
            raise ConfigError(f"{path}: settings file not found") from exc
        settings = Settings(path=path)
        return apply_policy(settings, policy)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{path}: cannot read settings file: {reason}") from exc
    return apply_policy(parse(text, path), policy)


def save_user(path: Path, changes: Mapping[str, Any], settings: Settings | None = None) -> None:
    """Write ``changes`` (key -> value) into the user's settings file at ``path``, keeping its comments
    and every other line; atomic. Locked keys (per ``settings``) and bad values raise :class:`ConfigError`
    and nothing is written."""
    import tomlkit  # only the settings screen writes

    for key, value in changes.items():
        setting = SCHEMA_BY_KEY.get(key)
        if setting is None or key == "version":
            raise ConfigError(f"unknown setting {key!r}{_suggest(key)}")
        if settings is not None and key in settings.locked:
            raise ConfigError(f"{key} is locked: {settings.locked[key]}")
        problem = setting.check(value)
        if problem:
            raise ConfigError(f"{key}: {problem}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = f"# Deskline settings, written by the app.\nversion = {CONFIG_VERSION}\n"
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read settings file: {exc}") from exc
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    for key, value in changes.items():
        *tables, name = key.split(".")
        # the longest declared table prefix: "probes.processes.top" lives in [probes.processes]
        node: Any = doc
        for part in tables:
            if part not in node:
                node[part] = tomlkit.table()
            node = node[part]
        node[name] = value
    new_text = tomlkit.dumps(doc)
    parse(new_text, path)  # never write a file that would not load
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(new_text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(f"{path}: cannot save settings: {exc.strerror or exc}") from exc


def render_defaults() -> str:
    """A commented TOML file with every setting at its default: the shipped default config."""
    out = ["# Deskline settings. Every setting, with its default; remove what you do not change.", ""]
    tables: dict[str, list[Setting]] = {}
    for s in SCHEMA:
        table, _, _ = s.key.rpartition(".")
        tables.setdefault(table, []).append(s)
    for table, settings in tables.items():
        if table:
            out.append(f"[{table}]")
        for s in settings:
            name = s.key.rpartition(".")[2]
            out.append(f"# {s.title}: {s.description}")
            if s.choices:
                out.append(f"# One of: {', '.join(s.choices)}.")
            out.append(f"{name} = {_toml_value(s.default)}")
        out.append("")
    return "\n".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)
