"""Every setting of every command, in one typed place: name, default, check, help.

:class:`Settings` reads the environment (``.env`` is loaded into it by the
CLI): ``ROOMSCRIBE_<FIELD>`` for ours, ``LIVEKIT_URL``, ``LIVEKIT_API_KEY``,
``LIVEKIT_API_SECRET`` and ``LIVEKIT_PUBLIC_URL`` for LiveKit's. Each setting
is also a flag (``--<field>``, see :func:`flag_name`): :func:`add_settings`
declares it from the field itself (help, choices, the environment's value as
default), and :meth:`Settings.with_flags` checks the flags given by the same
model. A value that does not fit is a :class:`SettingsError` naming the
variable or flag and what it expects, which the CLI prints as one line (exit 2).

:class:`Settings` is made of one part per concept, each a module holding its
fields (name, default, check, help), the options its component takes and the
one method that builds those options from the settings (and nothing else does):

- ``livekit.py``: the server's URL and keys, the dev binary -> ``LiveKitSettings``;
- ``asr.py``: the model, the shared engine, the revision pass -> ``AsrOptions``;
- ``web.py``: the address and HTTPS of ``serve`` (and ``dev``);
- ``access.py``: passcode, proxies, hosts, origins, rate limits -> ``AccessOptions``;
- ``worker.py``: the agent's health endpoint, room key, test faults;
- ``store.py``: the transcript store and its retention -> ``RecordOptions``;
- ``embedded.py``: sessions without LiveKit -> ``EmbeddedOptions``.

``fields.py`` is how a field is declared (``setting()``, the flag groups, the
value types); this module puts the parts together and reads them from the
environment and the flags. A new setting goes into the part of its concept.
A default lives with the lowest module that needs it: the streaming core's
options (``asr/``, below this package) own theirs and settings read them; the
transports' options are defined here, so ``server/`` and ``livekit/`` import
them from below and this package imports neither (nor FastAPI or aiortc).
Nothing here reads the environment at import time: :func:`load_settings`
does, when the CLI calls it.
"""

from __future__ import annotations

import argparse
import typing
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from roomscribe.settings.access import AccessFields
from roomscribe.settings.asr import AsrFields
from roomscribe.settings.embedded import EmbeddedFields
from roomscribe.settings.fields import CHECKOUT, GROUPS, SHOWN, SettingsError
from roomscribe.settings.livekit import LiveKitFields
from roomscribe.settings.store import StoreFields
from roomscribe.settings.web import WebFields
from roomscribe.settings.worker import WorkerFields

__all__ = [
    "CHECKOUT",
    "Settings",
    "SettingsError",
    "add_settings",
    "env_name",
    "flag_name",
    "load_settings",
]


# pydantic orders the fields from the last base up: the parts are listed in reverse
# so that ``--help`` and the messages keep the order LiveKit, ASR, web, access, ...
class Settings(
    EmbeddedFields,
    StoreFields,
    WorkerFields,
    AccessFields,
    WebFields,
    AsrFields,
    LiveKitFields,
    BaseSettings,
):
    """The settings of every ``roomscribe`` command (one instance per process).

    Field ``max_streams`` is ``ROOMSCRIBE_MAX_STREAMS`` and ``--max-streams``;
    the LiveKit fields keep LiveKit's own variable names (their aliases).
    """

    model_config = SettingsConfigDict(
        env_prefix="ROOMSCRIBE_",
        env_ignore_empty=True,  # `NAME=` in .env means the default, as in .env.example
        extra="ignore",  # ROOMSCRIBE_EVAL_DIR, docker's ROOMSCRIBE_DOMAIN, ... are not ours
        frozen=True,
        # Only values given are checked: the defaults are ours (and test_config checks
        # them all); checking the rate limits' would import `limits` at every start.
        validate_default=False,
    )

    def with_flags(self, values: Mapping[str, object]) -> Settings:
        """These settings with the flags' values (``vars(args)``) in place, checked.

        A ``None`` value is a flag not given (``--ice-server``'s default).
        """
        fields = type(self).model_fields
        given = {
            name: value
            for name, value in values.items()
            if name in fields and value is not None and value != getattr(self, name)
        }
        if not given:
            return self
        data = self.model_dump()
        data.update(given)
        try:
            # Every field given by name: the environment, already checked, plays no part.
            return type(self)(**{_key(name): value for name, value in data.items()})
        except ValidationError as exc:
            raise _refusal(exc, flags=True) from None


