"""The transcript store: where finals are kept (SQLite, Redis or nowhere) and for how long."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, field_validator
from pydantic_core import PydanticCustomError

from roomscribe.settings.fields import Duration, UserPath, setting
from roomscribe.store.writer import DEFAULT_RETENTION_S, RecordOptions


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/roomscribe`` (``~/.local/share/roomscribe``)."""
    root = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(root) / "roomscribe"


class StoreFields(BaseModel):
    """The transcript store settings: a part of :class:`~roomscribe.settings.Settings`."""

    store: str = setting(
        "sqlite",
        group="store",
        help="sqlite: in --data-dir; redis://host:port/db: in that Redis; off: memory only",
    )
    """``sqlite`` (in :attr:`data_dir`), a Redis URL (``redis://host:port/db``,
    ``rediss://``: shared by every machine) or ``off`` (each captioner's memory only)."""
    data_dir: UserPath = setting(
        default_factory=default_data_dir,
        group="store",
        help="where the SQLite transcript store lives",
    )
    retention: Duration = setting(
        DEFAULT_RETENTION_S,
        group="store",
        help="transcripts older than this are deleted, e.g. 24h, 7d",
    )

    @field_validator("store")
    @classmethod
    def _store(cls, value: str) -> str:
        value = value.strip()
        if value.lower().startswith(("redis://", "rediss://")):
            return value  # the URL keeps its case (a password)
        if value.lower() not in ("sqlite", "off"):
            raise PydanticCustomError("store", "expected sqlite, redis://host:port/db or off")
        return value.lower()

    def record(self) -> RecordOptions | None:
        """The transcript store, or ``None`` when it is off."""
        if self.store == "off":
            return None
        redis_url = "" if self.store == "sqlite" else self.store
        return RecordOptions(self.data_dir, redis_url=redis_url, retention_s=self.retention)
