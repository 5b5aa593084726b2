"""The review before sending and the panel after it, driven through their widgets (offscreen).

The drafts carry a real system report (``desktop.ui.draft.collect``) of three quick probes, a text file
holding a password and a binary file; the reports are filed into the test's own outbox and, where a
ticket is needed, sent to the local store by the real sender.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QThreadPool

from desktop.connectors.base import ConnectorInfo
from desktop.diagnostics.registry import PROBES
from desktop.outbox import OutboxFullError, make_owner
from desktop.ui import review
from desktop.ui.draft import Draft, collect, make_report
from desktop.ui.review import ReviewPanel, SentPanel

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")  # offscreen: no window manager

KEPT = ("system", "memory", "disks")
SECRET = "hunter2"


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    """Only three quick probes, so a collection takes a fraction of a second."""
    path = tmp_path / "config" / "deskline.toml"
    disabled = ", ".join(f'"{p}"' for p in PROBES if p not in KEPT)
    path.write_text(f'version = 1\n[outbox]\npath = "{tmp_path / "outbox"}"\n[probes]\ndisabled = [{disabled}]\n',
                    encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    conf = tmp_path / "files" / "app.conf"
    conf.parent.mkdir()
    conf.write_text(f"user=alice\npassword={SECRET}\nretries=3\n", encoding="utf-8")
    blob = tmp_path / "files" / "capture.bin"
    blob.write_bytes(b"\x00\x01" + os.urandom(300_000))
    return conf, blob


@pytest.fixture
def draft(ctx: Any, files: tuple[Path, Path]) -> Draft:
    return Draft(title="The printer prints nothing", description="Since this morning nothing comes out.",
                 category="printing", impact="high", urgency="medium", files=list(files),
                 collection=collect(ctx.settings))


@pytest.fixture(autouse=True)
def _workers_done() -> Iterator[None]:
    """Let this test's workers finish while its widgets and folders still exist."""
    yield
    assert QThreadPool.globalInstance().waitForDone(30000)


@pytest.fixture
def panel(qtbot: Any, ctx: Any) -> ReviewPanel:
    widget = ReviewPanel(ctx)
    qtbot.addWidget(widget)
    widget.resize(900, 640)
    widget.show()
    return widget


def show(qtbot: Any, panel: ReviewPanel, draft: Draft) -> None:
    with qtbot.waitSignals([panel.analysed, panel.measured], timeout=15000):
        panel.set_draft(draft)


def toggle(qtbot: Any, panel: ReviewPanel, key: tuple[Any, ...]) -> None:
    """Tick or untick an item as a keyboard user does (select it, press Space) and wait for the new size."""
    item = panel._items[key]
    panel.tree.setCurrentItem(item)
    with qtbot.waitSignal(panel.measured, timeout=15000):
        qtbot.keyClick(panel.tree, Qt.Key.Key_Space)


def send(qtbot: Any, panel: ReviewPanel) -> int:
    with qtbot.waitSignal(panel.filed, timeout=15000) as blocker:
        qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton)
    return int(blocker.args[0])


def test_unticked_section_and_file_are_not_filed(qtbot: Any, ctx: Any, panel: ReviewPanel, draft: Draft,
                                                 files: tuple[Path, Path]) -> None:
    panel.set_send_button_visible(True)
    show(qtbot, panel, draft)
    assert {k[1] for k in panel._items if k[0] == "probe"} == set(KEPT)

    toggle(qtbot, panel, ("probe", "disks"))
    toggle(qtbot, panel, ("file", 1))
    assert panel._items[("probe", "disks")].checkState(0) == Qt.CheckState.Unchecked
    assert panel._groups["system"].checkState(0) == Qt.CheckState.PartiallyChecked  # tri-state parent
    assert panel._groups["files"].checkState(0) == Qt.CheckState.PartiallyChecked

    with qtbot.waitSignals([ctx.outboxChanged, ctx.deliveryRequested], timeout=15000):
        number = send(qtbot, panel)
    box = ctx.outbox()
    document = box.document(number)
    assert "disks" not in document["probes"]
    assert {"system", "memory"} <= set(document["probes"])
    assert [a["name"] for a in document["attachments"]] == ["app.conf"]
    entry = box.get(number)
    names = [p.name for p in entry.parts]
    assert "capture.bin" not in names
    assert "app.conf" in names
    assert entry.title == draft.title
    assert entry.impact == "high"
    assert entry.priority == "high"
    # the user's draft is untouched: every file is still in it for another try
    assert draft.files == list(files)


