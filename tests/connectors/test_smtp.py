"""The e-mail connector against a real SMTP server (aiosmtpd) on 127.0.0.1: plain, STARTTLS and implicit TLS
with a CA made in the test, AUTH, refusals (4xx, 5xx), connection refused and the SIZE limit."""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is not installed")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")
x509 = pytest.importorskip("cryptography.x509")

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from desktop.connectors.base import (  # noqa: E402
    AttachmentFile,
    ConfigurationError,
    PermanentError,
    Submission,
    TicketRef,
    TransientError,
)
from desktop.connectors.smtp import SmtpConfig, SmtpConnector, from_settings  # noqa: E402

SECRET = "s3cret-Pa55word"
SUBMISSION = Submission(
    submission_id="0f8e2c1a-4b5d-4c6e-8f70-91a2b3c4d5e6",
    title="Printer prints blank pages",
    description="Since this morning every page comes out blank.\nТакже сканер не работает.",
    summary="## Findings\n\n- **Disk almost full**: / has 2% free\n\n| probe | status |\n|---|---|\n| disks | ok |",
    priority="high",
    reporter_name="Anna Example",
    reporter_email="anna@example.org",
    incident="DL-000123",
)


class Recorder:
    """An aiosmtpd handler that keeps what it accepted and answers as told."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.rcpt_reply = ""
        self.data_reply = ""
        self.logins: list[str] = []

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (made here, trusted only via ca_bundle)."""
    d = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Deskline test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths


