"""A LiveKit cluster (Redis + two livekit-server nodes) per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.cluster import Cluster, running_cluster


@pytest.fixture(scope="module")
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[Cluster]:
    """Shared by one module's tests; logs are ``artifacts/<module>-node-N.log``."""
    prefix = request.module.__name__.rsplit(".", 1)[-1]
    with running_cluster(tmp_path_factory.mktemp(prefix), artifacts_dir, prefix) as c:
        yield c