def _refusal(exc: ValidationError, *, flags: bool = False) -> SettingsError:
    """One line per bad value: ``invalid setting NAME='value': expected ...``.

    ``flags``: the values came from flags (name those), not the environment.
    """
    lines = []
    for error in exc.errors():
        name = _field_of(error["loc"])
        where = flag_name(name) if flags else env_name(name)
        shown = repr(str(error["input"])[:SHOWN])
        lines.append(f"invalid setting {where}={shown}: {_expected(error)}")
    return SettingsError("\n".join(lines))


def load_settings() -> Settings:
    """The settings from the environment; a :class:`SettingsError` names each bad value."""
    try:
        return Settings()
    except ValidationError as exc:
        raise _refusal(exc) from None


def env_name(field: str) -> str:
    """``max_streams`` -> ``ROOMSCRIBE_MAX_STREAMS``; ``livekit_url`` -> ``LIVEKIT_URL``."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, str):
        return alias
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


def flag_name(field: str) -> str:
    """``max_streams`` -> ``--max-streams`` (``ice_servers`` -> ``--ice-server``)."""
    return _extra(field)["flag"] or "--" + field.replace("_", "-")


def add_settings(parser: argparse.ArgumentParser, defaults: Settings, *names: str) -> None:
    """Declare the flags of settings ``names``: each a group of :data:`GROUPS` (all its
    settings, under its title in ``--help``) or one field.

    A flag's default is ``defaults``' value and its help the field's, with its
    variable; a ``Literal`` gets its values as ``choices``, a ``bool`` is a switch.
    Values are checked afterwards, by :meth:`Settings.with_flags`, so no ``type``.
    """
    for name in names:
        if name in GROUPS:
            group = parser.add_argument_group(GROUPS[name])
            for field_name in Settings.model_fields:
                if _extra(field_name)["group"] == name:
                    _add_flag(group, defaults, field_name)
        else:
            _add_flag(parser, defaults, name)


def _add_flag(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, defaults: Settings, field: str
) -> None:
    info = Settings.model_fields[field]
    extra = _extra(field)
    kwargs: dict[str, Any] = {}
    if typing.get_origin(info.annotation) is Literal:
        kwargs["choices"] = typing.get_args(info.annotation)
    if info.annotation is bool:
        kwargs["action"] = "store_true"
    if extra["metavar"]:
        kwargs["metavar"] = extra["metavar"]
    if extra["repeat"]:
        kwargs["action"] = "append"  # given: replaces the variable's list
    parser.add_argument(
        flag_name(field),
        dest=field,
        default=None if extra["repeat"] else getattr(defaults, field),
        help=f"{info.description} [{env_name(field)}]".lstrip(),
        **kwargs,
    )


def _extra(field: str) -> dict[str, Any]:
    extra = Settings.model_fields[field].json_schema_extra
    assert isinstance(extra, dict), field  # every field is declared with setting()
    return extra


def _key(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else field


def _field_of(loc: tuple[int | str, ...]) -> str:
    first = str(loc[0]) if loc else ""
    for name, info in Settings.model_fields.items():
        if first in (name, info.validation_alias):
            return name
    return first


def _expected(error: Mapping[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind in ("int_parsing", "int_from_float"):
        return "expected an integer"
    if kind == "float_parsing":
        return "expected a number"
    if kind == "bool_parsing":
        return "expected 1 or 0 (or true/false, yes/no, on/off)"
    if kind == "greater_than_equal":
        return f"expected at least {ctx['ge']:g}"
    if kind == "greater_than":
        return f"expected more than {ctx['gt']:g}"
    if kind == "less_than_equal":
        return f"expected at most {ctx['le']:g}"
    if kind == "literal_error":
        return f"expected {ctx['expected']}"
    return str(error["msg"])
