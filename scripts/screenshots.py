"""Screenshots of every screen of the real app, for ``scripts/screenshots`` (which starts Xvfb and runs this).

One run is one language and one theme: ``python scripts/screenshots.py FOLDER --lang ru --theme dark``
(``--scale 2`` with ``QT_SCALE_FACTOR=2`` for a high-DPI screen).
It prepares demo content in the (temporary) user folders the caller set (a settings file, a local-store
outbox with a few sent reports), starts the app as ``deskline`` does (``desktop.ui.app``: make_application,
translations, build with the services), and saves ``<lang>-<theme>-<screen>.png`` for: every page of the
main window, self-help with results and an article, the check with its findings, each step of the report
wizard (what happened, attachments, the review, sent), a ticket's conversation, the consent dialog (a
request sent through the app's real consent socket, as the agent sends it, with a second one waiting,
then that second one), the active-session banner
and the sessions page with the session, and the settings.

A screen that cannot be shown is reported and skipped; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = {
    "en": [
        ("The printer on the 3rd floor does not print", "Jobs stay in the queue and nothing comes out."),
        ("Wi-Fi drops every few minutes", "The laptop loses the office Wi-Fi several times an hour."),
        ("Outlook asks for my password again and again", "Since this morning, after the update."),
    ],
    "ru": [
        ("Принтер на 3-м этаже не печатает", "Задания висят в очереди, ничего не печатается."),
        ("Wi-Fi отключается каждые несколько минут", "Ноутбук теряет офисный Wi-Fi несколько раз в час."),
        ("Outlook снова и снова спрашивает пароль", "С сегодняшнего утра, после обновления."),
    ],
}
SEARCH = {"en": "printer does not print", "ru": "принтер не печатает"}


def log(text: str) -> None:
    sys.stderr.write(f"screenshots: {text}\n")


def prepare(folder: Path, language: str) -> Path:
    """The settings file, and a local-store outbox holding a few reports sent as tickets (one closed)."""
    from desktop import config, delivery
    from desktop.ui import draft

    config_home = Path(os.environ.get("XDG_CONFIG_HOME", folder / "config"))
    data_home = Path(os.environ.get("XDG_DATA_HOME", folder / "data"))
    settings_path = config_home / "deskline" / "deskline.toml"
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    outbox_dir = data_home / "deskline-demo" / language
    if not settings_path.exists():
        settings_path.write_text(f'version = 1\n[outbox]\npath = "{outbox_dir}"\n', encoding="utf-8")
    settings = config.load(settings_path, environ={})
    outbox = delivery.open_outbox(settings)
    try:
        if not outbox.entries():
            collection = draft.collect(settings)
            for n, (title, description) in enumerate(WORDS[language]):
                d = draft.Draft(title=title, description=description, collection=collection,
                                impact=("high", "medium", "low")[n % 3])
                report = draft.make_report(d, settings)
                delivery.file_report(outbox, report, title=title, description=description, impact=d.impact,
                                     urgency=d.urgency)
            sender = delivery.Sender.from_settings(outbox, settings)
            try:
                sender.run()
            finally:
                sender.close()
            try:
                from desktop.connectors.local import LocalStore

                store = LocalStore(outbox_dir)
                try:
                    tickets = [e.ticket_id for e in outbox.entries() if getattr(e, "ticket_id", "")]
                    if tickets:
                        store.set_state(tickets[-1], "closed")
                finally:
                    store.close()
            except Exception as exc:  # noqa: BLE001 - a closed demo ticket is a nicety
                log(f"could not close a demo ticket: {exc}")
    finally:
        outbox.close()
    return settings_path


class Shooter:
    def __init__(self, folder: Path, language: str, theme: str) -> None:
        self.folder, self.language, self.theme = folder, language, theme
        self.saved: list[Path] = []
        self.failed: list[str] = []

    # -- waiting without freezing the app
    def wait(self, ms: int) -> None:
        from PySide6.QtTest import QTest

        QTest.qWait(ms)

    def wait_until(self, condition: Callable[[], object], timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            self.wait(50)
        return False

    def settle(self) -> None:
        """Let workers finish and the screen repaint."""
        from PySide6.QtCore import QThreadPool

        pool = QThreadPool.globalInstance()
        for _ in range(2):  # twice: a debounced job (a size meter) may start just after the first quiet moment
            self.wait_until(lambda: pool.activeThreadCount() == 0, 20)
            self.wait(300)

    def save(self, widget: Any, screen: str) -> None:
        self.settle()
        path = self.folder / f"{self.language}-{self.theme}-{screen}.png"
        if widget.grab().save(str(path)):
            self.saved.append(path)
            log(f"saved {path.name}")
        else:
            self.failed.append(f"{screen}: could not save {path}")

    def shot(self, screen: str, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception:  # noqa: BLE001 - one screen's trouble must not stop the others
            self.failed.append(f"{screen}: {traceback.format_exc(limit=4)}")
            log(f"{screen} failed:\n{traceback.format_exc(limit=4)}")


def run(folder: Path, language: str, theme: str) -> int:
    os.environ["DESKLINE_THEME"] = theme.split("-")[0]
    settings_path = prepare(folder, language)

    from PySide6.QtWidgets import QLineEdit, QSystemTrayIcon

    from desktop import config
    from desktop.ui import app as app_module
    from desktop.ui import i18n
    from desktop.ui.context import AppContext
    from desktop.ui.main_window import PAGES

    qapp = app_module.make_application(["deskline"])
    settings = config.load(settings_path, environ={})
    installed = i18n.install(language)
    ctx = AppContext(settings, settings_path=settings_path, language=installed)
    window = app_module.build(ctx, tray=QSystemTrayIcon.isSystemTrayAvailable(), services=True)
    window.resize(1040, 700)
    window.show()
    window.raise_()
    window.activateWindow()
    s = Shooter(folder, language, theme)
    s.wait_until(window.isVisible)
    # without a window manager the window is not activated by itself; an active window is what users see
    window.activateWindow()
    if not s.wait_until(window.isActiveWindow, 3):
        log("the main window could not be activated: pictures show it inactive")

    for key, *_rest in PAGES:
        s.shot(key, lambda key=key: _page(s, window, key))

    # self-help: results for a query, then the first article
    def help_results() -> None:
        page = window.show_page("help")
        box = page.findChild(QLineEdit, "HelpSearch") or page.findChild(QLineEdit)
        box.setText(SEARCH[language])
        if hasattr(page, "search_now"):
            page.search_now()
        s.wait_until(lambda: not hasattr(page, "result_ids") or page.result_ids(), 10)
        s.save(window, "help-results")
        if hasattr(page, "result_ids") and hasattr(page, "show_article") and page.result_ids():
            page.show_article(page.result_ids()[0])
            s.save(window, "help-article")

    s.shot("help-results", help_results)

    # the check, run to its end
    def check_results() -> None:
        page = window.show_page("check")
        page.start()
        def running() -> bool:
            value = page.running
            return bool(value() if callable(value) else value)

        s.wait_until(lambda: not running(), 60)
        s.save(window, "check-results")

    s.shot("check-results", check_results)

    # the wizard's steps
    def wizard() -> None:
        page = window.show_page("report")
        title, description = WORDS[language][0]
        page.what.title.setText(title + " (2)")
        if hasattr(page.what, "description"):
            page.what.description.setPlainText(description)
        s.save(window, "report-1-what")
        s.wait_until(lambda: page.draft.collection is not None, 60)
        for number, name in ((1, "report-2-attachments"), (2, "report-3-review"), (3, "report-4-sent")):
            page.next()
            if not s.wait_until(lambda number=number: page.step() == number, 20):
                # a similar-report offer may stand in the way: take it as a new problem
                offer = getattr(page, "offer_new", None)
                if offer is not None and offer.isVisible():
                    s.save(window, "report-similar-offer")
                    offer.click()
                    page.next()
                if not s.wait_until(lambda number=number: page.step() == number, 20):
                    raise RuntimeError(f"the wizard did not reach step {number + 1}: {page.validation_problem()}")
            if number == 2 and getattr(page, "review", None) is not None and hasattr(page.review, "last_measure"):
                s.wait_until(lambda: page.review.last_measure is not None, 20)  # the size meter's figure
            s.save(window, name)

    s.shot("report-steps", wizard)

    # a ticket's conversation
    def ticket() -> None:
        from PySide6.QtWidgets import QAbstractItemView

        page = window.show_page("tickets")
        s.settle()
        views = [v for v in page.findChildren(QAbstractItemView) if v.isVisible() and v.model() is not None
                 and v.model().rowCount() > 0]
        if not views:
            raise RuntimeError("no ticket list with rows on the tickets screen")
        view = views[0]
        view.setCurrentIndex(view.model().index(0, 0))
        view.activated.emit(view.model().index(0, 0))
        s.save(window, "tickets-conversation")

    s.shot("tickets-conversation", ticket)

    # the consent dialog, from a request through the app's real socket; then the active session
    def consent() -> None:
        from agent.consent import ConsentRequest
        from agent.consent_channel import DesktopGate, app_socket_path

        controller = ctx.services.get("consent")
        if controller is None:
            raise RuntimeError("no consent service in ctx.services")
        path = getattr(getattr(controller, "service", None), "socket_path", None) or app_socket_path()
        gate = DesktopGate(path)
        answer: list[Any] = []
        request = ConsentRequest(engineer="Anna Petrova" if language == "ru" else "Ann Smith",
                                 fingerprint="SHA256:q2Zk7c0nH8F5cX1bI9mP4vT6yR3wL0aE2sD7fG5hJ8k",
                                 peer="10.20.30.40:52144", commands=("probe disks", "probe network", "report"),
                                 ticket="DL-000002", duration_seconds=1800)
        def ask() -> None:
            try:
                answer.append(gate.ask(request, 120))
            except Exception as exc:  # noqa: BLE001 - said below
                answer.append(exc)

        thread = threading.Thread(target=ask, daemon=True)
        thread.start()
        if not s.wait_until(lambda: controller.dialogs(), 20):
            raise RuntimeError("the consent dialog did not appear")
        dialog = controller.dialogs()[0]
        # a second request (the same engineer's other ticket) waits behind the first: the dialog says so
        second = ConsentRequest(engineer=request.engineer, fingerprint=request.fingerprint, peer="10.20.30.40:52150",
                                commands=("check",), ticket="DL-000003", duration_seconds=900)
        second_answer: list[Any] = []
        second_gate = DesktopGate(path)

        def ask_second() -> None:
            try:
                second_answer.append(second_gate.ask(second, 120))
            except Exception as exc:  # noqa: BLE001 - said below
                second_answer.append(exc)

        threading.Thread(target=ask_second, daemon=True).start()
        waiting_label = getattr(dialog, "waiting", None)
        if waiting_label is not None and not s.wait_until(waiting_label.isVisible, 10):
            log("the second consent request did not show as waiting")
        dialog.activateWindow()
        s.wait_until(dialog.isActiveWindow, 3)
        allow = getattr(dialog, "allow", None)  # held back for a moment against a hurried click
        if allow is not None:
            s.wait_until(allow.isEnabled, 10)
        s.save(dialog, "consent-dialog")
        if allow is not None:
            allow.click()
        else:
            dialog.accept()
        s.wait_until(lambda: answer, 20)
        # then the waiting one, with the time it has left; denied, so one session stays for the banner
        if s.wait_until(lambda: controller.dialogs() and controller.dialogs()[0] is not dialog, 10):
            following = controller.dialogs()[0]
            following.activateWindow()
            s.wait_until(following.isActiveWindow, 3)
            s.wait_until(following.allow.isEnabled, 10)
            s.save(following, "consent-dialog-next")
            following.reject()
            s.wait_until(lambda: second_answer, 20)
        else:
            log("the waiting consent request was not shown after the first was answered")
        window.activateWindow()
        banner = getattr(controller, "banner", None)
        if banner is not None and not s.wait_until(banner.isVisible, 10):
            log(f"the session banner did not appear (the agent's answer: {answer[:1]})")
        grant = answer[0] if answer else None
        if grant is not None and not isinstance(grant, Exception) and hasattr(gate, "command_ran"):
            for command, ms in (("probe disks", 212.0), ("probe network", 1480.0)):
                gate.command_ran(grant, command, 0, ms)  # as the agent reports each probe it ran
        s.save(window, "session-banner")
        window.show_page("sessions")
        s.wait(500)
        s.save(window, "sessions-active")
        if grant is not None and not isinstance(grant, Exception) and hasattr(gate, "ended"):
            gate.ended(grant)

    s.shot("consent", consent)
    window.show_page("settings")
    s.shot("settings-final", lambda: s.save(window, "settings"))

    for name, service in list(ctx.services.items()):
        try:
            service.stop()
        except Exception:  # noqa: BLE001
            log(f"stopping {name} failed")
    ctx.close()
    window.hide_on_close = False
    window.close()
    qapp.processEvents()
    for problem in s.failed:
        log(f"FAILED {problem}")
    return 1 if s.failed else 0


def _page(s: Shooter, window: Any, key: str) -> None:
    window.show_page(key)
    s.save(window, key)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--lang", default="en", choices=("en", "ru"))
    parser.add_argument("--theme", default="light", choices=("light", "dark"))
    parser.add_argument("--scale", type=int, default=1,
                        help="the screen's scale (run with QT_SCALE_FACTOR set to it); names the files <theme>-<N>x")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    return run(args.folder.resolve(), args.lang, args.theme if args.scale == 1 else f"{args.theme}-{args.scale}x")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
