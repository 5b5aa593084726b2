"""The agent's end of the consent channel (DesktopGate) against the app's real ConsentService on a real socket."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.consent import ConsentRequest, Denial, DenyAll, Grant, NotNotified, UnattendedPolicy
from agent.consent_channel import (
    MAX_LINE,
    ConsentUnavailable,
    DesktopGate,
    MessageError,
    encode_message,
    locate_app_socket,
    validate,
)
from desktop.consent_service import ConsentAsk, ConsentService, Decision, Ledger

FP = "SHA256:" + "A" * 43
REQUEST = ConsentRequest(engineer="Ann Smith", fingerprint=FP, peer="192.0.2.7:50122",
                         commands=("probe cpu", "report"), ticket="DL-000123", duration_seconds=1800)


def wait_until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short folder for sockets (AF_UNIX paths are limited to 108 bytes; pytest's tmp_path can be longer)."""
    path = Path(tempfile.mkdtemp(prefix="dlc-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def app(short_dir: Path, tmp_path: Path) -> Iterator[Callable[..., ConsentService]]:
    """Start ConsentServices with a scripted decide; all stopped in teardown."""
    services: list[ConsentService] = []

    def start(decide: Callable[[ConsentAsk], Decision], name: str = "consent.sock", **kw: Any) -> ConsentService:
        service = ConsentService(short_dir / "run" / name, decide, ledger=Ledger(tmp_path / "ledger.jsonl"), **kw)
        service.start()
        services.append(service)
        return service

    yield start
    for s in services:
        s.stop()


def events(service: ConsentService, kind: str) -> list[dict[str, Any]]:
    return [e for e in service.ledger.read() if e["event"] == kind]


def test_allow_gives_a_grant_with_the_users_duration_and_the_ledger_sees_the_session(app: Any) -> None:
    asked: list[ConsentAsk] = []

    def decide(ask: ConsentAsk) -> Decision:
        asked.append(ask)
        return Decision(True, 600)

    service = app(decide)
    gate = DesktopGate(service.socket_path)
    grant = gate.ask(REQUEST, timeout=5)
    assert isinstance(grant, Grant), grant
    assert grant.how == "user" and grant.commands == ("probe cpu", "report")
    assert 590 < grant.expires - time.time() <= 600
    assert asked[0].engineer == "Ann Smith" and asked[0].ticket == "DL-000123" and asked[0].peer_uid == os.geteuid()
    assert not gate.revoked(grant)
    wait_until(lambda: service.active_grants())
    assert service.active_grants()[0].ask.fingerprint == FP
    gate.command_ran(grant, "probe cpu", 0, 12.5)
    wait_until(lambda: events(service, "session.command"))
    assert events(service, "session.command")[0]["command"] == "probe cpu"
    gate.ended(grant, "the engineer disconnected")
    wait_until(lambda: events(service, "session.ended"))
    assert events(service, "session.ended")[0]["reason"] == "the engineer disconnected"
    assert service.active_grants() == []
    assert gate.revoked(grant)  # an ended grant runs nothing more
    kinds = [e["event"] for e in service.ledger.read()]
    assert kinds == ["session.ended", "session.command", "session.started", "consent.decision", "consent.request"]


def test_behind_an_unattended_policy_the_app_still_hears_of_its_sessions(app: Any) -> None:
    service = app(lambda ask: Decision(True))
    gate = UnattendedPolicy(["SHA256:" + "Z" * 43], DesktopGate(service.socket_path))
    grant = gate.ask(REQUEST, timeout=5)
    assert isinstance(grant, Grant) and grant.how == "user"
    gate.command_ran(grant, "report", 0, 300.0)
    gate.ended(grant, "done")
    wait_until(lambda: events(service, "session.ended"))
    assert events(service, "session.command")[0]["command"] == "report"
    assert events(service, "session.ended")[0]["reason"] == "done"


def test_an_unattended_grant_is_not_asked_but_notified(app: Any) -> None:
    asked: list[ConsentAsk] = []
    service = app(lambda ask: asked.append(ask) or Decision(True))
    gate = UnattendedPolicy([FP], DesktopGate(service.socket_path))
    grant = gate.ask(REQUEST, timeout=5)
    assert isinstance(grant, Grant) and grant.how == "policy:unattended"
    gate.notify(grant)
    wait_until(lambda: events(service, "session.notify"))
    notice = events(service, "session.notify")[0]
    assert notice["engineer"] == "Ann Smith" and notice["how"] == "policy:unattended"
    assert notice["commands"] == ["probe cpu", "report"] and notice["ticket"] == "DL-000123"
    assert asked == [] and not gate.revoked(grant)  # IT's policy: the user is told, not asked


def test_a_notice_without_an_app_says_why(short_dir: Path) -> None:
    grant = Grant(REQUEST, time.time() + 60, "policy:unattended")
    with pytest.raises(NotNotified, match="no desktop app to notify: no one is signed in"):
        UnattendedPolicy([FP], DenyAll()).notify(grant)
    with pytest.raises(ConsentUnavailable, match="the Deskline app is not running"):
        UnattendedPolicy([FP], DesktopGate(short_dir / "consent.sock")).notify(grant)


def test_deny_is_a_denial_with_the_users_reason(app: Any) -> None:
    service = app(lambda ask: Decision(False, reason="not now, I am in a call"))
    result = DesktopGate(service.socket_path).ask(REQUEST, timeout=5)
    assert isinstance(result, Denial)
    assert result.reason == "the user declined: not now, I am in a call"
    assert events(service, "consent.decision")[0]["allow"] is False
    assert service.active_grants() == []


def test_no_answer_in_time_is_a_no_and_the_question_is_cancelled(app: Any) -> None:
    cancelled = threading.Event()

    def decide(ask: ConsentAsk) -> Decision:
        ask.cancelled.wait(10)  # the dialog stays open until the service says the agent gave up
        cancelled.set()
        return Decision(True)

    service = app(decide)
    start = time.monotonic()
    result = DesktopGate(service.socket_path).ask(REQUEST, timeout=0.5)
    assert isinstance(result, Denial)
    assert "did not answer within 0.5 seconds" in result.reason
    assert time.monotonic() - start < 3
    assert cancelled.wait(5)
    wait_until(lambda: events(service, "consent.decision"))
    decision = events(service, "consent.decision")[0]
    assert decision["allow"] is False and decision["by"] == "agent"
    assert not events(service, "session.started")


def test_a_withdrawn_question_closes_in_the_app_and_is_a_no(app: Any) -> None:
    """The engineer left while the user was being asked: the agent withdraws the question with
    ``consent.withdraw``; the app cancels the dialog and records why; the agent's ask returns a no."""
    shown = threading.Event()
    cancelled = threading.Event()

    def decide(ask: ConsentAsk) -> Decision:
        shown.set()
        if ask.cancelled.wait(10):
            cancelled.set()
        return Decision(True)  # a yes after the withdrawal: ignored

    service = app(decide)
    gate = DesktopGate(service.socket_path)
    results: list[Grant | Denial] = []
    asker = threading.Thread(target=lambda: results.append(gate.ask(REQUEST, timeout=30)), daemon=True)
    asker.start()
    assert shown.wait(10)
    assert gate.withdraw(REQUEST, "the engineer left") is True
    asker.join(10)
    assert isinstance(results[0], Denial) and results[0].reason == "withdrawn: the engineer left"
    assert cancelled.wait(5)
    wait_until(lambda: events(service, "consent.decision"))
    decision = events(service, "consent.decision")[0]
    assert decision["allow"] is False and decision["by"] == "agent"
    assert decision["reason"] == "withdrawn by the agent: the engineer left"
    assert not events(service, "session.started") and service.active_grants() == []
    assert gate.withdraw(REQUEST, "again") is False  # nothing is pending any more


def test_a_question_withdrawn_before_it_is_sent_is_never_asked(app: Any) -> None:
    asked: list[ConsentAsk] = []
    service = app(lambda ask: asked.append(ask) or Decision(True))
    gate = DesktopGate(service.socket_path)
    entered = threading.Event()
    release = threading.Event()
    original = gate._target

    def slow_target() -> Any:  # the agent is still looking for the app when the engineer leaves
        entered.set()
        release.wait(10)
        return original()

    gate._target = slow_target  # type: ignore[method-assign]
    results: list[Grant | Denial] = []
    asker = threading.Thread(target=lambda: results.append(gate.ask(REQUEST, timeout=30)), daemon=True)
    asker.start()
    assert entered.wait(10)
    assert gate.withdraw(REQUEST, "the engineer left") is True
    release.set()
    asker.join(10)
    assert isinstance(results[0], Denial) and results[0].reason == "withdrawn: the engineer left"
    assert asked == [] and not events(service, "consent.request")


def test_an_app_that_does_not_know_withdraw_still_closes_the_question(short_dir: Path) -> None:
    """An app older than ``consent.withdraw`` sees data before the decision (a hang-up to it): it stops
    asking too. Here a raw app reads what follows the request: the withdrawal, then the end of stream."""
    path = short_dir / "old.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(1)
    lines: list[dict[str, Any]] = []
    got_request = threading.Event()

    def old_app() -> None:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as stream:
            for line in stream:
                lines.append(json.loads(line))
                got_request.set()

    app_thread = threading.Thread(target=old_app, daemon=True)
    app_thread.start()
    gate = DesktopGate(path)
    results: list[Grant | Denial] = []
    asker = threading.Thread(target=lambda: results.append(gate.ask(REQUEST, timeout=30)), daemon=True)
    asker.start()
    assert got_request.wait(10)
    assert gate.withdraw(REQUEST, "the engineer left") is True
    asker.join(10)
    app_thread.join(10)
    listener.close()
    assert isinstance(results[0], Denial)
    assert [m["type"] for m in lines] == ["consent.request", "consent.withdraw"]
    assert lines[1]["id"] == lines[0]["id"] and lines[1]["reason"] == "the engineer left"
    validate(lines[1], {"consent.withdraw"})


def test_app_not_running_is_a_no(short_dir: Path) -> None:
    result = DesktopGate(short_dir / "consent.sock").ask(REQUEST, timeout=2)
    assert isinstance(result, Denial) and "not running" in result.reason
    # a socket file whose app died: nothing accepts
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(short_dir / "stale.sock"))
    stale.close()
    result = DesktopGate(short_dir / "stale.sock").ask(REQUEST, timeout=2)
    assert isinstance(result, Denial) and "nothing answers" in result.reason


class RawApp:
    """A scripted app: accepts one connection, reads the request, sends ``reply`` bytes, stays open."""

    def __init__(self, path: Path, reply: Callable[[dict[str, Any]], bytes]) -> None:
        self.path = path
        self.reply = reply
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(path))
        self.listener.listen(1)
        self.conn: socket.socket | None = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        conn, _ = self.listener.accept()
        self.conn = conn
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        conn.sendall(self.reply(json.loads(data)))

    def close(self) -> None:
        self.listener.close()
        if self.conn:
            self.conn.close()
        self.thread.join(5)


