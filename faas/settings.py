"""Typed settings of each process, with defaults and `from_env()`; the CLI and tests build these."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from faas.basicauth import BasicAuth, read_secrets
from faas.errors import Error

# Each default is written here once: the dataclasses, from_env() and the CLI's options use it.
DEFAULT_HOST = "127.0.0.1"  # listen on this machine only
DEFAULT_PORT = 8080  # the gateway's
DEFAULT_NATS_PORT = 4222
DEFAULT_NATS_URL = f"nats://{DEFAULT_HOST}:{DEFAULT_NATS_PORT}"
DEFAULT_GRACE = 30.0  # seconds running calls get to finish on SIGTERM
DEFAULT_DATA_DIR = Path(".faas")  # `faas up`'s NATS data and secrets
DEFAULT_STACK_FILE = "stack.yml"
DEFAULT_MAX_BODY = 8 * 2**20
DEFAULT_RETENTION = 7 * 24 * 3600.0  # call records are kept this long
DEFAULT_DEDUP_WINDOW = 600.0  # a repeated call id or idempotency key within this runs once
DEFAULT_LEASE = 30.0  # an async call whose watchdog falls silent this long runs elsewhere
RUNTIMES = ("auto", "crun", "runc", "docker")
OCI_RUNTIMES = ("crun", "runc")  # what auto tries, in this order, before docker
DEFAULT_RUNTIME = "auto"
DEFAULT_RUN_DIR = Path("/run/faas")
DEFAULT_STATE_DIR = Path("/var/lib/faas")
DEFAULT_IMAGE_CACHE = 8 * 2**30
DEFAULT_BRIDGE_SUBNET = "10.213.0.0/16"
DEFAULT_RUNC = "runc"  # runc's binary, a name on PATH or a path
DEFAULT_CRUN = "crun"
DEFAULT_AHEAD = 2  # containers made ahead of calls, per function (runc); 0: none
DEFAULT_AHEAD_TOTAL = 8  # made ahead, for the whole watchdog


def default_capacity() -> int:
    """Calls a watchdog runs at once unless told: one per CPU."""
    return os.cpu_count() or 1


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    try:
        return int(raw) if raw else default
    except ValueError:
        raise Error(f"{name} must be an integer, not {raw!r}") from None


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        raise Error(f"{name} must be a number, not {raw!r}") from None


def _env_path(name: str) -> Path | None:
    raw = os.environ.get(name)
    return Path(raw) if raw else None


def _env_bool(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw not in ("", "0", "false", "no", "off", "1", "true", "yes", "on"):
        raise Error(f"{name} must be true or false, not {raw!r}")
    return raw in ("1", "true", "yes", "on")


def _env_auth() -> tuple[str | None, str | None]:
    """As OpenFaaS: files in FAAS_SECRET_MOUNT_PATH when set, else FAAS_BASIC_AUTH_* vars."""
    folder = os.environ.get("FAAS_SECRET_MOUNT_PATH")
    if folder:
        auth = read_secrets(Path(folder))
        return auth.user, auth.password
    user = os.environ.get("FAAS_BASIC_AUTH_USER") or None
    return user, os.environ.get("FAAS_BASIC_AUTH_PASSWORD") or None


@dataclass
class GatewaySettings:
    """The HTTP gateway."""

    nats_url: str = DEFAULT_NATS_URL
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_body: int = DEFAULT_MAX_BODY  # lowered at start to what the NATS server accepts
    gateway_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    heartbeat_timeout: float = 2.5  # a watchdog unheard of this long is gone
    retention: float = DEFAULT_RETENTION
    dedup_window: float = DEFAULT_DEDUP_WINDOW
    lease: float = DEFAULT_LEASE
    auth_user: str | None = None  # with auth_password: HTTP Basic auth on /system/
    auth_password: str | None = field(default=None, repr=False)
    invoke_auth: bool = False  # auth on /function/ and /async-function/ too
    secrets_key_file: Path | None = None  # Fernet key of function secrets; None: secrets off
    nats_replicas: int | None = None  # copies of streams and buckets; None: as they are, or 1

    def basic_auth(self) -> BasicAuth | None:
        """The credentials requests must carry; None when auth is off."""
        if self.auth_user and self.auth_password:
            return BasicAuth(self.auth_user, self.auth_password)
        if self.auth_user or self.auth_password:
            raise Error("basic auth needs both a user and a password")
        if self.invoke_auth:
            raise Error("invoke auth needs credentials: give --auth-dir or FAAS_BASIC_AUTH_*")
        return None

    def use_secrets(self, folder: Path) -> None:
        """Take the credentials from the folder's `basic-auth-user` and `basic-auth-password`."""
        auth = read_secrets(folder)
        self.auth_user, self.auth_password = auth.user, auth.password

    @classmethod
    def from_env(cls) -> GatewaySettings:
        user, password = _env_auth()
        return cls(
            nats_url=os.environ.get("FAAS_NATS_URL") or DEFAULT_NATS_URL,
            host=os.environ.get("FAAS_GATEWAY_HOST") or DEFAULT_HOST,
            port=_env_int("FAAS_GATEWAY_PORT", DEFAULT_PORT),
            max_body=_env_int("FAAS_MAX_BODY", DEFAULT_MAX_BODY),
            retention=_env_float("FAAS_RETENTION", DEFAULT_RETENTION),
            dedup_window=_env_float("FAAS_DEDUP_WINDOW", DEFAULT_DEDUP_WINDOW),
            lease=_env_float("FAAS_LEASE", DEFAULT_LEASE),
            auth_user=user,
            auth_password=password,
            invoke_auth=_env_bool("FAAS_INVOKE_AUTH"),
            secrets_key_file=_env_path("FAAS_SECRETS_KEY_FILE"),
            nats_replicas=_env_replicas(),
        )


