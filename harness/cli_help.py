"""How ``--help`` shows a parameter: by the name of what it takes (``--set KEY=VALUE``, ``--only NAME``,
``--dapr VERSION|DIR``), never by a Python type.

typer 0.29 prints a type after every parameter: ``<bool>`` after a flag (``--help`` and ``--version`` too),
``<path>`` after an argument whose name column already says what it is, ``<list[str]>`` after a repeatable option.
``plain_help()`` makes a flag show nothing there, an argument nothing (its metavar is its name: ``SCENARIO``) and an
option what it always showed when it has a metavar. So every onceonly option that takes a value names one (the
``metavar=`` of ``harness.cli_options`` and ``harness.cli``); ``tests/unit/test_cli_help.py`` renders every
command's help and fails on a ``<type>`` rendering.
"""

from __future__ import annotations

from collections.abc import Callable

from typer.core import TyperArgument, TyperOption

try:  # typer >= 0.26 vendors click as typer._click
    from typer._click import Context
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import Context  # type: ignore[assignment]

_option_type: Callable[[TyperOption, Context], str | None] = TyperOption.display_type_rich


def _shown_option_type(self: TyperOption, ctx: Context) -> str | None:
    """A flag takes no value, so it shows none; an option with a value shows its metavar (typer's own rule)."""
    if self.is_flag and not self.count:
        return None
    return _option_type(self, ctx)


def _shown_argument_type(self: TyperArgument, ctx: Context) -> str | None:
    """An argument's name column is its metavar (``SCENARIO``, ``RUN_DIR``): nothing after it."""
    return None


def plain_help() -> None:
    """Render help as described above, for every typer command of this process (idempotent)."""
    TyperOption.display_type_rich = _shown_option_type  # type: ignore[method-assign]
    TyperArgument.display_type_rich = _shown_argument_type  # type: ignore[method-assign, assignment]
