"""Every literal string the UI translates is one lupdate extracts. lupdate's Python reader reads ``//`` as
a comment and loses its place in a nested call in the arguments; a string it does not see is dropped from
the .ts by the next ``python -m desktop.ui.i18n update``, and the screen falls back to English."""

from __future__ import annotations

import ast
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from desktop.ui import i18n


def literal_calls(path: Path) -> set[tuple[str, str]]:
    """(context, text) of ``translate("Ctx", "text", ...)`` and ``self.tr("text", ...)`` calls in ``path``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        args = node.args
        if name == "translate" and len(args) >= 2 and all(isinstance(a, ast.Constant) for a in args[:2]):
            found.add((str(args[0].value), str(args[1].value)))  # type: ignore[attr-defined]
        elif name == "tr" and args and isinstance(args[0], ast.Constant) and isinstance(node.func, ast.Attribute):
            found.add(("", str(args[0].value)))
    return found


@pytest.mark.parametrize("module", i18n.ui_modules(), ids=lambda p: p.stem)
def test_lupdate_sees_every_translated_string(module: Path, tmp_path: Path) -> None:
    target = tmp_path / "fresh.ts"
    subprocess.run([i18n._tool("lupdate"), "-silent", "-locations", "none", str(module), "-ts", str(target)],
                   check=True)
    extracted = {(c.findtext("name") or "", m.findtext("source") or "")
                 for c in ET.parse(target).getroot().iter("context") for m in c.iter("message")}
    texts = {text for _context, text in extracted}
    missing = sorted(text for context, text in literal_calls(module)
                     if ((context, text) not in extracted if context else text not in texts))
    assert not missing, f"lupdate does not see these strings of {module.name}: {missing}"
