"""Count the internal and external `<a href>` links of the HTML page in the request body."""

from __future__ import annotations

import json
import os
import sys
from html.parser import HTMLParser
from urllib.parse import urlsplit

# Links to these schemes are not links to pages, so they are not counted.
SKIPPED_SCHEMES = frozenset({"mailto", "javascript", "tel"})
PAGE_URL_ENV = "Http_X_Page_Url"


class LinkParser(HTMLParser):
    """Collect the `href` of every `<a>` and the first `<base href>` of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record `<a href>` links and the first `<base href>`."""
        href = dict(attrs).get("href")
        if href is None:
            return
        if tag == "a":
            self.hrefs.append(href.strip())
        elif tag == "base" and self.base is None:
            self.base = href.strip()


def host_of(url: str | None) -> str | None:
    """Return the lower-case host name of an absolute URL, or None if it has none."""
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def classify(href: str, host: str | None) -> str | None:
    """Say whether a link is `internal` or `external`, or None if it is not counted."""
    try:
        parts = urlsplit(href)
    except ValueError:
        return "external"
    if parts.scheme in SKIPPED_SCHEMES:
        return None
    if not parts.scheme and not parts.netloc:
        return "internal"
    link_host = parts.hostname.rstrip(".") if parts.hostname else None
    return "internal" if host is not None and link_host == host else "external"


def count_links(html: str, page_url: str | None) -> dict[str, int]:
    """Count a page's internal and external links; the page's host is taken from `page_url`."""
    parser = LinkParser()
    parser.feed(html)
    parser.close()
    host = host_of(page_url) or host_of(parser.base)
    counts = {"internal": 0, "external": 0}
    for href in parser.hrefs:
        kind = classify(href, host)
        if kind is not None:
            counts[kind] += 1
    return counts


def main() -> None:
    """Read an HTML page on stdin and write its link counts as JSON to stdout."""
    html = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    page_url = os.environ.get(PAGE_URL_ENV) or None
    sys.stdout.write(json.dumps(count_links(html, page_url)) + "\n")


if __name__ == "__main__":
    main()
