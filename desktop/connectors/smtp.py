"""E-mail (SMTP): the report sent to any helpdesk's mail intake.

The first mail carries the user's words and the summary (text/plain, with an HTML alternative made from the
summary); the bundle and the user's files follow in reply mails (``In-Reply-To``/``References`` the first
one), so the ticket exists quickly and large files do not hold it back. Comments and ratings are replies too.

Duplicates: SMTP cannot be asked whether a mail arrived, so :meth:`SmtpConnector.find` always answers None.
Every mail has a Message-ID derived from the submission id (and, for replies, from their content), the same
on every retry, and an ``X-Deskline-Submission`` header: a retry after an *ambiguous* failure (the
connection dropped after the message was sent but before the server said 250) may deliver a mail twice,
and helpdesks and mail gateways that de-duplicate by Message-ID drop the second copy. Failures before the
message was sent (refused connection, 4xx) never deliver anything.

Status: e-mail has no ticket status (``ConnectorInfo.extra['status'] == 'unsupported'``); :meth:`status`
answers None.

Security: ``smtp.security`` is ``starttls`` (default, port 587), ``ssl`` (implicit TLS, port 465) or
``plain`` (no encryption: for a relay on this machine or a trusted local network only). Credentials are
never sent over a plain connection to another host.
"""

from __future__ import annotations

import email.policy
import hashlib
import html
import ipaddress
import logging
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from desktop.connectors import _common
from desktop.connectors.base import (
    AttachmentFile,
    ConfigurationError,
    Connector,
    ConnectorInfo,
    DeliveryError,
    PermanentError,
    Submission,
    TicketRef,
    TicketStatus,
    TransientError,
    submission_marker,
)

log = logging.getLogger("deskline.connectors")
_size = _common.human_size

SECURITY = ("starttls", "ssl", "plain")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "plain": 25}
#: Base64 makes attachments a third larger; headers and the text parts take a little more.
_MIME_OVERHEAD = 4 / 3
_HEADROOM = 64 * 1024
#: CRLF, 7-bit bodies (quoted-printable or base64: no server needs 8BITMIME) and no folding of a long
#: Message-ID (some gateways compare it verbatim).
_POLICY = email.policy.SMTP.clone(cte_type="7bit", max_line_length=998)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send. ``recipient`` is the helpdesk's intake address."""

    host: str
    sender: str
    recipient: str
    port: int = 0  # 0: the usual port of ``security``
    security: str = "starttls"
    username: str = ""
    password_ref: str = ""  # a credential reference (env:/keyring:), never the password
    timeout: float = 30.0  # seconds, for the connection and each reply
    ca_bundle: str = ""  # PEM file of CAs to trust; empty: the system's
    verify_tls: bool = True
    max_message_bytes: int = 20 * 1024 * 1024  # our own cap; the server's SIZE is honoured too
    local_hostname: str = ""  # the name sent in EHLO; empty: this machine's


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip(" >").lower()
    return domain if re.fullmatch(r"[a-z0-9.-]+", domain or "-") else "deskline.invalid"


