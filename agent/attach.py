"""``deskline-agent run --attach TICKET``: post a run's results to the ticket it was made for.

The results go as one public comment (the table, as the engineer saw it) with two files: the JSON
lines of every host's answer and the HTML page, through the connector of the engineer's own
settings (``helpdesk.backend``, ``helpdesk.url``, credentials by reference), so the ticket holds the
evidence next to the user's report. ``TICKET`` is the backend's ticket id (``17`` on
django-helpdesk or Redmine, ``DL-000123`` on the local store).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from desktop.errors import UsageError

if TYPE_CHECKING:
    from agent.console import HostResult

_TICKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:#-]{0,63}$")


def check_ticket(ticket: str) -> str:
    """The ticket id, checked; raises UsageError naming it."""
    if not _TICKET.match(ticket):
        raise UsageError(f"bad ticket {ticket!r} for --attach: letters, digits and _.:#- only")
    return ticket.lstrip("#")


def attach_results(results: Sequence[HostResult], ticket: str, command: str, config_path: str | None) -> str:
    """Post ``results`` to ``ticket``; returns a line saying where they went. Raises DesklineError."""
    from agent import output as out
    from desktop import config
    from desktop.connectors import registry
    from desktop.connectors.base import AttachmentFile, TicketRef

    settings = config.load(config_path)
    connector = registry.from_settings(settings)
    try:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        table = out.to_table(results, width=120)
        text = f"Remote diagnostics: deskline-agent run {command}\n\n{table}"
        files = [
            AttachmentFile(f"deskline-run-{stamp}.jsonl", "application/json",
                           out.to_jsonl(results).encode("utf-8")),
            AttachmentFile(f"deskline-run-{stamp}.html", "text/html",
                           out.render_results(results, "html", title=f"Deskline: {command}").encode("utf-8")),
        ]
        ref = TicketRef(settings["helpdesk.backend"], check_ticket(ticket))
        connector.comment(ref, text, files)
    finally:
        connector.close()
    return f"results attached to ticket {ticket} ({settings['helpdesk.backend']})"
