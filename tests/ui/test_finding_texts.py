"""Findings in the interface language: every finding the engine can emit has translated texts, and real
findings (from the rules, on staged probe results) read right in Russian with their numbers in place."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.diagnostics import findings
from desktop.diagnostics.findings import CRITICAL, INFO, SEVERITIES, WARNING, Finding
from desktop.ui import i18n
from desktop.ui.finding_texts import TABLE, duration, fill, probe_title, texts
from tests.diagnostics.rules import test_resources as res
from tests.diagnostics.rules import test_storage as storage
from tests.diagnostics.rules import test_system as system

RULES_DIR = Path(findings.__file__).parent / "rules"
GIB = 1024**3
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)
LEFTOVER = re.compile(r"%\d|%n|\(s\)")


@pytest.fixture
def russian(qapp: object) -> Iterator[None]:
    i18n.install("ru")
    yield
    i18n.install("en")


def emitted_ids() -> set[str]:
    """Every finding id the rule modules can emit: the ``id="..."`` of each Finding they build."""
    ids: set[str] = set()
    for path in RULES_DIR.glob("*.py"):
        ids.update(re.findall(r'\bid="([a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    return ids


def test_every_rule_and_every_emitted_id_has_an_entry() -> None:
    registered = set(findings.rules())
    emitted = emitted_ids()
    assert len(registered) >= 29
    assert registered <= set(TABLE), f"no translated texts for {sorted(registered - set(TABLE))}"
    assert emitted <= set(TABLE), f"no translated texts for {sorted(emitted - set(TABLE))}"
    assert set(TABLE) <= registered | emitted, f"entries for no rule: {sorted(set(TABLE) - registered - emitted)}"


def test_every_entry_fills_even_from_sparse_evidence(russian: None) -> None:
    bad = []
    for finding_id in sorted(TABLE):
        for severity in SEVERITIES:
            finding = Finding(finding_id, severity, "T", "D", "N", "probe", subject="sda")
            for text in texts(finding):
                if not text or LEFTOVER.search(text) or not CYRILLIC.search(text):
                    bad.append((finding_id, severity, text))
    assert bad == []


def test_english_is_the_engines_text_and_unknown_ids_fall_back(qapp: object) -> None:
    finding = Finding("disk.almost_full", WARNING, "Disk almost full: /", "detail", "step", "disks", "/",
                      {"mount_point": "/"})
    assert texts(finding) == ("Disk almost full: /", "detail", "step")
    unknown = Finding("future.rule", INFO, "A new finding", "Its detail", "Its step", "system")
    assert texts(unknown, "ru") == ("A new finding", "Its detail", "Its step")


def test_unexpected_evidence_falls_back_to_english(russian: None) -> None:
    odd = Finding("cpu.high_load", WARNING, "The processor is overloaded", "d", "s", "cpu",
                  evidence={"load_5": "lots", "logical_cores": 4, "load_per_core": 1.0})
    assert texts(odd) == ("The processor is overloaded", "d", "s")


def test_disk_almost_full_in_russian(russian: None) -> None:
    found = storage.run("disk.almost_full", storage.results(storage.fs("/home", free=int(2.5 * GIB)),
                                                            storage.fs("/", free=int(9 * GIB))))
    by_mount = {f.subject: texts(f) for f in found}
    title, detail, step = by_mount["/home"]
    assert title == "Диск почти заполнен: /home"
    assert "Свободно только 2,5 ГБ (2,5 %) на диске с вашими файлами (/home)." in detail
    assert "корзину" in step and "/home" in step
    title, detail, _step = by_mount["/"]
    assert "9,0 ГБ (9,0 %) на системном диске (/)" in detail


def test_memory_and_processes_in_russian(russian: None) -> None:
    (f,) = res.run("memory.pressure", {"memory": res.mem(available=int(0.5 * GIB))})
    title, detail, _step = texts(f)
    assert title == "На компьютере заканчивается память"
    assert "Для программ свободно только 512,0 МБ памяти из 16,0 ГБ (3,1 %)." in detail
    (f,) = res.run("processes.memory_hog", {"processes": res.procs(top_memory=(res.proc(memory_percent=62.0),))})
    title, detail, step = texts(f)
    assert title == "Программа firefox занимает большую часть памяти"
    assert "(процесс 4411) занимает 9,9 ГБ — 62 % всей памяти" in detail
    assert "firefox" in step
    (f,) = res.run("cpu.high_load", {"cpu": res.cpu(load_5=20.0)})
    _title, detail, _step = texts(f)
    assert "20,0 задачи" in detail and "8 ядер" in detail and "по 2,5 на ядро" in detail


def test_printer_and_uptime_in_russian(russian: None) -> None:
    queue = system.printer("Office-3F", state="disabled", reason="Paper jam", queued_jobs=3, is_default=True)
    (f,) = system.run("printers.stopped", {"printers": system.printing(queue)})
    title, detail, step = texts(f)
    assert title == "Принтер остановлен: Office-3F"
    assert "(ваш принтер по умолчанию)" in detail
    assert "Сообщение принтера: Paper jam." in detail
    assert "В очереди ждут 3 задания." in detail
    assert "cupsenable Office-3F" in step
    (f,) = system.run("system.long_uptime", {"system": system.healthy_system(uptime_seconds=43 * system.DAY + 3600)})
    title, detail, _step = texts(f)
    assert title == "Компьютер не перезагружался 43 дня"
    assert "без перезагрузки уже 43 дня" in detail
    assert "хотя бы раз в 30 дней" in detail


def test_russian_plural_forms_and_durations(russian: None) -> None:
    assert duration(86400 * 21) == "21 день"
    assert duration(86400 * 3) == "3 дня"
    assert duration(3600 * 5) == "5 часов"
    assert duration(60) == "1 минуту"
    severe = Finding("services.failed", WARNING, "", "", "", "services",
                     evidence={"failed_total": 2, "user_failed": 0, "units": "cups.service, foo.service"})
    assert texts(severe)[0] == "2 фоновые службы завершились с ошибкой"
    assert "cups.service, foo.service" in texts(severe)[1]
    assert texts(Finding("disk.read_only", CRITICAL, "", "", "", "disks", "/",
                         {"mount_point": "/", "fs_type": "ext4", "device": "/dev/sda2"}))[0] \
        == "Диск доступен только для чтения: /"


def test_probe_titles_and_fill(russian: None) -> None:
    assert probe_title("printers") == "Принтеры"
    assert probe_title("mystery", "Mystery probe") == "Mystery probe"
    assert fill("%1 и %2", "%2", "x") == "%2 и x"  # one pass: a value holding %2 is not filled again
