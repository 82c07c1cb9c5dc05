"""Deployed functions, shared by every gateway replica through a NATS key-value bucket."""

from __future__ import annotations

import json
from dataclasses import replace

from faas.spec import FunctionSpec
from gateway.errors import FunctionNotFound
from gateway.kvcache import BucketCache


class Registry:
    """Function specs by name, read from a local copy kept current by a watcher."""

    def __init__(self, cache: BucketCache) -> None:
        self.cache = cache
        self._parsed: dict[str, tuple[bytes, FunctionSpec]] = {}

    def get(self, name: str) -> FunctionSpec:
        raw = self.cache.values.get(name)
        if raw is None:
            raise FunctionNotFound(name)
        parsed = self._parsed.get(name)
        if parsed is None or parsed[0] is not raw:  # parse each stored value once
            spec = FunctionSpec.from_json(json.loads(raw))
            parsed = raw, replace(spec, revision=self.cache.revisions.get(name, 0))
            self._parsed[name] = parsed
        return parsed[1]

    def __contains__(self, name: object) -> bool:
        return name in self.cache.values

    async def deployed(self, name: str) -> bool:
        """Whether the function is in the bucket now, whatever this gateway's copy says."""
        return await self.cache.stored(name) is not None

    def names(self) -> list[str]:
        return sorted(self.cache.values)

    def all(self) -> list[FunctionSpec]:
        return [self.get(name) for name in self.names()]

    async def deploy(self, spec: FunctionSpec) -> None:
        """Create or replace; a replaced function keeps its creation time."""
        existing = self.cache.values.get(spec.name)
        created = json.loads(existing).get("createdAt") if existing else None
        await self._put(spec.with_created_at(created))

    async def update(self, spec: FunctionSpec) -> None:
        """Replace; the function keeps its creation time and its replicas, as set by `scale`."""
        previous = self.get(spec.name)
        await self._put(replace(spec, created_at=previous.created_at, replicas=previous.replicas))

    async def scale(self, name: str, replicas: int) -> None:
        await self._put(replace(self.get(name), replicas=replicas))

    async def remove(self, name: str) -> None:
        self.get(name)
        await self.cache.delete(name)
        self._parsed.pop(name, None)

    async def _put(self, spec: FunctionSpec) -> None:
        await self.cache.put(spec.name, json.dumps(spec.to_json()).encode())
