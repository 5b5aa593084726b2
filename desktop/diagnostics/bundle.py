"""The bundle: one zip file that carries a report to a helpdesk or by hand.

Layout::

    manifest.json          format "deskline-bundle", version, report id, and every other file
                           with its size and SHA-256
    report.json            the report document
    summary.html           the readable summary
    summary.md             the same in Markdown (what ticket systems take as a description)
    attachments/<name>     the files the user attached, redacted where they are text

:func:`read_bundle` checks every hash, so a damaged or altered bundle is refused, never half-read.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from desktop.diagnostics.render import to_html, to_markdown
from desktop.diagnostics.report import Attachment, Report, check_document
from desktop.errors import ReportError

BUNDLE_FORMAT = "deskline-bundle"
BUNDLE_VERSION = 1
# A fixed timestamp keeps the zip free of the local clock (and identical inputs give identical bytes).
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def dumps_report(document: dict[str, Any]) -> str:
    """The report document as the JSON text every writer uses."""
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def bundle_bytes(report: Report) -> bytes:
    """The bundle of ``report`` as zip bytes."""
    files: dict[str, bytes] = {
        "report.json": dumps_report(report.document).encode("utf-8"),
        "summary.html": to_html(report.document).encode("utf-8"),
        "summary.md": to_markdown(report.document).encode("utf-8"),
    }
    for att in report.attachments:
        files[f"attachments/{att.name}"] = att.content
    manifest = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "report_id": report.report_id,
        "created": report.document.get("created"),
        "files": [{"path": p, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for p, b in files.items()],
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path, content in [("manifest.json", json.dumps(manifest, indent=1).encode()), *files.items()]:
            info = zipfile.ZipInfo(path, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, content, compresslevel=9)
    return buf.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (temporary file in the same folder, then rename).

    A path that exists and is not a regular file (``/dev/null``, a named pipe) is written to directly:
    renaming over it would replace the device.
    """
    if path.exists() and not path.is_file() and not path.is_dir():
        try:
            with open(path, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise ReportError(f"{path}: cannot write: {exc.strerror or exc}") from exc
        return
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise ReportError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:  # interrupted or failed: never leave the .part file behind
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ReportError(f"{path}: cannot write: {exc.strerror or exc}") from exc
        raise


def read_bundle(path: Path) -> Report:
    """Open a bundle, verify its manifest and hashes, and return the report with its attachments."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ReportError(f"{path}: not a readable bundle: {exc}") from exc
    with zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
        except (KeyError, ValueError) as exc:
            raise ReportError(f"{path}: bundle has no valid manifest.json") from exc
        if manifest.get("format") != BUNDLE_FORMAT or manifest.get("version") != BUNDLE_VERSION:
            raise ReportError(f"{path}: not a Deskline bundle of version {BUNDLE_VERSION}")
        contents: dict[str, bytes] = {}
        for entry in manifest.get("files", []):
            name = entry["path"]
            try:
                data = zf.read(name)
            except KeyError as exc:
                raise ReportError(f"{path}: {name} is listed in the manifest but missing") from exc
            if hashlib.sha256(data).hexdigest() != entry["sha256"] or len(data) != entry["size"]:
                raise ReportError(f"{path}: {name} does not match its hash in the manifest")
            contents[name] = data
    try:
        document = json.loads(contents["report.json"])
    except (KeyError, ValueError) as exc:
        raise ReportError(f"{path}: bundle has no valid report.json") from exc
    check_document(document)
    atts = {a["name"]: a for a in document.get("attachments", [])}
    attachments = [
        Attachment(name[len("attachments/"):], data, atts.get(name[len("attachments/"):], {}).get(
            "media_type", "application/octet-stream"), bool(atts.get(name[len("attachments/"):], {}).get("redacted")))
        for name, data in contents.items()
        if name.startswith("attachments/")
    ]
    return Report(document, attachments)
