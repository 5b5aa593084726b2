"""A real django-helpdesk server (from PyPI) on loopback, for the connector tests and bench/outbox.py.

The project in ``tests/servers/django_helpdesk/`` (SQLite in a temporary folder) is migrated and
provisioned once (``provision.py``: staff account with an API token, a queue), then served by
waitress, a production WSGI server from PyPI: unlike ``manage.py runserver`` it has no autoreloader or
development-only code paths, starts in about a second, has a fixed thread pool, reads the whole
request body before calling Django, and stops cleanly on SIGTERM.

``stop()`` and ``start()`` again reuse the port and the database, for the restart fault tests. The
server runs in the interpreter that runs the tests (django-helpdesk is in the test extras).

:class:`FaultProxy` is a TCP relay put between a client and the server to break single requests:
drop the answer after the server acted on the request, delay it, or answer 500 without forwarding.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


def available() -> str:
    """Empty when django-helpdesk and waitress can be imported here, else why not."""
    import importlib.util

    missing = [m for m in ("helpdesk", "waitress", "rest_framework") if importlib.util.find_spec(m) is None]
    return f"not installed: {', '.join(missing)} (pip install -e '.[test]')" if missing else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HelpdeskServer:
    """One django-helpdesk server: ``provision()`` once, then ``start()``/``stop()`` as often as needed."""

    def __init__(self, data_dir: Path, port: int | None = None, max_upload: int = 2 * 1024 * 1024,
                 threads: int = 4) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.max_upload = max_upload  # the request body limit of the web server "in front"
        self.threads = threads
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = self.url + "/api"
        self.facts: dict[str, Any] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "server.log"

    @property
    def token(self) -> str:
        return str(self.facts["token"])

    @property
    def queue(self) -> int:
        return int(self.facts["queue"])

    @property
    def db_path(self) -> Path:
        return self.data_dir / "helpdesk.sqlite3"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "DESKLINE_HD_DATA": str(self.data_dir),
            "DESKLINE_HD_MAX_UPLOAD": str(self.max_upload),
            "DJANGO_SETTINGS_MODULE": "tests.servers.django_helpdesk.settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        })
        return env

    def provision(self) -> dict[str, Any]:
        """Migrate the database and make the accounts and queues; returns (and keeps) their facts."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "tests.servers.django_helpdesk.provision"], cwd=ROOT, env=self._env(),
            capture_output=True, timeout=START_TIMEOUT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"django-helpdesk provisioning failed: {done.stderr.decode(errors='replace')[-3000:]}")
        self.facts = json.loads(done.stdout.decode().strip().splitlines()[-1])
        return self.facts

    def start(self, wait: bool = True) -> None:
        """Serve on ``self.port`` (the same port every time); waits until the API answers."""
        if self.process is not None and self.process.poll() is None:
            return
        if not self.facts:
            self.provision()
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{self.port}", f"--threads={self.threads}",
                 "--channel-timeout=30", "tests.servers.django_helpdesk.wsgi:application"],
                cwd=ROOT, env=self._env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"django-helpdesk server exited ({self.process.returncode}): {self.log_tail()}")
            try:
                r = requests.get(self.api + "/tickets/", params={"page_size": 1},
                                 headers={"Authorization": f"Token {self.token}"}, timeout=2)
                if r.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)  # polling for readiness, with a deadline
        raise RuntimeError(f"django-helpdesk server did not answer in {timeout:g} s: {self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; the port is free when this returns."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    # -- what an engineer or an administrator would do, and server-side counts

    def session(self, who: str = "tech") -> requests.Session:
        """A Session authenticated as ``who`` (``agent``, ``tech`` or ``plain``) by API token."""
        s = requests.Session()
        s.headers["Authorization"] = f"Token {self.facts['token' if who == 'agent' else who + '_token']}"
        return s

    def ticket(self, ticket_id: int | str) -> dict[str, Any]:
        with self.session() as s:
            r = s.get(f"{self.api}/tickets/{ticket_id}/", timeout=10)
            r.raise_for_status()
            return dict(r.json())

    def reply(self, ticket_id: int | str, text: str, new_status: int | None = None, public: bool = True) -> None:
        """A follow-up by the engineer ``tech``, optionally changing the ticket's status."""
        data: dict[str, Any] = {"ticket": int(ticket_id), "comment": text, "public": public}
        if new_status is not None:
            data["new_status"] = new_status
        with self.session() as s:
            r = s.post(f"{self.api}/followups/", json=data, timeout=10)
            r.raise_for_status()

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Read the server's database directly (WAL: safe while the server runs)."""
        with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=20)) as db:
            return list(db.execute(sql, args).fetchall())

    def count_tickets(self, like: str = "%") -> int:
        """Tickets whose description matches the SQL LIKE pattern ``like``."""
        return int(self.query("SELECT count(*) FROM helpdesk_ticket WHERE description LIKE ?", like)[0][0])

    def tickets_by_marker(self, prefix: str = "Deskline submission ") -> dict[str, int]:
        """Submission id -> number of tickets carrying its marker."""
        counts: dict[str, int] = {}
        for (description,) in self.query("SELECT description FROM helpdesk_ticket WHERE description LIKE ?",
                                         f"%{prefix}%"):
            tail = description.split(prefix, 1)[1]
            sid = tail.split()[0] if tail.split() else ""
            counts[sid] = counts.get(sid, 0) + 1
        return counts


