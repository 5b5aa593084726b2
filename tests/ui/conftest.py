"""Fixtures for the Qt screens: real widgets, offscreen, each test in its own folders.

``ctx`` is an :class:`AppContext` on a fresh outbox and local store (the embedded default backend) in
``tmp_path``; the user's data, config, cache and runtime folders point into ``tmp_path`` too, so no
test touches the real ones (consent socket and ledger included).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True, scope="session")
def _gc_in_gui_thread(qapp: object) -> Iterator[None]:
    """As the app does (desktop.ui.gc_guard): cycles are collected in the GUI thread only, so a widget
    left in a cycle by one test is never destroyed by another test's worker thread."""
    from desktop.ui import gc_guard

    collector = gc_guard.install(qapp)  # type: ignore[arg-type]
    yield
    collector.stop()


@pytest.fixture(autouse=True)
def _private_user_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"),
                     ("XDG_STATE_HOME", "state")):
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("DESKLINE_POLICY", "")
    monkeypatch.delenv("DESKLINE_CONFIG", raising=False)


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    """The user's settings file: the outbox (and local store) in ``tmp_path/outbox``."""
    path = tmp_path / "config" / "deskline.toml"
    path.write_text(f'version = 1\n[outbox]\npath = "{tmp_path / "outbox"}"\n', encoding="utf-8")
    return path


@pytest.fixture
def ctx(qapp: object, settings_file: Path) -> Iterator[object]:
    from desktop import config
    from desktop.ui.context import AppContext

    context = AppContext(config.load(settings_file, environ={}), settings_path=settings_file)
    yield context
    context.close()
