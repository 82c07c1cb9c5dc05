"""What a call's container is, on each runtime alike: the image's own settings, the root
filesystem, networks, clear errors; and, on crun and runc, functions that try to do harm."""

from __future__ import annotations

import contextlib
import io
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from tests.e2e.containers import docker_containers, leftovers, oci_containers, oci_states
from tests.e2e.functions import BUSYBOX, PYTHON, fn
from tests.e2e.parts import (
    OCI_RUNTIMES,
    Gateway,
    Parts,
    platform_of,
    wait_for_watchdog,
    wait_record,
)
from tests.e2e.runs import run_reports
from watchdog.oci.factory import AHEAD

FUNCTION = "faas.function"  # the label of a call's function
CONFIGURED = "faas-test/configured:latest"  # USER, ENV, WORKDIR, ENTRYPOINT and CMD
RETAGGED = "faas-test/retagged:latest"  # built again under the same tag
NO_COMMAND = "faas-test/no-command:latest"
SETUID = "faas-test/setuid-python:latest"  # a setuid-root copy of python3, run as nobody

IMAGES = {
    CONFIGURED: f"""FROM {BUSYBOX}
ENV GREETING=from-image
WORKDIR /work
USER 1234:5678
ENTRYPOINT ["/bin/sh", "-c", "echo args=$0,$1; id -u; id -g; pwd; echo $GREETING", "entry"]
CMD ["from-cmd"]
""",
    NO_COMMAND: f"FROM {BUSYBOX}\nCMD []\nENTRYPOINT []\n",
    SETUID: f"""FROM {PYTHON}
RUN cp "$(readlink -f /usr/bin/python3)" /usr/local/bin/supy && chmod 4755 /usr/local/bin/supy
USER 65534:65534
""",
}


def build(client: docker.DockerClient, tag: str, dockerfile: str) -> None:
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)


@pytest.fixture(scope="module")
def images(docker_client: docker.DockerClient) -> Iterator[None]:
    for tag, dockerfile in IMAGES.items():
        build(docker_client, tag, dockerfile)
    yield
    for tag in [*IMAGES, RETAGGED]:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(tag, force=True)


def deploy(gateway: Gateway, body: dict[str, Any]) -> None:
    with gateway.client() as http:
        assert http.post("/system/functions", json=body).status_code == 202


def call(gateway: Gateway, name: str, body: bytes = b"") -> httpx.Response:
    with gateway.client() as http:
        return http.post(f"/function/{name}", content=body)


def runtimes_of(gateway: Gateway, client: docker.DockerClient, name: str) -> set[str]:
    """What runs a slow call of a new function `name`: crun, runc or docker."""
    deploy(gateway, fn(name, "sh -c 'sleep 3; echo done'"))
    caller = threading.Thread(target=call, args=(gateway, name))
    caller.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = {s["runtime"] for s in oci_states() if s["annotations"].get(FUNCTION) == name}
            if docker_containers(client, **{FUNCTION: name}):
                found.add("docker")
            if found:
                return found
            time.sleep(0.05)
        return set()
    finally:
        caller.join(30)


def test_runs_on_the_runtime_it_was_told(each_runtime: Gateway, docker_client: Any) -> None:
    found = runtimes_of(each_runtime, docker_client, f"slow-{each_runtime.runtime}")
    assert found == {each_runtime.runtime}


def test_auto_takes_crun_where_it_is_usable_else_runc(
    parts: Parts, docker_client: docker.DockerClient
) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    parts.watchdog(nats, 1)
    wait_for_watchdog(gateway)
    assert runtimes_of(gateway, docker_client, "slow-auto") == {"crun"}
    parts.stop_all()
    parts.env["FAAS_CRUN"] = "/nonexistent/crun"
    nats = parts.nats()
    gateway = parts.gateway(nats)
    parts.watchdog(nats, 1)
    wait_for_watchdog(gateway)
    assert runtimes_of(gateway, docker_client, "slow-no-crun") == {"runc"}


