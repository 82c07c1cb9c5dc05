"""Greet the name in the request body: `Hello, <body>!`, or `Hello, world!` when it is empty."""

from __future__ import annotations

import sys


def greet(body: str) -> str:
    """Return the greeting for a request body, with a trailing newline."""
    name = body.strip() or "world"
    return f"Hello, {name}!\n"


def main() -> None:
    """Read the request body on stdin and write the greeting to stdout."""
    body = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    sys.stdout.write(greet(body))


if __name__ == "__main__":
    main()