@dataclass
class WatchdogSettings:
    """An executor node."""

    nats_url: str = DEFAULT_NATS_URL
    watchdog_id: str = field(default_factory=socket.gethostname)
    capacity: int = field(default_factory=default_capacity)
    grace: float = DEFAULT_GRACE
    heartbeat_interval: float = 1.0
    docker_url: str | None = None  # None: DOCKER_HOST or the local socket
    retention: float = DEFAULT_RETENTION
    dedup_window: float = DEFAULT_DEDUP_WINDOW
    lease: float = DEFAULT_LEASE
    deliverers: int = 8  # callbacks delivered at once
    secrets_key_file: Path | None = None  # Fernet key of function secrets; None: secrets off
    runtime: str = DEFAULT_RUNTIME  # crun, else runc, where usable, else docker; or one
    runc: str = DEFAULT_RUNC
    crun: str = DEFAULT_CRUN
    run_dir: Path = DEFAULT_RUN_DIR  # the OCI runtime's state, calls' folders, namespaces
    state_dir: Path = DEFAULT_STATE_DIR  # images unpacked as root filesystems
    image_cache_bytes: int = DEFAULT_IMAGE_CACHE  # root filesystems kept, at most
    bridge_subnet: str = DEFAULT_BRIDGE_SUBNET  # addresses of calls with network "bridge"
    ahead: int = DEFAULT_AHEAD
    ahead_total: int = DEFAULT_AHEAD_TOTAL
    seccomp_32bit: bool = False  # crun, runc: admit 32-bit system calls too, as Docker (slower)
    nats_replicas: int | None = None  # copies of streams and buckets; None: as they are, or 1

    @classmethod
    def from_env(cls) -> WatchdogSettings:
        return cls(
            nats_url=os.environ.get("FAAS_NATS_URL") or DEFAULT_NATS_URL,
            watchdog_id=os.environ.get("FAAS_WATCHDOG_ID") or socket.gethostname(),
            capacity=_env_int("FAAS_CAPACITY", default_capacity()),
            grace=_env_float("FAAS_GRACE", DEFAULT_GRACE),
            docker_url=os.environ.get("DOCKER_HOST"),
            retention=_env_float("FAAS_RETENTION", DEFAULT_RETENTION),
            dedup_window=_env_float("FAAS_DEDUP_WINDOW", DEFAULT_DEDUP_WINDOW),
            lease=_env_float("FAAS_LEASE", DEFAULT_LEASE),
            secrets_key_file=_env_path("FAAS_SECRETS_KEY_FILE"),
            runtime=_env_runtime(),
            runc=os.environ.get("FAAS_RUNC") or DEFAULT_RUNC,
            crun=os.environ.get("FAAS_CRUN") or DEFAULT_CRUN,
            run_dir=_env_path("FAAS_RUN_DIR") or DEFAULT_RUN_DIR,
            state_dir=_env_path("FAAS_STATE_DIR") or DEFAULT_STATE_DIR,
            image_cache_bytes=_env_int("FAAS_IMAGE_CACHE_BYTES", DEFAULT_IMAGE_CACHE),
            bridge_subnet=os.environ.get("FAAS_BRIDGE_SUBNET") or DEFAULT_BRIDGE_SUBNET,
            ahead=_env_int("FAAS_AHEAD", DEFAULT_AHEAD),
            ahead_total=_env_int("FAAS_AHEAD_TOTAL", DEFAULT_AHEAD_TOTAL),
            seccomp_32bit=_env_bool("FAAS_SECCOMP_32BIT"),
            nats_replicas=_env_replicas(),
        )


