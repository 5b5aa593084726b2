"""How fast does the desktop app start, how much memory does it hold idle, and how soon does the report
wizard show after the click?

Every run is a fresh process on the offscreen platform, built as ``deskline`` builds the app
(``desktop.ui.app``: make_application, translations, AppContext, ``build()`` with the tray and the
delivery and consent services), in a throwaway home with a local-store outbox. Figures printed:

* start to first window shown: from before the process is spawned to the main window's first paint
  event, timed from outside (the parent's clock, the interpreter's start included), and from inside
  (from the child's first line, before any import, to the first paint); median, min and max over N runs;
* idle memory: resident set size (RSS) and unique set size (USS) of the app after it has settled
  (services started, the first screen shown, background work done, then a few seconds idle);
  also after every screen was opened once;
* "Report a problem" to the wizard's first page shown: from the click on the navigation entry to the
  wizard's first paint, in a fresh app (the wizard built then, its module imported then), while the
  system report is being collected in the background (the run says whether it still was).

Goals (issue 4): start under 1.0 s median; idle memory under 150 MB; the wizard within 100 ms.

  The click is timed right after the first paint (the worst case: the wizard's modules, which the
  app imports in a worker from its start, may still be loading) and one second after start.

Usage: python bench/app.py [--runs N] [--language en|ru] [--idle SECONDS]
"""

from __future__ import annotations

import time

CHILD_T0 = time.perf_counter()

import argparse  # noqa: E402 - the child's clock starts before any import
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------------- the child
def child(mode: str, language: str, idle: float) -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    phases: dict[str, float] = {}
    mark = [time.perf_counter()]

    def phase(name: str) -> None:
        now = time.perf_counter()
        phases[name] = (now - mark[0]) * 1000
        mark[0] = now

    phases["interpreter+bench imports"] = (mark[0] - CHILD_T0) * 1000
    from PySide6.QtCore import QEvent, QObject, Qt, QThreadPool, QTimer
    from PySide6.QtTest import QTest

    from desktop import config
    from desktop.ui import app as app_module
    from desktop.ui import i18n
    from desktop.ui.context import AppContext

    phase("imports")
    out: dict[str, Any] = {"phases_ms": phases}
    qapp = app_module.make_application(["deskline"])
    app_module.warm_up()  # as app.main() does
    phase("application")
    settings_path = Path(os.environ["XDG_CONFIG_HOME"]) / "deskline.toml"
    settings = config.load(settings_path, environ={})
    ctx = AppContext(settings, settings_path=settings_path, language=i18n.install(language))
    phase("settings+translations")
    window = app_module.build(ctx, tray=True, services=True)
    phase("window+services")

    class FirstPaint(QObject):
        def __init__(self, target: Any, then: Any) -> None:
            super().__init__()
            self.then, self.seen = then, False
            target.installEventFilter(self)

        def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Paint and not self.seen:
                self.seen = True
                QTimer.singleShot(0, self.then)
            return False

    def rss() -> dict[str, float]:
        import psutil

        info = psutil.Process().memory_full_info()
        return {"rss_mb": info.rss / 2**20, "uss_mb": info.uss / 2**20}

    def wait_idle(seconds: float) -> None:
        deadline = time.monotonic() + 30
        while QThreadPool.globalInstance().activeThreadCount() and time.monotonic() < deadline:
            QTest.qWait(50)
        QTest.qWait(int(seconds * 1000))

    def painted() -> None:
        phase("show+first paint")
        out["inside_s"] = time.perf_counter() - CHILD_T0
        out["app_started_s"] = time.monotonic() - app_module.STARTED
        sys.stdout.write("PAINTED\n")
        sys.stdout.flush()
        if mode == "start":
            report_click()
        elif mode == "settled":
            wait_idle(1.0)
            report_click()
        else:
            idle_memory()

    def report_click() -> None:
        from desktop.ui.main_window import PAGES

        row = next(i for i, p in enumerate(PAGES) if p[0] == "report")
        item = window.nav.item(row)
        rect = window.nav.visualItemRect(item)
        clicked: dict[str, float] = {}

        def wizard_painted() -> None:
            out["wizard_ms"] = (time.perf_counter() - clicked["t"]) * 1000
            page = window.page("report")
            running = getattr(page, "collecting", None)
            out["collecting_at_first_paint"] = bool(running() if callable(running) else running)
            finish()

        # the page is built by the click, so watch paints of the stack and take the first with it current
        class WizardPaint(QObject):
            def __init__(self) -> None:
                super().__init__()
                self.seen = False
                qapp.installEventFilter(self)

            def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802 - Qt's name
                if (not self.seen and event.type() == QEvent.Type.Paint and window.current_key() == "report"
                        and obj is window.stack.currentWidget()):
                    self.seen = True
                    QTimer.singleShot(0, wizard_painted)
                return False

        watcher = WizardPaint()
        out["_keep"] = watcher
        clicked["t"] = time.perf_counter()
        QTest.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    def idle_memory() -> None:
        wait_idle(idle)
        out.update({f"idle_{k}": v for k, v in rss().items()})
        for key in ("help", "check", "report", "tickets", "sessions", "settings"):
            try:
                window.show_page(key)
            except Exception as exc:  # noqa: BLE001 - a missing screen is reported, not fatal
                out.setdefault("missing", []).append(f"{key}: {exc}")
            QTest.qWait(100)
        wait_idle(idle)
        out.update({f"all_screens_{k}": v for k, v in rss().items()})
        finish()

    def finish() -> None:
        out.pop("_keep", None)
        out["tray"] = "tray" in ctx.services or bool(getattr(window, "hide_on_close", False))
        sys.stdout.write("RESULT " + json.dumps(out) + "\n")
        sys.stdout.flush()
        for service in list(ctx.services.values()):
            try:
                service.stop()
            except Exception:  # noqa: BLE001
                pass
        window.hide_on_close = False
        qapp.quit()

    keep = FirstPaint(window, painted)
    window.show()
    code = qapp.exec()
    del keep
    return code


