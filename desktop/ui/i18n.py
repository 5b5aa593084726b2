"""Translations: Qt's own system, one ``.ts`` source per UI module and language.

Sources live in ``resources/translations/<lang>/<module>.ts`` (English is the source language, so there
is no English file). ``python -m desktop.ui.i18n update`` runs ``pyside6-lupdate`` over every module of
``desktop/ui`` that has strings; ``compile`` turns the ``.ts`` files into ``.qm`` next to them (the build
does this; the app also compiles a missing or stale ``.qm`` into the user's cache on first start);
``check`` lists every string still untranslated (the tests fail on any).
"""

from __future__ import annotations

import locale
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

from desktop.paths import resource_dir

LANGUAGES = ("en", "ru")
UI_DIR = Path(__file__).resolve().parent
_HAS_STRINGS = re.compile(r"(\.tr|\btranslate)\(")


def translations_dir() -> Path:
    return resource_dir() / "translations"


def _tool(name: str) -> str:
    import PySide6

    folder = Path(PySide6.__file__).resolve().parent
    for candidate in (folder / name, folder / "Qt" / "libexec" / name, folder / f"{name}.exe"):
        if candidate.exists():
            return str(candidate)
    script = Path(sys.executable).parent / f"pyside6-{name}"
    return str(script)


def ui_modules() -> list[Path]:
    """The UI modules that hold translatable strings."""
    return sorted(p for p in UI_DIR.glob("*.py") if _HAS_STRINGS.search(p.read_text(encoding="utf-8")))


def ts_path(language: str, module: str) -> Path:
    return translations_dir() / language / f"{module}.ts"


def update(languages: tuple[str, ...] = ("ru",)) -> list[Path]:
    """Refresh the ``.ts`` files from the sources (new strings appear as unfinished)."""
    written = []
    for language in languages:
        for module in ui_modules():
            target = ts_path(language, module.stem)
            target.parent.mkdir(parents=True, exist_ok=True)
            plurals = _plural_forms(target) if target.exists() else {}
            subprocess.run([_tool("lupdate"), "-silent", "-no-obsolete", "-locations", "none",
                            "-target-language", language, str(module), "-ts", str(target)], check=True)
            _keep_plurals(target, plurals)
            written.append(target)
    return written


def _plural_forms(source: Path) -> dict[tuple[str, str], list[str]]:
    """(context, source text) -> the finished plural forms of ``source`` (a .ts file)."""
    forms = {}
    for context in ET.parse(source).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            if message.get("numerus") == "yes" and translation is not None and not translation.get("type"):
                forms[(name, message.findtext("source") or "")] = [f.text or "" for f in translation]
    return forms


def _keep_plurals(target: Path, before: dict[tuple[str, str], list[str]]) -> None:
    """lupdate marks plural messages only for ``self.tr(text, "", n)``; a ``%n`` string reached through
    ``QCoreApplication.translate(context, text, "", n)`` comes out singular, losing its plural forms.
    Mark every ``%n`` message plural again, with the forms it had."""
    tree = ET.parse(target)
    changed = False
    for context in tree.getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            text = message.findtext("source") or ""
            if "%n" not in text or message.get("numerus") == "yes":
                continue
            changed = True
            message.set("numerus", "yes")
            translation = message.find("translation")
            if translation is None:
                translation = ET.SubElement(message, "translation")
            translation.text = None
            forms = before.get((name, text))
            if forms:
                translation.attrib.pop("type", None)
            else:
                translation.set("type", "unfinished")
            for form in forms or [""]:
                ET.SubElement(translation, "numerusform").text = form
    if changed:
        _write_ts(tree, target)


