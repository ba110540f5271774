"""``roomscribe transcripts list|export|delete``: the operator's view of the transcript store.

Reads and deletes in the same store the caption workers write and ``serve``
reads (``ROOMSCRIBE_STORE``, ``ROOMSCRIBE_DATA_DIR``). Transcripts past ``ROOMSCRIBE_RETENTION`` are
deleted first, as the workers do every few minutes.
"""

from __future__ import annotations

import argparse
import datetime
import sys

from roomscribe.formats import TRANSCRIPT_FORMATS, render_transcript, transcript_lines
from roomscribe.settings import Settings, SettingsError, add_settings

HELP = "list, export or delete the rooms' stored transcripts"


def add_arguments(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    parser.add_argument("action", choices=("list", "export", "delete"))
    parser.add_argument("room", nargs="?", help="the room (export, delete)")
    parser.add_argument(
        "--format", choices=TRANSCRIPT_FORMATS, default="txt", help="export format [txt]"
    )
    add_settings(parser, defaults, "store")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from roomscribe.store import horizon, open_store

    record = settings.record()
    if record is None:
        raise SettingsError("ROOMSCRIBE_STORE is off: no transcripts are kept")
    if args.action != "list" and not args.room:
        raise SettingsError(f"roomscribe transcripts {args.action} needs a ROOM")
    store = open_store(record)
    store.create()
    since = horizon(record.retention_s)
    store.purge(since)
    out = sys.stdout
    if args.action == "list":
        for room in store.rooms(since=since):
            out.write(
                f"{room.room}\t{room.segments} segment(s)\t{_when(room.first_at)} - "
                f"{_when(room.last_at)}\n"
            )
        return 0
    if args.action == "delete":
        deleted = store.delete(args.room)
        print(f"deleted {deleted} segment(s) of room {args.room}", file=sys.stderr)
        return 0 if deleted else 1
    segments = [s for s in store.segments(args.room, since=since) if s.text]
    if not segments:
        print(f"no transcript is kept for room {args.room}", file=sys.stderr)
        return 1
    out.write(render_transcript(args.format, transcript_lines(segments)))
    return 0


def _when(unix: float) -> str:
    return datetime.datetime.fromtimestamp(unix).strftime("%Y-%m-%d %H:%M")