def test_the_image_user_environment_workdir_entrypoint_and_cmd(
    each_runtime: Gateway, images: None
) -> None:
    deploy(each_runtime, {"service": "configured", "image": CONFIGURED})
    deploy(each_runtime, {"service": "configured-cmd", "image": CONFIGURED, "envProcess": "other"})
    own = call(each_runtime, "configured")
    overridden = call(each_runtime, "configured-cmd")
    assert own.status_code == 200, own.text
    assert own.text.splitlines() == ["args=entry,from-cmd", "1234", "5678", "/work", "from-image"]
    assert overridden.text.splitlines()[0] == "args=entry,other"


def test_a_writable_root_keeps_no_change_for_the_next_call(each_runtime: Gateway) -> None:
    script = "cat /etc/marker 2>/dev/null || echo none; echo changed > /etc/marker; cat /etc/marker"
    deploy(each_runtime, fn("writer", f"sh -c {shlex.quote(script)}"))
    answers = [call(each_runtime, "writer").text for _ in range(2)]
    assert answers == ["none\nchanged\n", "none\nchanged\n"]


def test_network_none_has_loopback_only(each_runtime: Gateway) -> None:
    deploy(
        each_runtime,
        fn("no-net", "cat /proc/net/dev", annotations={"com.faas.network": "none"}),
    )
    reply = call(each_runtime, "no-net")
    interfaces = [line.split(":")[0].strip() for line in reply.text.splitlines()[2:]]
    assert reply.status_code == 200
    assert interfaces == ["lo"]


def host_name_servers() -> list[str]:
    lines = Path("/etc/resolv.conf").read_text().splitlines()
    servers = [line.split()[1] for line in lines if line.startswith("nameserver")]
    return [s for s in servers if not s.startswith("127.")]


def test_bridge_reaches_this_host_and_has_the_host_resolver(each_runtime: Gateway) -> None:
    with run_reports() as runs:
        script = f"{runs.reporting('reached')}; cat /etc/resolv.conf"
        deploy(each_runtime, fn("out", f"sh -c {shlex.quote(script)}"))
        reply = call(each_runtime, "out")
        time.sleep(0.5)
    servers = [line.split()[1] for line in reply.text.splitlines() if line.startswith("nameserver")]
    assert reply.status_code == 200, reply.text
    assert runs.lines == ["reached"]
    assert servers == host_name_servers()


def test_a_new_build_of_the_same_tag_runs_after_deploy(
    each_runtime: Gateway, docker_client: docker.DockerClient, images: None
) -> None:
    function = {"service": "retagged", "image": RETAGGED}
    build(docker_client, RETAGGED, f'FROM {BUSYBOX}\nCMD ["echo", "first"]\n')
    deploy(each_runtime, function)
    first = call(each_runtime, "retagged").text
    build(docker_client, RETAGGED, f'FROM {BUSYBOX}\nCMD ["echo", "second"]\n')
    deploy(each_runtime, function)
    assert (first, call(each_runtime, "retagged").text) == ("first\n", "second\n")


def test_an_image_not_on_the_host_is_named(each_runtime: Gateway) -> None:
    deploy(each_runtime, {"service": "missing", "image": "faas-test/not-here:1"})
    reply = call(each_runtime, "missing")
    assert reply.status_code == 502
    assert "faas-test/not-here:1" in reply.text
    assert call(each_runtime, "hello", b"after").text == "Hello, after!\n"


def test_an_image_with_no_command_is_named(each_runtime: Gateway, images: None) -> None:
    deploy(each_runtime, {"service": "no-command", "image": NO_COMMAND})
    reply = call(each_runtime, "no-command")
    assert reply.status_code == 502
    assert NO_COMMAND in reply.text
    assert "command" in reply.text.lower()


# Hostile functions, on the daemonless runtime: each is contained and reported, and hello
# keeps answering while it runs.


