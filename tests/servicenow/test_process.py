"""The ServiceNow background work runs in a process beside the service: started again when it dies, and never
left behind by a service that dies."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from kbserver.repository import ContentRepository
from kbserver.settings import Settings
from tests.kbserve import kb_serve
from tests.servicenow.conftest import feedback, running, until
from tests.servicenow.standin import StandIn


def _delivery_processes(data: Path) -> dict[int, int]:
    """The delivery processes of the service on data: {pid: parent pid}."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes().split(b"\0")
            status = (entry / "status").read_text()
        except OSError:
            continue
        if b"kbserver.servicenow.process" in command and f"KB_DATA_DIR={data}".encode() in environ:
            parent = next(line for line in status.splitlines() if line.startswith("PPid:"))
            found[int(entry.name)] = int(parent.split()[1])
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def test_a_delivery_process_that_dies_is_started_again(linked: Settings, standin: StandIn) -> None:
    incident = standin.rows("incident")[0]["sys_id"]
    with running(linked) as (services, client, auth):
        integration = services.servicenow
        assert integration is not None and integration._process is not None
        process = integration._process
        until(lambda: process.pid is not None)
        first = process.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        feedback(client, auth["ana"])  # while no process runs: answered all the same
        until(lambda: process.pid not in (None, first))
        until(lambda: integration.outbox.counts()["delivered"] == 1)
        assert process.starts == 2
    assert len(standin.work_notes(incident)) == 1


def _lock_holders(lock_file: Path) -> set[int]:
    """The processes holding a flock on lock_file, from /proc/locks."""
    inode = lock_file.stat().st_ino
    holders = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()  # 1: FLOCK  ADVISORY  WRITE 4321 00:2d:1234 0 EOF
        if len(fields) >= 6 and fields[1] == "FLOCK" and int(fields[5].split(":")[2]) == inode:
            holders.add(int(fields[4]))
    return holders


def test_one_delivery_process_works_per_data_directory_and_another_takes_over(
    linked: Settings, standin: StandIn
) -> None:
    """Two service processes on one data directory (`kb serve --workers 2`): one delivery process works and
    the other waits; when the working one dies, a waiting one takes over."""
    incident = standin.rows("incident")[0]["sys_id"]
    lock_file = linked.data_dir / "servicenow.lock"
    with running(linked) as (services, client, auth), running(linked) as (other, _, _):
        assert services.servicenow is not None and other.servicenow is not None
        outbox = services.servicenow.outbox
        processes = [services.servicenow._process, other.servicenow._process]
        until(lambda: all(p is not None and p.pid for p in processes))
        until(lambda: lock_file.exists() and len(_lock_holders(lock_file)) == 1)
        (working,) = _lock_holders(lock_file)
        assert working in {p.pid for p in processes if p is not None}
        os.kill(working, signal.SIGKILL)
        until(lambda: len(_lock_holders(lock_file) - {working}) == 1)
        feedback(client, auth["ana"])
        until(lambda: outbox.counts()["delivered"] == 1)
    assert len(standin.work_notes(incident)) == 1


def test_the_delivery_process_ends_with_a_killed_service(
    tmp_path: Path, content_repo: ContentRepository, standin: StandIn
) -> None:
    data = tmp_path / "data"
    connector = {
        "KB_SERVICENOW_URL": standin.url,
        "KB_SERVICENOW_USER": standin.user,
        "KB_SERVICENOW_PASSWORD": standin.password,
        "KB_SERVICENOW_DESK_GROUPS": "Service Desk",
        "KB_SERVICENOW_PULL_MINUTES": "0",
    }
    with kb_serve(content_repo.path, data, tmp_path / "serve.log", settings=connector):
        deadline = time.monotonic() + 20
        while not (children := _delivery_processes(data)) and time.monotonic() < deadline:
            time.sleep(0.1)
        ((child, service),) = children.items()
        assert _alive(child)
        os.kill(service, signal.SIGKILL)  # no chance to stop its child
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child)
