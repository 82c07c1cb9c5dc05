"""One-shot jobs through real processes: `faas run`, `POST /system/jobs`, records and logs."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from tests.e2e.containers import wait_for_containers
from tests.e2e.parts import ROOT, Cluster, Parts, cluster, faas, record, wait_record

IMAGE = "faas/base-busybox:latest"


@pytest.fixture
def jobs(parts: Parts) -> Cluster:
    return cluster(parts, 2)


def run(c: Cluster, *args: str) -> subprocess.CompletedProcess[bytes]:
    return faas("run", "-g", c.gateway.url, *args)


def last_job(c: Cluster) -> dict[str, Any]:
    with c.gateway.client() as http:
        reply = http.get("/system/calls", params={"function": "_job", "limit": "1"})
    assert reply.status_code == 200, reply.text
    [found] = reply.json()
    return found  # type: ignore[no-any-return]


def test_run_shows_the_output_and_exits_with_the_jobs_exit_code(jobs: Cluster) -> None:
    done = run(jobs, IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert done.returncode == 3, done.stderr
    assert done.stdout == b"out\n"
    assert b"err\n" in done.stderr
    job = last_job(jobs)
    assert (job["kind"], job["function"], job["state"]) == ("job", "_job", "failed")
    assert (job["exitCode"], job["output"], job["stderr"]) == (3, "out\n", "err\n")
    assert (job["attempts"], job["maxAttempts"]) == (1, 1)
    with jobs.gateway.client() as http:
        lines = http.get("/system/logs", params={"name": "_job", "instance": job["callId"]})
    entries = [json.loads(line) for line in lines.text.splitlines()]
    assert {(e["stream"], e["text"]) for e in entries} == {("stdout", "out"), ("stderr", "err")}


def test_a_successful_job_exits_0_with_its_environment(jobs: Cluster) -> None:
    done = run(jobs, "-e", "WHO=world", "--network", "none", IMAGE, "sh", "-c", 'echo "hi $WHO"')
    assert (done.returncode, done.stdout, done.stderr) == (0, b"hi world\n", b"")
    assert last_job(jobs)["state"] == "succeeded"


def test_detach_prints_the_call_id_of_a_job_that_runs_to_its_end(jobs: Cluster) -> None:
    done = run(jobs, "--detach", IMAGE, "echo", "detached")
    assert done.returncode == 0, done.stderr
    call_id = done.stdout.decode().strip()
    final = wait_record(jobs.gateway, call_id, lambda r: r["state"] not in ("queued", "running"))
    assert (final["kind"], final["state"], final["output"]) == ("job", "succeeded", "detached\n")


def test_a_job_past_its_timeout_is_reported_and_its_container_removed(
    jobs: Cluster, docker_client: docker.DockerClient
) -> None:
    done = run(jobs, "--timeout", "2s", IMAGE, "sleep", "60")
    assert done.returncode == 124
    assert b"timed out after 2s" in done.stderr
    job = last_job(jobs)
    assert job["state"] == "timed_out"
    wait_for_containers(docker_client, False, **{"faas.call": job["callId"]})


def test_the_api_refuses_a_bad_job_saying_which_field(jobs: Cluster) -> None:
    with jobs.gateway.client() as http:
        for body, field in [
            ({}, "'image'"),
            ({"image": IMAGE, "timeout": "soon"}, "'timeout'"),
            ({"image": IMAGE, "network": "host"}, "'network'"),
            ({"image": IMAGE, "command": "echo hi"}, "'command'"),
            ({"image": IMAGE, "cmd": ["echo"]}, "'cmd'"),
        ]:
            reply = http.post("/system/jobs", json=body)
            assert reply.status_code == 400, body
            assert field in reply.text and len(reply.text.splitlines()) == 1
        assert http.post("/system/jobs", content=b"{").status_code == 400
    refused = run(jobs, "--network", "none", "--timeout", "never", IMAGE)
    assert refused.returncode == 1
    assert b"'timeout'" in refused.stderr


def test_the_api_answers_202_with_the_call_id_once_per_id(jobs: Cluster) -> None:
    body = {"image": IMAGE, "command": ["echo", "once"], "timeout": 30}
    with jobs.gateway.client() as http:
        first = http.post("/system/jobs", json=body, headers={"X-Call-Id": "job-once-1"})
        again = http.post("/system/jobs", json=body, headers={"X-Call-Id": "job-once-1"})
    for reply in (first, again):
        assert reply.status_code == 202
        assert reply.headers["x-call-id"] == reply.json()["callId"] == "job-once-1"
    final = wait_record(jobs.gateway, "job-once-1", lambda r: r["state"] == "succeeded")
    assert final["attempts"] == 1
    time.sleep(1)
    assert record(jobs.gateway, "job-once-1")["attempts"] == 1


def test_output_streams_while_the_job_runs(jobs: Cluster) -> None:
    with following(jobs, IMAGE, "sh", "-c", "echo first; sleep 3; echo second") as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"first\n"
        assert last_job(jobs)["state"] == "running"
        assert proc.stdout.readline() == b"second\n"
        assert proc.wait(timeout=30) == 0
        assert proc.stdout.read() == b""


@contextlib.contextmanager
def following(c: Cluster, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`faas run` in the background, its stdout piped; killed if it outlives a minute."""
    argv = [sys.executable, "-m", "cli", "run", "-g", c.gateway.url, *args]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, env=dict(os.environ))
    timer = threading.Timer(60, proc.kill)
    timer.start()
    try:
        yield proc
    finally:
        timer.cancel()
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