def _server_context(pki: dict[str, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["cert"], pki["key"])
    return ctx


class Server:
    def __init__(self, handler: Recorder, port: int, controller: Any) -> None:
        self.handler, self.port, self.controller = handler, port, controller


def _start(handler: Recorder, **kwargs: Any) -> Server:
    port = _free_port()
    controller = aiosmtpd_controller.Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return Server(handler, port, controller)


@pytest.fixture(scope="module")
def plain_server() -> Iterator[Server]:
    server = _start(Recorder())
    yield server
    server.controller.stop()


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    login, password = (v.decode() if isinstance(v, bytes) else v for v in (auth_data.login, auth_data.password))
    ok = login == "deskline" and password == SECRET
    if ok:
        server.event_handler.logins.append(login)
    # handled=False: aiosmtpd answers 535 itself (True would mean "the authenticator already answered").
    return aiosmtpd_smtp.AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def starttls_server(pki: dict[str, Path]) -> Iterator[Server]:
    server = _start(Recorder(), tls_context=_server_context(pki), require_starttls=True,
                    authenticator=_authenticator, auth_required=True)
    yield server
    server.controller.stop()


@pytest.fixture(scope="module")
def ssl_server(pki: dict[str, Path]) -> Iterator[Server]:
    # aiosmtpd cannot see that an implicit-TLS socket is encrypted: without auth_require_tls=False it would
    # hide AUTH on this (TLS-only) port.
    server = _start(Recorder(), ssl_context=_server_context(pki), authenticator=_authenticator,
                    auth_required=False, auth_require_tls=False)
    yield server
    server.controller.stop()


@pytest.fixture(scope="module")
def small_server() -> Iterator[Server]:
    """A server that announces SIZE 40000."""
    server = _start(Recorder(), data_size_limit=40_000)
    yield server
    server.controller.stop()


@pytest.fixture
def plain(plain_server: Server) -> Iterator[Server]:
    plain_server.handler.reset()
    yield plain_server
    plain_server.handler.reset()


def _connector(port: int, **kw: Any) -> SmtpConnector:
    config: dict[str, Any] = {"host": "127.0.0.1", "port": port, "security": "plain",
                              "sender": "deskline@laptop.example.org", "recipient": "helpdesk@example.org",
                              "timeout": 5.0}
    config.update(kw)
    return SmtpConnector(SmtpConfig(**config))


# -- creating: the first mail ---------------------------------------------------------------------------

def test_create_sends_one_mail_with_words_summary_and_dedupe_headers(plain: Server) -> None:
    conn = _connector(plain.port)
    ref = conn.create(SUBMISSION)

    assert len(plain.handler.messages) == 1
    msg = plain.handler.messages[0]
    assert plain.handler.envelopes[0] == ("deskline@laptop.example.org", ["helpdesk@example.org"])
    assert msg["Subject"] == "Printer prints blank pages [DL-000123]"
    assert msg["Message-ID"] == "<deskline.0f8e2c1a-4b5d-4c6e-8f70-91a2b3c4d5e6.DL-000123@laptop.example.org>"
    assert msg["X-Deskline-Submission"] == SUBMISSION.submission_id
    assert msg["Reply-To"] == "Anna Example <anna@example.org>"
    assert msg["X-Priority"] == "2"
    assert ref == TicketRef("email", msg["Message-ID"], "mid:" + msg["Message-ID"].strip("<>"))
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    body = text.get_content()
    assert "every page comes out blank" in body and "Также сканер не работает" in body
    assert "**Disk almost full**" in body
    assert f"Deskline submission {SUBMISSION.submission_id} (DL-000123)" in body
    page = html.get_content()
    assert "<strong>Disk almost full</strong>" in page and "<h3>Findings</h3>" in page
    assert "<pre>| probe | status |" in page


def test_html_part_escapes_what_the_user_wrote(plain: Server) -> None:
    sub = Submission("id-1", "t", "<script>alert(1)</script>", summary="# <b>x</b>")
    _connector(plain.port).create(sub)
    html = plain.handler.messages[0].get_body(("html",))
    assert html is not None
    page = html.get_content()
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>x</b>" not in page


def test_create_is_sent_once_per_connector_and_message_id_is_stable(plain: Server) -> None:
    conn = _connector(plain.port)
    first = conn.create(SUBMISSION)
    assert conn.create(SUBMISSION) == first
    assert len(plain.handler.messages) == 1
    # A fresh process (after a crash) sends again, with the same Message-ID: the helpdesk can drop it.
    again = _connector(plain.port).create(SUBMISSION)
    assert again == first
    ids = [m["Message-ID"] for m in plain.handler.messages]
    assert len(ids) == 2 and ids[0] == ids[1]


def test_find_and_status_are_unsupported_and_say_so(plain: Server) -> None:
    conn = _connector(plain.port)
    ref = conn.create(SUBMISSION)
    assert conn.find(SUBMISSION.submission_id) is None
    assert conn.status(ref) is None
    assert conn.info.extra["status"] == "unsupported"
    assert conn.info.has_rating is False


# -- replies: files, comments, ratings ------------------------------------------------------------------

def test_attach_sends_files_in_a_reply_threaded_to_the_report(plain: Server) -> None:
    conn = _connector(plain.port)
    ref = conn.create(SUBMISSION)
    bundle = AttachmentFile("deskline-DL-000123.zip", "application/zip", b"PK\x03\x04" + bytes(range(256)) * 40)
    log = AttachmentFile("cups.log", "text/plain", "ошибка печати\n".encode())
    conn.attach(ref, [bundle, log])

    assert len(plain.handler.messages) == 2
    reply = plain.handler.messages[1]
    assert reply["In-Reply-To"] == ref.ticket_id and reply["References"] == ref.ticket_id
    assert reply["Subject"].startswith("Re: [DL-000123]")
    assert reply["X-Deskline-Submission"] == SUBMISSION.submission_id
    got = {part.get_filename(): part.get_content() for part in reply.iter_attachments()}
    assert got["deskline-DL-000123.zip"] == bundle.data
    assert got["cups.log"] == "ошибка печати\n"
    # The same files again (a retry) get the same Message-ID; other files a different one.
    conn2 = _connector(plain.port)
    conn2.attach(ref, [bundle, log])
    conn2.attach(ref, [log])
    ids = [m["Message-ID"] for m in plain.handler.messages[1:]]
    assert ids[0] == ids[1] != ids[2]


def test_attach_splits_over_several_mails_and_refuses_a_file_too_large(plain: Server) -> None:
    conn = _connector(plain.port, max_message_bytes=64 * 1024 + 60_000)
    ref = TicketRef("email", conn.message_id("sub-2"))
    limit = conn.info.max_attachment_bytes
    assert limit is not None and 40_000 < limit < 60_000
    files = [AttachmentFile(f"part{i}.bin", "application/octet-stream", bytes([i]) * 30_000) for i in range(3)]
    conn.attach(ref, files)
    assert [len(list(m.iter_attachments())) for m in plain.handler.messages] == [1, 1, 1]
    assert "part 2 of 3" in str(plain.handler.messages[1].get_body(("plain",)).get_content())  # type: ignore[union-attr]

    with pytest.raises(PermanentError, match=r"big\.bin is .* larger than the mail server accepts"):
        conn.attach(ref, [AttachmentFile("big.bin", "application/octet-stream", b"x" * (limit + 1))])
    assert len(plain.handler.messages) == 3


def test_comment_and_rating_are_replies_to_the_first_mail(plain: Server) -> None:
    conn = _connector(plain.port)
    ref = conn.create(SUBMISSION)
    conn.comment(ref, "It happens on the second floor printer only.",
                 [AttachmentFile("photo.png", "image/png", b"\x89PNG....")])
    conn.rate(ref, 4, "Quick and kind.")
    comment, rating = plain.handler.messages[1], plain.handler.messages[2]
    for msg in (comment, rating):
        assert msg["In-Reply-To"] == ref.ticket_id
    assert "second floor" in comment.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert [p.get_filename() for p in comment.iter_attachments()] == ["photo.png"]
    text = rating.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Satisfaction rating: 4/5" in text and "Quick and kind." in text
    with pytest.raises(PermanentError):
        conn.rate(ref, 6)


def test_reply_to_something_that_is_not_our_mail_is_refused(plain: Server) -> None:
    with pytest.raises(PermanentError, match="not the Message-ID of a Deskline mail"):
        _connector(plain.port).comment(TicketRef("email", "<abc@example.org>"), "hi")
    assert plain.handler.messages == []


# -- refusals -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("reply", "error", "words"),
    [
        ("554 5.7.1 Message rejected as spam", PermanentError, "554"),
        ("451 4.3.0 Temporary local problem", TransientError, "will try again"),
        ("452 4.3.1 Insufficient system storage", TransientError, "452"),
    ],
)
def test_data_replies_decide_permanent_or_transient(plain: Server, reply: str, error: type[Exception],
                                                     words: str) -> None:
    plain.handler.data_reply = reply
    with pytest.raises(error, match=words) as info:
        _connector(plain.port).create(SUBMISSION)
    assert not isinstance(info.value, ConfigurationError)


