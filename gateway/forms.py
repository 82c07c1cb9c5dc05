"""Deploy bodies sent as HTML form fields, as `requests.post(url, data=dict)` sends them.

The Airflow OpenFaaS provider deploys that way. Flat fields map one to one (`service`,
`image`, `envProcess`, ...); repeated fields make lists (`secrets`, `constraints`); and
`envVars[KEY]=value` (likewise `labels`, `annotations`, `limits`, `requests`) makes maps.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from gateway.errors import BadRequest

FORM_TYPE = "application/x-www-form-urlencoded"
_LISTS = {"secrets", "constraints"}
_MAPS = {"envVars", "labels", "annotations", "limits", "requests"}
_FLAGS = {"readOnlyRootFilesystem"}
_ITEM = re.compile(r"^(\w+)\[([^\[\]]+)\]$")


def is_form(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == FORM_TYPE


def deployment(raw: bytes) -> dict[str, Any]:
    """The deploy body as the JSON object it stands for."""
    try:
        fields = parse_qsl(raw.decode(), keep_blank_values=True, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"the form body does not parse: {exc}") from exc
    body: dict[str, Any] = {}
    for key, value in fields:
        item = _ITEM.fullmatch(key)
        if item and item[1] in _MAPS:
            body.setdefault(item[1], {})[item[2]] = value
        elif key in _LISTS:
            body.setdefault(key, []).append(value)
        elif key in _FLAGS:
            body[key] = _flag(key, value)
        elif key in body:
            raise BadRequest(f"form field {key!r} is given twice")
        else:
            body[key] = value
    return body


def _flag(key: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise BadRequest(f"form field {key!r} must be true or false, not {value!r}")
    return value.lower() == "true"
