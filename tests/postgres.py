"""PostgreSQL for the test suite: a private server started for the session, or one given by URL,
and a database per test made from a template (CREATE DATABASE ... TEMPLATE is a file copy, far
cheaper than running the migrations and loading the vocabularies again).

The private server lives in a temporary folder (data and socket) on a free port of 127.0.0.1,
without durability (fsync, full-page writes and synchronous commit off: a crash only loses a test
run). PostgreSQL refuses to run as root, so as root it runs as the `postgres` system user that
Debian's package creates, in a folder that user owns.
"""
from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.processes import free_port

SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "200",  # live servers, several processes and pools at once
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
}
START_TIMEOUT = 60.0  # seconds


class PostgresUnavailable(RuntimeError):
    """No server could be started or reached; the message says what to install or set."""


def find_bindir() -> Path:
    """The newest of Debian's /usr/lib/postgresql/*/bin (pg_config --bindir may not exist),
    else the folder of an `initdb` on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda path: int(Path(path).parent.parent.name)
                        if Path(path).parent.parent.name.isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    raise PostgresUnavailable(
        "PostgreSQL's server programs (initdb, postgres) were not found: install Debian's "
        "`postgresql` package (scripts/install --test does so as root), or set "
        "KB_TEST_POSTGRESQL_URL to a running server.")


class Cluster:
    """A server to make databases on: `admin_url` reaches its `postgres` database as a role
    that may create databases."""

    def __init__(self, admin_url: str):
        self.admin_url = make_url(admin_url).set(drivername="postgresql+psycopg")
        self._names = itertools.count(1)
        self._prefix = f"kb_test_{os.getpid()}_"

    def url(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def _connect(self):
        url = self.admin_url
        return psycopg.connect(host=url.host, port=url.port, user=url.username,
                               password=url.password, dbname=url.database or "postgres",
                               autocommit=True, connect_timeout=10)

    def new_name(self, label: str = "") -> str:
        return f"{self._prefix}{label}{next(self._names)}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create `name` (empty, or a copy of `template`); returns its SQLAlchemy URL."""
        statement = sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template or "template0"))
        with self._connect() as connection:
            if template:
                # A template must have no other sessions: end any a finished step left open.
                self._end_sessions(connection, template)
            connection.execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop `name`, ending whatever sessions are still connected to it (a pool not yet
        disposed, a child process of a failed test)."""
        with self._connect() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))

    def exists(self, name: str) -> bool:
        with self._connect() as connection:
            return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                      (name,)).fetchone() is not None

    def drop_leftovers(self) -> None:
        """Drop this session's databases that a test could not drop (e.g. interrupted)."""
        with self._connect() as connection:
            names = [row[0] for row in connection.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (self._prefix.replace("_", r"\_") + "%",))]
        for name in names:
            self.drop_database(name)

    @staticmethod
    def _end_sessions(connection, database: str) -> None:
        connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = %s AND pid <> pg_backend_pid()", (database,))

    def stop(self) -> None:
        self.drop_leftovers()


class PrivateServer(Cluster):
    """A throw-away server: `initdb` into a temporary folder, `postgres` as a child process."""

    USER = "kb"

    def __init__(self):
        self.bindir = find_bindir()
        self.folder = Path(tempfile.mkdtemp(prefix="kb-test-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.process: subprocess.Popen | None = None
        self.run_as = self._unprivileged_user()
        if self.run_as is not None:
            os.chown(self.folder, self.run_as.pw_uid, self.run_as.pw_gid)
        self._run([str(self.bindir / "initdb"), "--pgdata", str(self.data), "--auth=trust",
                   f"--username={self.USER}", "--encoding=UTF8", "--locale=C.UTF-8",
                   "--no-sync", "--no-instructions"])
        self.port = self._start()
        super().__init__(f"postgresql+psycopg://{self.USER}@127.0.0.1:{self.port}/postgres")

    @staticmethod
    def _unprivileged_user():
        """None when we are not root; else Debian's `postgres` user (the server refuses root)."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable(
                "The tests run as root and PostgreSQL refuses root, but there is no `postgres` "
                "system user: install Debian's `postgresql` package, or run the tests as "
                "another user.") from None

    def _as_user(self) -> dict:
        if self.run_as is None:
            return {}
        return {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid, "extra_groups": [],
                "env": {**os.environ, "HOME": self.run_as.pw_dir, "USER": "postgres",
                        "LOGNAME": "postgres"}}

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(command, cwd=self.folder, capture_output=True, text=True,
                                **self._as_user())
        if result.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(command)} failed:\n{result.stdout}"
                                      f"{result.stderr}")

    def _start(self) -> int:
        """Start the server on a free port (another, if someone took it meanwhile)."""
        for _attempt in range(5):
            port = free_port()
            settings = {**SERVER_SETTINGS, "port": str(port),
                        "unix_socket_directories": str(self.folder)}
            command = [str(self.bindir / "postgres"), "-D", str(self.data)]
            for name, value in settings.items():
                command += ["-c", f"{name}={value}"]
            log = open(self.log, "ab")
            self.process = subprocess.Popen(command, cwd=self.folder, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True, **self._as_user())
            log.close()
            if self._wait_until_ready(port):
                return port
        raise PostgresUnavailable(f"PostgreSQL did not start; its log:\n{self.log.read_text()}")

    def _wait_until_ready(self, port: int) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False  # exited: the port was taken, or a setting is wrong (see the log)
            try:
                psycopg.connect(host="127.0.0.1", port=port, user=self.USER, dbname="postgres",
                                connect_timeout=2).close()
                return True
            except psycopg.OperationalError:
                time.sleep(0.1)
        self.process.kill()
        self.process.wait()
        return False

    def stop(self) -> None:
        """Fast shutdown (ends the sessions, no checkpoint to wait for), then remove the folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(2)  # SIGINT: PostgreSQL's "fast" shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> Cluster:
    """The server named by KB_TEST_POSTGRESQL_URL, else a private one started now."""
    given = os.environ.get("KB_TEST_POSTGRESQL_URL")
    if given:
        cluster = Cluster(given)
        try:
            cluster.exists("postgres")
        except psycopg.OperationalError as error:
            raise PostgresUnavailable(f"KB_TEST_POSTGRESQL_URL cannot be reached: {error}")
        return cluster
    return PrivateServer()