def _decision(request: dict[str, Any], **change: Any) -> dict[str, Any]:
    return {"v": 1, "type": "consent.decision", "id": request["id"], "allow": True,
            "duration_seconds": 60, "reason": "", **change}


@pytest.mark.parametrize(("reply", "said"), [
    (lambda r: b"yes please\n", "not JSON"),
    (lambda r: b"{" + b" " * MAX_LINE + b"}\n", "longer than"),
    (lambda r: json.dumps(_decision(r, allow="yes")).encode() + b"\n", "'allow' must be true or false"),
    (lambda r: json.dumps(_decision(r, extra=1)).encode() + b"\n", "unexpected field"),
    (lambda r: json.dumps(_decision(r, id="X" * 22)).encode() + b"\n", "not the decision on this request"),
    (lambda r: json.dumps(_decision(r, v=2)).encode() + b"\n", "unsupported channel version"),
    (lambda r: json.dumps({**_decision(r), "type": "session.started"}).encode() + b"\n", "unknown message"),
    (lambda r: json.dumps(_decision(r, duration_seconds=-5)).encode() + b"\n", "duration_seconds"),
    (lambda r: json.dumps(_decision(r))[:-1].encode(), "did not answer"),  # no newline ever: no answer
])
@pytest.mark.allow_warning_logs
def test_a_malformed_answer_is_a_no(short_dir: Path, reply: Callable[[dict[str, Any]], bytes], said: str) -> None:
    fake = RawApp(short_dir / "consent.sock", reply)
    try:
        result = DesktopGate(fake.path).ask(REQUEST, timeout=1)
    finally:
        fake.close()
    assert isinstance(result, Denial)
    assert said in result.reason or (said == "unknown message" and "not expected" in result.reason), result.reason


