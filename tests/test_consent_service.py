"""The app's end of the consent channel: strict messages, concurrency, peer checks, ledger, terminal responder."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.consent import ConsentRequest, Denial, Grant
from agent.consent_channel import ConsentChannelError, DesktopGate, LineReader, encode_message
from desktop.consent_service import (
    ConsentAsk,
    ConsentService,
    Decision,
    Ledger,
    TerminalPrompt,
    duration_words,
    question,
    run_terminal,
)

ROOT = Path(__file__).resolve().parents[1]
FP = "SHA256:" + "B" * 43


def request(engineer: str = "Ann Smith", **kw: Any) -> ConsentRequest:
    return ConsentRequest(engineer=engineer, fingerprint=FP, peer="192.0.2.7:50122",
                          commands=kw.pop("commands", ("probe cpu", "report")), ticket=kw.pop("ticket", "DL-000123"),
                          duration_seconds=kw.pop("duration_seconds", 1800))


def wire_request(**change: Any) -> dict[str, Any]:
    return {"type": "consent.request", "id": "r" * 22, "engineer": "Ann", "fingerprint": FP, "peer": "192.0.2.7:1",
            "ticket": "", "commands": ["probe cpu"], "duration_seconds": 60, "timeout_seconds": 5, **change}


def wire_notify(**change: Any) -> dict[str, Any]:
    return {"type": "session.notify", "id": "n" * 22, "engineer": "Ann", "fingerprint": FP, "peer": "192.0.2.7:1",
            "ticket": "DL-000123", "commands": ["probe", "report"], "expires": 1735689600.0,
            "how": "policy:unattended", **change}


def wait_until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short folder for sockets (AF_UNIX paths are limited to 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="dls-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def app(short_dir: Path, tmp_path: Path) -> Iterator[Callable[..., ConsentService]]:
    services: list[ConsentService] = []

    def start(decide: Callable[[ConsentAsk], Decision], **kw: Any) -> ConsentService:
        service = ConsentService(short_dir / "run" / "consent.sock", decide,
                                 ledger=Ledger(tmp_path / "ledger.jsonl"), **kw)
        service.start()
        services.append(service)
        return service

    yield start
    for s in services:
        s.stop()


def kinds(service: ConsentService) -> list[str]:
    return [e["event"] for e in service.ledger.read()]


def raw_exchange(path: Path, data: bytes, timeout: float = 5.0) -> Any:
    """Connect, send ``data``, return the first message back (None if the service just closed)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(path))
        s.sendall(data)
        return LineReader(s).read(time.monotonic() + timeout)


