"""`faas login` and `faas logout`: the credentials the CLI sends to a gateway."""

from __future__ import annotations

import getpass
import sys

import click

from cli import credentials
from cli.client import Client, gateway_url
from cli.options import exclusive, gateway_option
from faas.basicauth import DEFAULT_USER, BasicAuth
from faas.errors import Error, Unauthorized


@click.command("login")
@click.option("-u", "--username", default=DEFAULT_USER, help="user name")
@click.option("-p", "--password", help="the password (others may see it: prefer -s)")
@click.option("-s", "--password-stdin", is_flag=True, help="read the password from stdin")
@gateway_option()
def log_in(username: str, password: str | None, password_stdin: bool, gateway: str | None) -> int:
    """Check and store credentials for a gateway."""
    exclusive({"--password": password, "--password-stdin": password_stdin})
    url = gateway_url(gateway)
    if not username:
        raise Error("the user name is empty")
    auth = BasicAuth(username, _password(password, password_stdin))
    try:
        with Client(url, auth=auth) as client:
            client.request("GET", "/system/functions", ok=(200,))
    except Unauthorized:
        raise Error(f"the gateway at {url} refused user {auth.user!r} with that password") from None
    path = credentials.save(url, auth)
    print(f"credentials for {auth.user} at {url} saved in {path}")
    return 0


@click.command("logout")
@gateway_option()
def log_out(gateway: str | None) -> int:
    """Forget the stored credentials for a gateway."""
    url = gateway_url(gateway)
    if not credentials.remove(url):
        raise Error(f"no credentials stored for {url}")
    print(f"credentials for {url} removed")
    return 0


def _password(given: str | None, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.read().strip()
    elif given is not None:
        password = given
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
    else:
        raise Error("give the password with --password-stdin (or --password)")
    if not password:
        raise Error("the password is empty")
    return password
