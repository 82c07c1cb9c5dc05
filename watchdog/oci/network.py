"""Networks of calls: loopback only, or outbound access through a NAT bridge, as Docker's.

A call with network `bridge` gets a fresh network namespace of its own, made ahead of it
(a veth pair to the bridge `faas0`, an address, a default route) and deleted after it: the
making costs a few milliseconds, off the call's path. Addresses are taken host-wide by the
namespace's name, so that every watchdog on the host shares the bridge without a clash.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import queue
import random
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from watchdog.secretfiles import safe_name

log = logging.getLogger(__name__)

BRIDGE = "faas0"
DEFAULT_SUBNET = "10.213.0.0/16"
NETNS_DIR = Path("/run/netns")  # where `ip netns` keeps its namespaces
PREFIX = "faas-"
IN_USE = "call"  # what the owner file of a namespace given to a call says; ready ones: ""
TIMEOUT = 10.0


class NetworkError(Exception):
    """A network namespace could not be made or the bridge set up."""


@dataclass(frozen=True)
class Lease:
    """One call's network namespace."""

    name: str
    address: str

    @property
    def path(self) -> Path:
        return NETNS_DIR / self.name


def owner_folder(net_dir: Path, watchdog_id: str) -> Path:
    """Where a watchdog notes the namespaces it made, one file each."""
    return net_dir / safe_name(watchdog_id)


