"""`faas up`, `faas gateway` and `faas watchdog`: each builds its settings and starts its part.

Every option with an environment variable takes the flag, else the variable, else the
default of faas.settings; settings without a flag come from the environment alone
(`from_env()`). The servers are imported when started: `faas list` need not load them.
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import click

from cli.client import Client, client_for
from cli.functions import deploy_stack, skip_push_option
from cli.options import env_option, gateway_option, only_option
from cli.stack import load_stack
from faas import serving
from faas.errors import Error
from faas.settings import (
    DEFAULT_DATA_DIR,
    DEFAULT_GRACE,
    DEFAULT_HOST,
    DEFAULT_MAX_BODY,
    DEFAULT_NATS_PORT,
    DEFAULT_NATS_URL,
    DEFAULT_PORT,
    DEFAULT_RUNTIME,
    DEFAULT_STACK_FILE,
    RUNTIMES,
    GatewaySettings,
    UpSettings,
    WatchdogSettings,
    default_capacity,
)

nats_option = env_option(
    "--nats",
    "nats_url",
    envvar="FAAS_NATS_URL",
    default=DEFAULT_NATS_URL,
    metavar="URL",
    help="NATS URL; of a cluster, several, comma-separated",
)
replicas_option = env_option(
    "--nats-replicas",
    envvar="FAAS_NATS_REPLICAS",
    type=click.IntRange(min=1),
    metavar="N",
    help="copies of each JetStream stream and bucket, at most the cluster's servers "
    "[default: as they are, or 1]",
)
max_body_option = env_option(
    "--max-body",
    envvar="FAAS_MAX_BODY",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_BODY,
    help="largest request body in bytes",
)
capacity_option = env_option(
    "--capacity",
    envvar="FAAS_CAPACITY",
    type=click.IntRange(min=1),
    default=default_capacity,
    show_default="CPUs",
    help="calls the watchdog runs at once",
)
invoke_auth_option = env_option(
    "--invoke-auth",
    envvar="FAAS_INVOKE_AUTH",
    is_flag=True,
    help="require the credentials to call functions too",
)
secrets_key_option = env_option(
    "--secrets-key",
    envvar="FAAS_SECRETS_KEY_FILE",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Fernet key file that encrypts function secrets; without one, secrets are off",
)


@click.command("up", short_help="Run the platform here, or build and deploy to a gateway.")
@env_option(
    "--port", envvar="FAAS_GATEWAY_PORT", type=int, default=DEFAULT_PORT, help="gateway port"
)
@env_option(
    "--nats-port", envvar="FAAS_NATS_PORT", type=int, default=DEFAULT_NATS_PORT, help="NATS port"
)
@click.option("--nats-host", default=DEFAULT_HOST, help="NATS listen address")
@env_option(
    "--nats-cluster",
    envvar="FAAS_NATS_CLUSTER",
    type=click.IntRange(min=1),
    default=1,
    metavar="N",
    help="run N nats-servers as one JetStream cluster, on --nats-port and the next ports, "
    "each stream and bucket kept on 3 of them",
)
@env_option(
    "--data-dir",
    envvar="FAAS_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    help="where NATS keeps its data",
)
@click.option(
    "-f",
    "--file",
    "stack_file",
    default=DEFAULT_STACK_FILE,
    metavar="FILE",
    help="stack to build and deploy ('' for none)",
)
@click.option("--no-watchdog", is_flag=True, help="start no watchdog here")
@capacity_option
@max_body_option
@invoke_auth_option
@gateway_option("build and deploy to this gateway instead", show_default=False)
@only_option
@click.option("--skip-build", is_flag=True, help="deploy without building")
@click.option("--skip-deploy", is_flag=True, help="build without deploying")
@skip_push_option
def run_up(
    port: int,
    nats_port: int,
    nats_host: str,
    nats_cluster: int,
    data_dir: Path,
    stack_file: str,
    no_watchdog: bool,
    capacity: int,
    max_body: int,
    invoke_auth: bool,
    gateway: str | None,
    only: tuple[str, ...],
    skip_build: bool,
    skip_deploy: bool,
    skip_push: bool,
) -> int:
    """Run NATS, a gateway and a watchdog here and deploy a stack. With -g (or $OPENFAAS_URL,
    or a gateway already on --port): build the stack and deploy it there, as faas-cli up.
    """
    target = gateway or _local_gateway(port)
    if target:
        skips = (skip_build, skip_push, skip_deploy)
        return _build_and_deploy(target, stack_file, set(only) or None, *skips)
    from cli.up import up

    settings = UpSettings(
        port=port,
        nats_port=nats_port,
        nats_host=nats_host,
        nats_cluster=nats_cluster,
        data_dir=data_dir,
        stack_file=Path(stack_file) if stack_file else None,
        watchdog=not no_watchdog,
        max_body=max_body,
        capacity=capacity,
        invoke_auth=invoke_auth,
    )
    return up(settings)


def _local_gateway(port: int) -> str | None:
    """The URL of a gateway already answering on `port` here, if one does."""
    url = f"http://127.0.0.1:{port}"
    try:
        with Client(url, timeout=2) as client:
            client.request("GET", "/healthz")
    except (Error, OSError):
        return None
    print(f"a gateway already runs at {url}: building and deploying to it", flush=True)
    return url


def _build_and_deploy(
    url: str,
    stack_file: str,
    only: set[str] | None,
    skip_build: bool,
    skip_push: bool,
    skip_deploy: bool,
) -> int:
    """faas-cli's `up`: build, push (into the cluster: there is no registry), deploy."""
    from cli.build import build_stack
    from cli.push import push_stack

    stack = load_stack(stack_file or DEFAULT_STACK_FILE)
    if not skip_build:
        build_stack(stack, only)
    with client_for(url.rstrip("/")) as client:
        if not skip_push:
            push_stack(stack, client, only)
        if not skip_deploy:
            deploy_stack(stack, client, only)
    return 0


