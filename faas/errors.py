"""The package's exception tree: one shallow hierarchy under `Error`."""

from __future__ import annotations


class Error(Exception):
    """Base of every error this project raises on purpose."""


class WireError(Error, ValueError):
    """A message on the bus could not be decoded."""


class SpecError(Error, ValueError):
    """A function deployment is invalid."""


class StackError(Error, ValueError):
    """A stack file is malformed; carries the file, the line and what is wrong."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


class GatewayError(Error):
    """The gateway answered a CLI request with an error status."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status}: {message}" if message else f"HTTP {status}")


class Unauthorized(GatewayError):
    """The gateway wants credentials the CLI did not send, or refused the ones it sent."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        super().__init__(401, f"unauthorized: run faas login --gateway {gateway}")

    def __str__(self) -> str:
        return self.message
