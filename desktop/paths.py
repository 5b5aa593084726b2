"""Where Deskline's bundled resources (knowledge base, translations, icons, schema) live."""

from __future__ import annotations

import sys
from pathlib import Path


def resource_dir() -> Path:
    """``resources/`` of a source checkout, else ``share/deskline`` of the installation."""
    here = Path(__file__).resolve().parent.parent / "resources"
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "deskline"