def _atom(text: str) -> str:
    """``text`` reduced to characters safe in a Message-ID's left part."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)[:80]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmtpConnector(Connector):
    """Reports as mails to a helpdesk's intake address."""

    def __init__(self, config: SmtpConfig) -> None:
        if config.security not in SECURITY:
            raise ConfigurationError(
                f"smtp.security must be one of {', '.join(SECURITY)}, not {config.security!r}", "smtp.security")
        if not config.host:
            raise ConfigurationError("no mail server is set", "smtp.host")
        if "@" not in config.recipient:
            raise ConfigurationError("the helpdesk's intake address is not set", "smtp.to")
        if "@" not in config.sender:
            raise ConfigurationError("the sender address is not set", "smtp.from")
        if config.security == "plain" and config.username and not _is_loopback(config.host):
            raise ConfigurationError(
                f"credentials are never sent unencrypted to {config.host}: use starttls or ssl", "smtp.security")
        self.config = config
        self.port = config.port or DEFAULT_PORTS[config.security]
        usable = max(0, config.max_message_bytes - _HEADROOM)
        self.info = ConnectorInfo(
            name="email",
            max_attachment_bytes=int(usable / _MIME_OVERHEAD),
            max_total_bytes=int(usable / _MIME_OVERHEAD),
            has_rating=False,
            extra={"status": "unsupported", "find": "unsupported",
                   "note": "e-mail has no ticket status; replies arrive in the user's mailbox"},
        )
        self._sent: dict[str, TicketRef] = {}
        self._password: str | None = None

    # -- the interface --------------------------------------------------------------------------------

    def create(self, submission: Submission) -> TicketRef:
        msgid = self.message_id(submission.submission_id, submission.incident)
        if msgid in self._sent:  # this process already had a 250 for it: never send twice
            return self._sent[msgid]
        msg = self._new_message(msgid, submission.submission_id)
        tag = f" [{submission.incident}]" if submission.incident else ""
        msg["Subject"] = _one_line(f"{submission.title.strip() or 'Deskline report'}{tag}")
        msg["X-Deskline-Incident"] = submission.incident or ""
        msg["X-Priority"] = {"low": "5", "normal": "3", "high": "2", "urgent": "1"}.get(submission.priority, "3")
        msg["Importance"] = {"low": "low", "high": "high", "urgent": "high"}.get(submission.priority, "normal")
        if submission.reporter_email:
            msg["Reply-To"] = (f"{submission.reporter_name} <{submission.reporter_email}>"
                               if submission.reporter_name else submission.reporter_email)
        body = submission.body()
        msg.set_content(body)
        msg.add_alternative(_html(submission), subtype="html")
        self._send(msg, "sending the report")
        ref = TicketRef("email", msgid, f"mid:{msgid.strip('<>')}")
        self._sent[msgid] = ref
        return ref

    def attach(self, ticket: TicketRef, files: Sequence[AttachmentFile]) -> None:
        if not files:
            return
        _common.check_sizes(files, self.info.max_attachment_bytes, "the mail server")
        groups = _common.batches(files, self.info.max_total_bytes)
        for n, group in enumerate(groups, 1):
            part = f" (part {n} of {len(groups)})" if len(groups) > 1 else ""
            names = ", ".join(f.name for f in group)
            self._reply(ticket, "files", f"Files for this report{part}: {names}", group)

    def comment(self, ticket: TicketRef, text: str, files: Sequence[AttachmentFile] = ()) -> None:
        _common.check_sizes(files, self.info.max_attachment_bytes, "the mail server")
        self._reply(ticket, "comment", text, files)

    def status(self, ticket: TicketRef, etag: str = "") -> TicketStatus | None:
        """E-mail has no status: always None (see ``info.extra['status']``)."""
        return None

    def find(self, submission_id: str) -> TicketRef | None:
        """A mailbox cannot be asked: always None (the Message-ID lets the helpdesk drop a duplicate)."""
        return None

    # -- messages -------------------------------------------------------------------------------------

    def message_id(self, submission_id: str, incident: str = "") -> str:
        """The first mail's Message-ID: the same for every attempt of one submission."""
        tail = f".{_atom(incident)}" if incident else ""
        return f"<deskline.{_atom(submission_id)}{tail}@{_domain(self.config.sender)}>"

    def _new_message(self, msgid: str, submission_id: str) -> EmailMessage:
        msg = EmailMessage(policy=_POLICY)
        msg["From"] = self.config.sender
        msg["To"] = self.config.recipient
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = msgid
        msg["X-Deskline-Submission"] = submission_id
        msg["Auto-Submitted"] = "no"
        msg["User-Agent"] = "Deskline"
        return msg

    def _reply(self, ticket: TicketRef, kind: str, text: str, files: Sequence[AttachmentFile]) -> None:
        parent = ticket.ticket_id
        match = re.fullmatch(r"<deskline\.([A-Za-z0-9_-]+)(?:\.([A-Za-z0-9_-]+))?@([^>]+)>", parent)
        if not match:
            raise PermanentError(f"{parent!r} is not the Message-ID of a Deskline mail")
        submission_id, incident = match.group(1), match.group(2) or ""
        digest = hashlib.sha256(kind.encode() + b"\0" + text.encode("utf-8"))
        for f in files:
            digest.update(b"\0" + f.name.encode("utf-8") + b"\0" + hashlib.sha256(f.data).digest())
        msgid = f"<deskline.{submission_id}{'.' + incident if incident else ''}.{kind[0]}{digest.hexdigest()[:20]}" \
                f"@{match.group(3)}>"
        if msgid in self._sent:
            return
        msg = self._new_message(msgid, submission_id)
        tag = f"[{incident}] " if incident else ""
        msg["Subject"] = f"Re: {tag}Deskline report" + (" (files)" if kind == "files" else "")
        msg["In-Reply-To"] = parent
        msg["References"] = parent
        msg.set_content(text)
        for f in files:
            maintype, _, subtype = (f.media_type or "application/octet-stream").partition("/")
            params = {"charset": "utf-8"} if maintype == "text" and _is_utf8(f.data) else {}
            msg.add_attachment(f.data, maintype=maintype, subtype=subtype or "octet-stream", filename=f.name,
                               params=params)
        self._send(msg, "sending a reply mail" if kind == "comment" else "sending the files")
        self._sent[msgid] = ticket

    # -- SMTP -----------------------------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        try:
            ctx = ssl.create_default_context(cafile=self.config.ca_bundle or None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"the CA bundle {self.config.ca_bundle!r} cannot be read: {exc}",
                                     "smtp.ca_bundle") from exc
        if not self.config.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        local = c.local_hostname or None
        try:
            if c.security == "ssl":
                server: smtplib.SMTP = smtplib.SMTP_SSL(c.host, self.port, local_hostname=local,
                                                        timeout=c.timeout, context=self._context())
            else:
                server = smtplib.SMTP(c.host, self.port, local_hostname=local, timeout=c.timeout)
        except ssl.SSLCertVerificationError as exc:
            raise ConfigurationError(f"the mail server's certificate is not trusted: {exc.verify_message}",
                                     "smtp.ca_bundle") from exc
        except (ssl.SSLError, smtplib.SMTPException, OSError) as exc:
            raise self._network_error(exc, "connecting to the mail server") from exc
        try:
            self._handshake(server)
        except BaseException:
            _close(server)
            raise
        return server

    def _handshake(self, server: smtplib.SMTP) -> None:
        """EHLO, STARTTLS where set, and the login."""
        c = self.config
        server.ehlo()
        if c.security == "starttls":
            if not server.has_extn("starttls"):
                raise ConfigurationError(
                    f"the mail server {c.host}:{self.port} does not offer STARTTLS", "smtp.security")
            server.starttls(context=self._context())
            server.ehlo()
        if c.username:
            if not server.has_extn("auth"):
                raise ConfigurationError(f"the mail server {c.host} does not offer login (AUTH)", "smtp.username")
            server.login(c.username, self._secret())

    def _secret(self) -> str:
        if self._password is None:
            self._password = _common.secret(self.config.password_ref, "smtp.password")
        return self._password

    def _send(self, msg: EmailMessage, what: str) -> None:
        data = msg.as_bytes()
        if len(data) > self.config.max_message_bytes:
            raise PermanentError(
                f"the mail is {_size(len(data))}, more than smtp.max_message_bytes "
                f"({_size(self.config.max_message_bytes)}); it was not sent")
        started = time.monotonic()
        try:
            server = self._connect()
        except DeliveryError:
            raise
        except ssl.SSLCertVerificationError as exc:
            raise ConfigurationError(f"the mail server's certificate is not trusted: {exc.verify_message}",
                                     "smtp.ca_bundle") from exc
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise self._map(exc, "logging in to the mail server") from exc
        try:
            limit = _server_size(server)
            if limit and len(data) > limit:
                raise PermanentError(
                    f"the mail server accepts messages up to {_size(limit)}; this one is {_size(len(data))}. "
                    "It was not sent")
            try:
                server.send_message(msg, from_addr=self.config.sender, to_addrs=[self.config.recipient])
            except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
                raise self._map(exc, what) from exc
        finally:
            _close(server)
        log.info("mail %s sent to %s in %.0f ms (%d bytes)", msg["Message-ID"], self.config.recipient,
                 (time.monotonic() - started) * 1000, len(data))

    def _network_error(self, exc: BaseException, what: str) -> DeliveryError:
        where = f"{self.config.host}:{self.port}"
        if isinstance(exc, socket.gaierror):
            return TransientError(f"the mail server name {self.config.host!r} could not be resolved while {what}")
        if isinstance(exc, ConnectionRefusedError):
            return TransientError(f"the mail server {where} refused the connection; will try again")
        if isinstance(exc, TimeoutError | socket.timeout):
            return TransientError(f"the mail server {where} did not answer in {self.config.timeout:g} s while {what}")
        if isinstance(exc, ssl.SSLError):
            return TransientError(f"the TLS handshake with {where} failed while {what}: {exc.reason or exc}")
        if isinstance(exc, smtplib.SMTPResponseException):
            return self._map(exc, what)
        if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, TimeoutError):
            return TransientError(f"the mail server {where} did not answer in {self.config.timeout:g} s while {what}")
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return TransientError(f"the mail server {where} closed the connection while {what}; will try again")
        return TransientError(f"the mail server {where} could not be reached while {what}: {exc}")

    def _map(self, exc: BaseException, what: str) -> DeliveryError:
        """SMTP replies to the outbox's errors: 4xx transient, 5xx permanent (or a setting to fix)."""
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return ConfigurationError(
                f"the mail server refused the login of {self.config.username!r} ({exc.smtp_code})", "smtp.password")
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return ConfigurationError(f"the mail server does not support this: {exc}", "smtp.security")
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            code, reply = next(iter(exc.recipients.values()), (0, b""))
            return self._reply_error(code, reply, what, setting="smtp.to",
                                     subject=f"the intake address {self.config.recipient}")
        if isinstance(exc, smtplib.SMTPSenderRefused):
            setting = "smtp.from" if exc.smtp_code in (550, 553, 555) else ""
            return self._reply_error(exc.smtp_code, exc.smtp_error, what, setting=setting,
                                     subject=f"the sender {self.config.sender}")
        if isinstance(exc, smtplib.SMTPResponseException):
            return self._reply_error(exc.smtp_code, exc.smtp_error, what)
        return self._network_error(exc, what)

    def _reply_error(self, code: int, reply: Any, what: str, setting: str = "", subject: str = "") -> DeliveryError:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        text = " ".join(text.split())[:200]
        who = f"{subject}: " if subject else ""
        if 400 <= code < 500:
            return TransientError(f"the mail server deferred the mail while {what} ({code} {text}); will try again")
        if code == 552:
            return PermanentError(f"the mail server refused the size of the mail ({code} {text})")
        if setting and code >= 500:
            return ConfigurationError(f"the mail server refused {who}{code} {text}", setting)
        if code >= 500:
            return PermanentError(f"the mail server refused the mail while {what} ({code} {text})")
        return TransientError(f"the mail server answered {code} {text} while {what}; will try again")


