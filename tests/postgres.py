"""A real PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` into a temporary folder.

The server listens on a free loopback port (and a unix socket in its folder only), trusts
nobody without the password, and runs without fsync: its data is thrown away afterwards. Each
test gets a database of its own (``Postgres.new_database``), so tests never see each other's
rows.

``initdb`` refuses to run as root. As root (CI, this machine), the server runs as the
``postgres`` account that Debian's ``postgresql`` package creates (``make test`` installs the
package when no server binaries are found); as anyone else, as that user.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa

REQUIRED = os.environ.get("FLOWCDR_FUNCTIONAL_TESTS") == "1"
SERVER_USER = "postgres"  # created by Debian's postgresql package
USER = "flowcdr"
START_SECONDS = 60


def server_binaries() -> Path | None:
    """The folder of ``initdb``/``pg_ctl``: Debian's layout (newest version), else PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def skip_or_fail(reason: str) -> NoReturn:
    """A missing server skips the PostgreSQL half locally and fails it in CI."""
    if REQUIRED:
        pytest.fail(f"FLOWCDR_FUNCTIONAL_TESTS=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason} (set FLOWCDR_FUNCTIONAL_TESTS=1 to make this a failure)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class Postgres:
    """A running server; ``url(database)`` is what flowcdr's ``database_url`` is set to."""

    bindir: Path
    folder: Path
    port: int
    password: str
    made: int = 0

    def url(self, database: str) -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        self.made += 1
        name = f"test_{self.made}"
        admin = sa.create_engine(
            self.url("postgres").replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        try:
            with admin.connect() as c:
                c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def stop(self) -> None:
        self._as_server([str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast"])
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def start(self) -> None:
        password_file = self.folder / "password"
        password_file.write_text(self.password + "\n")
        self._own(self.folder, password_file)
        self._as_server(
            [
                str(self.bindir / "initdb"),
                "--pgdata",
                str(self.data),
                "--username",
                USER,
                "--pwfile",
                str(password_file),
                "--auth-local",
                "trust",
                "--auth-host",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port}"
            f" -c unix_socket_directories={self.folder}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        self._as_server(
            [
                str(self.bindir / "pg_ctl"),
                "start",
                "--wait",
                f"--timeout={START_SECONDS}",
                "-D",
                str(self.data),
                "-l",
                str(self.folder / "server.log"),
                "-o",
                options,
            ]
        )

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _own(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVER_USER)
            for path in paths:
                os.chown(path, account.pw_uid, account.pw_gid)

    def _as_server(self, command: list[str]) -> None:
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=START_SECONDS + 30, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}\n"
                f"{self.log()}"
            )


def start_postgres() -> Postgres:
    """Start a server, or skip (fail in CI) when this machine cannot run one."""
    bindir = server_binaries()
    if bindir is None:
        skip_or_fail("no PostgreSQL server binaries (initdb) were found")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            skip_or_fail(f"running as root and there is no {SERVER_USER!r} account for initdb")
    # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="flowcdr-pg-"))
    server = Postgres(bindir, folder, _free_port(), os.urandom(12).hex())
    try:
        server.start()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return server
