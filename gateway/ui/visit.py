"""One request to the dashboard, as its views see it."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import FormData

from gateway.state import Gateway
from gateway.ui.session import Session


@dataclass(frozen=True)
class Visit:
    """One request to the dashboard: the services, the session and, for an action, its form."""

    gw: Gateway
    session: Session
    form: FormData | None = None

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else default
