"""A real Redmine (Debian's packages: redmine, redmine-sqlite, thin) on 127.0.0.1, for the connector tests.

``scripts/setup-redmine`` installs the packages (their post-install makes and migrates the default
instance's SQLite database). Each test session makes its own instance in a temporary folder and serves
it with thin (Debian's ``rails server`` does not start; thin does):

* Debian's Redmine takes its instance from ``REDMINE_INSTANCE`` and looks for it under
  ``/usr/share/redmine/instances/`` (a link to /var/lib/redmine). A relative name climbing to ``/``
  names any folder, so the instance (config, database, files, logs, tmp) lives in the temporary
  folder and nothing is written outside it;
* its database is a copy of the default instance's, already migrated and holding Redmine's default
  data (trackers, statuses, priorities); where that file cannot be read (not root), the database is
  migrated from nothing instead (about 10 s more);
* a setup script, run inside thin's own Rails boot (an ``after_initialize`` hook required with
  ``thin -r``, which saves a second Rails boot of ``rails runner``), enables the REST API, sets the
  attachment limit to 1 MB, and makes an account ``deskline`` (Reporter in the private project
  ``helpdesk``) and a private project ``elsewhere`` it is not a member of; it writes the API keys of
  that account and of ``admin`` to ``setup.json``. It is idempotent, so a restart runs it again harmlessly.

:class:`FaultProxy` is a reverse proxy on loopback that passes requests on, or drops the answer after
the server has handled the request, or holds the answer back, or answers 500 itself.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

REDMINE_ROOT = Path("/usr/share/redmine")
TEMPLATE_DB = Path("/var/lib/dbconfig-common/sqlite3/redmine/instances/default/redmine_default")
THIN = shutil.which("thin") or "/usr/bin/thin"
START_TIMEOUT = 120.0  # seconds for thin to answer; Redmine itself needs about 5
ATTACHMENT_MAX_KB = 1024  # the test instance's "Maximum attachment size"
PROJECT = "helpdesk"
OTHER_PROJECT = "elsewhere"

SETUP_RB = r"""
require 'active_support'
require 'json'

ActiveSupport.on_load(:after_initialize) do
  Setting.rest_api_enabled = '1'
  Setting.attachment_max_size = ENV.fetch('DESKLINE_MAX_KB')
  Redmine::DefaultData::Loader.load('en') if Tracker.count == 0
  admin = User.find_by_login('admin')
  admin.update!(must_change_passwd: false)
  user = User.find_by_login('deskline')
  unless user
    user = User.new(firstname: 'Desk', lastname: 'Line', mail: 'deskline@example.invalid', language: 'en')
    user.login = 'deskline'
    user.password = user.password_confirmation = SecureRandom.hex(16)
    user.status = User::STATUS_ACTIVE
    user.save!
  end
  reporter = Role.find_by!(builtin: 0, name: 'Reporter')
  %w[helpdesk elsewhere].each do |ident|
    next if Project.find_by(identifier: ident)
    project = Project.new(name: ident.capitalize, identifier: ident, is_public: false)
    project.trackers = Tracker.sorted.to_a
    project.enabled_module_names = ['issue_tracking']
    project.save!
    Member.create!(principal: user, project: project, roles: [reporter]) if ident == 'helpdesk'
  end
  File.write(ENV.fetch('DESKLINE_SETUP_OUT'),
             JSON.generate(admin_key: admin.api_key, user_key: user.api_key, user_id: user.id))