def _env_replicas() -> int | None:
    replicas = _env_int("FAAS_NATS_REPLICAS", 0)
    if replicas < 0:
        raise Error(f"FAAS_NATS_REPLICAS must be 1 or more, not {replicas}")
    return replicas or None


def _env_runtime() -> str:
    runtime = os.environ.get("FAAS_RUNTIME") or DEFAULT_RUNTIME
    if runtime not in RUNTIMES:
        raise Error(f"FAAS_RUNTIME must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    return runtime


@dataclass
class UpSettings:
    """`faas up`: NATS, a gateway and a watchdog on this machine.

    No from_env(): every field is an option of `faas up`, which reads its variable.
    """

    port: int = DEFAULT_PORT
    nats_port: int = DEFAULT_NATS_PORT
    nats_host: str = DEFAULT_HOST  # 0.0.0.0 lets watchdogs on other machines join
    data_dir: Path = DEFAULT_DATA_DIR
    stack_file: Path | None = Path(DEFAULT_STACK_FILE)
    watchdog: bool = True
    max_body: int = DEFAULT_MAX_BODY
    capacity: int = field(default_factory=default_capacity)
    invoke_auth: bool = False  # the gateway wants credentials for invocations too
    nats_cluster: int = 1  # nats-servers, one JetStream cluster, on nats_port and the next

    @property
    def nats_ports(self) -> list[int]:
        return [self.nats_port + i for i in range(self.nats_cluster)]

    @property
    def nats_replicas(self) -> int | None:
        """Copies of each stream and bucket: 3 on a cluster of 3 or more."""
        return min(self.nats_cluster, 3) if self.nats_cluster > 1 else None

    def nats_dir(self, port: int) -> Path:
        """A server's store and log: the data folder itself, for one server alone."""
        return self.data_dir / f"nats-{port}" if self.nats_cluster > 1 else self.data_dir

    @property
    def secrets_dir(self) -> Path:
        """Where the gateway's `basic-auth-user` and `basic-auth-password` are kept."""
        return self.data_dir / "secrets"

    @property
    def secrets_key_file(self) -> Path:
        """The Fernet key of function secrets, shared by the gateway and the watchdog."""
        return self.data_dir / "secrets.key"

    @property
    def nats_host_shown(self) -> str:
        return socket.gethostname() if self.nats_host in ("0.0.0.0", "::") else self.nats_host