@click.command("gateway")
@nats_option
@env_option("--host", envvar="FAAS_GATEWAY_HOST", default=DEFAULT_HOST, help="listen address")
@env_option("--port", envvar="FAAS_GATEWAY_PORT", type=int, default=DEFAULT_PORT, help="port")
@max_body_option
@env_option(
    "--auth-dir",
    envvar="FAAS_SECRET_MOUNT_PATH",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="require HTTP Basic auth on /system/: the user and password are read from the "
    "files basic-auth-user and basic-auth-password in DIR (else from "
    "FAAS_BASIC_AUTH_USER and FAAS_BASIC_AUTH_PASSWORD)",
)
@invoke_auth_option
@secrets_key_option
@replicas_option
def run_gateway(
    nats_url: str,
    host: str,
    port: int,
    max_body: int,
    auth_dir: Path | None,
    invoke_auth: bool,
    secrets_key: Path | None,
    nats_replicas: int | None,
) -> int:
    """Run a gateway."""
    from gateway.main import serve

    settings = dataclasses.replace(
        GatewaySettings.from_env(),
        nats_url=nats_url,
        host=host,
        port=port,
        max_body=max_body,
        invoke_auth=invoke_auth,
        secrets_key_file=secrets_key,
        nats_replicas=nats_replicas,
    )
    if auth_dir:
        settings.use_secrets(auth_dir)
    serving.run(serve(settings))
    return 0


@click.command("watchdog")
@nats_option
@capacity_option
@env_option(
    "--id",
    "watchdog_id",
    envvar="FAAS_WATCHDOG_ID",
    default=socket.gethostname,
    show_default="host name",
    help="watchdog id; labels its containers",
)
@env_option(
    "--grace",
    envvar="FAAS_GRACE",
    type=float,
    default=DEFAULT_GRACE,
    help="seconds running calls get on SIGTERM",
)
@secrets_key_option
@env_option(
    "--runtime",
    envvar="FAAS_RUNTIME",
    type=click.Choice(RUNTIMES),
    default=DEFAULT_RUNTIME,
    help="what runs the containers: crun or runc (OCI runtimes, no daemon on a call's "
    "path) or docker; auto: crun, else runc, where usable, else docker",
)
@replicas_option
def run_watchdog(
    nats_url: str,
    capacity: int,
    watchdog_id: str,
    grace: float,
    secrets_key: Path | None,
    runtime: str,
    nats_replicas: int | None,
) -> int:
    """Run a watchdog (executor node)."""
    from watchdog.main import serve

    settings = dataclasses.replace(
        WatchdogSettings.from_env(),
        nats_url=nats_url,
        capacity=capacity,
        watchdog_id=watchdog_id,
        grace=grace,
        secrets_key_file=secrets_key,
        runtime=runtime,
        nats_replicas=nats_replicas,
    )
    serving.run(serve(settings))
    return 0
