"""`faas new` end to end: scaffold, build with Docker, deploy to a real gateway, invoke."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.e2e.parts import Parts, cluster, faas


@pytest.fixture
def prefix(docker_client: docker.DockerClient) -> Iterator[str]:
    """An image prefix of this test's own; the images under it are removed at the end."""
    prefix = f"faas-e2e-{uuid.uuid4().hex[:8]}"
    yield prefix
    for image in docker_client.images.list():
        for tag in image.tags:
            if tag.startswith(prefix + "/"):
                docker_client.images.remove(tag, force=True)


def test_new_functions_build_deploy_and_answer(
    parts: Parts, tmp_path: Path, prefix: str, docker_client: docker.DockerClient
) -> None:
    work = tmp_path / "project"
    work.mkdir()
    for name, lang in (("greeter", "python3"), ("catter", "shell")):
        made = faas("new", name, "--lang", lang, "--prefix", prefix, cwd=work)
        assert made.returncode == 0, made.stderr
    assert (work / "functions" / "greeter" / "handler.py").is_file()

    built = faas("build", "-f", "stack.yml", cwd=work)
    assert built.returncode == 0, built.stderr
    assert b"[greeter] built" in built.stdout and b"[catter] built" in built.stdout
    for name in ("greeter", "catter"):
        assert docker_client.images.list(name=f"{prefix}/{name}")

    gateway = cluster(parts, capacity=2).gateway
    url = ["--gateway", gateway.url]
    deployed = faas("deploy", "-f", "stack.yml", *url, cwd=work)
    assert deployed.returncode == 0, deployed.stderr
    lines = deployed.stdout.decode().splitlines()
    assert lines[-3:] == [
        "greeter: deployed",
        "catter: deployed",
        f"deployed 2 function(s) to {gateway.url}",
    ]
    for name in ("greeter", "catter"):  # into the cluster first, for hosts without them
        assert any(line.startswith(f"[{name}] pushed {prefix}/{name}") for line in lines)

    greeted = faas("invoke", "greeter", *url, stdin=b"e2e")
    assert greeted.returncode == 0, greeted.stderr
    assert greeted.stdout == b"Hello, you said: e2e"
    body = b"line one\nline two\n"
    catted = faas("invoke", "catter", *url, stdin=body)
    assert catted.returncode == 0, catted.stderr
    assert catted.stdout == body

    version = faas("version", *url)
    assert version.returncode == 0, version.stderr
    assert b"faas-oneshot" in version.stdout
