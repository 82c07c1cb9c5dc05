"""Functions the end-to-end tests deploy: local base images with a command (`envProcess`)."""

from __future__ import annotations

from typing import Any

BUSYBOX = "faas/base-busybox:latest"
PYTHON = "faas/base-python:bookworm"
BASE_IMAGES = (BUSYBOX, PYTHON)


def fn(name: str, command: str, image: str = BUSYBOX, **extra: Any) -> dict[str, Any]:
    return {"service": name, "image": image, "envProcess": command, **extra}


TEST_FUNCTIONS = [
    fn("env", "env", envVars={"greeting": "hi"}),
    fn("echo", "cat"),
    fn("slow-echo", "sh -c 'sleep 1; cat'"),
    fn("fail", "sh -c 'echo partial; echo broken >&2; exit 3'"),
    fn("sleepy", "sleep 60", envVars={"exec_timeout": "2s"}),
    fn("flood", "yes"),
    fn("hog", "python3 -c 'b = bytearray(512 * 2**20)'", PYTHON, limits={"memory": "32Mi"}),
    fn(
        "forker",
        "sh -c 'for i in $(seq 50); do sleep 5 & done; wait'",
        annotations={"com.faas.pids": "10"},
    ),
    fn(
        "confined",
        'sh -c \'grep -E "CapEff|NoNewPrivs|Seccomp:" /proc/self/status; '
        "touch /tmp/ok && echo tmp-writable; "
        "touch /root-file 2>/dev/null || echo root-read-only'",
        readOnlyRootFilesystem=True,
    ),
]