def test_unknown_intake_address_names_the_setting(plain: Server) -> None:
    plain.handler.rcpt_reply = "550 5.1.1 <helpdesk@example.org>: Recipient address rejected"
    with pytest.raises(ConfigurationError, match="intake address helpdesk@example.org") as info:
        _connector(plain.port).create(SUBMISSION)
    assert info.value.setting == "smtp.to"


def test_greylisting_at_rcpt_is_transient(plain: Server) -> None:
    plain.handler.rcpt_reply = "450 4.2.0 Greylisted, try again later"
    with pytest.raises(TransientError, match="450"):
        _connector(plain.port).create(SUBMISSION)


def test_connection_refused_is_transient() -> None:
    port = _free_port()  # nothing listens there
    with pytest.raises(TransientError, match="refused the connection"):
        _connector(port).create(SUBMISSION)


def test_silent_server_times_out_as_transient() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts into the backlog, never greets
        conn = _connector(listener.getsockname()[1], timeout=0.3)
        with pytest.raises(TransientError, match="did not answer in 0.3 s"):
            conn.create(SUBMISSION)


# -- TLS and AUTH ---------------------------------------------------------------------------------------

def test_starttls_with_ca_bundle_and_login(starttls_server: Server, pki: dict[str, Path]) -> None:
    starttls_server.handler.reset()
    conn = _connector(starttls_server.port, security="starttls", ca_bundle=str(pki["ca"]), username="deskline",
                      password_ref="env:DESKLINE_TEST_SMTP_PASSWORD")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DESKLINE_TEST_SMTP_PASSWORD", SECRET)
        ref = conn.create(SUBMISSION)
    assert starttls_server.handler.logins == ["deskline"]
    assert starttls_server.handler.messages[0]["Message-ID"] == ref.ticket_id


