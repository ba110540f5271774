"""Flags and environment defaults of embedded mode (``roomscribe serve``)."""

from __future__ import annotations

import argparse

import pytest

from roomscribe.commands import serve as command
from roomscribe.settings import SettingsError, load_settings
from roomscribe.settings.embedded import EmbeddedOptions


def parse(*argv: str) -> EmbeddedOptions:
    defaults = load_settings()
    parser = argparse.ArgumentParser()
    command.add_arguments(parser, defaults)
    return defaults.with_flags(vars(parser.parse_args(argv))).embedded()


def test_defaults_match_the_dataclass(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MAX_SESSIONS", "IDLE_TIMEOUT", "CONNECT_TIMEOUT", "MAX_SDP_BYTES", "ICE_SERVERS"):
        monkeypatch.delenv(f"ROOMSCRIBE_{name}", raising=False)
    assert parse() == EmbeddedOptions()


def test_environment_then_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOMSCRIBE_MAX_SESSIONS", "2")
    monkeypatch.setenv("ROOMSCRIBE_IDLE_TIMEOUT", "7.5")
    monkeypatch.setenv("ROOMSCRIBE_ICE_SERVERS", "stun:a.example:3478, stun:b.example")
    opts = parse("--connect-timeout", "3")
    assert opts.max_sessions == 2
    assert opts.idle_timeout == 7.5
    assert opts.connect_timeout == 3.0
    assert opts.ice_servers == ("stun:a.example:3478", "stun:b.example")
    assert parse("--ice-server", "stun:c.example").ice_servers == ("stun:c.example",)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-sessions", "0"], "--max-sessions='0': expected at least 1"),
        (["--idle-timeout", "0"], "--idle-timeout='0': expected more than 0"),
        (["--max-sdp-bytes", "100"], "at least 1024"),
    ],
)
def test_invalid_values_exit_with_a_message(argv: list[str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse(*argv)
