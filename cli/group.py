"""A click group whose commands are listed in the order added, some with aliases (`ls`)."""

from __future__ import annotations

from typing import Any

import click


class Group(click.Group):
    """Commands in the order they were added, as a reader meets them; aliases beside names."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aliases: dict[str, click.Command] = {}

    def add(self, command: click.Command, *aliases: str) -> None:
        """Add the command, also answering to the aliases."""
        self.add_command(command)
        self.aliases.update(dict.fromkeys(aliases, command))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.aliases.get(cmd_name) or super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        shown = [
            (self._title(name, cmd), cmd) for name, cmd in self.commands.items() if not cmd.hidden
        ]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(title) for title, _ in shown)
        with formatter.section("Commands"):
            formatter.write_dl([(title, cmd.get_short_help_str(limit)) for title, cmd in shown])

    def _title(self, name: str, command: click.Command) -> str:
        """`list (ls)`: the name, with its aliases if it has some."""
        aliases = [alias for alias, target in self.aliases.items() if target is command]
        return f"{name} ({', '.join(aliases)})" if aliases else name
