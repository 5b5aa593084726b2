"""My tickets, driven like a user: reports filed and sent to the real local store by the running delivery
service; the helpdesk's side played with the store's own ``set_state``. Waits on signals, never sleeps."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from desktop.connectors.base import Reply, TicketRef, TicketStatus
from desktop.connectors.local import LocalStore
from desktop.delivery import file_report
from desktop.diagnostics.report import build
from desktop.ui.delivery_service import DeliveryService
from desktop.ui.tickets import TicketsModel, TicketsPage

WAIT = 10_000

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")  # offscreen: no window manager


def file_one(ctx: Any, title: str = "The printer does not print") -> int:
    return file_report(ctx.outbox(), build([]), title=title, description="Nothing comes out.\nNot even a page.").id


@pytest.fixture
def store(ctx: Any) -> Iterator[LocalStore]:
    s = LocalStore(ctx.outbox_folder)
    yield s
    s.close()


@pytest.fixture
def service(ctx: Any, qtbot: Any) -> Iterator[DeliveryService]:
    svc = DeliveryService(ctx, None)
    ctx.services["delivery"] = svc
    with qtbot.waitSignal(svc.cycleFinished, timeout=WAIT):
        svc.start()
    yield svc
    svc.stop()
    ctx.services.clear()


@pytest.fixture
def page(ctx: Any, qtbot: Any) -> TicketsPage:
    p = TicketsPage(ctx, None)
    qtbot.addWidget(p)
    p.resize(1040, 700)
    p.show()
    qtbot.waitUntil(lambda: not p._loading, timeout=WAIT)
    return p


def row_of(page: TicketsPage, number: int) -> int | None:
    for row in range(page.proxy.rowCount()):
        if page.proxy.index(row, 0).data(Qt.ItemDataRole.UserRole) == number:
            return row
    return None


def cell(page: TicketsPage, number: int, column: int) -> str:
    row = row_of(page, number)
    assert row is not None, f"report {number} is not listed"
    return str(page.proxy.index(row, column).data())


def choose(page: TicketsPage, qtbot: Any, number: int) -> None:
    """Click the report's row in the list and wait for its conversation."""
    qtbot.waitUntil(lambda: row_of(page, number) is not None, timeout=WAIT)
    index = page.proxy.index(row_of(page, number), TicketsModel.TITLE)
    rect = page.table.visualRect(index)
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    # (the newest report is chosen when the screen opens: clicking it again loads nothing new)
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.entry.id == number, timeout=WAIT)
    assert page.current_number() == number


def sent(ctx: Any, qtbot: Any, number: int) -> Any:
    """Ask the service to send (as the wizard does after filing) and wait until the ticket's status is known."""
    ctx.deliveryRequested.emit()
    qtbot.waitUntil(lambda: ctx.outbox().get(number).status_state == "new", timeout=WAIT)
    return ctx.outbox().get(number)


def resolve(ctx: Any, qtbot: Any, page: TicketsPage, store: LocalStore, number: int) -> None:
    """The helpdesk resolves the ticket; the user presses Refresh."""
    store.set_state(ctx.outbox().get(number).ticket_id, "resolved")
    with qtbot.waitSignal(ctx.ticketUpdated, timeout=WAIT,
                          check_params_cb=lambda n, kind, _t: n == number and kind == "status"):
        qtbot.mouseClick(page.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cell(page, number, TicketsModel.STATUS) == "Resolved", timeout=WAIT)


def test_a_filed_report_is_sent_and_listed_newest_first(ctx: Any, service: Any, page: TicketsPage, qtbot: Any) -> None:
    first = file_one(ctx, "Wi-Fi drops")
    second = file_one(ctx)
    sent(ctx, qtbot, first)
    sent(ctx, qtbot, second)
    qtbot.waitUntil(lambda: row_of(page, first) is not None and cell(page, first, TicketsModel.STATUS) == "New",
                    timeout=WAIT)
    assert row_of(page, second) == 0 and row_of(page, first) == 1  # newest first
    assert cell(page, second, TicketsModel.INCIDENT) == "DL-000002"
    assert cell(page, second, TicketsModel.TITLE) == "The printer does not print"
    assert cell(page, second, TicketsModel.TICKET) == "On this computer"
    choose(page, qtbot, second)
    text = page.conversation.toPlainText()
    assert "You reported" in text and "Nothing comes out." in text
    assert "DL-000002" in page.detail_where.text()
    assert page.close_button.isVisible() and not page.reopen_button.isVisible()
    assert not page.rating_box.isVisible()


