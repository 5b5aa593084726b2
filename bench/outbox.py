"""How fast does the outbox drain into a real helpdesk, and does every report arrive exactly once?

1,000 reports (one real report document, collected once; a new report id and words for each) are
filed into a fresh outbox while the django-helpdesk server (PyPI, SQLite, waitress, on loopback) is
down; a send pass meets "connection refused" for each and schedules retries. Then the server is
started and the sender drains the outbox: per report, the ticket (words, summary, findings) and then
the report bundle as a follow-up attachment.

Figures printed:
* filing: time to save the reports in the outbox (durable, before any network call);
* the pass while the server is down: time, and that every report stayed queued;
* drain: wall time from the server answering to the last report sent, reports per second;
* where the drain time went: inside Django (the server's own time, from the Server-Timing header the
  test server adds), inside HTTP requests as the client sees them (Django + waitress + loopback), and
  the rest: Deskline itself (outbox reads and fsynced writes, bundle making, JSON);
* counted on the server side (its database): tickets per submission id, lost (0 tickets) and
  duplicated (more than 1), and report bundles attached.

Goal (issue 3): the drain rate is limited by the server, not by Deskline.

Usage: python bench/outbox.py [--reports N] [--threads N]
(django-helpdesk and waitress come with `pip install -e .[test]`.)
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop import config  # noqa: E402
from desktop.connectors import registry  # noqa: E402
from desktop.connectors.base import Connector  # noqa: E402
from desktop.delivery import Sender, file_report  # noqa: E402
from desktop.diagnostics import registry as probes  # noqa: E402
from desktop.diagnostics import report as reports  # noqa: E402
from desktop.outbox import Outbox  # noqa: E402
from tests.servers.django_helpdesk_server import HelpdeskServer, available  # noqa: E402

TOKEN_VAR = "DESKLINE_BENCH_HELPDESK_TOKEN"


@dataclass
class Timing:
    """Time spent inside HTTP requests, as the client saw it and as the server reported it."""

    requests: int = 0
    client: float = 0.0
    server: float = 0.0
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    server_series: list[float] = field(default_factory=list)  # the server's time of each request, in order

    def instrument(self, connector: Connector) -> None:
        session = connector.session  # type: ignore[attr-defined]
        original = session.request

        def timed(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                response = original(method, url, *args, **kwargs)
            finally:
                took = time.perf_counter() - start
                self.requests += 1
                self.client += took
                kind = f"{method} {url.split('/api/', 1)[-1].split('/', 1)[0]}"
                self.by_kind.setdefault(kind, []).append(took)
            for item in response.headers.get("Server-Timing", "").split(","):
                name, _, rest = item.strip().partition(";")
                if name == "app" and rest.startswith("dur="):
                    self.server += float(rest[4:]) / 1000
                    self.server_series.append(float(rest[4:]))
            return response

        session.request = timed


def one_report() -> reports.Report:
    """A real report of this machine (every probe), collected once."""
    return reports.build(probes.select(None), probe_settings=config.Settings().section("probes"))


def settings_text(server: HelpdeskServer, outbox: Path) -> str:
    return "\n".join([
        "[helpdesk]", 'backend = "django-helpdesk"', f'url = "{server.url}"', f'queue = "{server.queue}"',
        f'token = "env:{TOKEN_VAR}"', 'attachment_extensions = [".zip", ".json", ".txt", ".log", ".png"]',
        'reporter_email = "bench@example.org"', "timeout = 10.0",
        "[outbox]", f'path = "{outbox}"', "retry_base = 0.05", "retry_cap = 1.0"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4, help="waitress worker threads")
    parser.add_argument("--reporters", type=int, default=0,
                        help="distinct reporter e-mail addresses (default: one per report). django-helpdesk gets "
                             "slower with each ticket of the same submitter: --reporters 1 shows it")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object too")
    args = parser.parse_args()
    why = available()
    if why:
        print(f"cannot run: django-helpdesk server {why}", file=sys.stderr)
        return 2
    n = args.reports
    reporters = args.reporters or n
    figures: dict[str, Any] = {"reports": n, "reporters": reporters}
    with tempfile.TemporaryDirectory(prefix="deskline-bench-outbox-") as tmp_name:
        tmp = Path(tmp_name)
        server = HelpdeskServer(tmp / "helpdesk", max_upload=64 * 1024 * 1024, threads=args.threads)
        t = time.perf_counter()
        server.provision()  # migrated and provisioned, but not serving: the helpdesk is down
        figures["server_provision_s"] = time.perf_counter() - t
        os.environ[TOKEN_VAR] = server.token
        settings = config.parse(settings_text(server, tmp / "outbox"))

        t = time.perf_counter()
        report = one_report()
        figures["collect_s"] = time.perf_counter() - t
        outbox = Outbox(tmp / "outbox")
        t = time.perf_counter()
        for i in range(n):
            doc = copy.deepcopy(report.document)
            doc["report_id"] = str(uuid.uuid4())
            file_report(outbox, reports.Report(doc, list(report.attachments)),
                        title=f"Bench report {i}: the VPN drops every few minutes",
                        description=f"Report {i} of {n}. It started after the last update.",
                        impact="medium", urgency="high", reporter_email=f"user{i % reporters}@example.org")
        figures["file_s"] = time.perf_counter() - t
        entries = outbox.entries()
        if len(entries) != n or outbox.counts()["queued"] != n:
            raise SystemExit(f"filing went wrong: {outbox.counts()}")
        bundle = outbox.make_report_bundle(entries[0].id)
        figures["bundle_bytes"] = len(bundle)

        timing = Timing()

        def connector_for(backend: str) -> Connector:
            c = registry.from_settings(settings, backend)
            timing.instrument(c)
            return c

        with Sender.from_settings(outbox, settings) as probe_sender:
            probe_sender.connector_for = connector_for
            t = time.perf_counter()
            refused = 0
            for e in entries:  # one attempt each, as "send now" after filing does
                down = probe_sender.run(number=e.id)
                refused += len(down.retrying)
                if down.sent or down.problems:
                    raise SystemExit(f"the server is down, yet: {down.sent} {down.problems}")
            figures["down_pass_s"] = time.perf_counter() - t
        if refused != n or outbox.counts()["queued"] != n:
            raise SystemExit(f"{refused} of {n} refused while down; outbox: {outbox.counts()}")
        figures["down_pass_refused"] = refused
        timing = Timing()  # count the drain only

        t = time.perf_counter()
        server.start()
        figures["server_start_s"] = time.perf_counter() - t
        try:
            with Sender.from_settings(outbox, settings) as sender:
                sender.connector_for = connector_for
                start = time.perf_counter()
                deadline = start + max(600.0, n * 2.0)
                while time.perf_counter() < deadline:
                    sender.run(deadline=time.monotonic() + 60)
                    if not any(e.has_work for e in outbox.entries()):
                        break
                    due = outbox.next_due()
                    if due is not None:
                        time.sleep(min(1.0, max(0.0, due - time.time())))
                drain = time.perf_counter() - start
            counts = server.tickets_by_marker()
            zips = server.query("SELECT count(*) FROM helpdesk_followupattachment WHERE filename LIKE '%.zip'")[0][0]
        finally:
            server.stop()
        entries = outbox.entries()
        ids = [e.submission_id for e in entries]
        figures.update({
            "drain_s": drain,
            "reports_per_s": n / drain,
            "sent": sum(1 for e in entries if e.state == "sent" and not e.has_work),
            "tickets_on_server": sum(counts.values()),
            "lost": sum(1 for s in ids if counts.get(s, 0) == 0),
            "duplicated": sum(counts.get(s, 0) - 1 for s in ids if counts.get(s, 0) > 1),
            "foreign_tickets": sum(v for k, v in counts.items() if k not in set(ids)),
            "bundles_attached": zips,
            "requests": timing.requests,
            "client_request_s": timing.client,
            "server_app_s": timing.server,
            "deskline_s": drain - timing.client,
            "per_request_ms": {k: round(statistics.median(v) * 1000, 2) for k, v in sorted(timing.by_kind.items())},
            "server_ms_first_tenth": round(statistics.median(timing.server_series[: max(1, n // 5)]), 2),
            "server_ms_last_tenth": round(statistics.median(timing.server_series[-max(1, n // 5):]), 2),
        })
        outbox.close()

    f = figures
    print(f"reports: {n} from {reporters} reporters; one real report collected in {f['collect_s']:.2f} s, "
          f"bundle {f['bundle_bytes'] / 1024:.0f} KiB")
    print(f"filed into the outbox: {f['file_s']:.2f} s ({f['file_s'] / n * 1000:.2f} ms a report, durable)")
    print(f"send pass while the server is down: {f['down_pass_s']:.2f} s, {f['down_pass_refused']} refused "
          "connections, all still queued")
    print(f"server start (waitress + Django): {f['server_start_s']:.2f} s")
    print(f"drain: {f['drain_s']:.2f} s, {f['reports_per_s']:.1f} reports/s, {f['requests']} requests "
          f"(median ms: {', '.join(f'{k} {v}' for k, v in f['per_request_ms'].items())})")
    print(f"  inside Django (server's own time): {f['server_app_s']:.2f} s ({f['server_app_s'] / f['drain_s']:.0%})")
    print(f"  the server's median time a request: {f['server_ms_first_tenth']} ms over the first tenth of the "
          f"reports, {f['server_ms_last_tenth']} ms over the last tenth")
    print(f"  inside HTTP requests (client's view): {f['client_request_s']:.2f} s "
          f"({f['client_request_s'] / f['drain_s']:.0%}; waitress + loopback + requests: "
          f"{f['client_request_s'] - f['server_app_s']:.2f} s)")
    print(f"  Deskline outside requests (outbox, bundles): {f['deskline_s']:.2f} s "
          f"({f['deskline_s'] / f['drain_s']:.0%})")
    print(f"server side: {f['tickets_on_server']} tickets, lost {f['lost']}, duplicated {f['duplicated']}, "
          f"bundles attached {f['bundles_attached']}; outbox: {f['sent']} sent")
    if args.json:
        print(json.dumps(f, sort_keys=True))
    ok = f["lost"] == 0 and f["duplicated"] == 0 and f["sent"] == n and f["bundles_attached"] == n
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