def compile_ts(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([_tool("lrelease"), "-silent", str(source), "-qm", str(target)], check=True)


def compile_all(out_dir: Path | None = None) -> list[Path]:
    """Compile every ``.ts`` into ``.qm`` (next to it, or under ``out_dir/<lang>/``)."""
    done = []
    for source in sorted(translations_dir().glob("*/*.ts")):
        target = (out_dir / source.parent.name if out_dir else source.parent) / f"{source.stem}.qm"
        compile_ts(source, target)
        done.append(target)
    return done


def unfinished(source: Path) -> list[str]:
    """Source strings in ``source`` (a .ts file) without a finished translation."""
    missing = []
    for message in ET.parse(source).getroot().iter("message"):
        translation = message.find("translation")
        text = message.findtext("source") or ""
        if translation is None:
            missing.append(text)
            continue
        forms = translation.findall("numerusform")
        values = [f.text or "" for f in forms] if forms else [translation.text or ""]
        if translation.get("type") in ("unfinished", "vanished", "obsolete") or not all(v.strip() for v in values):
            missing.append(text)
    return missing


def set_translations(source: Path, mapping: dict[str, str | list[str]]) -> int:
    """Fill translations into ``source`` (a .ts file): source text -> translation (a list for plural
    forms); they become finished. Returns how many messages were set. For translators and tests."""
    tree = ET.parse(source)
    count = 0
    for message in tree.getroot().iter("message"):
        text = message.findtext("source") or ""
        if text not in mapping:
            continue
        value = mapping[text]
        translation = message.find("translation")
        if translation is None:
            translation = ET.SubElement(message, "translation")
        translation.attrib.pop("type", None)
        if message.get("numerus") == "yes":
            for child in list(translation):
                translation.remove(child)
            for form in value if isinstance(value, list) else [value]:
                ET.SubElement(translation, "numerusform").text = form
        else:
            translation.text = value if isinstance(value, str) else value[0]
        count += 1
    _write_ts(tree, source)
    return count


def _write_ts(tree: ET.ElementTree[ET.Element], path: Path) -> None:
    """Write a .ts file in lupdate's own layout (contexts at the margin), so that diffs stay small."""
    root = tree.getroot()
    root.text = "\n"
    for context in root:
        ET.indent(context, "    ")
        context.tail = "\n"
    body = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    body = body.replace(b"'", b"&apos;")  # as lupdate writes it (attribute values never hold one)
    with open(path, "wb") as fh:
        fh.write(b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + body + b"\n")


def plural(text: str, n: int) -> str:
    """``"%n file(s)"`` as translated; untranslated (English is the source, with no .ts) "1 file", "2 files"."""
    return text.replace("(s)", "" if n == 1 else "s")


def human_size(n: int) -> str:
    """A size as people read it in the interface language ("65 bytes", "2.4 MB", "2,4 МБ")."""
    if n < 1024:  # Qt's own "bytes" does not agree with the number in every language
        return plural(QCoreApplication.translate("Sizes", "%n byte(s)", "", n), n)
    return QLocale().formattedDataSize(n, 1, QLocale.DataSizeFormat.DataSizeTraditionalFormat)


def system_language() -> str:
    """The desktop's language if we have it, else English."""
    name = QLocale.system().name() or (locale.getlocale()[0] or "")
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(var):
            name = os.environ[var]
            break
    code = name.split(":")[0].split("_")[0].split(".")[0].lower()
    return code if code in LANGUAGES else "en"


def resolve(setting: str) -> str:
    """``ui.language`` ('system', 'en', 'ru') -> the language to show."""
    return system_language() if setting == "system" else setting


def _cache_dir() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("deskline", appauthor=False) / "translations"


def _qm_for(source: Path) -> Path:
    """The compiled file for ``source``: next to it if current, else (re)compiled into the cache."""
    beside = source.with_suffix(".qm")
    if beside.exists() and beside.stat().st_mtime >= source.stat().st_mtime:
        return beside
    cached = _cache_dir() / source.parent.name / beside.name
    if not cached.exists() or cached.stat().st_mtime < source.stat().st_mtime:
        compile_ts(source, cached)
    return cached


_installed: list[QTranslator] = []


def install(language: str) -> str:
    """Load ``language`` (replacing what was loaded) into the running application; the language used."""
    app = QCoreApplication.instance()
    assert app is not None, "create the QApplication first"
    for translator in _installed:
        app.removeTranslator(translator)
    _installed.clear()
    if language not in LANGUAGES:
        language = "en"
    QLocale.setDefault(QLocale(QLocale.Language.Russian if language == "ru" else QLocale.Language.English))
    if language != "en":
        for source in sorted((translations_dir() / language).glob("*.ts")):
            translator = QTranslator(app)
            if translator.load(str(_qm_for(source))):
                app.installTranslator(translator)
                _installed.append(translator)
        qt_translator = QTranslator(app)  # Qt's own strings: standard buttons, file dialogs
        from PySide6.QtCore import QLibraryInfo

        if qt_translator.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            app.installTranslator(qt_translator)
            _installed.append(qt_translator)
    return language


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "check"
    if action == "update":
        for path in update():
            sys.stdout.write(f"{path.relative_to(translations_dir().parent.parent)}\n")
        return 0
    if action == "compile":
        compile_all()
        return 0
    if action == "check":
        bad = 0
        for source in sorted(translations_dir().glob("*/*.ts")):
            for text in unfinished(source):
                sys.stdout.write(f"{source.parent.name}/{source.name}: untranslated: {text!r}\n")
                bad += 1
        return 1 if bad else 0
    sys.stderr.write("usage: python -m desktop.ui.i18n update|compile|check\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
