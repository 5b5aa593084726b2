"""The whole way a user takes, on the real main window with its services, to a ticket in the local store.

Self-help search -> "Report a problem" -> the wizard (words, a file, the real background collection of
three quick probes) -> the review (one section unticked) -> Send -> the delivery service sends the
report to the local store (``helpdesk.backend = "local"``) -> the sent panel shows the ticket. Nothing is
faked: only the probes are limited (``probes.disabled``) to keep the collection short.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QThreadPool

from desktop.connectors.local import LocalStore
from desktop.diagnostics.registry import PROBES

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")  # offscreen: no window manager

KEPT = ("system", "memory", "disks")
QUERY = "printer does not print"


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "deskline.toml"
    disabled = ", ".join(f'"{p}"' for p in PROBES if p not in KEPT)
    path.write_text(f'version = 1\n[outbox]\npath = "{tmp_path / "outbox"}"\n[probes]\ndisabled = [{disabled}]\n',
                    encoding="utf-8")
    return path


@pytest.fixture
def window(qtbot: Any, ctx: Any) -> Iterator[Any]:
    from desktop.ui.app import build

    main = build(ctx, tray=False, services=True)
    qtbot.addWidget(main)
    main.show()
    yield main
    for service in list(ctx.services.values()):
        service.stop()
    assert QThreadPool.globalInstance().waitForDone(10000)


def test_from_search_to_a_ticket_in_the_local_store(qtbot: Any, ctx: Any, window: Any, tmp_path: Path) -> None:
    # 1. self-help: search, then "Report a problem"
    help_page = window.page("help")
    assert window.current_key() == "help"
    help_page.search.setFocus()
    qtbot.keyClicks(help_page.search, QUERY)
    qtbot.waitUntil(lambda: bool(help_page.result_ids()), timeout=15000)
    qtbot.mouseClick(help_page.report_button, Qt.MouseButton.LeftButton)

    # 2. the wizard opens with the search as the title; the collection runs in the background
    assert window.current_key() == "report"
    wizard = window.page("report")
    assert wizard.what.title.text() == QUERY
    wizard.what.description.setFocus()
    qtbot.keyClicks(wizard.what.description, "Nothing comes out since this morning. password=hunter2")
    with qtbot.waitSignal(wizard.stepChanged, timeout=15000) as step:
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
    assert step.args == [1]
    log = tmp_path / "printer.log"
    log.write_text("job 12 stuck\napi_token=abcdef0123456789abcdef\n", encoding="utf-8")
    with qtbot.waitSignal(wizard.attachmentsChanged, timeout=15000):
        wizard.add_files([log])
    assert wizard.draft.files == [log]
    with qtbot.waitSignal(wizard.stepChanged, timeout=15000) as step:
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
    assert step.args == [2]

    # 3. the review: everything listed once the collection is in; untick one section
    review = wizard.review
    qtbot.waitUntil(lambda: review.can_send() and review.last_measure is not None
                    and review.analysis is not None, timeout=30000)
    assert {k[1] for k in review._items if k[0] == "probe"} == set(KEPT)
    assert review._items[("file", 0)].text(2) == "1 secret masked"
    disks = review._items[("probe", "disks")]
    review.tree.setCurrentItem(disks)
    with qtbot.waitSignal(review.measured, timeout=15000):
        qtbot.keyClick(review.tree, Qt.Key.Key_Space)
    qtbot.waitUntil(wizard.next_button.isEnabled, timeout=5000)

    # 4. send: filed in the outbox, the wizard shows the sent panel, the delivery service takes it
    with qtbot.waitSignal(review.filed, timeout=15000) as filed:
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
    number = filed.args[0]
    qtbot.waitUntil(lambda: wizard.step() == 3, timeout=5000)
    sent = wizard.sent
    assert sent.number_field.text() == f"DL-{number:06d}"
    qtbot.waitUntil(lambda: sent.state_title.text() == "Kept in the local store", timeout=30000)
    assert "in the local store" in sent.state_text.text()

    # 5. the ticket is in the local store, with the title, without the unticked section or the secrets
    entry = ctx.outbox().get(number)
    assert entry.state == "sent"
    assert entry.backend == "local"
    store = LocalStore(ctx.outbox_folder)
    try:
        row = store.conn.execute("SELECT title, body FROM local_tickets WHERE ticket_id = ?",
                                 (entry.ticket_id,)).fetchone()
        assert row is not None
        title, body = row
        assert title == QUERY
        assert "hunter2" not in body
        assert "## Disks" not in body
        assert "## Memory" in body
        qtbot.waitUntil(lambda: len(store.files(entry.ticket_id)) == 2, timeout=30000)
        names = [name for name, _size, _sha in store.files(entry.ticket_id)]
        assert names[0].startswith(f"deskline-report-DL-{number:06d}")
        assert names[1] == "printer.log"
    finally:
        store.close()

    # 6. "Open My tickets" shows it there
    qtbot.mouseClick(sent.tickets_button, Qt.MouseButton.LeftButton)
    assert window.current_key() == "tickets"
