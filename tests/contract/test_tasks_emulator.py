"""The local Cloud Tasks (`python -m localdev.tasks`) driven by the official client: it refuses what Cloud Tasks
refuses, in the service's words (see localdev/tasks/README.md for the sources).

The launcher runs in .venv-tasks, as in the stack, on a free port with a 2 s de-duplication window.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from task_receiver import TaskReceiver

from localdev.processes import Service, free_port, poll, start

ROOT = Path(__file__).resolve().parents[2]
WINDOW = 2.0
PARENT = "projects/contract/locations/us-central1"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def emulator():
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    logs = ROOT / ".local" / "test-logs"
    # a certs port of its own: the default (port + 1) may belong to someone else when `port` is a random free one
    launcher = Service("tasks", port, [str(ROOT / ".venv-tasks" / "bin" / "python"), "-m", "localdev.tasks", "--port",
                                       str(port), "--certs-port", str(free_port()), "--dedup-window", str(WINDOW)])
    # not awaited by polling: the launcher prints one JSON line once it listens, and that line is checked
    with start(launcher, env, subprocess.PIPE, stderr=logs / "contract-tasks-emulator.log", wait=False) as proc:
        ready = proc.proc.stdout.readline().decode()
        assert "cloud tasks emulator ready" in ready, f"launcher did not start: {ready!r} (see {logs})"
        threading.Thread(target=proc.proc.stdout.read, daemon=True).start()  # keep the pipe drained
        yield f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def client(emulator):
    import grpc
    from google.cloud import tasks_v2
    from google.cloud.tasks_v2.services.cloud_tasks.transports import (
        CloudTasksGrpcTransport,
    )

    return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(emulator)))


@pytest.fixture
def queue(client):
    """A fresh paused queue (nothing is dispatched unless the test resumes it)."""
    name = f"{PARENT}/queues/q-{uuid.uuid4().hex[:12]}"
    client.create_queue(parent=PARENT, queue={"name": name})
    client.pause_queue(name=name)
    return name


@pytest.fixture(scope="module")
def receiver():
    server = TaskReceiver()
    yield server
    server.shutdown()


def _task(queue: str, task_id: str | None = None, url: str = "http://127.0.0.1:9/x", **extra) -> dict:
    task = {"http_request": {"url": url, "body": b"{}", "headers": {"Content-Type": "application/json"}}, **extra}
    if task_id is not None:
        task["name"] = f"{queue}/tasks/{task_id}"
    return task


# ---- names ----------------------------------------------------------------------------------------------------
def test_a_name_is_refused_while_its_task_waits_and_within_the_window_after_it_ran(client, queue, receiver):
    from google.api_core.exceptions import AlreadyExists

    task = _task(queue, "hop-1", url=receiver.url + "/hop")
    assert client.create_task(parent=queue, task=task).name == f"{queue}/tasks/hop-1"
    with pytest.raises(AlreadyExists) as err:
        client.create_task(parent=queue, task=task)
    assert err.value.message == "Requested entity already exists"
    assert len(client.list_tasks(parent=queue).tasks) == 1

    client.resume_queue(name=queue)
    assert poll(lambda: receiver.named("hop-1"), 10.0, 0.05), receiver.deliveries
    ran_at = time.monotonic()
    with pytest.raises(AlreadyExists):  # executed: still taken for the window
        client.create_task(parent=queue, task=task)
    # a new hop with a name of its own is fine at any time
    assert client.create_task(parent=queue, task=_task(queue, "hop-2", url=receiver.url + "/hop")).name.endswith("hop-2")

    time.sleep(max(0.0, WINDOW - (time.monotonic() - ran_at)) + 0.3)
    assert client.create_task(parent=queue, task=task).name.endswith("/tasks/hop-1")  # the window is over
    assert poll(lambda: len(receiver.named("hop-1")) == 2, 10.0, 0.05)
    delivered = receiver.named("hop-1")
    assert delivered[0]["headers"]["user-agent"] == "Google-Cloud-Tasks" and delivered[0]["path"] == "/hop"


def test_purged_names_stay_taken_for_the_window(client, queue):
    from google.api_core.exceptions import AlreadyExists

    client.create_task(parent=queue, task=_task(queue, "purged"))
    client.purge_queue(name=queue)
    assert len(client.list_tasks(parent=queue).tasks) == 0
    with pytest.raises(AlreadyExists):
        client.create_task(parent=queue, task=_task(queue, "purged"))
    time.sleep(WINDOW + 0.3)
    client.create_task(parent=queue, task=_task(queue, "purged"))


def test_unnamed_tasks_never_collide(client, queue):
    names = {client.create_task(parent=queue, task=_task(queue)).name for _ in range(5)}
    assert len(names) == 5


@pytest.mark.parametrize(("task_id", "ok"), [
    ("A-z_0-9", True), ("a" * 500, True), ("t-" + "0" * 40, True),
    ("a b", False), ("a.b", False), ("ä", False), ("a" * 501, False), ("", False),
])
def test_task_ids_outside_the_charset_or_length_are_invalid(client, queue, task_id, ok):
    from google.api_core.exceptions import InvalidArgument

    if ok:
        client.create_task(parent=queue, task=_task(queue, task_id))
        return
    with pytest.raises(InvalidArgument) as err:
        client.create_task(parent=queue, task=_task(queue, task_id))
    assert err.value.message == (
        f'Task ID "{task_id}" can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), or underscores '
        '(_). Task ID must between 1 and 500 characters.')


def test_task_names_must_be_full_and_belong_to_the_queue(client, queue):
    from google.api_core.exceptions import InvalidArgument

    with pytest.raises(InvalidArgument, match="Task name must be formatted"):
        client.create_task(parent=queue, task={**_task(queue), "name": "just-an-id"})
    other = f"{PARENT}/queues/elsewhere"
    with pytest.raises(InvalidArgument) as err:
        client.create_task(parent=queue, task={**_task(queue), "name": f"{other}/tasks/x"})
    assert err.value.message == (f"The queue name from request ('{queue}') must be the same as the queue name in the "
                                 f"named task ('{other}').")


# ---- other fields ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("seconds", "ok"), [(15, True), (1800, True), (14, False), (1801, False)])
def test_dispatch_deadline_must_be_between_15s_and_30min(client, queue, seconds, ok):
    from google.api_core.exceptions import InvalidArgument
    from google.protobuf import duration_pb2

    task = _task(queue, dispatch_deadline=duration_pb2.Duration(seconds=seconds))
    if ok:
        client.create_task(parent=queue, task=task)
    else:
        with pytest.raises(InvalidArgument, match=r"Task.dispatchDeadline must be between \[15s, 30m\]"):
            client.create_task(parent=queue, task=task)


def test_schedule_time_at_most_30_days_ahead(client, queue):
    from google.api_core.exceptions import InvalidArgument
    from google.protobuf import timestamp_pb2

    def at(delta: dt.timedelta) -> timestamp_pb2.Timestamp:
        ts = timestamp_pb2.Timestamp()
        ts.FromDatetime(dt.datetime.now(dt.UTC) + delta)
        return ts

    client.create_task(parent=queue, task=_task(queue, schedule_time=at(dt.timedelta(days=29, hours=23))))
    with pytest.raises(InvalidArgument, match="is too far in the future. Schedule time must be no more than 720h"):
        client.create_task(parent=queue, task=_task(queue, schedule_time=at(dt.timedelta(days=30, minutes=1))))


def test_tasks_larger_than_1_mib_are_refused(client, queue):
    from google.api_core.exceptions import InvalidArgument

    big = {"url": "http://127.0.0.1:9/x", "body": b"x" * ((1 << 20) - 200)}
    client.create_task(parent=queue, task={"http_request": big})
    with pytest.raises(InvalidArgument) as err:
        client.create_task(parent=queue, task={"http_request": {**big, "body": b"x" * (1 << 20)}})
    assert err.value.message == "Task size too large"


@pytest.mark.parametrize(("url", "message"), [
    ("", "HttpRequest.url is required."),
    ("ftp://127.0.0.1/x", "HttpTarget.url must start with 'http://' or 'https://'."),
])
def test_http_targets_need_an_http_url(client, queue, url, message):
    from google.api_core.exceptions import InvalidArgument

    with pytest.raises(InvalidArgument) as err:
        client.create_task(parent=queue, task={"http_request": {"url": url}})
    assert err.value.message == message


def test_queues_are_not_found_or_already_exist_as_in_the_service(client, queue):
    from google.api_core.exceptions import AlreadyExists, NotFound

    with pytest.raises(NotFound, match="Queue does not exist"):
        client.create_task(parent=f"{PARENT}/queues/never-made", task=_task(f"{PARENT}/queues/never-made"))
    with pytest.raises(AlreadyExists, match="Queue already exists"):
        client.create_queue(parent=PARENT, queue={"name": queue})