@pytest.fixture(scope="module", params=OCI_RUNTIMES)
def oci_platform(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
) -> Iterator[Gateway]:
    yield from platform_of(tmp_path_factory.mktemp(f"hostile-{request.param}"), request.param)


def hostile(gateway: Gateway, body: dict[str, Any]) -> httpx.Response:
    """Call the function; meanwhile hello must answer right, more than once."""
    deploy(gateway, body)
    answer: list[httpx.Response] = []
    caller = threading.Thread(target=lambda: answer.append(call(gateway, body["service"])))
    caller.start()
    greetings: list[str] = []
    while caller.is_alive() or not greetings:
        greetings.append(call(gateway, "hello", b"still").text)
        time.sleep(0.2)
    caller.join()
    assert set(greetings) == {"Hello, still!\n"}
    assert _gone(body["service"]), "its container is still there"
    assert not _leftovers(), _leftovers()  # stray processes would keep a cgroup
    return answer[0]


def _leftovers(timeout: float = 10) -> list[str]:
    """Cgroups, mounts and folders of no container (the running watchdog's are not)."""
    deadline = time.monotonic() + timeout
    while (left := leftovers(set())) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_a_fork_bomb_is_held_by_the_pids_limit(oci_platform: Gateway) -> None:
    bomb = "exec 2>&1; b() { b | b & }; b; sleep 1; echo survived"
    reply = hostile(
        oci_platform,
        fn(
            "bomb",
            f"sh -c {shlex.quote(bomb)}",
            envVars={"exec_timeout": "5s"},
            annotations={"com.faas.pids": "30"},
        ),
    )
    assert reply.status_code in (200, 500, 504), reply.text
    # its shell may itself fail to fork and exit 2: the answer then says only that, and what
    # it wrote (stdout, as stderr went there) is in the call's record
    record = wait_record(oci_platform, reply.headers["X-Call-Id"], lambda r: True)
    said = reply.text + record["output"] + record["stderr"]
    assert "can't fork" in said or "Resource temporarily unavailable" in said


def test_a_memory_hog_is_killed_by_its_limit(oci_platform: Gateway) -> None:
    hog = "python3 -c 'b = bytearray(1 << 30)'"
    reply = hostile(oci_platform, fn("big", hog, PYTHON, limits={"memory": "48Mi"}))
    assert reply.status_code == 500
    assert "ran out of memory" in reply.text


def test_a_cpu_spinner_is_held_by_its_cpu_limit(oci_platform: Gateway) -> None:
    spin = "cat /sys/fs/cgroup/cpu*/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max >&2 2>/dev/null; "
    spin += "while :; do :; done"
    reply = hostile(
        oci_platform,
        fn(
            "spin",
            f"sh -c {shlex.quote(spin)}",
            envVars={"exec_timeout": "3s"},
            limits={"cpu": "0.25"},
        ),
    )
    assert reply.status_code == 504
    assert "25000" in reply.text  # its cgroup's quota: a quarter of one CPU per period


def test_an_output_flood_is_cut(oci_platform: Gateway) -> None:
    reply = hostile(oci_platform, fn("floody", "yes"))
    assert reply.status_code == 502
    assert "wrote more than" in reply.text


def test_a_function_that_ignores_sigterm_is_killed_at_its_timeout(oci_platform: Gateway) -> None:
    stubborn = "trap '' TERM INT HUP; sleep 1000"
    reply = hostile(
        oci_platform,
        fn("stubborn", f"sh -c {shlex.quote(stubborn)}", envVars={"exec_timeout": "2s"}),
    )
    assert reply.status_code == 504
    assert "timed out after 2s" in reply.text


