"""The dashboard in a real headless Chromium (Debian's), through a real gateway, NATS,
watchdog and containers: log in, invoke, follow, filter, cancel, retry, pause.

Each page's screenshot is written under tests/output/screenshots/ (not committed).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from faas.basicauth import BasicAuth
from tests.e2e.containers import assert_no_call_containers
from tests.e2e.functions import fn
from tests.e2e.parts import (
    ROOT,
    Gateway,
    Parts,
    deploy_samples,
    submit,
    wait_for_watchdog,
    wait_record,
)

SHOTS = ROOT / "tests" / "output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FUNCTIONS = [
    fn("fail", "sh -c 'echo partial; echo broken >&2; exit 3'"),
    fn("sleepy", "sleep 60", envVars={"exec_timeout": "60s"}),
    fn("ticker", "cat", annotations={"topic": "cron-function", "schedule": "@every 1s"}),
]


def chromium() -> str:
    path = os.environ.get("FAAS_CHROMIUM") or shutil.which("chromium")
    if not path:
        message = "no chromium: apt-get install chromium (scripts/test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Iterator[Gateway]:
    """A gateway that wants credentials, its watchdog, the samples and a few test functions."""
    made = Parts(tmp_path_factory.mktemp("dashboard"))
    try:
        nats = made.nats()
        gw = made.gateway(nats, auth=BasicAuth("admin", secrets.token_urlsafe(12)))
        made.watchdog(nats, 4)
        wait_for_watchdog(gw)
        deploy_samples(gw, FUNCTIONS)
        yield gw
    finally:
        made.stop_all()
    assert_no_call_containers(docker_client, "after the dashboard's tests", made.watchdog_ids)


@pytest.fixture
def page(browser: Browser, gateway: Gateway) -> Iterator[Page]:
    """A logged-in page of a new browser context (its own cookies)."""
    context = browser.new_context(base_url=gateway.url)
    made = context.new_page()
    log_in(made, gateway)
    yield made
    context.close()


def log_in(page: Page, gateway: Gateway, password: str | None = None) -> None:
    assert gateway.auth is not None
    page.goto("/ui/login")
    page.fill("input[name=username]", gateway.auth.user)
    page.fill("input[name=password]", password or gateway.auth.password)
    page.click("button[type=submit]")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def call_id_in(url: str) -> str:
    found = re.search(r"/ui/calls/([A-Za-z0-9_-]+)", url)
    assert found, f"not a call's page: {url}"
    return found[1]


# who may see it


def test_a_page_without_a_session_redirects_to_login(gateway: Gateway) -> None:
    answer = httpx.get(f"{gateway.url}/ui/calls?state=failed")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=/ui/calls%3Fstate%3Dfailed"
    assert "www-authenticate" not in answer.headers  # no Basic-auth prompt in a browser


def test_a_wrong_password_is_refused(browser: Browser, gateway: Gateway) -> None:
    context = browser.new_context(base_url=gateway.url)
    page = context.new_page()
    log_in(page, gateway, password="not-" + (gateway.auth.password if gateway.auth else ""))
    expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
    shot(page, "login-refused")
    assert page.goto("/ui/functions") is not None
    assert page.url.startswith(f"{gateway.url}/ui/login")  # still no session
    context.close()


def test_the_login_sets_an_httponly_samesite_cookie_and_logout_ends_it(
    browser: Browser, gateway: Gateway
) -> None:
    context = browser.new_context(base_url=gateway.url)
    page = context.new_page()
    page.goto("/ui/calls")
    assert "/ui/login" in page.url
    shot(page, "login")
    log_in(page, gateway)
    page.goto("/ui/calls")
    assert page.url == f"{gateway.url}/ui/calls"
    (cookie,) = [c for c in context.cookies() if c["name"] == "faas_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.click("text=Log out")
    page.goto("/ui/calls")
    assert "/ui/login" in page.url
    context.close()


def test_a_form_without_its_csrf_token_is_refused(page: Page, gateway: Gateway) -> None:
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    http = httpx.Client(base_url=gateway.url, cookies=cookies)
    with http:
        refused = http.post("/ui/functions/hello/invoke", data={"body": "x"})
        assert refused.status_code == 403
        assert "CSRF" in refused.text
        token = page.locator("meta[name=csrf-token]").get_attribute("content")
        accepted = http.post("/ui/functions/hello/invoke", data={"body": "x", "csrf": token})
    assert accepted.status_code == 200
    assert "Hello, x!" in accepted.text


# what it shows and does


def test_the_overview_shows_the_sample_functions_and_the_watchdog(
    page: Page, gateway: Gateway
) -> None:
    with gateway.client() as http:
        for _ in range(3):
            assert http.post("/function/wc", content=b"a b\n").status_code == 200
    functions = page.get_by_test_id("functions")
    wc = functions.locator("tr", has=page.locator("a", has_text="wc")).first
    deadline = time.monotonic() + 10
    while True:  # records are written off the calls' path: the figures follow them shortly
        page.goto("/ui/")
        calls = int(wc.locator("td").nth(2).inner_text())
        if calls >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert calls >= 3, f"wc's row counts {calls} calls after 3"
    for name in ("hello", "wc", "href-counter"):
        expect(functions).to_contain_text(name)
    expect(wc.locator("td").nth(3)).to_have_text("0%")  # none of them failed
    expect(page.get_by_test_id("watchdogs")).to_contain_text("4")  # its capacity
    shot(page, "overview")
    page.goto("/ui/functions")
    expect(page.locator("table")).to_contain_text("faas/hello:latest")
    shot(page, "functions")


def test_invoke_hello_from_the_form_and_open_its_call(page: Page) -> None:
    page.goto("/ui/functions/hello")
    page.fill("textarea[name=body]", "browser")
    page.click("form[action*=invoke] button[type=submit]")
    expect(page.get_by_test_id("answer-status")).to_have_text("200")
    expect(page.get_by_test_id("answer-body")).to_have_text("Hello, browser!")
    shot(page, "function")
    page.get_by_test_id("answer-call").click()
    expect(page.get_by_test_id("state")).to_have_text("succeeded")
    expect(page.get_by_test_id("exit-code")).to_have_text("0")
    waterfall = page.get_by_test_id("waterfall")
    expect(waterfall).to_contain_text("queued")
    expect(waterfall).to_contain_text("ran")
    expect(page.get_by_test_id("attempts")).to_contain_text("exited 0")
    shot(page, "call")


def test_filter_calls_by_state(page: Page, gateway: Gateway) -> None:
    with gateway.client() as http:
        assert http.post("/function/fail").status_code == 500
        assert http.post("/function/hello", content=b"ok").status_code == 200
    page.goto("/ui/calls")
    page.select_option("select[name=state]", "failed")
    page.click("form[role=search] button:has-text('Filter')")
    assert "state=failed" in page.url  # the filter is in the URL: it can be bookmarked
    rows = page.get_by_test_id("calls").locator("tbody tr")
    expect(rows.first).to_contain_text("failed")
    states = page.locator("[data-testid=calls] td.state").all_inner_texts()
    assert states and set(states) == {"failed"}
    shot(page, "calls-failed")
    page.goto(page.url)  # the bookmark shows the same
    assert set(page.locator("[data-testid=calls] td.state").all_inner_texts()) == {"failed"}


def test_new_calls_appear_in_the_list_without_a_reload(page: Page, gateway: Gateway) -> None:
    page.goto("/ui/calls?function=wc")
    with gateway.client() as http:
        answer = http.post("/function/wc", content=b"a b\n")
    call_id = answer.headers["x-call-id"]
    expect(page.locator(f"tr[data-call='{call_id}']")).to_be_visible(timeout=15_000)


def test_cancel_a_long_call_and_see_it_cancelled(page: Page, gateway: Gateway) -> None:
    accepted = submit(gateway, "sleepy")
    assert accepted.status_code == 202
    call_id = accepted.headers["x-call-id"]
    wait_record(gateway, call_id, lambda r: r["state"] == "running")
    page.goto(f"/ui/calls/{call_id}")
    expect(page.get_by_test_id("state")).to_have_text("running")
    page.click("button:has-text('Cancel')")
    expect(page.get_by_test_id("state")).to_have_text("cancelled", timeout=20_000)
    shot(page, "call-cancelled")
    assert (
        wait_record(gateway, call_id, lambda r: r["state"] == "cancelled")["state"] == "cancelled"
    )


def test_retry_a_failed_call(page: Page, gateway: Gateway) -> None:
    accepted = submit(gateway, "fail", b"first body")
    first = accepted.headers["x-call-id"]
    wait_record(gateway, first, lambda r: r["state"] == "given_up")  # after its retries
    page.goto(f"/ui/calls/{first}")
    expect(page.get_by_test_id("exit-code")).to_have_text("3")
    page.click("button:has-text('Retry with the same body')")
    page.wait_for_url(re.compile(r"/ui/calls/[^/?]+\?retried="))
    second = call_id_in(page.url)
    assert second != first
    expect(page.get_by_role("status")).to_contain_text(first)
    record = wait_record(gateway, second, lambda r: r["state"] == "given_up")
    assert record["retryOf"] == first
    assert record["exitCode"] == 3
    assert record["request"]["body"] == "Zmlyc3QgYm9keQ=="  # "first body", kept to retry with


def test_pause_a_schedule_and_see_ticks_stop(page: Page, gateway: Gateway) -> None:
    def ticks() -> int:
        with gateway.client() as http:
            return len(
                http.get("/system/calls", params={"function": "ticker", "limit": 1000}).json()
            )

    deadline = time.monotonic() + 30
    while ticks() < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ticks() >= 2, "the schedule @every 1s did not tick"
    page.goto("/ui/schedules")
    card = page.locator("[data-schedule=ticker]")
    card.locator("button:has-text('Pause')").click()
    expect(page.locator("[data-schedule=ticker] [data-testid=paused]")).to_be_visible()
    shot(page, "schedules")
    time.sleep(1.5)  # a tick already on its way when the pause was written may still land
    paused_at = ticks()
    time.sleep(4)  # four ticks' worth
    assert ticks() == paused_at, "ticks fired while the schedule was paused"
    page.locator("[data-schedule=ticker] button:has-text('Resume')").click()
    expect(page.locator("[data-schedule=ticker] [data-testid=paused]")).to_have_count(0)
    deadline = time.monotonic() + 30
    while ticks() <= paused_at and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ticks() > paused_at, "no tick after resuming"


def test_a_one_shot_job_from_the_form(page: Page) -> None:
    page.goto("/ui/jobs")
    page.fill("input[name=image]", "faas/base-busybox:latest")
    page.fill("input[name=command]", "echo from-the-form")
    page.click("form[action='/ui/jobs'] button[type=submit]")
    expect(page.get_by_test_id("state")).to_have_text("succeeded", timeout=30_000)
    expect(page.get_by_test_id("output")).to_contain_text("from-the-form")
    shot(page, "job")


def test_the_logs_page_tails_a_function(page: Page, gateway: Gateway) -> None:
    with gateway.client() as http:
        assert http.post("/function/fail").status_code == 500
    page.goto("/ui/logs?function=fail")
    expect(page.get_by_test_id("log-tail")).to_contain_text("broken", timeout=15_000)
    shot(page, "logs")


def test_an_unknown_call_is_a_404_page(page: Page) -> None:
    answer = page.goto("/ui/calls/no-such-call")
    assert answer is not None and answer.status == 404
    expect(page.locator("main")).to_contain_text("no-such-call")


def test_pages_fit_a_phone_screen(browser: Browser, gateway: Gateway) -> None:
    context = browser.new_context(base_url=gateway.url, viewport={"width": 390, "height": 844})
    phone = context.new_page()
    log_in(phone, gateway)
    with gateway.client() as http:
        call_id = http.post("/function/hello", content=b"phone").headers["x-call-id"]
    wait_record(gateway, call_id, lambda r: r["state"] == "succeeded")
    for path, name in [
        ("/ui/", "phone-overview"),
        ("/ui/calls", "phone-calls"),
        (f"/ui/calls/{call_id}", "phone-call"),
    ]:
        phone.goto(path)
        wide = phone.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"{path} is {wide}px wide on a 390px screen"  # tables scroll inside
        shot(phone, name)
    context.close()