# ---------------------------------------------------------------------------------------- the parent
def run_child(mode: str, language: str, idle: float, home: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "DESKLINE_"))}
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"),
                     ("XDG_STATE_HOME", "state")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    run = home / "run"
    run.mkdir(mode=0o700, exist_ok=True)
    env.update(XDG_RUNTIME_DIR=str(run), HOME=str(home), QT_QPA_PLATFORM="offscreen", DESKLINE_POLICY="")
    settings = home / "config" / "deskline.toml"
    if not settings.exists():
        settings.write_text(f'version = 1\n[outbox]\npath = "{home / "outbox"}"\n', encoding="utf-8")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", mode, "--language", language, "--idle", str(idle)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(ROOT))
    assert proc.stdout is not None
    result: dict[str, Any] = {}
    for line in proc.stdout:
        if line.startswith("PAINTED") and "outside_s" not in result:
            result["outside_s"] = time.perf_counter() - t0
        elif line.startswith("RESULT "):
            result.update(json.loads(line[7:]))
    _out, err = proc.communicate(timeout=120)
    if proc.returncode != 0 or "outside_s" not in result:
        raise RuntimeError(f"the app failed (exit {proc.returncode}):\n{err[-3000:]}")
    return result


def figures(values: list[float], unit: str, scale: float = 1.0) -> str:
    v = [x * scale for x in values]
    return f"median {statistics.median(v):.0f} {unit} (min {min(v):.0f}, max {max(v):.0f}, n={len(v)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--language", default="en", choices=("en", "ru"))
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idling before memory is read")
    parser.add_argument("--child", choices=("start", "settled", "memory"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.language, args.idle)

    with tempfile.TemporaryDirectory(prefix="deskline-bench-app-") as tmp:
        home = Path(tmp)
        print(f"Deskline app, offscreen, language {args.language}, {args.runs} fresh processes "
              "(the first one also fills the caches; a user's later starts find them filled)")
        runs = [run_child("start", args.language, args.idle, home) for _ in range(args.runs)]
        outside = [r["outside_s"] for r in runs]
        inside = [r["inside_s"] for r in runs]
        wizard = [r["wizard_ms"] for r in runs if "wizard_ms" in r]
        collecting = sum(1 for r in runs if r.get("collecting_at_first_paint"))
        print(f"start to first window shown, from outside (process spawn to first paint): "
              f"{figures(outside, 'ms', 1000)}   goal < 1000 ms median")
        print(f"start to first window shown, from inside (first line of the script to first paint): "
              f"{figures(inside, 'ms', 1000)}")
        print("  where the time goes, inside (median ms): " + ", ".join(
            f"{name} {statistics.median(r['phases_ms'][name] for r in runs):.0f}" for name in runs[0]["phases_ms"]))
        print(f"'Report a problem' click to the wizard's first paint: {figures(wizard, 'ms')}   goal < 100 ms; "
              f"collection still running at that moment in {collecting} of {len(wizard)} runs")
        settled = [run_child("settled", args.language, args.idle, home)["wizard_ms"] for _ in range(args.runs)]
        print(f"the same click 1 s after start (the app settled): {figures(settled, 'ms')}")
        memory = run_child("memory", args.language, args.idle, home)
        print(f"idle memory after settling ({args.idle:g} s idle, services and tray started): "
              f"RSS {memory['idle_rss_mb']:.0f} MB, USS {memory['idle_uss_mb']:.0f} MB   goal < 150 MB")
        print(f"memory after opening every screen once: RSS {memory['all_screens_rss_mb']:.0f} MB, "
              f"USS {memory['all_screens_uss_mb']:.0f} MB")
        for problem in memory.get("missing", []):
            print(f"  screen not available: {problem}")
        ok = (statistics.median(outside) < 1.0 and memory["idle_rss_mb"] < 150
              and statistics.median(wizard) < 100 and statistics.median(settled) < 100)
        print("all goals met" if ok else "NOT all goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