end
"""


def unavailable_reason() -> str | None:
    """Why a Redmine test server cannot run here, or None when it can."""
    missing = [p for p in (REDMINE_ROOT / "config.ru", Path(THIN)) if not p.exists()]
    if missing:
        return (f"Redmine is not installed ({', '.join(map(str, missing))} missing): run scripts/setup-redmine "
                "(apt packages redmine redmine-sqlite thin)")
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedmineError(RuntimeError):
    """The test server could not be prepared or started."""


class RedmineServer:
    """One Redmine instance in ``root``, served by thin on 127.0.0.1:``port``; start/stop at will."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_key = ""
        self.user_key = ""
        self.user_id = 0
        self.timings: dict[str, float] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = root / "thin.log"

    # -- preparing the instance

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        # a relative instance name that climbs to / (see the module docstring); 16 levels is plenty
        env["REDMINE_INSTANCE"] = "../" * 16 + str(self.root).lstrip("/")
        env["RAILS_ENV"] = "production"
        env["REDMINE_LANG"] = "en"
        env["DESKLINE_MAX_KB"] = str(ATTACHMENT_MAX_KB)
        env["SCHEMA"] = str(self.root / "db" / "schema.rb")  # a migration must not write into /usr/share
        env["DESKLINE_SETUP_OUT"] = str(self.root / "setup.json")
        return env

    def _run(self, args: list[str], timeout: float) -> str:
        try:
            done = subprocess.run(args, cwd=REDMINE_ROOT, env=self._env(), capture_output=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            raise RedmineError(f"{' '.join(args)} took more than {timeout:g} s") from exc
        out = done.stdout.decode(errors="replace")
        if done.returncode != 0:
            tail = (out + done.stderr.decode(errors="replace"))[-3000:]
            raise RedmineError(f"{' '.join(args)} failed ({done.returncode}):\n{tail}")
        return out

    def prepare(self) -> None:
        """Folders, configuration, database and the setup script (run by :meth:`start`)."""
        t0 = time.monotonic()
        for sub in ("config", "db", "files", "log", "tmp", "public/plugin_assets"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        db = self.root / "db" / "redmine.sqlite3"
        (self.root / "config" / "database.yml").write_text(
            f"production:\n  adapter: sqlite3\n  database: {json.dumps(str(db))}\n  encoding: utf8\n"
            "  timeout: 5000\n")
        (self.root / "config" / "secret_key.txt").write_text(os.urandom(32).hex())
        # Redmine mails every issue change; keep the mails in memory (never a machine's own port 25)
        (self.root / "config" / "configuration.yml").write_text(
            "production:\n  email_delivery:\n    delivery_method: :test\n")
        try:
            shutil.copyfile(TEMPLATE_DB, db)
            self.timings["database"] = time.monotonic() - t0
        except OSError:
            db.unlink(missing_ok=True)
            self._run(["bin/rake", "db:migrate"], timeout=300)
            self.timings["database (migrated)"] = time.monotonic() - t0
        (self.root / "setup.rb").write_text(SETUP_RB)

    # -- running

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> float:
        """Start thin and wait until the API answers; the seconds it took."""
        if self.running:
            return 0.0
        t0 = time.monotonic()
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                [THIN, "start", "-e", "production", "-a", "127.0.0.1", "-p", str(self.port), "-c", str(REDMINE_ROOT),
                 "-R", "config.ru", "-r", str(self.root / "setup.rb"), "--timeout", "60"],
                cwd=REDMINE_ROOT, env=self._env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        deadline = t0 + timeout
        while True:
            if self._proc.poll() is not None:
                raise RedmineError(f"thin exited ({self._proc.returncode}):\n{self.log_tail()}")
            try:
                r = requests.get(f"{self.url}/issues.json", timeout=5)
                if r.status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RedmineError(f"Redmine did not answer within {timeout:g} s:\n{self.log_tail()}")
            time.sleep(0.1)  # polling interval while waiting for the server to come up
        took = time.monotonic() - t0
        self.timings.setdefault("start", took)
        data = json.loads((self.root / "setup.json").read_text())
        self.admin_key, self.user_key, self.user_id = data["admin_key"], data["user_key"], data["user_id"]
        return took

    def stop(self, timeout: float = 20.0) -> None:
        """Stop thin (TERM, then KILL after ``timeout``) and wait until the port refuses connections."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def log_tail(self, size: int = 3000) -> str:
        text = ""
        for path in (self._log, self.root / "log" / "production.log"):
            with contextlib.suppress(OSError):
                text += f"--- {path}\n" + path.read_text(errors="replace")[-size:]
        return text

    # -- what the tests do as the helpdesk's staff

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        headers = {"X-Redmine-API-Key": self.admin_key, **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, **kwargs)

    def issue(self, issue_id: int | str, include: str = "journals,attachments") -> dict[str, Any]:
        r = self.admin("GET", f"/issues/{issue_id}.json", params={"include": include})
        r.raise_for_status()
        data: dict[str, Any] = r.json()["issue"]
        return data

    def issues_with(self, text: str) -> list[int]:
        """Ids of all issues (any project, any status) whose description contains ``text``."""
        ids: list[int] = []
        offset = 0
        while True:
            r = self.admin("GET", "/issues.json", params={"status_id": "*", "limit": 100, "offset": offset})
            r.raise_for_status()
            data = r.json()
            ids += [i["id"] for i in data["issues"] if text in (i.get("description") or "")]
            offset += 100
            if offset >= data["total_count"]:
                return sorted(ids)

    def status_id(self, name: str) -> int:
        r = self.admin("GET", "/issue_statuses.json")
        r.raise_for_status()
        return next(s["id"] for s in r.json()["issue_statuses"] if s["name"] == name)

    def update(self, issue_id: int | str, **change: Any) -> None:
        r = self.admin("PUT", f"/issues/{issue_id}.json", json={"issue": change})
        if r.status_code not in (200, 204):
            raise RedmineError(f"PUT /issues/{issue_id}.json: {r.status_code} {r.text[:300]}")


@contextlib.contextmanager
def redmine_server(root: Path) -> Iterator[RedmineServer]:
    """A prepared and started Redmine in ``root``; stopped on exit."""
    server = RedmineServer(root)
    server.prepare()
    try:
        server.start()
        yield server
    finally:
        server.stop()


# -- a proxy that misbehaves on purpose

_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
        "transfer-encoding", "upgrade", "content-length"}


class FaultProxy:
    """A reverse proxy on 127.0.0.1 in front of ``upstream`` (host, port).

    ``mode``: ``pass`` forwards; ``drop`` forwards, reads the whole answer, then closes the client's
    connection without a byte (the server did the work, the client never hears); ``delay`` forwards and
    holds the answer back for ``delay`` seconds; ``error`` answers 500 (with ``Retry-After: 7``) without
    forwarding. ``target`` ("POST /issues.json"), when set, limits the fault to requests whose method
    and path start so; the others pass. ``seen`` lists (method, path, forwarded) for every request.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self.delay = 5.0
        self.target = ""
        self.seen: list[tuple[str, str, bool]] = []
        self._stop = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                mode = proxy.mode
                if proxy.target and not f"{self.command} {self.path}".startswith(proxy.target):
                    mode = "pass"
                if mode == "error":
                    proxy.seen.append((self.command, self.path, False))
                    payload = b"<html><body>Internal Server Error</body></html>"
                    self.send_response(500)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Retry-After", "7")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP and k.lower() != "host"}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                finally:
                    conn.close()
                proxy.seen.append((self.command, self.path, True))
                if mode == "drop":
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mode == "delay" and proxy._stop.wait(proxy.delay):
                    return
                try:
                    self.send_response(answer.status, answer.reason)
                    for k, v in answer.getheaders():
                        if k.lower() not in _HOP:
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (a timeout test): nothing to tell it
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815 - http.server's names

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
