"""The cluster's images (faas.images) for the image store, which runs in worker threads:
each request runs on the watchdog's event loop, where its NATS connection lives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from io import BufferedIOBase
from typing import IO, Any, TypeVar, cast

from faas.errors import Error
from faas.images import ImageBank, ImageConfig

T = TypeVar("T")
LOOKUP_WAIT = 30.0
FETCH_WAIT = 600.0  # seconds for one image, however large


class ClusterImages:
    """Usable once `attach`ed; until then (NATS not connected yet) every request fails."""

    def __init__(self) -> None:
        self._bank: ImageBank | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.confinement: dict[str, Any] | None = None  # read from Docker here: to publish

    async def attach(self, bank: ImageBank) -> None:
        """Serve requests through `bank` on the running loop; publish the confinement this
        host's Docker gave, for hosts without Docker."""
        self._bank, self._loop = bank, asyncio.get_running_loop()
        if self.confinement is not None:
            await bank.put_confinement(self.confinement)

    def resolve(self, image: str) -> ImageConfig | None:
        found = self._run(lambda bank: bank.resolve(image), LOOKUP_WAIT)
        return found.config if found else None

    def fetch(self, image_id: str, into: IO[bytes]) -> int:
        """Write the image's tar into `into`; its size. ImageCorrupt on a bad digest."""
        stored = self._run(
            lambda bank: bank.fetch(image_id, cast(BufferedIOBase, into)), FETCH_WAIT
        )
        return stored.size

    def _run(self, request: Callable[[ImageBank], Coroutine[Any, Any, T]], wait: float) -> T:
        if self._bank is None or self._loop is None:
            raise Error("the watchdog is not connected to NATS yet")
        future = asyncio.run_coroutine_threadsafe(request(self._bank), self._loop)
        try:
            return future.result(wait)
        except TimeoutError:
            future.cancel()
            raise Error(f"the cluster did not answer within {wait:g}s") from None