def test_socket_and_folder_are_private(app: Any) -> None:
    service = app(lambda ask: Decision(True))
    assert stat.S_IMODE(service.socket_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(service.socket_path.parent.stat().st_mode) == 0o700
    service.stop()
    assert not service.socket_path.exists()


def test_events_reach_the_listener_and_the_ledger_newest_first(app: Any) -> None:
    seen: list[dict[str, Any]] = []
    service = app(lambda ask: Decision(True, 300, "ok"), on_event=seen.append)
    gate = DesktopGate(service.socket_path)
    grant = gate.ask(request(), timeout=5)
    assert isinstance(grant, Grant)
    wait_until(lambda: len(seen) >= 3)
    assert [e["event"] for e in seen] == ["consent.request", "consent.decision", "session.started"]
    assert seen[1]["allow"] is True and seen[1]["duration_seconds"] == 300 and seen[1]["by"] == "user"
    assert seen[2]["ticket"] == "DL-000123" and seen[2]["commands"] == ["probe cpu", "report"]
    assert service.ledger.read() == list(reversed(seen))
    gate.ended(grant)


@pytest.mark.allow_warning_logs
@pytest.mark.parametrize(("data", "said"), [
    (b"not json\n", "not JSON"),
    (b"[1, 2]\n", "JSON object"),
    (b"x" * 20000, "longer than 16384"),
    (encode_message(wire_request(type="consent.decision")), "not expected"),
    (encode_message(wire_request(engineer="Eve\r\nEngineer Ann")), "control"),
    (encode_message(wire_request(admin=True)), "unexpected field"),
    (json.dumps({**wire_request(), "v": 9}).encode() + b"\n", "version"),
    (encode_message(wire_notify(how="IT said so\n")), "control"),
    (encode_message(wire_notify(how="whatever I like")), "expected form"),
    (encode_message(wire_notify(expires=float("inf"))), "must be a number"),
    (encode_message({k: v for k, v in wire_notify().items() if k != "expires"}), "missing field(s) expires"),
    (encode_message(wire_notify(allow=True)), "unexpected field"),
])
def test_malformed_requests_are_refused_logged_and_the_service_goes_on(
        app: Any, data: bytes, said: str, caplog: pytest.LogCaptureFixture) -> None:
    asked: list[ConsentAsk] = []

    def decide(ask: ConsentAsk) -> Decision:
        asked.append(ask)
        return Decision(True)

    service = app(decide)
    reply = raw_exchange(service.socket_path, data)
    assert reply["type"] == "consent.error" and said in reply["reason"]
    refused = service.ledger.read()[0]
    assert refused["event"] == "channel.refused" and said in refused["reason"]
    assert refused["peer_uid"] == os.geteuid()
    assert any("refused a connection" in r.getMessage() for r in caplog.records)
    assert asked == []  # nothing malformed ever reaches the user
    assert isinstance(DesktopGate(service.socket_path).ask(request(), timeout=5), Grant)


def test_an_unattended_notice_is_recorded_and_shown_without_asking_or_answering(app: Any) -> None:
    seen: list[dict[str, Any]] = []
    asked: list[ConsentAsk] = []

    def decide(ask: ConsentAsk) -> Decision:
        asked.append(ask)
        return Decision(True)

    service = app(decide, on_event=seen.append)
    expires = time.time() + 3600
    DesktopGate(service.socket_path).notify(Grant(request(), expires, "policy:unattended"))
    wait_until(lambda: seen)
    notice = seen[0]
    assert notice["event"] == "session.notify" and notice["engineer"] == "Ann Smith"
    assert notice["fingerprint"] == FP and notice["peer"] == "192.0.2.7:50122" and notice["ticket"] == "DL-000123"
    assert notice["commands"] == ["probe cpu", "report"] and notice["how"] == "policy:unattended"
    assert abs(notice["expires"] - expires) < 0.01 and notice["peer_uid"] == os.geteuid()
    assert service.ledger.read() == seen
    assert asked == [] and service.active_grants() == []  # nobody is asked, no session is held open
    # the app answers nothing: a raw agent that sends a notice and waits reads only the end of the stream
    assert raw_exchange(service.socket_path, encode_message(wire_notify())) is None
    wait_until(lambda: len(seen) == 2)
    assert kinds(service) == ["session.notify", "session.notify"]
    # and the service goes on answering requests
    assert isinstance(DesktopGate(service.socket_path).ask(request(), timeout=5), Grant)


def test_the_terminal_shows_an_unattended_notice(short_dir: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    stop = threading.Event()
    sock = short_dir / "run" / "consent.sock"
    runner = threading.Thread(target=run_terminal, args=(str(sock), 5.0, io.StringIO(), out, stop,
                                                         Ledger(tmp_path / "ledger.jsonl")))
    runner.start()
    try:
        wait_until(lambda: "Ctrl-C to stop" in out.getvalue())
        DesktopGate(sock).notify(Grant(request(), time.time() + 600, "policy:unattended"))
        wait_until(lambda: "Notice:" in out.getvalue())
    finally:
        stop.set()
        runner.join(10)
    assert f"Notice: Ann Smith (key {FP}) from 192.0.2.7:50122 may run diagnostics for ticket DL-000123 until " \
        in out.getvalue()
    assert "without asking, as IT's policy allows." in out.getvalue()


@pytest.mark.allow_warning_logs
def test_a_silent_client_is_dropped(app: Any) -> None:
    service = app(lambda ask: Decision(True), request_wait=0.3)
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(service.socket_path))
        reply = LineReader(s).read(time.monotonic() + 5)
    assert reply["type"] == "consent.error" and "no request within 0.3 s" in reply["reason"]


def test_a_second_agent_is_answered_while_the_first_question_is_open(app: Any) -> None:
    release = threading.Event()

    def decide(ask: ConsentAsk) -> Decision:
        if ask.engineer == "Slow":
            release.wait(10)
        return Decision(True)

    service = app(decide)
    first: list[Grant | Denial] = []
    waiting = threading.Thread(target=lambda: first.append(DesktopGate(service.socket_path).ask(
        request("Slow"), timeout=10)))
    waiting.start()
    try:
        wait_until(lambda: "consent.request" in kinds(service))
        start = time.monotonic()
        second = DesktopGate(service.socket_path).ask(request("Quick"), timeout=5)
        assert isinstance(second, Grant) and time.monotonic() - start < 1.0
        assert first == []  # still waiting for the user
    finally:
        release.set()
        waiting.join(10)
    assert isinstance(first[0], Grant)


@pytest.mark.allow_warning_logs
def test_too_many_agents_at_once_are_refused(app: Any) -> None:
    release = threading.Event()
    service = app(lambda ask: Decision(bool(release.wait(10))), max_clients=1)
    holder = threading.Thread(target=lambda: DesktopGate(service.socket_path).ask(request(), timeout=10))
    holder.start()
    try:
        wait_until(lambda: "consent.request" in kinds(service))
        result = DesktopGate(service.socket_path).ask(request("Second"), timeout=5)
        assert isinstance(result, Denial) and "more than 1 agents connected at once" in result.reason
    finally:
        release.set()
        holder.join(10)


@pytest.mark.allow_warning_logs
def test_a_failing_dialog_is_a_no(app: Any) -> None:
    def decide(ask: ConsentAsk) -> Decision:
        raise RuntimeError("no display")

    service = app(decide)
    result = DesktopGate(service.socket_path).ask(request(), timeout=5)
    assert isinstance(result, Denial)
    assert service.ledger.read()[0]["by"] == "error"


def test_a_live_app_is_not_replaced_and_a_stale_socket_is(app: Any, short_dir: Path, tmp_path: Path) -> None:
    service = app(lambda ask: Decision(True))
    second = ConsentService(service.socket_path, lambda ask: Decision(False), ledger=Ledger(tmp_path / "2.jsonl"))
    with pytest.raises(ConsentChannelError, match="another Deskline app already answers"):
        second.start()
    assert kinds(service) == []  # the liveness check is not a request
    stale = short_dir / "stale" / "consent.sock"
    stale.parent.mkdir(mode=0o700)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(stale))
    s.close()
    with ConsentService(stale, lambda ask: Decision(True), ledger=Ledger(tmp_path / "3.jsonl")) as third:
        assert isinstance(DesktopGate(third.socket_path).ask(request(), timeout=5), Grant)
    not_socket = short_dir / "file" / "consent.sock"
    not_socket.parent.mkdir(mode=0o700)
    not_socket.write_text("mine", encoding="utf-8")
    with pytest.raises(ConsentChannelError, match="not a socket"):
        ConsentService(not_socket, lambda ask: Decision(True), ledger=Ledger(tmp_path / "4.jsonl")).start()


