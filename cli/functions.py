"""`faas build|deploy|list|describe|remove|new`: a stack's functions on a gateway."""

from __future__ import annotations

from pathlib import Path

import click

from cli import output
from cli.client import Client, client_for, gateway_client, gateway_url
from cli.options import gateway_option, only_option, stack_file_option
from cli.scaffold import DEFAULT_PREFIX, NewFunction, new_function
from cli.stack import Stack, load_stack
from cli.templates import LANGUAGES


@click.command("build")
@stack_file_option
@only_option
def build_images(stack_file: str, only: tuple[str, ...]) -> int:
    """Build the stack's images."""
    from cli.build import build_stack  # loads the Docker client: only where it is used

    build_stack(load_stack(stack_file), set(only) or None)
    return 0


@click.command("push")
@stack_file_option
@only_option
@gateway_option("gateway URL; without it or the variable, the stack's provider.gateway")
def push_images(stack_file: str, only: tuple[str, ...], gateway: str | None) -> int:
    """Put the stack's images into the cluster, for watchdogs on hosts without them."""
    from cli.push import push_stack  # loads the Docker client: only where it is used

    stack = load_stack(stack_file)
    with client_for(gateway_url(gateway, stack.gateway)) as client:
        push_stack(stack, client, set(only) or None)
    return 0


skip_push_option = click.option(
    "--skip-push", is_flag=True, help="do not put the images into the cluster first"
)


@click.command("deploy")
@stack_file_option
@only_option
@gateway_option("gateway URL; without it or the variable, the stack's provider.gateway")
@skip_push_option
def deploy_functions(
    stack_file: str, only: tuple[str, ...], gateway: str | None, skip_push: bool
) -> int:
    """Push the stack's images into the cluster, then deploy its functions."""
    stack = load_stack(stack_file)
    with client_for(gateway_url(gateway, stack.gateway)) as client:
        if not skip_push:
            from cli.push import push_stack

            push_stack(stack, client, set(only) or None)
        deploy_stack(stack, client, set(only) or None)
    return 0


def deploy_stack(stack: Stack, client: Client, only: set[str] | None) -> None:
    done = 0
    for fn in stack.functions.values():
        if only and fn.name not in only:
            continue
        print(f"{fn.name}: {client.deploy(fn.deployment())}", flush=True)
        done += 1
    print(f"deployed {done} function(s) to {client.base}")


@click.command("list")
@click.option("-v", "--verbose", is_flag=True, help="show images too")
@gateway_option()
def list_functions(verbose: bool, gateway: str | None) -> int:
    """List deployed functions."""
    with gateway_client(gateway) as client:
        functions = client.functions()
    columns = ["Function", "Invocations", "Replicas"] + (["Image"] if verbose else [])
    rows = [
        [f.name, str(f.invocation_count), str(f.available_replicas)]
        + ([f.image] if verbose else [])
        for f in functions
    ]
    print(output.table(columns, rows))
    return 0


@click.command("describe")
@click.argument("name")
@gateway_option()
def describe_function(name: str, gateway: str | None) -> int:
    """Show a function."""
    with gateway_client(gateway) as client:
        f = client.describe(name)
    shown = [
        ("Name", f.name),
        ("Status", "Ready" if f.available_replicas else "Not Ready (no watchdog)"),
        ("Image", f.image),
        ("Invocations", f.invocation_count),
        ("Created", f.created_at),
        ("Process", f.env_process or "(image default)"),
        ("Environment", output.mapping(f.env_vars)),
        ("Labels", output.mapping(f.labels)),
        ("Annotations", output.mapping(f.annotations)),
        ("Limits", output.mapping(f.limits)),
        ("Read-only root", f.read_only_root_filesystem),
        ("URL", f"{client.base}/function/{f.name}"),
    ]
    print(output.fields(shown))
    return 0


@click.command("remove")
@click.argument("name")
@gateway_option()
def remove_function(name: str, gateway: str | None) -> int:
    """Remove a function."""
    with gateway_client(gateway) as client:
        client.remove(name)
    print(f"removed {name}")
    return 0


@click.command("new")
@click.argument("name")
@click.option("--lang", required=True, type=click.Choice(LANGUAGES), help="the function's template")
@click.option("--prefix", default=DEFAULT_PREFIX, help="image prefix, e.g. a registry user")
@stack_file_option
def scaffold_function(name: str, lang: str, prefix: str, stack_file: str) -> int:
    """Scaffold a function from a template; add it to the stack."""
    fn = NewFunction(name, lang, Path(stack_file), prefix or DEFAULT_PREFIX)
    folder = new_function(fn)
    print(f"created {folder} ({lang}) and added {fn.name} to {fn.stack_file}")
    print(f"build it with: faas build -f {fn.stack_file} --filter {fn.name}")
    return 0
