"""Images that travel with the platform: `faas push` puts one into the cluster, and a
watchdog whose Docker never had it fetches it from there and runs it (real processes)."""

from __future__ import annotations

import uuid
from pathlib import Path

import docker
import pytest
from docker.errors import ImageNotFound

from tests.e2e.parts import Parts, faas, stack_of, wait_for_watchdog


def test_a_watchdog_without_the_image_fetches_it_from_the_cluster(
    parts: Parts, pushed_image: tuple[str, str], docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    image, mark = pushed_image
    nats = parts.nats()
    gateway = parts.gateway(nats)
    stack = stack_of(tmp_path, image)
    image_id = docker_client.images.get(image).id

    pushed = faas("push", "-f", str(stack), "--gateway", gateway.url)
    assert pushed.returncode == 0, pushed.stderr
    lines = pushed.stdout.decode().splitlines()
    assert lines[0].startswith(f"[pushed] pushing {image} ({image_id[7:19]}, ")
    assert lines[-1].startswith(f"[pushed] pushed {image} in ")
    again = faas("push", "-f", str(stack), "--gateway", gateway.url)  # content-addressed
    has_it = f"[pushed] {image} ({image_id[7:19]}): the cluster has it"
    assert again.stdout.decode().splitlines() == [has_it]

    docker_client.images.remove(image, force=True)  # this host's Docker has it no more
    with pytest.raises(ImageNotFound):
        docker_client.images.get(image_id)

    parts.env["FAAS_STATE_DIR"] = str(tmp_path / "state")  # a cache of its own, empty
    parts.watchdog(nats, 2, "--runtime", "runc")
    wait_for_watchdog(gateway)
    with gateway.client() as http:
        body = {"service": "pushed", "image": image}
        assert http.post("/system/functions", json=body).status_code == 202
        for n in range(3):  # the first fetches and unpacks it; the others use it
            reply = http.post("/function/pushed", content=f"call {n}\n".encode())
            assert reply.status_code == 200, reply.text
            assert reply.text == f"pushed {mark}: call {n}\n"
        stored = http.get("/system/images").json()
    assert [(s["imageId"], s["tags"]) for s in stored] == [(image_id, [image])]
    assert stored[0]["size"] > 1 << 20 and stored[0]["digest"].startswith("SHA-256=")
    assert (tmp_path / "state/images" / image_id[7:] / "rootfs/handler.sh").is_file()


def test_pushing_an_image_the_host_lacks_says_so(parts: Parts, tmp_path: Path) -> None:
    gateway = parts.gateway(parts.nats())
    stack = tmp_path / "stack.yml"
    missing = f"faas-e2e-{uuid.uuid4().hex[:8]}/never-built:latest"
    stack.write_text(f"version: 1.0\nfunctions:\n  nope:\n    image: {missing}\n")
    result = faas("push", "-f", str(stack), "--gateway", gateway.url)
    assert result.returncode == 1
    assert f"image {missing} is not on this host: build it first".encode() in result.stderr