def ask_as(uid: int, path: Path, line: bytes) -> str:
    """In a forked child running as ``uid``: connect, send ``line``, return the first line back or CLOSED."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no logging, no threads, only the socket; always leaves through os._exit
        status = 1
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(5)
                s.connect(str(path))
                s.sendall(line)
                data = b""
                while not data.endswith(b"\n"):
                    try:
                        chunk = s.recv(65536)
                    except ConnectionResetError:  # closed with our request unread
                        break
                    if not chunk:
                        break
                    data += chunk
            os.write(w, data.strip() or b"CLOSED")
            status = 0
        except BaseException as exc:
            os.write(w, repr(exc).encode())
        finally:
            os._exit(status)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another uid (nobody)")
@pytest.mark.allow_warning_logs
def test_peer_credentials_only_root_and_the_user_may_ask(app: Any, short_dir: Path) -> None:
    service = app(lambda ask: Decision(False, reason="checked"))
    # open the file system so that only SO_PEERCRED stands between nobody and the service
    os.chmod(short_dir, 0o755)
    os.chmod(service.socket_path.parent, 0o755)
    os.chmod(service.socket_path, 0o666)

    def as_nobody() -> str:
        return ask_as(65534, service.socket_path, encode_message(wire_request()))

    assert as_nobody() == "CLOSED"
    refused = service.ledger.read()[0]
    assert refused["event"] == "channel.refused" and refused["peer_uid"] == 65534
    assert "uid 65534 may not ask" in refused["reason"]
    service.stop()
    allowing = app(lambda ask: Decision(False, reason="checked"), allowed_uids=[65534])
    assert stat.S_IMODE(allowing.socket_path.parent.stat().st_mode) == 0o700  # closed again on start
    os.chmod(allowing.socket_path.parent, 0o755)
    os.chmod(allowing.socket_path, 0o666)
    answer = json.loads(as_nobody())
    assert answer["type"] == "consent.decision" and answer["reason"] == "checked"
    assert allowing.ledger.read()[1]["peer_uid"] == 65534


# ----------------------------------------------------------------------------------------- ledger

def test_ledger_rotates_and_reads_newest_first(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.jsonl", max_bytes=200, keep=2)
    for n in range(20):
        ledger.append({"event": "x", "n": n})
    files = [p for p in ledger.files() if p.exists()]
    assert len(files) == 3 and all(p.stat().st_size <= 200 for p in files)
    read = [e["n"] for e in ledger.read()]
    assert read == sorted(read, reverse=True) and read[0] == 19
    assert [e["n"] for e in ledger.read(limit=3)] == [19, 18, 17]
    with open(ledger.path, "ab") as f:
        f.write(b'{"event": "torn')  # a crash mid-line
    assert ledger.read(limit=1)[0]["n"] == 19
    assert stat.S_IMODE(ledger.path.stat().st_mode) == 0o600


# ---------------------------------------------------------------------------- terminal responder

def ask_for(duration: int = 1800, timeout: int = 30, ticket: str = "DL-000123") -> ConsentAsk:
    ask = ConsentAsk(id="t" * 22, engineer="Ann Smith", fingerprint=FP, peer="192.0.2.7:50122", ticket=ticket,
                     commands=("probe cpu", "report"), duration_seconds=duration, timeout_seconds=timeout)
    ask.deadline = time.monotonic() + timeout
    return ask


def test_question_wording() -> None:
    assert question(ask_for()) == (f"Engineer Ann Smith (key {FP}) from 192.0.2.7:50122 asks to run: probe cpu, "
                                   "report — for ticket DL-000123 — for 30 minutes.")
    assert "ticket" not in question(ask_for(ticket=""))
    assert [duration_words(s) for s in (1, 45, 60, 3600, 5400, 7190)] == [
        "1 second", "45 seconds", "1 minute", "1 hour", "1 hour 30 minutes", "2 hours"]


@pytest.mark.parametrize(("typed", "allow", "duration"), [
    (b"y\n", True, 1800), (b"YES\n", True, 1800), (b"y 10m\n", True, 600), (b"y 5h\n", True, 1800),
    (b"n\n", False, None), (b"\n", False, None), (b"sure\n", False, None), (b"y soon\n", False, None),
    (b"", False, None),
])
def test_terminal_answers(typed: bytes, allow: bool, duration: int | None) -> None:
    r, w = os.pipe()
    os.write(w, typed)
    os.close(w)
    out = io.StringIO()
    with os.fdopen(r) as stdin:
        decision = TerminalPrompt(stdin, out, timeout=5)(ask_for())
    assert decision.allow is allow
    assert decision.duration_seconds == duration
    assert out.getvalue().startswith("\nEngineer Ann Smith") and "Allow? [y/N] " in out.getvalue()


def test_terminal_silence_is_a_no() -> None:
    r, w = os.pipe()
    out = io.StringIO()
    try:
        with os.fdopen(r) as stdin:
            start = time.monotonic()
            decision = TerminalPrompt(stdin, out, timeout=0.3)(ask_for())
            assert time.monotonic() - start < 2
    finally:
        os.close(w)
    assert decision.allow is False and "No answer within 0 seconds: refused." in out.getvalue()


class Reader:
    """Collects a process's output in the background, so a test can wait for text without blocking."""

    def __init__(self, stream: Any) -> None:
        self.text = ""
        self._stream = stream
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for chunk in iter(lambda: os.read(self._stream.fileno(), 4096), b""):
            self.text += chunk.decode("utf-8", errors="replace")

    def wait_for(self, text: str, timeout: float = 10.0) -> None:
        wait_until(lambda: text in self.text, timeout)


