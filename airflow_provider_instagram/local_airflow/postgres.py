"""A throwaway PostgreSQL server on loopback, from Debian's packages (``make test`` installs them).

The cluster lives in a temporary directory, with trust authentication on 127.0.0.1 only; it is initialised,
started and removed by whoever owns it (the test session, a benchmark). PostgreSQL refuses to run as root, so as
root it runs as ``postgres``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from airflow_provider_instagram.local_airflow.ports import free_port

INSTALL_FIX = "install it with: apt-get install -y postgresql (make test does this)"


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError(f"PostgreSQL server binaries not found under /usr/lib/postgresql; {INSTALL_FIX}")
    return Path(found[-1]).parent


class PostgresServer:
    """One PostgreSQL cluster on a free loopback port.

    :param database: the database created at start.
    """

    user = "postgres"

    def __init__(self, database: str = "warehouse") -> None:
        self.database = database
        self.bin = _bin_dir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="instagram-pg-"))
        self.data = self.root / "data"
        self._as_postgres = os.geteuid() == 0

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> PostgresServer:
        """Initialise the cluster, start it and create :attr:`database`."""
        if self._as_postgres:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                  "-w", "-t", "60", "start")  # fmt: skip
        self.create_database(self.database)
        return self

    def create_database(self, name: str) -> str:
        """Create another database; returns its Airflow connection URI."""
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return self.uri_of(name)

    def stop(self) -> None:
        """Stop the server at once and remove its files."""
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def uri_of(self, database: str) -> str:
        """An Airflow connection URI (``postgres://...``) for ``database``."""
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    @property
    def uri(self) -> str:
        """An Airflow connection URI (``postgres://...``) for :attr:`database`."""
        return self.uri_of(self.database)

    def sqlalchemy_url(self, database: str | None = None) -> str:
        """A SQLAlchemy URL for ``database`` (default :attr:`database`): what Airflow's metadata DB setting takes."""
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{database or self.database}"

    def connect(self, database: str | None = None) -> Any:
        """A psycopg2 connection to ``database`` (default :attr:`database`)."""
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=database or self.database)
