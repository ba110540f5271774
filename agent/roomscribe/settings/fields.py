"""How a setting is declared: :func:`setting`, the flag groups, the value types.

Every part of :class:`~roomscribe.settings.Settings` (``settings/asr.py``,
``access.py``, ...) declares its fields with :func:`setting`, which keeps with
the field what its flag needs; :func:`~roomscribe.settings.add_settings` reads
it back from there.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError
from pydantic_settings import NoDecode

CHECKOUT = Path(__file__).resolve().parents[3]
"""The source checkout (``web-client/dist`` and ``bin/livekit-server`` live there)."""

SHOWN = 60
"""Longest value quoted back in a message."""

GROUPS = {
    "asr": "speech recognition",
    "livekit": "LiveKit",
    "web": "web server",
    "https": "HTTPS",
    "access": "access control (POST /api/token and /api/offer)",
    "worker": "agent worker",
    "store": "transcript store",
    "dev": "roomscribe dev",
    "embedded": "embedded mode (direct WebRTC, no LiveKit)",
}
"""The flag groups of ``--help``; a command takes whole groups
(:func:`~roomscribe.settings.add_settings`)."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    group: str,
    flag: str = "",
    metavar: str = "",
    repeat: bool = False,
    **checks: Any,
) -> Any:
    """A field of :class:`~roomscribe.settings.Settings` with what its flag needs:
    ``help`` (the variable is appended), its ``group`` (a key of :data:`GROUPS`), a
    ``flag`` not spelled ``--<field-with-dashes>``, a ``metavar``, ``repeat`` (given
    once per value)."""
    if group not in GROUPS:
        raise KeyError(group)
    extra: dict[str, Any] = {"group": group, "flag": flag, "metavar": metavar, "repeat": repeat}
    if default is not dataclasses.MISSING:
        checks["default"] = default
    return Field(description=help, json_schema_extra=extra, **checks)


def default_of(options: type[Any], name: str) -> Any:
    """The default of dataclass field ``name``: written once, with its options."""
    for f in dataclasses.fields(options):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            raise TypeError(f"{options.__name__}.{name} has no plain default")
    raise AttributeError(f"{options.__name__} has no field {name!r}")


class SettingsError(ValueError):
    """A setting with a value that does not fit; the message is for the user."""


# -- value types -----------------------------------------------------------------------


def _comma_list(value: object) -> object:
    """``"a, b,,c"`` -> ``("a", "b", "c")``; lists (repeated flags) pass through."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _expand(path: Path) -> Path:
    return path.expanduser()


def _duration(value: object) -> object:
    """``"24h"``, ``"90m"``, ``"7d"``, ``"3600"`` (seconds) -> seconds."""
    if isinstance(value, str):
        found = _DURATION.fullmatch(value)
        if found is None:
            raise PydanticCustomError("duration", "expected a duration like 24h, 90m, 7d or 3600")
        return float(found.group(1)) * _UNIT_S[found.group(2).lower()]
    return value


Duration = Annotated[float, BeforeValidator(_duration), Field(gt=0)]
"""Seconds; in the environment also ``24h``, ``90m``, ``7d``."""
CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)]
"""Comma-separated in the environment (not JSON, pydantic-settings' default)."""
UserPath = Annotated[Path, AfterValidator(_expand)]
Port = Annotated[int, Field(ge=0, le=65535)]