def test_deskline_consent_asks_on_the_terminal(short_dir: Path, tmp_path: Path) -> None:
    sock = short_dir / "run" / "consent.sock"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "consent", "--socket", str(sock), "--timeout", "20"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        out = Reader(proc.stdout)
        out.wait_for("Ctrl-C to stop")
        gate = DesktopGate(sock)
        results: list[Grant | Denial] = []
        asking = threading.Thread(target=lambda: results.append(gate.ask(request(), timeout=20)))
        asking.start()
        out.wait_for("for ticket DL-000123 — for 30 minutes. Allow? [y/N] ")
        assert proc.stdin is not None
        proc.stdin.write(b"y 15m\n")
        proc.stdin.flush()
        asking.join(10)
        grant = results[0]
        assert isinstance(grant, Grant) and 890 < grant.expires - time.time() <= 900
        out.wait_for("Session of Ann Smith started")
        gate.command_ran(grant, "probe cpu", 0, 7.0)
        out.wait_for("Ann Smith ran: probe cpu (exit 0, 7 ms)")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        assert gate.revoked(grant)  # the responder ended the session on its way out
        ledger = Ledger(tmp_path / "data" / "deskline" / "consent-ledger.jsonl").read()
        assert ledger[0]["event"] == "session.ended" and ledger[1]["event"] == "consent.revoke"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