def test_untick_a_whole_group_and_the_description(qtbot: Any, ctx: Any, panel: ReviewPanel, draft: Draft) -> None:
    show(qtbot, panel, draft)
    group = panel._groups["system"]
    panel.tree.setCurrentItem(group)
    with qtbot.waitSignal(panel.measured, timeout=15000):
        qtbot.keyClick(panel.tree, Qt.Key.Key_Space)
    assert all(panel._items[("probe", p)].checkState(0) == Qt.CheckState.Unchecked for p in KEPT)
    toggle(qtbot, panel, ("description",))
    # the title cannot be unticked
    title = panel._items[("title",)]
    panel.tree.setCurrentItem(title)
    qtbot.keyClick(panel.tree, Qt.Key.Key_Space)
    assert title.checkState(0) == Qt.CheckState.Checked
    number = send(qtbot, panel)
    entry = ctx.outbox().get(number)
    assert entry.title == draft.title
    assert entry.description == ""
    assert ctx.outbox().document(number)["probes"] == {}


def test_size_meter_follows_the_ticks(qtbot: Any, ctx: Any, panel: ReviewPanel, draft: Draft,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    limit = 200_000
    monkeypatch.setattr(review, "backend_info", lambda settings: ConnectorInfo("test", max_attachment_bytes=limit))
    show(qtbot, panel, draft)
    before = panel.last_measure
    assert before is not None
    assert before.limit == limit
    assert before.total > 300_000
    # the binary file is over the limit: red, and the note says which file to untick
    assert panel.meter.property("over") is True
    assert panel.meter.value() == panel.meter.maximum()
    assert panel.over_note.isVisibleTo(panel)
    assert "capture.bin" in panel.over_note.text()

    toggle(qtbot, panel, ("file", 1))
    after = panel.last_measure
    assert after is not None
    assert before.total - after.total >= 300_000
    assert panel.meter.value() < panel.meter.maximum()
    assert panel.meter.property("over") is False
    assert not panel.over_note.isVisibleTo(panel)
    assert review.human_size(after.total) in panel.size_text.text()

    # a smaller system report shows in the meter too
    toggle(qtbot, panel, ("probe", "disks"))
    assert panel.last_measure is not None
    assert panel.last_measure.pieces[0].size < after.pieces[0].size


def test_masked_secrets_are_badged_highlighted_and_masked_when_filed(qtbot: Any, ctx: Any, panel: ReviewPanel,
                                                                     draft: Draft) -> None:
    draft.description = "It asks for my password: password=letmein42 and then fails."
    show(qtbot, panel, draft)
    item = panel._items[("file", 0)]
    assert item.text(2) == "1 secret masked"
    assert panel._groups["files"].text(2) == "1 secret masked"
    assert panel._items[("description",)].text(2) == "1 secret masked"
    assert panel._items[("file", 1)].text(2) == ""

    panel.tree.setCurrentItem(item)
    preview = panel.preview_html()
    assert SECRET not in preview
    assert '<span style="background-color:#ffe27a' in preview
    assert "[REDACTED password]</span>" in preview
    assert SECRET not in panel.preview.toPlainText()

    panel.tree.setCurrentItem(panel._items[("description",)])
    assert "letmein42" not in panel.preview.toPlainText()
    assert "letmein42" not in panel._items[("description",)].text(0)

    number = send(qtbot, panel)
    box = ctx.outbox()
    entry = box.get(number)
    part = next(p for p in entry.parts if p.name == "app.conf")
    content = box.read_part(entry, part)
    assert SECRET.encode() not in content
    assert b"password=[REDACTED password]" in content
    assert "letmein42" not in entry.description
    kinds = {(m["kind"], m["where"]) for m in box.document(number)["redaction"]["maskings"]}
    assert ("password", "attachments/app.conf") in kinds


def test_findings_go_with_their_section(qtbot: Any, ctx: Any, panel: ReviewPanel, draft: Draft) -> None:
    from desktop.diagnostics.findings import INFO, WARNING, Finding

    assert draft.collection is not None
    draft.collection.found[:] = [
        Finding("disk.almost_full", WARNING, "Disk / is almost full", "Only 2 % is free.", "Free some space.",
                "disks", "/"),
        Finding("system.long_uptime", INFO, "Not restarted for 40 days", "Uptime 40 days.", "Restart.", "system"),
    ]
    show(qtbot, panel, draft)
    disk_finding = panel._items[("finding", 0)]
    toggle(qtbot, panel, ("probe", "disks"))
    assert disk_finding.isDisabled()
    assert disk_finding.checkState(0) == Qt.CheckState.Unchecked  # shown as it goes: not at all
    assert "unticked" in disk_finding.toolTip(0)
    toggle(qtbot, panel, ("finding", 1))  # the user's own choice
    toggle(qtbot, panel, ("probe", "disks"))
    assert not disk_finding.isDisabled()
    assert disk_finding.checkState(0) == Qt.CheckState.Checked  # back with its section
    assert panel._items[("finding", 1)].checkState(0) == Qt.CheckState.Unchecked
    number = send(qtbot, panel)
    assert [f["id"] for f in ctx.outbox().document(number)["findings"]] == ["disk.almost_full"]


def test_whole_summary_preview(qtbot: Any, panel: ReviewPanel, draft: Draft) -> None:
    show(qtbot, panel, draft)
    toggle(qtbot, panel, ("probe", "memory"))
    qtbot.mouseClick(panel.whole_button, Qt.MouseButton.LeftButton)
    text = panel.preview.toPlainText()
    assert "Deskline report" in text
    assert "Disks" in text
    assert "Swap total" not in text  # a row of the unticked Memory section
    panel.tree.setCurrentItem(panel._items[("probe", "system")])  # picking an item shows that item again
    assert not panel.whole_button.isChecked()
    assert "Deskline report" not in panel.preview.toPlainText()
    assert "OS family" in panel.preview.toPlainText()


def test_while_collecting_send_waits(qtbot: Any, ctx: Any, panel: ReviewPanel, draft: Draft) -> None:
    collection = draft.collection
    draft.collection = None
    with qtbot.waitSignal(panel.analysed, timeout=15000):
        panel.set_draft(draft)
    assert panel.pending.isVisibleTo(panel)
    assert not panel.can_send()
    assert not panel.send_button.isEnabled()
    assert panel._items[("file", 0)].text(2) == "1 secret masked"  # files are checked already
    with qtbot.waitSignal(panel.failed, timeout=5000) as blocker:
        panel.send()
    assert "still being collected" in blocker.args[0]
    assert ctx.outbox().entries() == []

    draft.collection = collection
    with qtbot.waitSignal(panel.sendableChanged, timeout=5000) as ready:
        panel.set_draft(draft)
    assert ready.args == [True]
    assert not panel.pending.isVisibleTo(panel)


def test_ticks_survive_set_draft_and_retranslate(qtbot: Any, panel: ReviewPanel, draft: Draft) -> None:
    show(qtbot, panel, draft)
    toggle(qtbot, panel, ("probe", "disks"))
    show(qtbot, panel, draft)  # the wizard calls set_draft each time the step is shown
    panel.retranslate()
    assert panel._items[("probe", "disks")].checkState(0) == Qt.CheckState.Unchecked
    assert panel.selection().probes == ("system", "memory")


def test_full_disk_says_what_to_do_and_keeps_the_draft(qtbot: Any, ctx: Any, panel: ReviewPanel, draft: Draft,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import desktop.delivery

    def full(*_args: Any, **_kwargs: Any) -> Any:
        raise OutboxFullError("no space left on device")

    monkeypatch.setattr(desktop.delivery, "file_report", full)
    show(qtbot, panel, draft)
    with qtbot.waitSignal(panel.failed, timeout=15000) as blocker:
        panel.send()
    assert "disk space" in blocker.args[0]
    assert "still here" in blocker.args[0]
    assert panel.error_box.isVisibleTo(panel)
    assert panel.can_send()
    assert draft.title == "The printer prints nothing"
    assert len(draft.files) == 2


def test_add_to_an_earlier_report(qtbot: Any, ctx: Any, panel: ReviewPanel, draft: Draft) -> None:
    from desktop.delivery import file_report

    earlier = file_report(ctx.outbox(), make_report(Draft(title="x", collection=draft.collection), ctx.settings),
                          title="Printer jams", description="It jams.")
    draft.add_to = earlier.id
    show(qtbot, panel, draft)
    toggle(qtbot, panel, ("file", 1))
    assert send(qtbot, panel) == earlier.id
    box = ctx.outbox()
    assert len(box.entries()) == 1
    (comment,) = box.followups(earlier.id)
    assert comment.kind == "comment"
    assert comment.text.startswith("The printer prints nothing")
    names = [f[0] for f in comment.files]
    assert "app.conf" in names
    assert "capture.bin" not in names
    assert any(n.startswith("deskline-report-") and n.endswith(".zip") for n in names)


def test_sent_panel_follows_an_addition_to_an_earlier_ticket(qtbot: Any, ctx: Any, panel: ReviewPanel,
                                                             draft: Draft) -> None:
    from desktop.connectors.local import LocalStore
    from desktop.delivery import Sender

    earlier = _filed(ctx, draft)
    with Sender.from_settings(ctx.outbox(), ctx.settings) as sender:
        sender.run()
    draft.add_to = earlier
    show(qtbot, panel, draft)
    assert send(qtbot, panel) == earlier
    widget = SentPanel(ctx)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.refreshed, timeout=5000):
        widget.show_entry(earlier)
    assert widget.title.text() == "Your addition was saved"
    assert widget.state_title.text() == "Waiting to be sent"
    with Sender.from_settings(ctx.outbox(), ctx.settings) as sender:
        sender.run()
    with qtbot.waitSignal(widget.refreshed, timeout=5000):
        ctx.outboxChanged.emit()
    assert widget.state_title.text() == "Added"
    assert f"DL-{earlier:06d}" in widget.state_text.text()
    store = LocalStore(ctx.outbox_folder)
    try:
        assert any(c.startswith("The printer prints nothing") for c in store.comments(f"DL-{earlier:06d}"))
    finally:
        store.close()


def test_review_needed_honours_the_policy(ctx: Any, panel: ReviewPanel, draft: Draft, tmp_path: Path) -> None:
    ctx.settings.values["report.review_skip"] = ["summary", "findings", "system_report"]
    panel.draft = draft
    assert panel.review_needed()  # the attachments are not covered
    ctx.settings.values["report.review_skip"] = ["summary", "findings", "system_report", "attachments"]
    assert not panel.review_needed()
    draft.screenshots = [tmp_path / "shot.png"]
    assert panel.review_needed()
    ctx.settings.values["report.review_skip"] = list(review.REVIEW_KINDS)
    assert not panel.review_needed()
    ctx.settings.values["report.review_skip"] = ["summary"]
    assert review.review_needed(Draft(title="x", collection=None), ctx.settings)  # still collecting
    ctx.settings.values["report.review_skip"] = []
    assert panel.review_needed()


def test_never_sent_parts_are_named(qtbot: Any, ctx: Any, draft: Draft) -> None:
    ctx.settings.values["report.never_send"] = ["environment", "logs"]
    widget = ReviewPanel(ctx)
    qtbot.addWidget(widget)
    assert widget.never_note.isVisibleTo(widget)
    assert "Environment" in widget.never_note.text()
    assert "Recent errors in logs" in widget.never_note.text()


# ------------------------------------------------------------------------------------------ sent panel

def _filed(ctx: Any, draft: Draft) -> int:
    from desktop.delivery import file_report

    report = make_report(Draft(title="x", collection=draft.collection), ctx.settings)
    return file_report(ctx.outbox(), report, title="Printer jams", description="It jams.").id


@pytest.fixture
def sent(qtbot: Any, ctx: Any) -> SentPanel:
    widget = SentPanel(ctx)
    qtbot.addWidget(widget)
    widget.resize(900, 640)
    widget.show()
    return widget


def test_sent_panel_failed_state_and_retry(qtbot: Any, ctx: Any, sent: SentPanel, draft: Draft) -> None:
    number = _filed(ctx, draft)
    box = ctx.outbox()
    owner = make_owner()
    assert box.claim(owner, number=number) is not None
    box.mark_failed(number, owner, "the helpdesk refused the request while creating the ticket (400)")

    with qtbot.waitSignal(sent.refreshed, timeout=5000):
        sent.show_entry(number)
    assert sent.number_field.text() == f"DL-{number:06d}"
    assert sent.state_title.text().startswith("Not sent")
    assert "refused the request while creating the ticket" in sent.state_text.text()
    assert sent.retry_button.isVisibleTo(sent)
    assert not sent.mark.isVisibleTo(sent)  # no check mark on a report that did not go

    with qtbot.waitSignal(ctx.deliveryRequested, timeout=5000):
        qtbot.mouseClick(sent.retry_button, Qt.MouseButton.LeftButton)
    assert box.get(number).state == "queued"
    qtbot.waitUntil(lambda: sent.state_title.text() == "Waiting to be sent", timeout=5000)
    assert not sent.retry_button.isVisibleTo(sent)


def test_sent_panel_follows_the_report_to_the_local_store(qtbot: Any, ctx: Any, sent: SentPanel,
                                                          draft: Draft) -> None:
    from desktop.delivery import Sender

    number = _filed(ctx, draft)
    with qtbot.waitSignal(sent.refreshed, timeout=5000):
        sent.show_entry(number)
    assert sent.state_title.text() == "Waiting to be sent"
    with Sender.from_settings(ctx.outbox(), ctx.settings) as sender:
        result = sender.run()
    assert result.sent == [f"DL-{number:06d}"]
    with qtbot.waitSignal(sent.refreshed, timeout=5000):
        ctx.outboxChanged.emit()
    assert sent.state_title.text() == "Kept in the local store"
    assert "in the local store" in sent.state_text.text()
    assert not sent.retry_button.isVisibleTo(sent)


def test_sent_panel_buttons(qtbot: Any, ctx: Any, sent: SentPanel, draft: Draft) -> None:
    from PySide6.QtGui import QGuiApplication

    number = _filed(ctx, draft)
    with qtbot.waitSignal(sent.refreshed, timeout=5000):
        sent.show_entry(number)
    qtbot.mouseClick(sent.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == f"DL-{number:06d}"
    with qtbot.waitSignal(ctx.navigate, timeout=2000) as nav:
        qtbot.mouseClick(sent.tickets_button, Qt.MouseButton.LeftButton)
    assert nav.args == ["tickets", number]
    with qtbot.waitSignal(sent.newReport, timeout=2000):
        qtbot.mouseClick(sent.new_button, Qt.MouseButton.LeftButton)


def test_sent_panel_waiting_with_a_retry_time_then_a_helpdesk_ticket(qtbot: Any, ctx: Any, sent: SentPanel,
                                                                     draft: Draft) -> None:
    from desktop.connectors.base import TicketRef

    number = _filed(ctx, draft)
    box = ctx.outbox()
    owner = make_owner()
    assert box.claim(owner, number=number) is not None
    box.mark_retry(number, owner, error="the helpdesk answered 503 while creating the ticket; will try again",
                   delay=600)
    with qtbot.waitSignal(sent.refreshed, timeout=5000):
        sent.show_entry(number)
    assert sent.state_title.text() == "Waiting to be sent"
    assert "will try again at" in sent.state_text.text()
    assert not sent.retry_button.isVisibleTo(sent)
    assert sent.details_button.isVisibleTo(sent)  # the helpdesk's answer, one click away
    qtbot.mouseClick(sent.details_button, Qt.MouseButton.LeftButton)
    assert "503" in sent.details.toPlainText()

    box.mark_sent(number, owner, TicketRef("django-helpdesk", "42", "https://help.example.org/tickets/42"))
    with qtbot.waitSignal(sent.refreshed, timeout=5000):
        ctx.outboxChanged.emit()
    assert sent.state_title.text() == "Sent"
    assert "ticket #42" in sent.state_text.text()
    assert "https://help.example.org/tickets/42" in sent.state_text.text()
    assert "still being sent" in sent.state_text.text()  # the files follow the ticket


# ------------------------------------------------------------------------------- keyboard and languages

def test_every_control_has_an_accessible_name(qtbot: Any, ctx: Any, panel: ReviewPanel, sent: SentPanel,
                                              draft: Draft) -> None:
    from tests.ui import walk

    panel.set_send_button_visible(True)
    show(qtbot, panel, draft)
    number = _filed(ctx, draft)
    with qtbot.waitSignal(sent.refreshed, timeout=5000):
        sent.show_entry(number)
    unnamed = [walk.describe(w) for root in (panel, sent) for w in walk.interactive(root) if not w.accessibleName()]
    assert not unnamed, unnamed
    # the labels lead to their controls (Alt+letter)
    assert panel.tree_label.buddy() is panel.tree
    assert panel.preview_label.buddy() is panel.preview
    assert sent.number_caption.buddy() is sent.number_field


def test_review_and_sent_panels_in_russian(qtbot: Any, ctx: Any, draft: Draft) -> None:
    from desktop.ui import i18n
    from tests.ui.test_translations import TS_FILES, Catalogue, _untranslated

    assert i18n.install("ru") == "ru"
    try:
        draft.title = "Принтер не печатает"
        draft.description = "С утра ничего не выходит."
        widget = ReviewPanel(ctx)
        qtbot.addWidget(widget)
        show(qtbot, widget, draft)
        after = SentPanel(ctx)
        qtbot.addWidget(after)
        with qtbot.waitSignal(after.refreshed, timeout=5000):
            after.show_entry(_filed(ctx, draft))
        catalogue = Catalogue(TS_FILES)
        bad = _untranslated(widget, catalogue) + _untranslated(after, catalogue)
        assert not bad, bad
        assert widget._groups["system"].text(0) == "Отчёт о системе"
        assert "байт" in widget._items[("file", 0)].text(1)
        assert after.state_title.text() == "Ожидает отправки"
    finally:
        i18n.install("en")


def test_pseudonyms_are_badged_and_highlighted(qtbot: Any, ctx: Any, panel: ReviewPanel, draft: Draft,
                                               files: tuple[Path, Path]) -> None:
    ctx.settings.values["report.pseudonymize"] = True
    files[0].write_text("mail from alice.smith@example.org failed\n", encoding="utf-8")
    show(qtbot, panel, draft)
    item = panel._items[("file", 0)]
    assert item.text(2) == "1 name replaced"
    panel.tree.setCurrentItem(item)
    preview = panel.preview_html()
    assert "alice.smith@example.org" not in preview
    assert "&lt;email-1&gt;</span>" in preview
