"""The templates `faas new` scaffolds a function from: one handler folder per language.

Each template is a few files whose text is a `string.Template` over `$name`; every Dockerfile
starts FROM a local base image, so a new function builds offline.
"""

from __future__ import annotations

from string import Template

PYTHON_DOCKERFILE = """\
FROM faas/base-python:bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1

COPY handler.py /app/handler.py

USER 65534:65534

CMD ["python3", "/app/handler.py"]
"""

PYTHON_HANDLER = '''\
"""The $name function: reads the request body on stdin and answers on stdout."""

from __future__ import annotations

import sys


def handle(body: str) -> str:
    """Return the answer to a request body."""
    return f"Hello, you said: {body}"


def main() -> None:
    body = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    sys.stdout.write(handle(body))


if __name__ == "__main__":
    main()
'''

SHELL_DOCKERFILE = """\
FROM faas/base-busybox:latest

COPY handler.sh /app/handler.sh

USER 65534:65534

CMD ["/bin/sh", "/app/handler.sh"]
"""

SHELL_HANDLER = """\
#!/bin/sh
# The $name function: reads the request body on stdin and answers on stdout.
set -eu

cat
"""

DOCKERFILE = """\
# The $name function: any process that reads the request body on stdin and answers on stdout.
FROM faas/base-busybox:latest

USER 65534:65534

CMD ["cat"]
"""

TEMPLATES: dict[str, dict[str, str]] = {
    "python3": {"Dockerfile": PYTHON_DOCKERFILE, "handler.py": PYTHON_HANDLER},
    "shell": {"Dockerfile": SHELL_DOCKERFILE, "handler.sh": SHELL_HANDLER},
    "dockerfile": {"Dockerfile": DOCKERFILE},
}
LANGUAGES = tuple(TEMPLATES)


def render(lang: str, name: str) -> dict[str, str]:
    """The files of the language's template for a function: file name -> text."""
    return {file: Template(text).substitute(name=name) for file, text in TEMPLATES[lang].items()}