def test_starttls_without_the_ca_bundle_is_a_setting_to_fix(starttls_server: Server) -> None:
    conn = _connector(starttls_server.port, security="starttls", username="deskline",
                      password_ref="env:DESKLINE_TEST_SMTP_PASSWORD")
    with pytest.raises(ConfigurationError, match="certificate is not trusted") as info:
        conn.create(SUBMISSION)
    assert info.value.setting == "smtp.ca_bundle"


def test_wrong_password_names_the_setting_and_never_shows_the_password(
        starttls_server: Server, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    starttls_server.handler.reset()
    monkeypatch.setenv("DESKLINE_TEST_SMTP_PASSWORD", "wrong-" + SECRET)
    conn = _connector(starttls_server.port, security="starttls", ca_bundle=str(pki["ca"]), username="deskline",
                      password_ref="env:DESKLINE_TEST_SMTP_PASSWORD")
    with pytest.raises(ConfigurationError) as info:
        conn.create(SUBMISSION)
    assert info.value.setting == "smtp.password"
    assert SECRET not in str(info.value) and "535" in str(info.value)
    assert starttls_server.handler.messages == []


def test_missing_password_reference_is_a_configuration_error(starttls_server: Server, pki: dict[str, Path],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKLINE_TEST_SMTP_NOPE", raising=False)
    conn = _connector(starttls_server.port, security="starttls", ca_bundle=str(pki["ca"]), username="deskline",
                      password_ref="env:DESKLINE_TEST_SMTP_NOPE")
    with pytest.raises(ConfigurationError, match="DESKLINE_TEST_SMTP_NOPE is not set") as info:
        conn.create(SUBMISSION)
    assert info.value.setting == "smtp.password"


def test_starttls_required_but_not_offered(plain: Server) -> None:
    with pytest.raises(ConfigurationError, match="does not offer STARTTLS") as info:
        _connector(plain.port, security="starttls").create(SUBMISSION)
    assert info.value.setting == "smtp.security"
    assert plain.handler.messages == []


def test_implicit_tls(ssl_server: Server, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ssl_server.handler.reset()
    monkeypatch.setenv("DESKLINE_TEST_SMTP_PASSWORD", SECRET)
    conn = _connector(ssl_server.port, security="ssl", ca_bundle=str(pki["ca"]), username="deskline",
                      password_ref="env:DESKLINE_TEST_SMTP_PASSWORD")
    conn.create(SUBMISSION)
    assert ssl_server.handler.logins == ["deskline"]
    assert len(ssl_server.handler.messages) == 1
    assert ssl_server.handler.messages[0]["Subject"] == "Printer prints blank pages [DL-000123]"


def test_plain_credentials_only_to_this_machine() -> None:
    with pytest.raises(ConfigurationError, match="never sent unencrypted") as info:
        SmtpConnector(SmtpConfig(host="mail.example.org", sender="a@b.c", recipient="h@b.c", security="plain",
                                 username="u", password_ref="env:X"))
    assert info.value.setting == "smtp.security"
    SmtpConnector(SmtpConfig(host="127.0.0.1", sender="a@b.c", recipient="h@b.c", security="plain",
                             username="u", password_ref="env:X"))


def test_bad_settings_name_the_setting() -> None:
    cases = [({"security": "tls"}, "smtp.security"), ({"host": ""}, "smtp.host"),
             ({"recipient": "nobody"}, "smtp.to"), ({"sender": ""}, "smtp.from")]
    for change, setting in cases:
        config: dict[str, Any] = {"host": "127.0.0.1", "sender": "a@b.c", "recipient": "h@b.c", **change}
        with pytest.raises(ConfigurationError) as info:
            SmtpConnector(SmtpConfig(**config))
        assert info.value.setting == setting


# -- size -----------------------------------------------------------------------------------------------

def test_server_size_limit_refuses_clearly_before_sending(small_server: Server) -> None:
    small_server.handler.reset()
    conn = _connector(small_server.port)
    ref = conn.create(SUBMISSION)  # small: fits
    with pytest.raises(PermanentError, match=r"accepts messages up to 39 KB; this one is \d+ KB\. It was not sent"):
        conn.attach(ref, [AttachmentFile("report.zip", "application/zip", b"z" * 60_000)])
    assert len(small_server.handler.messages) == 1  # nothing of the large mail reached the server


def test_from_settings_reads_the_smtp_group() -> None:
    settings = {"smtp.host": "127.0.0.1", "smtp.port": 2525, "smtp.security": "plain", "smtp.from": "a@b.c",
                "smtp.to": "h@b.c", "smtp.max_message_bytes": 1_000_000}
    conn = from_settings(settings)
    assert conn.port == 2525 and conn.config.recipient == "h@b.c"
    assert conn.info.max_total_bytes is not None and conn.info.max_total_bytes < 1_000_000 * 3 / 4


def test_registry_builds_it_from_a_settings_file() -> None:
    from desktop.config import parse
    from desktop.connectors import registry

    settings = parse('[helpdesk]\nbackend = "email"\n[smtp]\nhost = "mail.example.org"\nusername = "deskline"\n'
                     'password = "keyring:deskline/smtp"\nfrom = "laptop@example.org"\nto = "help@example.org"\n')
    conn = registry.from_settings(settings)
    assert isinstance(conn, SmtpConnector)
    assert (conn.port, conn.config.security, conn.config.password_ref) == (587, "starttls", "keyring:deskline/smtp")


def test_end_to_end_through_the_outbox(plain: Server, tmp_path: Path) -> None:
    """A report queued in the real outbox reaches the mail server: the report mail first, then the bundle
    and the user's file as replies to it; nothing is sent twice on the next run."""
    from desktop.delivery import Sender
    from desktop.diagnostics.bundle import read_bundle
    from desktop.diagnostics.report import Attachment
    from desktop.outbox import Outbox
    from tests.outbox_doubles import document

    conn = _connector(plain.port)
    with Outbox(tmp_path / "outbox") as outbox:
        entry = outbox.enqueue(document=document(), title="Printer prints blank pages",
                               description="Every page is blank.", summary="## Findings\n\nNo problems found.",
                               attachments=[Attachment("cups.log", b"E [printer] blank\n", "text/plain", False)])
        with Sender(outbox, lambda backend: conn, backend="email", fingerprint="t") as sender:
            result = sender.run()
            assert result.sent == [entry.incident] and result.errors == {}
            assert sender.run().sent == []
        done = outbox.get(entry.id)
        assert done.state == "sent" and not done.has_work

    report, bundle_mail, file_mail = plain.handler.messages
    assert report["Subject"] == f"Printer prints blank pages [{entry.incident}]"
    assert report["X-Deskline-Submission"] == entry.submission_id
    assert bundle_mail["In-Reply-To"] == file_mail["In-Reply-To"] == report["Message-ID"]
    (bundle,) = bundle_mail.iter_attachments()
    path = tmp_path / "bundle.zip"
    data = bundle.get_payload(decode=True)
    assert isinstance(data, bytes)
    path.write_bytes(data)
    assert read_bundle(path).document["report_id"] == document()["report_id"]
    (log_file,) = file_mail.iter_attachments()
    assert (log_file.get_filename(), log_file.get_content()) == ("cups.log", "E [printer] blank\n")
