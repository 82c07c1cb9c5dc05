"""Unit tests of gateway.auth's Basic auth middleware, and of its wiring in create_app."""

from __future__ import annotations

import base64
import contextlib
import warnings
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 to the httpx of our dev extras; the client works with either.
    warnings.filterwarnings(
        "ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning
    )
    from starlette.testclient import TestClient

from faas.basicauth import BasicAuth, parse_header
from faas.errors import Error
from faas.settings import GatewaySettings
from gateway.app import create_app
from gateway.auth import RequireBasicAuth

AUTH = BasicAuth("admin", "s3cret:with-colon")
GOOD = (AUTH.user, AUTH.password)
ANY = ["GET", "POST", "PUT", "DELETE"]
GUARDED = ["/system/functions", "/system/function/hello", "/system/info", "/system/calls"]
GUARDED += ["/system/calls/abc"]
INVOCATIONS = ["/function/hello", "/function/hello/sub/path", "/async-function/hello"]


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"{request.method} {request.url.path}")


def app(invoke_auth: bool = False) -> Starlette:
    paths = [*GUARDED, *INVOCATIONS, "/healthz", "/metrics", "/"]
    made = Starlette(routes=[Route(path, echo, methods=ANY) for path in paths])
    made.add_middleware(RequireBasicAuth, auth=AUTH, invoke_auth=invoke_auth)
    return made


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(app()) as client:
        yield client


@pytest.fixture
def strict() -> Iterator[TestClient]:
    """Auth on invocations too."""
    with TestClient(app(invoke_auth=True)) as client:
        yield client


def assert_refused(reply: httpx.Response) -> None:
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == 'Basic realm="Restricted"'
    assert len(reply.text.splitlines()) == 1


@pytest.mark.parametrize("path", GUARDED)
@pytest.mark.parametrize("method", ANY)
def test_system_routes_answer_with_the_credentials(
    client: TestClient, method: str, path: str
) -> None:
    reply = client.request(method, path, auth=GOOD)
    assert reply.status_code == 200
    assert reply.text == f"{method} {path}"


@pytest.mark.parametrize("path", GUARDED)
@pytest.mark.parametrize("method", ANY)
def test_system_routes_refuse_a_request_without_credentials(
    client: TestClient, method: str, path: str
) -> None:
    assert_refused(client.request(method, path))


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(b"admin:wrong").decode(),
        "Basic " + base64.b64encode(b"root:s3cret:with-colon").decode(),
        "Basic " + base64.b64encode(b"admin").decode(),  # no colon
        "Basic " + base64.b64encode(b"admin:s3cret").decode(),  # the password cut at its colon
        "Basic " + base64.b64encode(b"admin:s3cret:with-colon ").decode(),
        "Basic not-base64!",
        "Basic ",
        "Bearer ",
        "Bearer " + base64.b64encode(b"admin:s3cret:with-colon").decode(),
        "",
    ],
)
def test_wrong_credentials_are_refused(client: TestClient, header: str) -> None:
    assert_refused(client.get("/system/functions", headers={"Authorization": header}))


def test_the_scheme_is_case_insensitive(client: TestClient) -> None:
    token = base64.b64encode(f"{AUTH.user}:{AUTH.password}".encode()).decode()
    assert (
        client.get("/system/info", headers={"Authorization": f"basic {token}"}).status_code == 200
    )


def test_a_non_ascii_password_works() -> None:
    auth = BasicAuth("José", "pässwörd")
    made = Starlette(routes=[Route("/system/info", echo)])
    made.add_middleware(RequireBasicAuth, auth=auth)
    with TestClient(made) as client:
        assert (
            client.get("/system/info", headers={"Authorization": auth.header()}).status_code == 200
        )
        assert_refused(client.get("/system/info", auth=("José", "passwort")))


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/"])
def test_health_and_metrics_stay_open(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200
    assert client.get(path, headers={"Authorization": "Bearer "}).status_code == 200


@pytest.mark.parametrize("path", INVOCATIONS)
def test_invocations_are_open_by_default(client: TestClient, path: str) -> None:
    assert client.post(path, content=b"x").status_code == 200
    assert client.post(path, headers={"Authorization": "Bearer "}).status_code == 200


@pytest.mark.parametrize("path", INVOCATIONS)
def test_invoke_auth_guards_invocations(strict: TestClient, path: str) -> None:
    assert_refused(strict.post(path, content=b"x"))
    assert_refused(strict.post(path, auth=("admin", "wrong")))
    assert strict.post(path, content=b"x", auth=GOOD).status_code == 200
    assert strict.get("/healthz").status_code == 200


def test_a_path_only_resembling_a_guarded_one_is_not_guarded() -> None:
    made = Starlette(routes=[Route("/systemic", echo), Route("/functions", echo)])
    made.add_middleware(RequireBasicAuth, auth=AUTH, invoke_auth=True)
    with TestClient(made) as open_client:
        assert open_client.get("/systemic").status_code == 200
        assert open_client.get("/functions").status_code == 200


def test_a_percent_encoded_path_is_guarded_as_the_router_sees_it(client: TestClient) -> None:
    assert_refused(client.get("/%73ystem/functions"))


def test_the_root_path_is_not_a_way_around() -> None:
    with TestClient(app(), root_path="/api") as client:
        assert_refused(client.get("/api/system/functions"))
        assert client.get("/api/system/functions", auth=GOOD).status_code == 200


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        (AUTH.header(), (b"admin", b"s3cret:with-colon")),
        ("BASIC " + base64.b64encode(b"a:").decode(), (b"a", b"")),
        ("Bearer abc", None),
        ("Basic", None),
        ("Basic %%%", None),
    ],
)
def test_parse_header(header: str, parsed: tuple[bytes, bytes] | None) -> None:
    assert parse_header(header) == parsed


# create_app: the middleware is wired only when credentials are set


@contextlib.contextmanager
def served(settings: GatewaySettings) -> Iterator[TestClient]:
    """The gateway's app without its lifespan (no NATS): enough for /system/info."""
    client = TestClient(create_app(settings))
    try:
        yield client
    finally:
        client.close()


def test_create_app_without_credentials_leaves_every_route_open() -> None:
    with served(GatewaySettings()) as client:
        assert client.get("/system/info").status_code == 200
        # some OpenFaaS clients send an empty bearer token when they have no credentials
        assert client.get("/system/info", headers={"Authorization": "Bearer "}).status_code == 200


def test_create_app_with_credentials_guards_system_routes() -> None:
    settings = GatewaySettings(auth_user=AUTH.user, auth_password=AUTH.password)
    with served(settings) as client:
        assert_refused(client.get("/system/info"))
        assert_refused(client.get("/system/info", headers={"Authorization": "Bearer "}))
        assert client.get("/system/info", auth=GOOD).status_code == 200
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "settings",
    [
        GatewaySettings(auth_user="admin"),
        GatewaySettings(auth_password="secret"),
        GatewaySettings(invoke_auth=True),
    ],
)
def test_create_app_refuses_half_a_configuration(settings: GatewaySettings) -> None:
    with pytest.raises(Error):
        create_app(settings)