@contextlib.contextmanager
def running_server(max_upload: int = 2 * 1024 * 1024, threads: int = 4) -> Iterator[HelpdeskServer]:
    """A provisioned, started server in a temporary folder; stopped and deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="deskline-helpdesk-") as tmp:
        server = HelpdeskServer(Path(tmp), max_upload=max_upload, threads=threads)
        server.provision()
        server.start()
        try:
            yield server
        finally:
            server.stop()


# -- breaking single requests


@dataclass
class Fault:
    """What the proxy does with requests for which ``match(method, path)`` is true (``times`` of them)."""

    action: str  # "drop_response" | "delay" | "status500"
    match: Callable[[str, str], bool] = lambda method, path: True
    times: int = 1
    delay: float = 0.0
    seen: list[str] = field(default_factory=list)


class FaultProxy:
    """A TCP relay on loopback in front of ``target_port``, one request per connection (it asks the
    server for ``Connection: close``). Requests matching the current :class:`Fault` are broken."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.fault: Fault | None = None
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._accepting.start()

    def close(self) -> None:
        self._stop.set()
        self._accepting.join(5)
        for t in self._threads:
            t.join(5)
        self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
            t.start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            client.settimeout(10)
            try:
                request = _read_request(client)
            except (OSError, ValueError):
                return
            line = request.split(b"\r\n", 1)[0].decode("latin-1")
            method, path = (line.split(" ") + ["", ""])[:2]
            fault = self.fault
            if fault is not None and fault.times > 0 and fault.match(method, path):
                fault.times -= 1
                fault.seen.append(f"{method} {path}")
            else:
                fault = None
            if fault is not None and fault.action == "status500":
                body = b'{"detail": "injected failure"}'
                client.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                               b"Retry-After: 7\r\nConnection: close\r\nContent-Length: "
                               + str(len(body)).encode() + b"\r\n\r\n" + body)
                return
            try:
                response = self._forward(request)
            except OSError:
                return
            if fault is not None and fault.action == "drop_response":
                client.shutdown(socket.SHUT_RDWR)  # the server acted; the client never hears of it
                return
            if fault is not None and fault.action == "delay" and self._stop.wait(fault.delay):
                return
            with contextlib.suppress(OSError):
                client.sendall(response)

    def _forward(self, request: bytes) -> bytes:
        head, _, body = request.partition(b"\r\n\r\n")
        lines = [h for h in head.split(b"\r\n") if not h.lower().startswith(b"connection:")]
        request = b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body
        with socket.create_connection(("127.0.0.1", self.target_port), timeout=30) as upstream:
            upstream.sendall(request)
            chunks = []
            while True:
                chunk = upstream.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)


def _read_request(sock: socket.socket, limit: int = 64 * 1024 * 1024) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ValueError("connection closed before the request's headers")
        data += chunk
        if len(data) > limit:
            raise ValueError("request too large")
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for h in head.split(b"\r\n")[1:]:
        name, _, value = h.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(min(65536, length - len(body)))
        if not chunk:
            raise ValueError("connection closed inside the request's body")
        body += chunk
    return head + b"\r\n\r\n" + body
