"""The stores under test: SQLite in a tmp dir, and a real ``redis-server`` per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from roomscribe.store import RecordOptions, TranscriptStore, open_store
from tests.fixtures.redis import RedisServer, running_redis


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    tmp = tmp_path_factory.mktemp("redis")
    with running_redis(tmp, tmp / "redis.log") as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The module's Redis, emptied for this test."""
    redis.Redis.from_url(redis_server.url).flushdb()
    return redis_server.url


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TranscriptStore]:
    """Each kind of store, created and empty."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    s = open_store(RecordOptions(tmp_path / "data", redis_url=url))
    s.create()
    yield s
    s.close()
