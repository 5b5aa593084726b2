"""The delivery service: a real thread sending to the real local store, waiting on signals (no sleeps)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QVBoxLayout, QWidget

from desktop.connectors.local import LocalStore
from desktop.delivery import file_report
from desktop.diagnostics.report import build
from desktop.ui import delivery_service
from desktop.ui.delivery_service import DeliveryService, ProblemBanner

WAIT = 10_000  # ms: generous for a loaded CI machine; the local store answers in milliseconds


class FakeWindow(QWidget):
    """Stands in for the main window: only the banner area."""

    def __init__(self) -> None:
        super().__init__()
        self.layout_ = QVBoxLayout(self)

    def add_banner(self, widget: QWidget) -> None:
        self.layout_.addWidget(widget)

    def banners(self) -> list[ProblemBanner]:
        return [w for w in self.findChildren(ProblemBanner) if not w.isHidden()]


def file_one(ctx: Any, title: str = "The printer does not print") -> int:
    return file_report(ctx.outbox(), build([]), title=title, description="Nothing comes out.").id


@pytest.fixture
def window(qtbot: Any) -> FakeWindow:
    w = FakeWindow()
    qtbot.addWidget(w)
    return w


@pytest.fixture
def start(ctx: Any, window: FakeWindow, qtbot: Any) -> Iterator[Any]:
    """Start the service (waiting for its first cycle); stopped at the end of the test."""
    started: list[DeliveryService] = []

    def run() -> DeliveryService:
        service = DeliveryService(ctx, window)
        ctx.services["delivery"] = service
        with qtbot.waitSignal(service.cycleFinished, timeout=WAIT):
            service.start()
        started.append(service)
        return service

    yield run
    for service in started:
        service.stop()
    ctx.services.clear()


def test_start_sends_a_waiting_report_and_says_so(ctx: Any, window: FakeWindow, qtbot: Any) -> None:
    number = file_one(ctx)
    with qtbot.waitSignal(ctx.outboxChanged, timeout=WAIT):
        service = delivery_service.start(ctx, window)
    try:
        assert ctx.services["delivery"] is service
        qtbot.waitUntil(lambda: ctx.outbox().get(number).state == "sent", timeout=WAIT)
        entry = ctx.outbox().get(number)
        assert entry.backend == "local" and entry.ticket_id == "DL-000001"
        store = LocalStore(ctx.outbox_folder)
        try:
            assert store.count() == 1
            assert [name for name, _size, _sha in store.files(entry.ticket_id)] == ["deskline-report-DL-000001.zip"]
        finally:
            store.close()
        assert service.connector_info("local") is not None and service.connector_info("local").has_rating
        assert window.banners() == []
    finally:
        service.stop()


def test_delivery_requested_sends_a_new_report(ctx: Any, start: Any, qtbot: Any) -> None:
    start()
    number = file_one(ctx)
    with qtbot.waitSignal(ctx.outboxChanged, timeout=WAIT):
        ctx.deliveryRequested.emit()
    qtbot.waitUntil(lambda: ctx.outbox().get(number).state == "sent", timeout=WAIT)


def test_helpdesk_resolving_a_ticket_emits_ticket_updated(ctx: Any, start: Any, qtbot: Any) -> None:
    number = file_one(ctx)
    service = start()
    qtbot.waitUntil(lambda: ctx.outbox().get(number).status_state == "new", timeout=WAIT)
    store = LocalStore(ctx.outbox_folder)
    try:
        store.set_state(ctx.outbox().get(number).ticket_id, "resolved")
    finally:
        store.close()
    with qtbot.waitSignal(ctx.ticketUpdated, timeout=WAIT,
                          check_params_cb=lambda n, kind, _text: n == number and kind == "status") as blocker:
        service.refresh_now()
    assert "DL-000001" in blocker.args[2] and "Resolved" in blocker.args[2]
    assert ctx.outbox().get(number).status_state == "resolved"
    assert service.last_checked is not None


def test_new_replies_emit_ticket_updated(ctx: Any, start: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A helpdesk's reply found by a check reaches the tray as ``reply``."""
    from desktop.connectors.base import Reply, TicketStatus

    number = file_one(ctx)
    service = start()
    qtbot.waitUntil(lambda: ctx.outbox().get(number).status_state == "new", timeout=WAIT)

    def status(self: LocalStore, ticket: Any, etag: str = "") -> TicketStatus:
        return TicketStatus(ticket, "open", "Open", "2026-11-21T10:00:00Z",
                            (Reply("r1", "Anna", "2026-11-21T10:00:00Z", "Please restart the printer."),), "v9")

    monkeypatch.setattr(LocalStore, "status", status)
    replies = []
    ctx.ticketUpdated.connect(lambda n, kind, text: replies.append((n, kind, text)) if kind == "reply" else None)
    with qtbot.waitSignal(ctx.ticketUpdated, timeout=WAIT, check_params_cb=lambda _n, kind, _t: kind == "reply"):
        service.refresh_now()
    assert replies == [(number, "reply", "New reply on DL-000001 “The printer does not print” from Anna: "
                                         "Please restart the printer.")]
    assert ctx.outbox().get(number).replies_new == 1


def test_settings_change_rebuilds_the_sender_and_a_problem_shows_one_banner(
        ctx: Any, start: Any, window: FakeWindow, qtbot: Any) -> None:
    service = start()
    assert window.banners() == []
    with qtbot.waitSignal(service.cycleFinished, timeout=WAIT):
        ctx.save_settings({"helpdesk.backend": "redmine"})  # and no helpdesk.url: a ConfigurationError
    number = file_one(ctx)
    with qtbot.waitSignal(service.cycleFinished, timeout=WAIT):
        ctx.deliveryRequested.emit()
    qtbot.waitUntil(lambda: len(window.banners()) == 1, timeout=WAIT)
    (banner,) = window.banners()
    assert "settings" in banner.text.text()
    assert "helpdesk.url" in banner.details.text()
    assert not banner.details.isVisible()
    entry = ctx.outbox().get(number)
    assert entry.state == "queued"  # the report is kept, waiting for the settings
    assert all(p.shown for p in ctx.outbox().problems())
    for _ in range(2):  # the same problem again: no second banner
        with qtbot.waitSignal(service.cycleFinished, timeout=WAIT):
            service.send_now()
    assert len(window.banners()) == 1
    with qtbot.waitSignal(ctx.navigate, timeout=WAIT) as nav:
        banner.settings_button.click()
    assert nav.args == ["settings", None]
    banner.close_button.click()
    assert window.banners() == []


def test_a_problem_already_shown_is_not_shown_again_after_a_restart(
        ctx: Any, start: Any, window: FakeWindow, qtbot: Any) -> None:
    ctx.save_settings({"helpdesk.backend": "redmine"})
    file_one(ctx)
    first = start()
    qtbot.waitUntil(lambda: len(window.banners()) == 1, timeout=WAIT)
    first.stop()
    for banner in window.banners():
        banner.close_button.click()
    second = start()
    with qtbot.waitSignal(second.cycleFinished, timeout=WAIT):
        second.send_now()
    assert window.banners() == []


def test_stop_ends_the_thread_promptly(ctx: Any, start: Any) -> None:
    service = start()
    assert service.running
    began = time.monotonic()
    service.stop()
    assert time.monotonic() - began < 1.0
    assert not service.running
    service.stop()  # twice is harmless
