"""Several hosts on this machine: a network namespace each, joined to this one by a veth
pair, with its own address; made and removed by the test that uses them."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

SUBNET = "10.231"  # host i is 10.231.i.2, and reaches this machine at 10.231.i.1


@dataclass(frozen=True)
class Host:
    name: str  # of its network namespace
    link: str  # this machine's end of its veth pair
    index: int

    @property
    def gateway_address(self) -> str:
        """This machine's address as the host sees it."""
        return f"{SUBNET}.{self.index}.1"

    @property
    def prefix(self) -> list[str]:
        """What runs a command on the host: its network namespace only (`ip netns exec`
        would also mount a sysfs of its own, hiding the cgroup mounts runc needs)."""
        return ["nsenter", f"--net=/run/netns/{self.name}", "--"]

    def cut(self) -> None:
        """Its link set down: nothing passes either way, no connection is closed."""
        _ip("link", "set", self.link, "down")

    def mend(self) -> None:
        _ip("link", "set", self.link, "up")


@contextmanager
def hosts(count: int) -> Iterator[list[Host]]:
    tag = uuid.uuid4().hex[:6]
    made: list[Host] = []
    try:
        for i in range(1, count + 1):
            host = Host(f"faas-test-{tag}-h{i}", f"fth{tag}{i}", i)
            made.append(host)
            _ip("netns", "add", host.name)
            _ip(
                "link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.name
            )
            _ip("addr", "add", f"{host.gateway_address}/24", "dev", host.link)
            _ip("link", "set", host.link, "up")
            inside = ["-n", host.name]
            _ip(*inside, "addr", "add", f"{SUBNET}.{i}.2/24", "dev", "eth0")
            _ip(*inside, "link", "set", "eth0", "up")
            _ip(*inside, "link", "set", "lo", "up")
            _ip(*inside, "route", "add", "default", "via", host.gateway_address)
        yield made
    finally:
        for host in made:  # the veth pair goes with its namespace
            subprocess.run(["ip", "netns", "delete", host.name], capture_output=True)
            subprocess.run(["ip", "link", "delete", host.link], capture_output=True)


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