def test_a_zero_second_yes_is_a_no(short_dir: Path) -> None:
    fake = RawApp(short_dir / "consent.sock", lambda r: encode_message(
        {k: v for k, v in _decision(r, duration_seconds=0).items() if k != "v"}))
    try:
        result = DesktopGate(fake.path).ask(REQUEST, timeout=2)
    finally:
        fake.close()
    assert isinstance(result, Denial) and "zero seconds" in result.reason


def test_revocation_is_seen_before_the_next_command(app: Any) -> None:
    service = app(lambda ask: Decision(True))
    gate = DesktopGate(service.socket_path)
    grant = gate.ask(REQUEST, timeout=5)
    assert isinstance(grant, Grant)
    wait_until(lambda: service.active_grants())
    grant_id = service.active_grants()[0].id
    assert gate.grant_id(grant) == grant_id
    assert service.revoke(grant_id) is True  # acknowledged: the agent has marked it revoked already
    assert gate.revoked(grant)  # no waiting: the acknowledgement comes after the mark
    wait_until(lambda: events(service, "session.ended"))
    assert events(service, "session.ended")[0]["reason"].startswith("revoked")
    assert service.active_grants() == []


def test_the_app_going_away_revokes(app: Any) -> None:
    service = app(lambda ask: Decision(True))
    gate = DesktopGate(service.socket_path)
    grant = gate.ask(REQUEST, timeout=5)
    assert isinstance(grant, Grant)
    wait_until(lambda: service.active_grants())  # the app records the grant after answering
    service.stop("the user quit the app")
    wait_until(lambda: gate.revoked(grant))
    assert "the user quit the app" in events(service, "consent.revoke")[0]["reason"]


