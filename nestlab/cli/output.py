"""Printing results: readable tables by default, JSON or YAML for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence

import yaml
from rich.console import Console
from rich.table import Table


class Output:
    def __init__(self, fmt: str = "table", color: bool = True):
        self.fmt = fmt
        self.console = Console(no_color=not color, highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, no_color=not color, highlight=False)

    def data(self, value, columns: Sequence[tuple[str, str]] = (), title: str | None = None):
        """Print `value` (a dict or a list of dicts); `columns` = (key path, header)."""
        if self.fmt == "json":
            self.console.print_json(json.dumps(value, default=str))
        elif self.fmt == "yaml":
            self.console.print(yaml.safe_dump(value, sort_keys=False, default_flow_style=False),
                               end="")
        elif isinstance(value, list):
            self.table(value, columns, title)
        else:
            self.record(value, columns)

    def table(self, rows: list[dict], columns, title=None) -> None:
        table = Table(title=title, header_style="bold")
        for _, header in columns:
            table.add_column(header)
        for row in rows:
            table.add_row(*(cell(row, key) for key, _ in columns))
        self.console.print(table)

    def record(self, value: dict, columns) -> None:
        width = max((len(header) for _, header in columns), default=0)
        for key, header in columns:
            self.console.print(f"[bold]{header:<{width}}[/bold]  {cell(value, key)}")

    def say(self, message: str) -> None:
        self.err.print(message)

    def error(self, message: str) -> None:
        self.err.print(f"[red]error:[/red] {message}")


def cell(row: dict, key: str) -> str:
    value = row
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
