"""Segments as a caption worker writes them."""

from __future__ import annotations

import time

from roomscribe.store import StoredSegment


def segment(
    n: int,
    text: str = "",
    *,
    room: str = "standup",
    revision: int = 0,
    meeting: str = "RM_1",
    final_at: float | None = None,
) -> StoredSegment:
    """Segment ``n`` of ``room``: spoken at n seconds into the track, final a second later."""
    now = time.time() if final_at is None else final_at
    return StoredSegment(
        room=room,
        segment_id=f"TR_a-s1.x-{n}",
        meeting=meeting,
        speaker="ada",
        speaker_name="Ada Lovelace",
        track_id="TR_a",
        text=text or f"sentence {n}.",
        start=float(n),
        end=n + 0.8,
        spoken_at=now - 1.0,
        final_at=now,
        language="en",
        revision=revision,
    )