def test_a_grant_expires_and_the_app_is_told(app: Any) -> None:
    service = app(lambda ask: Decision(True, 1))
    gate = DesktopGate(service.socket_path)
    grant = gate.ask(REQUEST, timeout=5)
    assert isinstance(grant, Grant)
    assert not gate.revoked(grant)
    wait_until(lambda: gate.revoked(grant), timeout=5)
    assert not grant.allows("probe cpu")
    wait_until(lambda: events(service, "session.ended"))
    assert events(service, "session.ended")[0]["reason"] == "expired"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the socket file another owner")
def test_agent_refuses_an_app_that_is_not_the_sockets_owner(app: Any) -> None:
    service = app(lambda ask: Decision(True))
    os.chown(service.socket_path, 65534, 65534)  # the file claims to be nobody's; root answers on it
    result = DesktopGate(service.socket_path).ask(REQUEST, timeout=2)
    assert isinstance(result, Denial)
    assert "answered by uid 0, not by its owner uid 65534" in result.reason
    assert not events(service, "consent.decision")


# ------------------------------------------------------------------------ which user is asked

def _socket_at(path: Path, uid: int) -> socket.socket:
    path.parent.mkdir(parents=True)
    os.chown(path.parent.parent, uid, uid)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    os.chown(path, uid, uid)
    s.listen(1)
    return s


def _session(folder: Path, name: str, uid: int, kind: str, active: bool) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(f"UID={uid}\nUSER=u{uid}\nACTIVE={int(active)}\nSTATE={'active' if active else 'online'}"
                               f"\nTYPE={kind}\nCLASS=user\n", encoding="utf-8")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make runtime folders owned by other users")
def test_locate_prefers_the_user_at_the_screen(short_dir: Path) -> None:
    root, sessions = short_dir / "user", short_dir / "sessions"
    opened = [_socket_at(root / "61000" / "deskline" / "consent.sock", 61000),
              _socket_at(root / "61001" / "deskline" / "consent.sock", 61001)]
    try:
        with pytest.raises(ConsentUnavailable, match="several users"):
            locate_app_socket(runtime_root=root, sessions_dir=sessions, euid=0)
        _session(sessions, "3", 61000, "tty", active=False)
        _session(sessions, "4", 61001, "wayland", active=True)
        found = locate_app_socket(runtime_root=root, sessions_dir=sessions, euid=0)
        assert found.uid == 61001 and found.path == root / "61001" / "deskline" / "consent.sock"
        # the user at the screen does not run the app: nobody else is asked in their place
        (root / "61001" / "deskline" / "consent.sock").unlink()
        with pytest.raises(ConsentUnavailable, match=r"at the screen \(uid 61001\) is not running"):
            locate_app_socket(runtime_root=root, sessions_dir=sessions, euid=0)
        # a socket in a folder the user does not own is not theirs
        os.chown(root / "61000", 0, 0)
        (sessions / "4").unlink()
        with pytest.raises(ConsentUnavailable, match="no signed-in user"):
            locate_app_socket(runtime_root=root, sessions_dir=sessions, euid=0)
    finally:
        for s in opened:
            s.close()


