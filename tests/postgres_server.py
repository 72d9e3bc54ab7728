"""A throwaway PostgreSQL cluster for the tests, from Debian's `postgresql` package.

`make test` installs the package where it can (as it installs Redis and Chromium). The cluster
is made once per session: `initdb` into a temporary folder, the server listening on 127.0.0.1
only, on a free port, with its unix socket in the same folder. initdb and postgres refuse to
run as root, so as root they run as the `postgres` system user (the package creates it), with
the folder handed to that user. Each test gets a fresh database, copied from a template that
already holds the schema (`CREATE DATABASE … TEMPLATE`: milliseconds, not a migration run).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

import pytest

# Debian installs the server binaries per major version, off PATH.
_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def server_bin() -> Path | None:
    """The folder holding initdb and postgres (the newest installed version), or None."""
    found = sorted(glob.glob(_BIN_GLOB), key=lambda p: int(Path(p).parent.name), reverse=True)
    for folder in found:
        if Path(folder, "postgres").exists() and Path(folder, "initdb").exists():
            return Path(folder)
    return None


def require_server() -> Path:
    """The server binaries, or a skip with the reason (a failure under CI, where `make test`
    always installs them: a missing server must not turn the Postgres runs into skips)."""
    folder = server_bin()
    if folder is None:
        message = (
            "no PostgreSQL server under /usr/lib/postgresql: `apt-get install postgresql` "
            "(make test does, as root)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresCluster:
    """One running cluster: `url(db)` addresses one of its databases."""

    def __init__(self, work: Path) -> None:
        self.bin = require_server()
        self.data = work / "data"
        self.socket_dir = work
        self.port = _free_port()
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self._user = pwd.getpwnam("postgres")
            os.chown(work, self._user.pw_uid, self._user.pw_gid)
        self.role = self._user.pw_name if self._user else pwd.getpwuid(os.geteuid()).pw_name
        self._proc: subprocess.Popen[bytes] | None = None
        self._names = count(1)

    def _cmd(self, *args: str) -> list[str]:
        if self._user is None:
            return list(args)
        return ["runuser", "-u", self._user.pw_name, "--", *args]

    def start(self, *, durable: bool = False) -> None:
        """initdb and start the server; `durable` keeps fsync on (benchmarks), else off."""
        subprocess.run(
            self._cmd(
                str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.role,
                "-E", "UTF8", "--locale=C", "--no-sync",
            ),
            check=True,
            capture_output=True,
        )  # fmt: skip
        # fsync off and no full-page writes: a test cluster is thrown away, durability is moot
        fast = () if durable else (
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        )  # fmt: skip
        self._proc = subprocess.Popen(
            self._cmd(
                str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1",
                "-p", str(self.port), "-k", str(self.socket_dir), *fast,
                "-c", "max_connections=200",
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self._proc.poll() is not None:
                    raise
                time.sleep(0.05)

    def url(self, database: str) -> str:
        return f"postgresql://{self.role}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def fresh_database(self, template: str = "template0") -> str:
        """A new, empty database (a copy of `template`); returns its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=30)


@contextmanager
def running_cluster(work: Path) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(work)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
