"""Unit tests of faas.serving: how the servers run."""

import asyncio
import gc

from faas import serving


def test_a_server_runs_on_uvloop_with_the_collector_tuned() -> None:
    saved = gc.get_threshold()

    async def main() -> tuple[str, tuple[int, int, int]]:
        return type(asyncio.get_running_loop()).__module__, gc.get_threshold()

    try:
        loop_module, threshold = serving.run(main())
        assert loop_module.startswith("uvloop")
        assert threshold == (serving.YOUNG_COLLECTION, 10, 10)
        assert gc.get_freeze_count() > 0  # what was there at start is out of the collector's way
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