def test_resolved_then_rated_four_with_a_remark(ctx: Any, service: Any, page: TicketsPage, store: LocalStore,
                                                 qtbot: Any) -> None:
    number = file_one(ctx)
    entry = sent(ctx, qtbot, number)
    choose(page, qtbot, number)
    resolve(ctx, qtbot, page, store, number)
    qtbot.waitUntil(lambda: page.rating_box.isVisible(), timeout=WAIT)
    assert page.reopen_button.isVisible()
    assert not page.rating_note.isVisible()  # the local store keeps ratings
    assert not page.rate_button.isEnabled()  # no stars chosen yet
    qtbot.mouseClick(page.stars.buttons[3], Qt.MouseButton.LeftButton)
    assert page.stars.value() == 4 and page.rate_button.isEnabled()
    qtbot.keyClicks(page.remark, "Quick and friendly")
    with qtbot.waitSignal(page.actionFinished, timeout=WAIT, check_params_cb=lambda name, ok: name == "rate" and ok):
        qtbot.mouseClick(page.rate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: store.ratings(entry.ticket_id) == [(4, "Quick and friendly")], timeout=WAIT)
    qtbot.waitUntil(lambda: "4 of 5" in page.rated.text() and page.rated.isVisible(), timeout=WAIT)
    assert not page.stars.isVisible()
    qtbot.waitUntil(lambda: "Delivered" in page.conversation.toPlainText(), timeout=WAIT)
    assert "★★★★☆" in page.conversation.toPlainText()


