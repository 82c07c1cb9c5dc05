"""A key-value bucket whose reads cost less: the latest value of a key in one request to the
stream's message API, its headers read for the delete marker alone.

nats-py's `KeyValue.get` parses a message's headers with the `email` package and builds a
dataclass of the whole answer; a tenth of a watchdog's CPU while it drained async calls went
there (py-spy). Everything but `get` is nats-py's own.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import APIError, InvalidKeyError, KeyNotFoundError
from nats.js.kv import KeyValue

KEY = re.compile(r"[-/_=.a-zA-Z0-9]+")  # what NATS allows in a key
API_TIMEOUT = 5.0  # seconds, as nats-py's default for JetStream requests
NOT_FOUND = 404
DELETED = (b"DEL", b"PURGE")  # KV-Operation of a key's delete marker


class QuickReads(KeyValue):
    def __init__(self, nc: Client, js: JetStreamContext, bucket: str) -> None:
        super().__init__(
            name=bucket, stream=f"KV_{bucket}", pre=f"$KV.{bucket}.", js=js, direct=False
        )
        self.nc = nc
        self.bucket = bucket

    async def get(
        self, key: str, revision: int | None = None, validate_keys: bool = True
    ) -> KeyValue.Entry:
        """The key's latest entry (one at `revision` as nats-py reads it); KeyNotFoundError
        when it has none or was deleted, InvalidKeyError for a key NATS cannot hold."""
        if revision is not None:
            return await super().get(key, revision, validate_keys)
        if not KEY.fullmatch(key) or key.startswith(".") or key.endswith("."):
            raise InvalidKeyError
        message = await last_message(self.nc, self.bucket, f"$KV.{self.bucket}.{key}")
        if message is None:
            raise KeyNotFoundError
        return KeyValue.Entry(
            bucket=self.bucket,
            key=key,
            value=base64.b64decode(data) if (data := message.get("data")) else None,  # as nats-py
            revision=int(message["seq"]),
            delta=None,
            created=None,
            operation=None,
        )


async def last_key(nc: Client, bucket: str, pattern: str) -> str | None:
    """The bucket's latest stored key that `pattern` matches (NATS wildcards: `*` for one
    token), None when there is none or it was deleted. Quick with a wildcard near the start
    of few values (the server walks its subject tree), slow with one that matches all keys."""
    prefix = f"$KV.{bucket}."
    message = await last_message(nc, bucket, prefix + pattern)
    return None if message is None else str(message["subject"]).removeprefix(prefix)


async def last_message(nc: Client, bucket: str, subject: str) -> dict[str, Any] | None:
    """The stream's last message on `subject` as its message API answers, None when there is
    none or it marks a delete; errors raised as nats-py raises them."""
    reply = await nc.request(
        f"$JS.API.STREAM.MSG.GET.KV_{bucket}",
        json.dumps({"last_by_subj": subject}).encode(),
        timeout=API_TIMEOUT,
    )
    answer = json.loads(reply.data)
    if error := answer.get("error"):
        if error.get("code") == NOT_FOUND:
            return None
        APIError.from_error(error)  # raises the error of its code, as nats-py's get
        raise APIError(description=str(error))  # not reached
    message: dict[str, Any] = answer["message"]
    if message.get("hdrs") and _deleted(base64.b64decode(message["hdrs"])):
        return None
    return message


def _deleted(headers: bytes) -> bool:
    """Whether NATS headers (`NATS/1.0` and `Name: value` lines) mark a delete or a purge."""
    for line in headers.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"kv-operation" and value.strip() in DELETED:
            return True
    return False
