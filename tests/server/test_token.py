"""Join-request validation and token contents (no server needed)."""

from __future__ import annotations

import re
from typing import Any

import jwt
import pytest
from livekit import api

from roomscribe import protocol
from roomscribe.server.token import JoinError, mint_token, validate_join
from roomscribe.settings.livekit import LiveKitSettings

SETTINGS = LiveKitSettings(url="ws://127.0.0.1:7880", api_key="key", api_secret="s" * 32)

USER_GRANTS = {
    "roomJoin": True,
    "room": "standup",
    "canSubscribe": True,
    "canPublish": True,
    "canPublishSources": ["microphone", "screen_share_audio"],
    "canPublishData": False,
    # no renaming (issue 34): the name in the captions is the one issued here
    "canUpdateOwnMetadata": False,
}
"""Exactly what a web-client token grants (issues 13, 34): nothing else."""


def payload(token: str) -> dict[str, Any]:
    api.TokenVerifier(SETTINGS.api_key, SETTINGS.api_secret).verify(token)  # signed by us
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_valid_join_is_normalized_and_the_server_picks_the_identity() -> None:
    join = validate_join(" standup_2 ", "  Ada Lovelace ")
    assert join.room == "standup_2"
    assert join.name == "Ada Lovelace"
    assert re.fullmatch(r"Ada-Lovelace-[0-9a-f]{8}", join.identity)


def test_generated_identities_differ_and_never_are_the_agents() -> None:
    assert validate_join("r", "Ada").identity != validate_join("r", "Ada").identity
    assert validate_join("r", "!!!").identity.startswith("guest-")
    for name in (protocol.AGENT_IDENTITY, protocol.AGENT_NAME):
        assert validate_join("r", name).identity != protocol.AGENT_IDENTITY


@pytest.mark.parametrize(
    ("room", "name", "message"),
    [
        ("", "Ada", "room"),
        ("a b", "Ada", "room"),
        ("x" * 65, "Ada", "room"),
        ("../etc", "Ada", "room"),
        ("roomscribe-workers", "Ada", "reserved"),  # the workers' own room
        ("r", "   ", "name must be 1-64 characters"),
        ("r", "n" * 65, "name must be 1-64 characters"),
        ("r", "Ada\u200bLovelace", "invisible characters"),
        ("r", "Ada\u202eecalevol", "invisible characters"),  # right-to-left override
        ("r", "Ada\nLovelace", "control"),
    ],
)
def test_invalid_joins_are_rejected(room: str, name: str, message: str) -> None:
    with pytest.raises(JoinError, match=message) as info:
        validate_join(room, name)
    assert info.value.status == 400


def test_token_grants_exactly_the_least_privileges() -> None:
    join = validate_join("standup", "Ada")
    claims = payload(mint_token(SETTINGS, join, dispatch_agent=False))
    assert claims["video"] == USER_GRANTS
    assert claims["sub"] == join.identity
    assert claims["name"] == "Ada"
    assert claims["exp"] - claims["nbf"] == 600  # 10 minutes
    assert set(claims) <= {"sub", "iss", "nbf", "exp", "name", "video"}


def test_token_that_creates_the_room_dispatches_the_agent() -> None:
    claims = payload(mint_token(SETTINGS, validate_join("standup", "Ada"), dispatch_agent=True))
    assert claims["video"] == USER_GRANTS
    assert claims["roomConfig"] == {"agents": [{"agentName": protocol.AGENT_NAME}]}
    assert set(claims) <= {"sub", "iss", "nbf", "exp", "name", "video", "roomConfig"}
