"""Real processes for the fault tests: `wildflag serve`, and a private PostgreSQL cluster.

The private cluster exists so a test can stop and restart *its* PostgreSQL: the shared
server on 5432 serves every other test and helper on the machine and is never touched.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
import pytest

from tests.helpers import WILDFLAG
from tests.live_backend import free_port

#: How long a process may take to start or stop before the test fails with its log.
DEADLINE_SECONDS = 30


class Serve:
    """`wildflag serve` as a subprocess, as an operator runs it."""

    def __init__(self, log: Path, env: dict[str, str], deadline: float = DEADLINE_SECONDS) -> None:
        self.log = log
        self.env = env
        self.deadline = deadline  # seconds `start` waits for `/readyz`
        self.process: asyncio.subprocess.Process | None = None
        self.base = ""

    async def log_text(self) -> str:
        return await asyncio.to_thread(self.log.read_text)

    async def start(self) -> None:
        port = free_port()
        with await asyncio.to_thread(self.log.open, "w") as output:
            self.process = await asyncio.create_subprocess_exec(
                WILDFLAG, "serve", "--port", str(port),
                env=self.env, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.base = f"http://127.0.0.1:{port}"
        if not await self.ready(self.deadline):
            await self.stop()
            pytest.fail(f"wildflag serve did not become ready:\n{await self.log_text()}")

    async def ready(self, within: float) -> bool:
        """Whether `/readyz` answers 200 within `within` seconds (False if the process died)."""
        assert self.process is not None
        deadline = time.monotonic() + within
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while self.process.returncode is None and time.monotonic() < deadline:
                try:
                    async with http.get(self.base + "/readyz") as response:
                        if response.status == 200:
                            return True
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def _postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian layout), if any."""
    versions = [Path(p).parent.parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = sorted(versions, key=lambda v: int(v.name) if v.name.isdigit() else 0)
    return found[-1] / "bin" if found else None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free loopback port, trust auth, that a test may
    stop, kill and restart at will.

    initdb and postgres refuse to run as root: as root they run as the `postgres` system
    user through `runuser`; as anyone else, as that user. The cluster lives in its own
    directory under the system temp dir (pytest's tmp_path is private to root, and the
    `postgres` user could not enter it), removed at the end.
    """

    def __init__(self) -> None:
        bindir = _postgres_bin()
        if bindir is None:
            pytest.skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin")
        self.bindir = bindir
        self.prefix: list[str] = []
        self.owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self.owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root, and there is no `postgres` user to run initdb")
            runuser = shutil.which("runuser")
            if runuser is None:
                pytest.skip("running as root without `runuser` to run initdb as `postgres`")
            self.prefix = [runuser, "-u", "postgres", "--"]
        self.root = Path(tempfile.mkdtemp(prefix="wildflag-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "postgres.log"
        self.port = free_port()
        if self.owner is not None:
            os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)
        self.root.chmod(0o700)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/wildflag"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            [*self.prefix, str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.root,  # the `postgres` user may not be able to enter the caller's cwd
        )
        if result.returncode != 0:
            output = result.stdout + result.stderr
            pytest.fail(f"{tool} {' '.join(args)} failed:\n{output}\n{self.log()}")

    def log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                # Flushing to the disk only matters if the machine itself crashes; a killed
                # or restarted server recovers from the WAL in the OS cache just the same.
                "fsync = off\n"
            )
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "wildflag")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w",
                  "-t", str(DEADLINE_SECONDS), "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w",
                  "-t", str(DEADLINE_SECONDS), "stop")  # fmt: skip

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m",
                 "immediate", "-w", "stop"],
                capture_output=True, timeout=DEADLINE_SECONDS, check=False, cwd=self.root,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)