class Bridge:
    """The host's NAT bridge and a small pool of namespaces on it, owned by one watchdog."""

    def __init__(self, owner_dir: Path, subnet: str = DEFAULT_SUBNET, ahead: int = 2) -> None:
        self.owners = owner_dir  # one file per namespace this watchdog made: found after a crash
        self.subnet = ipaddress.ip_network(subnet)
        self.gateway = next(self.subnet.hosts())
        self.ahead = ahead
        self._ready: queue.Queue[Lease] = queue.Queue()
        self._wanted = threading.Semaphore(0)
        self._stopping = threading.Event()
        self._filler: threading.Thread | None = None

    def start(self) -> None:
        """Set the bridge and NAT up (idempotently), remove what a killed run left, fill."""
        self.owners.mkdir(parents=True, exist_ok=True)
        self.remove_leftovers()
        self._bridge()
        self._nat()
        self._filler = threading.Thread(target=self._fill, name="netns", daemon=True)
        self._filler.start()
        for _ in range(self.ahead):
            self._wanted.release()

    def stop(self) -> None:
        self._stopping.set()
        self._wanted.release()
        if self._filler is not None:
            self._filler.join(TIMEOUT)
        while not self._ready.empty():
            self.remove(self._ready.get_nowait())
        with contextlib.suppress(OSError):
            self.owners.rmdir()  # empty unless a call's namespace is still out

    def take(self) -> Lease:
        """A fresh namespace: one made ahead if there is one, else one made now."""
        self._wanted.release()  # one more made ahead, for the next call
        try:
            lease = self._ready.get_nowait()
        except queue.Empty:
            lease = self.make()
        (self.owners / lease.name).write_text(IN_USE)
        return lease

    def make(self) -> Lease:
        """A new namespace on the bridge. Its owner file is written first, so that a watchdog
        killed while making it still finds it when it starts again."""
        for _ in range(20):
            address = self._pick()
            lease = Lease(PREFIX + address.replace(".", "-"), address)
            owner = self.owners / lease.name
            owner.touch()
            try:
                _ip("netns", "add", lease.name)
            except NetworkError as exc:
                owner.unlink()
                if "exists" in str(exc):
                    continue  # another watchdog has this address
                raise
            try:
                self._wire(lease)
            except NetworkError:
                self.remove(lease)
                raise
            return lease
        raise NetworkError("no free address on the bridge after 20 tries")

    def remove(self, lease: Lease) -> None:
        """Delete the namespace; its owner file stays when that fails, for a later start."""
        try:
            _ip("netns", "delete", lease.name)
        except NetworkError as exc:
            if "No such file" not in str(exc):
                log.warning("cannot delete network namespace %s: %s", lease.name, exc)
                return
        with contextlib.suppress(FileNotFoundError):
            (self.owners / lease.name).unlink()

    def remove_leftovers(self) -> int:
        found = list(self.owners.glob(PREFIX + "*"))
        for path in found:
            self.remove(Lease(path.name, ""))
        if found:
            log.info("removed %d network namespace(s) left by an earlier run", len(found))
        return len(found)

    def _fill(self) -> None:
        while True:
            self._wanted.acquire()
            if self._stopping.is_set():
                return
            if self._ready.qsize() >= self.ahead:
                continue
            try:
                self._ready.put(self.make())
            except (NetworkError, OSError) as exc:  # the next call makes its own
                log.warning("cannot make a network namespace ahead: %s", exc)

    def _pick(self) -> str:
        size = self.subnet.num_addresses
        return str(self.subnet.network_address + random.randrange(2, size - 1))

    def _wire(self, lease: Lease) -> None:
        """A veth pair from the namespace to the bridge, an address, a default route."""
        host_side = "fv" + os.urandom(5).hex()
        prefix = self.subnet.prefixlen
        _batch(
            f"link add {host_side} type veth peer name eth0 netns {lease.name}",
            f"link set {host_side} master {BRIDGE} up",
        )
        _batch(
            "link set lo up",
            f"addr add {lease.address}/{prefix} dev eth0",
            "link set eth0 up",
            f"route add default via {self.gateway}",
            netns=lease.name,
        )

    def _bridge(self) -> None:
        try:
            _ip("link", "add", BRIDGE, "type", "bridge")
        except NetworkError as exc:
            if "exists" not in str(exc):
                raise
        with contextlib.suppress(NetworkError):  # there already
            _ip("addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "address", bridge_mac(str(self.gateway)), "up")

    def _nat(self) -> None:
        """Masquerade the subnet's traffic out, and let it through Docker's FORWARD policy."""
        Path("/proc/sys/net/ipv4/ip_forward").write_text("1\n")
        subnet = str(self.subnet)
        _ensure_rule("nat", "POSTROUTING", "-s", subnet, "!", "-o", BRIDGE, "-j", "MASQUERADE")
        _ensure_rule("filter", "FORWARD", "-i", BRIDGE, "-j", "ACCEPT")
        _ensure_rule(
            "filter", "FORWARD", "-o", BRIDGE, "-m", "conntrack",
            "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT",
        )  # fmt: skip


def bridge_mac(gateway: str) -> str:
    """A fixed, locally administered address for the bridge, made from its own IP address.

    Left unset, a bridge takes the lowest address among its ports, so it changes whenever
    a call's veth comes or goes, and a container that resolved the gateway just before
    sends to an address gone: its connections stall until it resolves it again (seconds).
    """
    return ":".join(f"{b:02x}" for b in (0x02, 0xFA, *ipaddress.ip_address(gateway).packed[-4:]))


def _ensure_rule(table: str, chain: str, *rule: str) -> None:
    if _run(["iptables", "-w", "-t", table, "-C", chain, *rule], check=False) != 0:
        _run(["iptables", "-w", "-t", table, "-I", chain, "1", *rule])


def _ip(*args: str) -> None:
    _run(["ip", *args])


def _batch(*commands: str, netns: str = "") -> None:
    where = ["-n", netns] if netns else []
    _run(["ip", *where, "-batch", "-"], stdin="\n".join(commands) + "\n")


def _run(argv: list[str], stdin: str = "", check: bool = True) -> int:
    try:
        done = subprocess.run(
            argv, input=stdin.encode(), capture_output=True, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetworkError(f"{argv[0]}: {exc}") from exc
    if check and done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
        raise NetworkError(f"{' '.join(argv[:3])}: {message}")
    return done.returncode


def resolv_conf(host: Path = Path("/etc/resolv.conf")) -> str:
    """The host's resolver settings less loopback name servers, which a container can't reach."""
    try:
        lines = host.read_text().splitlines()
    except OSError:
        return ""
    kept = [
        line
        for line in lines
        if not (line.split()[:1] == ["nameserver"] and _loopback(line.split()[1:2]))
    ]
    return "\n".join(kept) + "\n"


def _loopback(words: list[str]) -> bool:
    try:
        return bool(words) and ipaddress.ip_address(words[0]).is_loopback
    except ValueError:
        return False