def _server_size(server: smtplib.SMTP) -> int:
    """The SIZE the server announced in EHLO (bytes; 0 when it set no limit or did not say)."""
    value = server.esmtp_features.get("size", "").strip()
    return int(value) if value.isdigit() else 0


def _close(server: smtplib.SMTP) -> None:
    try:
        server.quit()
    except (smtplib.SMTPException, OSError):
        server.close()


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _one_line(text: str) -> str:
    return " ".join(text.split())[:250]


def _html(submission: Submission) -> str:
    """A small, safe HTML version of the first message: every text escaped, Markdown headings, lists and
    tables of the summary kept readable."""
    parts = [f"<p>{_para(submission.description.strip() or '(no description given)')}</p>"]
    if submission.summary.strip():
        parts.append(_markdown_html(submission.summary))
    marker = submission_marker(submission.submission_id, submission.incident)
    parts.append(f'<p style="color:#666;font-size:small">{html.escape(marker)}</p>')
    return "<!DOCTYPE html><html><body>" + "\n".join(parts) + "</body></html>"


def _para(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.splitlines())


def _markdown_html(md: str) -> str:
    out: list[str] = []
    table: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if table:
            out.append("<pre>" + html.escape("\n".join(table)) + "</pre>")
            table.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for line in md.splitlines():
        stripped = line.strip()
        heading = re.match(r"(#{1,6})\s+(.*)", stripped)
        if stripped.startswith("|"):
            table.append(stripped)
            continue
        if stripped.startswith(("- ", "* ")):
            items.append(_inline(stripped[2:]))
            continue
        flush()
        if heading:
            level = min(6, len(heading.group(1)) + 1)
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif stripped:
            out.append(f"<p>{_inline(stripped)}</p>")
    flush()
    return "\n".join(out)


def _inline(text: str) -> str:
    escaped = html.escape(text)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)


def from_settings(settings: Any) -> SmtpConnector:
    """The connector for the ``[smtp]`` settings."""
    s = _common.setting
    return SmtpConnector(SmtpConfig(
        host=str(s(settings, "smtp.host", "")),
        port=int(s(settings, "smtp.port", 0)),
        security=str(s(settings, "smtp.security", "starttls")),
        username=str(s(settings, "smtp.username", "")),
        password_ref=str(s(settings, "smtp.password", "")),
        sender=str(s(settings, "smtp.from", "")),
        recipient=str(s(settings, "smtp.to", "")),
        timeout=float(s(settings, "smtp.timeout", 30.0)),
        ca_bundle=str(s(settings, "smtp.ca_bundle", "")),
        verify_tls=bool(s(settings, "smtp.verify_tls", True)),
        max_message_bytes=int(s(settings, "smtp.max_message_bytes", 20 * 1024 * 1024)),
    ))


__all__ = ["SmtpConfig", "SmtpConnector", "from_settings"]
