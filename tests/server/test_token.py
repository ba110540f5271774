"""Join-request validation and token contents (no server needed)."""

from __future__ import annotations

import pytest
from livekit import api

from roomscribe import protocol
from roomscribe.server.token import IDENTITY_PATTERN, JoinError, mint_token, validate_join
from roomscribe.settings import LiveKitSettings

SETTINGS = LiveKitSettings(url="ws://127.0.0.1:7880", api_key="key", api_secret="s" * 32)


def test_valid_join_is_normalized() -> None:
    join = validate_join(" standup_2 ", "  Ada Lovelace ", None)
    assert join.room == "standup_2"
    assert join.name == "Ada Lovelace"
    assert join.identity.startswith("Ada-Lovelace-")
    assert IDENTITY_PATTERN.fullmatch(join.identity)
    assert validate_join("r", "Ada", "ada@home").identity == "ada@home"


def test_generated_identities_differ() -> None:
    assert validate_join("r", "Ada").identity != validate_join("r", "Ada").identity
    assert validate_join("r", "!!!").identity.startswith("guest-")


@pytest.mark.parametrize(
    ("room", "name", "identity", "message"),
    [
        ("", "Ada", None, "room"),
        ("a b", "Ada", None, "room"),
        ("x" * 65, "Ada", None, "room"),
        ("../etc", "Ada", None, "room"),
        ("r", "   ", None, "name"),
        ("r", "n" * 65, None, "name"),
        ("r", "Ada", "bad identity", "identity"),
        ("r", "Ada", protocol.AGENT_IDENTITY, "reserved"),
    ],
)
def test_invalid_joins_are_rejected(
    room: str, name: str, identity: str | None, message: str
) -> None:
    with pytest.raises(JoinError, match=message) as info:
        validate_join(room, name, identity)
    assert info.value.status == 400


def test_token_grants_and_agent_dispatch() -> None:
    join = validate_join("standup", "Ada", "ada")
    claims = api.TokenVerifier(SETTINGS.api_key, SETTINGS.api_secret).verify(
        mint_token(SETTINGS, join, dispatch_agent=True)
    )
    assert claims.identity == "ada"
    assert claims.name == "Ada"
    assert claims.video is not None
    assert claims.video.room_join
    assert claims.video.room == "standup"
    assert claims.video.can_publish
    assert claims.video.can_subscribe
    assert claims.video.can_publish_data
    assert claims.video.can_update_own_metadata
    assert claims.room_config is not None
    assert [a.agent_name for a in claims.room_config.agents] == [protocol.AGENT_NAME]


def test_token_without_dispatch_has_no_room_config() -> None:
    join = validate_join("standup", "Ada", "ada")
    claims = api.TokenVerifier(SETTINGS.api_key, SETTINGS.api_secret).verify(
        mint_token(SETTINGS, join, dispatch_agent=False)
    )
    assert claims.room_config is None or not claims.room_config.agents