def test_comment_with_an_attachment_reaches_the_store(ctx: Any, service: Any, page: TicketsPage, store: LocalStore,
                                                      qtbot: Any, tmp_path: Path) -> None:
    number = file_one(ctx)
    entry = sent(ctx, qtbot, number)
    choose(page, qtbot, number)
    log = tmp_path / "printer.log"
    log.write_text("job 17 failed: paper jam\n", encoding="utf-8")
    assert not page.send_button.isEnabled()
    page.add_files([str(log)])
    assert page.files.count() == 1 and "printer.log" in page.files.item(0).text()
    qtbot.keyClicks(page.comment, "It happened again this morning")
    with qtbot.waitSignal(page.actionFinished, timeout=WAIT,
                          check_params_cb=lambda name, ok: name == "comment" and ok):
        qtbot.keyClick(page.comment, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert page.comment.toPlainText() == "" and page.files.count() == 0  # the composer is cleared
    qtbot.waitUntil(lambda: "It happened again this morning" in store.comments(entry.ticket_id), timeout=WAIT)
    qtbot.waitUntil(lambda: "printer.log" in [name for name, _size, _sha in store.files(entry.ticket_id)],
                    timeout=WAIT)
    qtbot.waitUntil(lambda: "Delivered" in page.conversation.toPlainText(), timeout=WAIT)
    assert "printer.log" in page.conversation.toPlainText()


def test_a_failed_report_shows_the_reason_and_retry_queues_it(ctx: Any, page: TicketsPage, qtbot: Any) -> None:
    number = file_one(ctx)
    box = ctx.outbox()
    box.claim("test", number=number)
    box.mark_failed(number, "test", "the helpdesk refused the report: the title is too long")
    box.release(number, "test")
    page.reload()
    qtbot.waitUntil(lambda: row_of(page, number) is not None and cell(page, number, TicketsModel.STATUS) == "Not sent",
                    timeout=WAIT)
    choose(page, qtbot, number)
    assert "the title is too long" in page.detail_where.text()
    assert page.retry_button.isVisible() and page.retry_button.text().replace("&", "") == "Retry"
    assert not page.side.isVisible()  # nothing can be added before it is sent
    with qtbot.waitSignal(ctx.deliveryRequested, timeout=WAIT):
        qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    assert ctx.outbox().get(number).state == "queued"
    qtbot.waitUntil(lambda: cell(page, number, TicketsModel.STATUS) == "Waiting to be sent", timeout=WAIT)
    assert page.message.isVisible()


def test_unread_replies_are_bold_with_a_count_until_read(ctx: Any, service: Any, page: TicketsPage,
                                                         qtbot: Any) -> None:
    number = file_one(ctx)
    newer = file_one(ctx, "Wi-Fi drops")  # shown first when the screen opens, so the other stays unread
    entry = sent(ctx, qtbot, number)
    sent(ctx, qtbot, newer)
    qtbot.waitUntil(lambda: page.current_number() == newer, timeout=WAIT)
    ctx.outbox().update_status(number, TicketStatus(
        TicketRef("local", entry.ticket_id), "open", "Open", "2026-11-21T10:00:00Z",
        (Reply("1", "Anna Petrova", "2026-11-21T09:00:00Z", "Did you restart it?"),
         Reply("2", "Anna Petrova", "2026-11-21T10:00:00Z", "I replaced the toner.")), "x"))
    page.reload()
    qtbot.waitUntil(lambda: "2 new" in cell(page, number, TicketsModel.TITLE), timeout=WAIT)
    index = page.proxy.index(row_of(page, number), TicketsModel.TITLE)
    assert index.data(Qt.ItemDataRole.FontRole).bold()
    choose(page, qtbot, number)
    qtbot.waitUntil(lambda: "I replaced the toner." in page.conversation.toPlainText(), timeout=WAIT)
    text = page.conversation.toPlainText()
    assert "Did you restart it?" in text and text.count("New") == 2
    qtbot.waitUntil(lambda: cell(page, number, TicketsModel.TITLE) == "The printer does not print", timeout=WAIT)
    index = page.proxy.index(row_of(page, number), TicketsModel.TITLE)
    assert index.data(Qt.ItemDataRole.FontRole) is None
    assert ctx.outbox().get(number).replies_new == 0


def test_close_hides_it_from_open_tickets_and_reopen_asks_again(ctx: Any, service: Any, page: TicketsPage,
                                                                 store: LocalStore, qtbot: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    number = file_one(ctx)
    entry = sent(ctx, qtbot, number)
    choose(page, qtbot, number)
    monkeypatch.setattr(page, "_confirm", lambda _title, _text: True)
    with qtbot.waitSignal(ctx.ticketUpdated, timeout=WAIT,
                          check_params_cb=lambda n, kind, text: n == number and "Closed" in text):
        qtbot.mouseClick(page.close_button, Qt.MouseButton.LeftButton)
    assert store.conn.execute("SELECT state FROM local_tickets").fetchone()[0] == "closed"
    qtbot.waitUntil(lambda: row_of(page, number) is None, timeout=WAIT)  # "Open tickets" hides it
    assert page.list_stack.currentWidget() is page.empty
    page.open(entry.incident)  # (as a notification would): a closed one shows "All tickets"
    assert page.filter.currentIndex() == 1
    qtbot.waitUntil(lambda: page.current_number() == number, timeout=WAIT)
    assert cell(page, number, TicketsModel.STATUS) == "Closed"
    choose(page, qtbot, number)
    assert page.reopen_button.isVisible() and not page.close_button.isVisible()
    qtbot.keyClicks(page.comment, "It jams again.")
    with qtbot.waitSignal(ctx.ticketUpdated, timeout=WAIT,
                          check_params_cb=lambda n, kind, text: n == number and "In progress" in text):
        qtbot.mouseClick(page.reopen_button, Qt.MouseButton.LeftButton)
    assert store.conn.execute("SELECT state FROM local_tickets").fetchone()[0] == "open"
    qtbot.waitUntil(lambda: any("reopen" in c and "It jams again." in c for c in store.comments(entry.ticket_id)),
                    timeout=WAIT)


def test_export_saves_the_report_where_the_user_chose(ctx: Any, page: TicketsPage, qtbot: Any, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    number = file_one(ctx)
    page.reload()
    choose(page, qtbot, number)
    target = tmp_path / "handover.zip"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    with qtbot.waitSignal(page.actionFinished, timeout=WAIT, check_params_cb=lambda name, ok: name == "export" and ok):
        qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    assert "report.json" in zipfile.ZipFile(target).namelist()
    assert str(target) in page.message_text.text()


def test_the_newest_is_shown_and_open_selects_an_incident(ctx: Any, page: TicketsPage, qtbot: Any) -> None:
    first, second = file_one(ctx, "First"), file_one(ctx, "Second")
    with qtbot.waitSignal(page.detailLoaded, timeout=WAIT):
        page.reload()
    assert page.current_number() == second
    with qtbot.waitSignal(page.detailLoaded, timeout=WAIT):
        page.open(f"DL-{first:06d}")
    assert page.detail is not None and page.detail.entry.id == first
    assert page.current_number() == first
    with qtbot.waitSignal(page.detailLoaded, timeout=WAIT):
        page.open(second)
    assert page.current_number() == second
    assert page.detail is not None and page.detail.entry.title == "Second"


def test_empty_list_offers_to_report_a_problem(ctx: Any, page: TicketsPage, qtbot: Any) -> None:
    assert page.list_stack.currentWidget() is page.empty
    assert page.empty_button.isVisible()
    with qtbot.waitSignal(ctx.navigate, timeout=WAIT) as nav:
        qtbot.mouseClick(page.empty_button, Qt.MouseButton.LeftButton)
    assert nav.args == ["report", None]


def test_language_change_keeps_the_typed_comment(ctx: Any, page: TicketsPage, qtbot: Any) -> None:
    number = file_one(ctx)
    page.reload()
    choose(page, qtbot, number)
    qtbot.keyClicks(page.comment, "half-written")
    page.retranslate()
    assert page.comment.toPlainText() == "half-written"


def test_each_report_keeps_its_own_half_written_comment(ctx: Any, page: TicketsPage, qtbot: Any,
                                                         tmp_path: Path) -> None:
    first, second = file_one(ctx, "First"), file_one(ctx, "Second")
    page.reload()
    choose(page, qtbot, first)
    qtbot.keyClicks(page.comment, "about the first")
    shot = tmp_path / "shot.png"
    shot.write_bytes(b"\x89PNG")
    page.add_files([str(shot)])
    choose(page, qtbot, second)
    assert page.comment.toPlainText() == "" and page.files.count() == 0
    choose(page, qtbot, first)
    assert page.comment.toPlainText() == "about the first" and page.files.count() == 1