def test_locate_as_a_user_finds_their_own_app(short_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_dir))
    with pytest.raises(ConsentUnavailable, match="not running"):
        locate_app_socket(euid=4242)
    service = ConsentService(None, lambda ask: Decision(True), ledger=Ledger(short_dir / "l.jsonl"))
    assert service.socket_path == short_dir / "deskline" / "consent.sock"
    service.start()
    try:
        assert locate_app_socket(euid=4242).path == service.socket_path
    finally:
        service.stop()


# ---------------------------------------------------------------------------- message checks

GOOD_REQUEST = {"v": 1, "type": "consent.request", "id": "a" * 22, "engineer": "Ann", "fingerprint": FP,
                "peer": "192.0.2.7:1", "ticket": "", "commands": ["probe cpu"], "duration_seconds": 60,
                "timeout_seconds": 30}


@pytest.mark.parametrize(("change", "said"), [
    ({"engineer": "Ann\x1b[2J"}, "control"),
    ({"engineer": "Ann\u202egnp.exe"}, "control or formatting"),
    ({"engineer": ""}, "empty"),
    ({"engineer": "A" * 129}, "longer than 128"),
    ({"fingerprint": "SHA256:short"}, "expected form"),
    ({"id": "../../etc"}, "expected form"),
    ({"commands": []}, "list of 1 to"),
    ({"commands": ["x"] * 33}, "list of 1 to"),
    ({"commands": [1]}, "must be text"),
    ({"duration_seconds": True}, "whole number"),
    ({"duration_seconds": 86401}, "whole number"),
    ({"timeout_seconds": 0}, "whole number"),
])
def test_request_validation_is_strict(change: dict[str, Any], said: str) -> None:
    with pytest.raises(MessageError, match=said):
        validate({**GOOD_REQUEST, **change}, {"consent.request"})
    assert validate(dict(GOOD_REQUEST), {"consent.request"})["engineer"] == "Ann"


GOOD_NOTIFY = {"v": 1, "type": "session.notify", "id": "n" * 22, "engineer": "Ann", "fingerprint": FP,
               "peer": "192.0.2.7:1", "ticket": "", "commands": ["probe", "report"], "expires": 1735689600.0,
               "how": "policy:unattended"}


@pytest.mark.parametrize(("change", "said"), [
    ({"engineer": "Ann\u202egnp.exe"}, "control or formatting"),
    ({"id": "short"}, "expected form"),
    ({"commands": []}, "list of 1 to"),
    ({"expires": "tomorrow"}, "must be a number"),
    ({"expires": -1}, "must be a number"),
    ({"how": ""}, "empty"),
    ({"how": "Policy: trust me"}, "expected form"),
    ({"duration_seconds": 60}, "unexpected field"),
])
def test_notice_validation_is_strict(change: dict[str, Any], said: str) -> None:
    with pytest.raises(MessageError, match=said):
        validate({**GOOD_NOTIFY, **change}, {"session.notify"})
    with pytest.raises(MessageError, match="not expected from this side"):
        validate(dict(GOOD_NOTIFY), {"consent.decision", "consent.revoke"})  # the app never sends one
    assert validate(dict(GOOD_NOTIFY), {"session.notify"})["how"] == "policy:unattended"


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted({*GOOD_REQUEST, *GOOD_NOTIFY})), json_values, max_size=12)
       | json_values)
def test_validate_raises_only_message_errors(message: Any) -> None:
    try:
        validate(message, {"consent.request", "consent.decision", "session.command", "session.notify"})
    except MessageError:
        pass
