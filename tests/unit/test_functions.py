"""Unit tests of the sample functions under functions/, run without Docker."""

from __future__ import annotations

import importlib.util
import io
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def load_handler(function: str) -> ModuleType:
    """Import `functions/<function>/handler.py` by its path (the names may hold dashes)."""
    path = FUNCTIONS / function / "handler.py"
    spec = importlib.util.spec_from_file_location(f"{function.replace('-', '_')}_handler", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hello = load_handler("hello")
href_counter = load_handler("href-counter")


def count(html: str, page_url: str | None = None) -> dict[str, int]:
    """Count the links of `html` with the href-counter handler."""
    result: dict[str, int] = href_counter.count_links(html, page_url)
    return result


# hello


def test_hello_greets_the_body() -> None:
    assert hello.greet("Alice") == "Hello, Alice!\n"


def test_hello_trims_the_trailing_newline() -> None:
    assert hello.greet("Alice\n") == "Hello, Alice!\n"


@pytest.mark.parametrize("body", ["", "\n", "  "])
def test_hello_greets_world_on_an_empty_body(body: str) -> None:
    assert hello.greet(body) == "Hello, world!\n"


# href-counter

PAGE = "https://example.com/page"


def test_href_counter_relative_links_are_internal() -> None:
    html = '<a href="/about">a</a><a href="docs/">b</a><a href="?page=2">c</a><a href="../up">d</a>'
    assert count(html, PAGE) == {"internal": 4, "external": 0}


def test_href_counter_fragment_and_same_page_links_are_internal() -> None:
    assert count('<a href="#top">top</a><a href="">here</a>', PAGE) == {
        "internal": 2,
        "external": 0,
    }


def test_href_counter_same_host_is_internal_other_host_external() -> None:
    html = (
        '<a href="https://example.com/blog">same</a>'
        '<a href="HTTP://EXAMPLE.COM:8080/x">same host, other case and port</a>'
        '<a href="//example.com/y">protocol-relative</a>'
        '<a href="https://www.example.com/">subdomain</a>'
        '<a href="https://github.com/">other</a>'
    )
    assert count(html, PAGE) == {"internal": 3, "external": 2}


def test_href_counter_skips_mailto_javascript_and_tel() -> None:
    html = (
        '<a href="mailto:me@example.com">m</a><a href="JavaScript:void(0)">j</a>'
        '<a href="tel:+15551234">t</a><a href="/kept">k</a>'
    )
    assert count(html, PAGE) == {"internal": 1, "external": 0}


def test_href_counter_ignores_anchors_without_href_and_other_tags() -> None:
    html = '<a name="x">x</a><link href="/style.css"><img src="/a.png"><area href="/map">'
    assert count(html, PAGE) == {"internal": 0, "external": 0}


def test_href_counter_uses_base_href_without_a_page_url() -> None:
    html = (
        '<head><base href="https://example.com/"></head>'
        '<a href="https://example.com/a">a</a><a href="https://other.org/">b</a><a href="c">c</a>'
    )
    assert count(html) == {"internal": 2, "external": 1}


def test_href_counter_page_url_wins_over_base_href() -> None:
    html = '<base href="https://other.org/"><a href="https://example.com/a">a</a>'
    assert count(html, PAGE) == {"internal": 1, "external": 0}


def test_href_counter_without_a_host_only_relative_links_are_internal() -> None:
    html = '<a href="/a">a</a><a href="#b">b</a><a href="https://example.com/">c</a>'
    assert count(html) == {"internal": 2, "external": 1}


def test_href_counter_reads_entity_encoded_and_self_closing_links() -> None:
    html = '<a href="https://example.com/?a=1&amp;b=2"/><A HREF=" /spaced ">x</A>'
    assert count(html, PAGE) == {"internal": 2, "external": 0}


def test_href_counter_main_prints_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = b'<a href="https://example.com/x">x</a><a href="/y">y</a>'
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(page)))
    monkeypatch.setenv("Http_X_Page_Url", PAGE)
    href_counter.main()
    assert capsys.readouterr().out == '{"internal": 2, "external": 0}\n'


# wc


@pytest.mark.skipif(not Path("/bin/sh").exists(), reason="needs /bin/sh")
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"one two\nthree\nfour five\n", "3 5 24\n"),
        (b"no newline", "0 2 10\n"),
        (b"", "0 0 0\n"),
    ],
)
def test_wc_counts_lines_words_bytes(body: bytes, expected: str) -> None:
    result = subprocess.run(
        ["/bin/sh", str(FUNCTIONS / "wc" / "handler.sh")],
        input=body,
        capture_output=True,
        check=True,
        timeout=10,
    )
    assert result.stdout.decode() == expected