def _gone(function: str, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while oci_containers(**{"faas.function": function}):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


ESCAPES = {
    "mount": "mount -t tmpfs none /mnt",
    "unshare": "unshare -m -n true",
    "sysrq": "echo h > /proc/sysrq-trigger",
    "chroot-mknod": "mknod /tmp/disk b 8 0",
    "userns": "unshare -U true",  # needs no capability: the seccomp filter refuses it
}


@pytest.mark.parametrize("attempt", sorted(ESCAPES))
def test_escapes_are_refused(oci_platform: Gateway, attempt: str) -> None:
    script = f"{ESCAPES[attempt]} && echo ESCAPED || echo refused"
    reply = hostile(oci_platform, fn(f"escape-{attempt}", f"sh -c {shlex.quote(script)}"))
    assert reply.status_code == 200, reply.text
    assert reply.text.splitlines()[-1] == "refused", reply.text


MASKED_FILES = ("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug")


def test_masked_proc_files_read_as_nothing(oci_platform: Gateway) -> None:
    present = [p for p in MASKED_FILES if Path(p).exists()]  # kernels differ: kcore is optional
    assert present, "none of the masked files exists on this kernel"
    script = "; ".join(f"echo {p} $(wc -c < {p})" for p in present)
    reply = hostile(oci_platform, fn("masked", f"sh -c {shlex.quote(script)}"))
    assert reply.status_code == 200, reply.text
    assert reply.text.splitlines() == [f"{p} 0" for p in present]


PYTHON_ESCAPES = """
import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    print("raw socket: ESCAPED")
except PermissionError:
    print("raw socket: refused")
traced = libc.ptrace(16, int(os.environ["HOST_PID"]), 0, 0) == 0  # PTRACE_ATTACH
print("ptrace:", "ESCAPED" if traced else "refused")
pids = [p for p in os.listdir("/proc") if p.isdigit()]
print("processes seen:", len(pids))
"""


def test_raw_sockets_ptrace_of_host_processes_and_host_pids_are_out_of_reach(
    oci_platform: Gateway,
) -> None:
    body = fn(
        "pyescape",
        f"python3 -c {shlex.quote(PYTHON_ESCAPES)}",
        PYTHON,
        envVars={"HOST_PID": str(oci_platform.proc.pid)},
    )
    reply = hostile(oci_platform, body)
    lines = reply.text.splitlines()
    assert reply.status_code == 200, reply.text
    assert lines[:2] == ["raw socket: refused", "ptrace: refused"]
    assert int(lines[2].split(":")[1]) < 5, "the container sees processes of the host"


def test_a_setuid_binary_gains_nothing(oci_platform: Gateway, images: None) -> None:
    command = "supy -c 'import os; print(os.getuid(), os.geteuid())'"
    body = {"service": "setuid", "image": SETUID, "envProcess": command}
    reply = hostile(oci_platform, body)
    assert reply.status_code == 200, reply.text
    assert reply.text.split() == ["65534", "65534"]


def test_an_unusable_runc_leaves_the_calls_to_docker(
    parts: Parts, docker_client: docker.DockerClient
) -> None:
    parts.env["FAAS_RUNC"] = "/nonexistent/runc"
    nats = parts.nats()
    gateway = parts.gateway(nats)
    parts.watchdog(nats, 1, "--runtime", "runc")
    wait_for_watchdog(gateway)
    deploy(gateway, fn("slow-fallback", "sh -c 'sleep 2; echo done'"))
    caller = threading.Thread(target=call, args=(gateway, "slow-fallback"))
    caller.start()
    try:
        deadline = time.monotonic() + 20
        labels = {"faas.function": "slow-fallback"}
        while not docker_containers(docker_client, **labels) and time.monotonic() < deadline:
            assert not oci_containers(**labels)
            time.sleep(0.05)
        assert docker_containers(docker_client, **labels)
    finally:
        caller.join(30)


def _ahead(function: str) -> list[str]:
    """Containers made ahead for the function and not taken by a call yet."""
    return [
        str(s["id"])
        for s in oci_states()
        if (s.get("annotations") or {}).get("faas.function") == function
        and s["annotations"].get("faas.call") == AHEAD
        and not Path(s.get("bundle", ""), "call").exists()
    ]


def _until(check: Callable[[], bool], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_containers_made_ahead_go_when_their_function_changes_or_goes(
    oci_platform: Gateway,
) -> None:
    deploy(oci_platform, fn("ahead", "cat"))
    assert call(oci_platform, "ahead", b"one").text == "one"
    assert _until(lambda: len(_ahead("ahead")) == 2), _ahead("ahead")  # two per function
    before = set(_ahead("ahead"))
    deploy(oci_platform, fn("ahead", "cat", envVars={"changed": "yes"}))
    assert _until(lambda: not set(_ahead("ahead")) & before), "old ones were kept"
    assert call(oci_platform, "ahead", b"two").text == "two"
    assert _until(lambda: len(_ahead("ahead")) == 2)
    with oci_platform.client() as http:
        http.request("DELETE", "/system/functions", json={"functionName": "ahead"})
    assert _until(lambda: not _ahead("ahead")), _ahead("ahead")


def test_each_call_of_a_made_ahead_container_sees_only_its_own_request(
    oci_platform: Gateway,
) -> None:
    deploy(oci_platform, fn("whoami", "sh -c 'echo $Http_X_Caller $(cat) $HOSTNAME'"))
    seen = []
    for n in range(6):
        with oci_platform.client() as http:
            reply = http.post("/function/whoami", content=f"body{n}", headers={"X-Caller": f"c{n}"})
        seen.append(reply.text.split())
        time.sleep(0.3)  # room to make the next one ahead
    assert [s[:2] for s in seen] == [[f"c{n}", f"body{n}"] for n in range(6)]
    assert len({s[2] for s in seen}) == 6  # six containers


def test_the_bridge_keeps_its_own_address_while_calls_come_and_go(
    oci_platform: Gateway,
) -> None:
    """Left to itself a bridge takes its lowest port's address, which goes with that port's
    call: a container that had resolved the gateway to it would stall for seconds."""
    with run_reports() as runs:
        script = f"{runs.reporting('reached')}; cat /proc/net/arp"
        deploy(oci_platform, fn("arp", f"sh -c {shlex.quote(script)}"))
        replies = [call(oci_platform, "arp") for _ in range(6)]
        time.sleep(0.5)
    assert [r.status_code for r in replies] == [200] * 6, [r.text for r in replies]
    assert runs.lines == ["reached"] * 6
    bridge = Path("/sys/class/net/faas0")
    address = (bridge / "address").read_text().strip()
    ports = {(Path("/sys/class/net") / p.name / "address").read_text().strip()
             for p in (bridge / "brif").iterdir()}  # fmt: skip
    resolved = {line.split()[3] for r in replies for line in r.text.splitlines()[1:]}
    assert resolved == {address}
    assert address not in ports


def test_a_full_disk_for_root_filesystems_is_reported(parts: Parts, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(state)], check=True)
    try:
        parts.env["FAAS_STATE_DIR"] = str(state)
        nats = parts.nats()
        gateway = parts.gateway(nats)
        parts.watchdog(nats, 1, "--runtime", "runc")
        wait_for_watchdog(gateway)
        deploy(gateway, {"service": "hello", "image": "faas/hello:latest"})
        reply = call(gateway, "hello", b"x")
        assert reply.status_code == 502
        assert "cannot unpack image faas/hello:latest" in reply.text
        assert "No space left on device" in reply.text
        deploy(gateway, fn("small", "echo fits", annotations={"com.faas.network": "none"}))
        assert call(gateway, "small").text == "fits\n"  # and the watchdog keeps serving
    finally:
        parts.stop_all()
        subprocess.run(["umount", str(state)], check=True)


def test_a_command_not_in_the_image_fails_every_call_alike(each_runtime: Gateway) -> None:
    deploy(each_runtime, fn("no-such-program", "no-such-program --flag"))
    replies = []
    for _ in range(3):
        replies.append(call(each_runtime, "no-such-program"))
        time.sleep(0.3)  # time enough to make one ahead, were it made
    assert [r.status_code for r in replies] == [502, 502, 502], [r.text for r in replies]
    assert all(BUSYBOX in r.text and "no-such-program" in r.text for r in replies)
