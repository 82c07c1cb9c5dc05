"""A dashboard left open while the control path is loaded: what its browser tab asks for.

The overview refreshes every 3 s and the calls list every 2 s (gateway/ui/templates), each a
fragment request with the tab's session cookie; this does the same from a thread.
"""

from __future__ import annotations

import threading
from types import TracebackType

import httpx

POLLS = (("/ui/", 3.0), ("/ui/calls", 2.0))  # what the pages' live regions fetch, how often


class OpenDashboard:
    """Polls the dashboard's live regions until the block ends; counts answers and failures."""

    def __init__(self, gateway_url: str) -> None:
        self.http = httpx.Client(base_url=gateway_url, timeout=30)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._poll, args=p, daemon=True) for p in POLLS]
        self.answers = 0
        self.failures: list[str] = []

    def __enter__(self) -> OpenDashboard:
        self.http.get("/ui/").raise_for_status()  # the session cookie, and the call index built
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        self.http.close()

    def _poll(self, path: str, every: float) -> None:
        while not self.stop.wait(every):
            try:
                answer = self.http.get(path, headers={"X-Fragment": "1"})
            except httpx.HTTPError as exc:
                self.failures.append(f"{path}: {exc}")
                continue
            if answer.status_code == 200:
                self.answers += 1
            else:
                self.failures.append(f"{path}: {answer.status_code}")
