"""Share one recognizer among many streams.

Each step builds one batch: first the final decodes of paused speakers (oldest
first), then interim refreshes of the streams that waited longest. A stream
never has more than one job in flight and an interim job always covers the
latest audio, so under load interim refreshes are skipped, never queued: work
per step stays bounded and latency cannot grow without limit. Every stream's
finals go before anyone's interims, and round-robin by last service time keeps
one talkative stream from starving the others. Revisions of final speech
(:mod:`roomscribe.asr.revision`) come last: one at a time, only in a step
with no live work, while no stream waits for a final, (by default) no stream
talks, and few streams spoke lately (many talkers leave no spare capacity);
a lone talker whose own revision is overdue has it before its next interim.
Translations of finals (:mod:`roomscribe.asr.translation`, only while a
listener asks) go just before revisions, one at a time.

Failures are contained per stream: a job whose decode or result fails is given
up (:meth:`StreamPolicy.fail`), and a stream whose jobs fail
:data:`MAX_FAILURES` times in a row is finalized with the text it showed and
closed, marked :attr:`StreamPolicy.failed`; the other streams go on.

Not thread-safe by itself: :class:`roomscribe.asr.engine.Engine` adds the
locking for live use; file replay drives it from one thread.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import partial

from roomscribe.asr.backend import Backend, DecodeResult
from roomscribe.asr.events import Caption
from roomscribe.asr.jobs import Job, JobKind
from roomscribe.asr.policy import StreamPolicy

log = logging.getLogger(__name__)

RECORD_FIRST_OVERDUE_S = 4.0
""":attr:`SchedulerOptions.late_revision_overdue_s` of ``--revisions record-first``."""
INTERIM_SLOWDOWN = 0.25
"""Each further stream talking at once stretches everyone's interim refresh
interval by this share, so the model keeps time for final decodes."""
MAX_BUSY_FOR_CONTEXT = 2
"""Final decodes hear the speech before their segment again (more accurate,
about twice the work) while at most this many streams are busy (talking or
waiting for a final); under more load they decode just the segment."""
MAX_TALKING_TO_HOLD_AT_PAUSES = 2
"""While at most this many streams talk, no interim refresh starts at the
beginning of a pause (it would delay the final decode the pause brings);
under more load the refreshes are spaced out anyway."""
MAX_FAILURES = 3
"""A stream whose jobs fail this many times in a row is given up."""


@dataclass(frozen=True, slots=True)
class SchedulerOptions:
    """How decodes are shared among streams, and when revisions may run
    (measurements behind the defaults: docs/benchmarks.md, "Revision timing")."""

    max_batch: int = 8
    """Most decodes run through the model in one batched call."""
    revise_early_in_utterance_s: float = 1.5
    """A short revision may also start while one stream talks, if its utterance
    began less than this ago (its final is then most likely further away than
    the revision takes). 0: revisions use only pauses."""
    max_window_in_utterance_s: float = 10.0
    """Most audio a revision covers when it starts while someone talks, or while
    several streams share the model (a pause of all of them ends any time)."""
    max_talkers_to_revise: int = 2
    """Revisions start only while at most this many streams spoke in the last
    ``talker_recent_s``: more talkers leave the model no spare capacity."""
    talker_recent_s: float = 5.0
    """How recently a stream must have spoken to count for ``max_talkers_to_revise``."""
    revision_overdue_s: float = 2.0
    """A lone talker whose revision has been due this long (stream seconds) has
    it before its next interim refresh, up to ``overdue_extra_s`` past the
    early limit into its utterance: a speaker who never pauses long still
    gets a revised transcript."""
    overdue_extra_s: float = 1.0
    """How much further into an utterance than the early limit an overdue
    revision may start (deeper, its final would wait for it)."""
    late_revision_overdue_s: float = 0.0
    """A lone talker's revision overdue this long may start anywhere in its
    utterance (a short window, never while a final waits): the transcript of
    record before the speaker's own live finals. 0: never (``live-first``);
    ``--revisions record-first`` sets :data:`RECORD_FIRST_OVERDUE_S`."""
    revision_margin_s: float = 1.5
    """A speaker whose shorter segments (:attr:`StreamPolicy.short_segment_s`)
    last longer than the early limit may have a short revision start later in
    an utterance: until this margin before such a segment would end."""


@dataclass(frozen=True, slots=True)
class Assignment:
    policy: StreamPolicy
    job: Job


class Scheduler:
    """Chooses the next batch of decodes across streams."""

    def __init__(self, backend: Backend, options: SchedulerOptions | None = None) -> None:
        self.backend = backend
        self._opts = options or SchedulerOptions()
        self._streams: list[StreamPolicy] = []
        self._tick = 0
        self.failed_jobs = 0
        """Jobs given up because their decode or result failed (all streams, ever)."""
        self.capped_segments = 0
        """Segments finalized without a decode by the audio cap (all streams, ever)."""
        self.interims_skipped = 0
        """Steps in which a talking stream got no interim refresh because final decodes
        or a full batch took the model (all streams, ever)."""

    @property
    def streams(self) -> Sequence[StreamPolicy]:
        return tuple(self._streams)

    def add(self, policy: StreamPolicy) -> None:
        self._streams.append(policy)

    def remove(self, policy: StreamPolicy) -> None:
        if policy in self._streams:
            self._streams.remove(policy)

    def final_wait_s(self) -> float:
        """The longest any stream's oldest pending final has waited (stream seconds)."""
        return max((p.final_wait_s for p in self._streams), default=0.0)

    def next_batch(self) -> list[Assignment]:
        """Hand out the next batch of jobs (marks them in flight).

        Streams past their audio cap first get a :attr:`JobKind.SETTLED` job
        (no decode, not counted in ``max_batch``).
        """
        settled: list[Assignment] = []
        batch: list[Assignment] = []
        for policy in self._streams:
            before = policy.capped_segments
            self._plan(settled, policy, policy.settled_job)
            self.capped_segments += policy.capped_segments - before
        by_age = sorted(self._streams, key=lambda p: p.last_decode_at)
        busy = sum(1 for p in self._streams if p.speaking or p.finalizing)
        context = busy <= MAX_BUSY_FOR_CONTEXT
        for policy in by_age:
            if len(batch) >= self._opts.max_batch:
                break
            self._plan(batch, policy, partial(policy.final_job, context=context, sharing=busy))
        if batch:
            self._count_skipped(batch)
            return settled + self._stamp(batch)
        talkers = [p for p in self._streams if p.speaking]
        if len(talkers) == 1 and talkers[0].revision_overdue_s >= self._opts.revision_overdue_s:
            self._plan_revision(batch, talkers, overdue=talkers[0])
            if batch:
                self._count_skipped(batch)
                return settled + batch
        talking = len(talkers)
        slowdown = 1.0 + INTERIM_SLOWDOWN * max(0, talking - 1)
        hold = talking <= MAX_TALKING_TO_HOLD_AT_PAUSES
        for policy in by_age:
            if len(batch) >= self._opts.max_batch:
                break
            self._plan(batch, policy, partial(policy.interim_job, slowdown, hold_at_pause=hold))
        if len(batch) >= self._opts.max_batch:
            self._count_skipped(batch)
        if not batch:
            self._plan_translation(batch, talkers)
        if not batch:
            self._plan_revision(batch, talkers)
            return settled + batch
        return settled + self._stamp(batch)

    def _plan_revision(
        self,
        batch: list[Assignment],
        talking: Sequence[StreamPolicy],
        *,
        overdue: StreamPolicy | None = None,
    ) -> None:
        """One revision, if the model is free: no stream finalizes, at most
        ``max_talkers_to_revise`` spoke lately, and no stream talks (but early
        in a lone talker's utterance).
        ``talking``: the streams that talk now. ``overdue``: the one talker, whose
        own revision is overdue: it gets it ``overdue_extra_s`` further into its
        utterance (anywhere in it, past ``late_revision_overdue_s``)."""
        opts = self._opts
        if any(p.finalizing for p in self._streams):
            return
        talkers = sum(1 for p in self._streams if p.silent_s < opts.talker_recent_s)
        if talkers > opts.max_talkers_to_revise:
            return
        # with several streams one may start talking (and soon need a final)
        # any time: short windows, so a revision never holds the model long
        max_window_s = opts.max_window_in_utterance_s if len(self._streams) > 1 else None
        if talking:
            extra = 0.0
            if talking[0] is overdue:
                late = opts.late_revision_overdue_s
                late_ok = 0 < late <= overdue.revision_overdue_s
                extra = math.inf if late_ok else opts.overdue_extra_s
            early = len(talking) == 1 and (
                talking[0].pending_s < self._early_limit(talking[0]) + extra
            )
            if not early:
                return
            max_window_s = opts.max_window_in_utterance_s
        if overdue is not None:
            turn = [overdue]
        else:
            turn = sorted(self._streams, key=lambda p: p.last_revision_at)
        for policy in turn:
            self._plan(batch, policy, partial(policy.revision_job, max_window_s))
            if batch:
                self._tick += 1
                policy.last_revision_at = self._tick
                return

    def _plan_translation(self, batch: list[Assignment], talking: Sequence[StreamPolicy]) -> None:
        """One translation (:mod:`roomscribe.asr.translation`), in a step with no
        live work, while every talker is early in its utterance: a final then most
        likely comes after the (short, greedy) decode, so it does not wait for it."""
        if any(p.finalizing for p in self._streams):
            return
        if any(p.pending_s >= self._early_limit(p) for p in talking):
            return
        for policy in sorted(self._streams, key=lambda p: p.last_decode_at):
            self._plan(batch, policy, policy.translations.job)
            if batch:
                return

    def _early_limit(self, policy: StreamPolicy) -> float:
        """How far into an utterance a short revision may still start."""
        early = self._opts.revise_early_in_utterance_s
        if early <= 0:
            return 0.0
        return max(early, policy.short_segment_s - self._opts.revision_margin_s)

    def _count_skipped(self, batch: Sequence[Assignment]) -> None:
        """Talking streams left out of a step that finals (or a full batch) took."""
        served = {a.policy for a in batch}
        self.interims_skipped += sum(1 for p in self._streams if p.speaking and p not in served)

    def _plan(
        self, batch: list[Assignment], policy: StreamPolicy, choose: Callable[[], Job | None]
    ) -> None:
        """Add the job ``choose`` picks for ``policy``; a policy that raises is failed."""
        try:
            job = choose()
        except Exception:
            log.exception("choosing the next job of a stream failed")
            job = self._failure(policy)
        if job is not None:
            batch.append(Assignment(policy, job))

    def run(self, batch: Sequence[Assignment]) -> list[tuple[StreamPolicy, list[Caption]]]:
        """Decode a batch and apply the results (no locking: single-threaded use)."""
        try:
            results = self.decode(batch)
        except Exception:
            log.exception("batched decode failed; retrying its jobs one by one")
            return self.run_isolated(batch)
        return self.apply(batch, results)

    def decode(self, batch: Sequence[Assignment]) -> list[DecodeResult | None]:
        """Decode the batch's jobs in one call (``None`` for jobs that need no decode)."""
        todo = [a.job.request for a in batch if a.job.kind is not JobKind.SETTLED]
        decoded = self.backend.decode(todo) if todo else []
        if len(decoded) != len(todo):
            raise ValueError(
                f"the backend returned {len(decoded)} results for {len(todo)} requests"
            )
        it = iter(decoded)
        return [None if a.job.kind is JobKind.SETTLED else next(it) for a in batch]

    def apply(
        self, batch: Sequence[Assignment], results: Sequence[DecodeResult | None]
    ) -> list[tuple[StreamPolicy, list[Caption]]]:
        """Apply each job's result; a result that fails to apply fails only its stream's job."""
        return [(a.policy, self._apply(a, r)) for a, r in zip(batch, results, strict=True)]

    def _apply(self, a: Assignment, result: DecodeResult | None) -> list[Caption]:
        if a.policy not in self._streams:
            # Dropped while its decode ran (a close past its bound): the stream was
            # settled with its shown text already, and nobody reads it any more.
            log.debug("dropping a %s result of a removed stream", a.job.kind.value)
            return []
        try:
            captions = a.policy.apply(a.job, result)
        except Exception:
            log.exception("applying a %s decode of a stream failed", a.job.kind.value)
            return self.fail(a)
        if a.job.kind is not JobKind.SETTLED:
            a.policy.consecutive_failures = 0
        return captions

    def fail(self, a: Assignment) -> list[Caption]:
        """Give up a job that failed for good; the stream too after :data:`MAX_FAILURES` in a row.

        Never raises: whatever the policy's state, the stream ends up either
        going on or closed.
        """
        policy = a.policy
        try:
            captions = policy.fail(a.job)
        except Exception:
            log.exception("giving up a %s job failed", a.job.kind.value)
            captions = []
        job = self._failure(policy)
        if job is not None:
            captions += job.captions
        return captions

    def _failure(self, policy: StreamPolicy) -> Job | None:
        """Count a failed job; past :data:`MAX_FAILURES` in a row, give the stream up."""
        self.failed_jobs += 1
        policy.failed_jobs += 1
        policy.consecutive_failures += 1
        if policy.failed or policy.consecutive_failures < MAX_FAILURES:
            return None
        log.error(
            "giving up a stream after %d failed decodes in a row; "
            "its captions end with the text already shown",
            policy.consecutive_failures,
        )
        return policy.give_up()

    def run_isolated(
        self, batch: Sequence[Assignment], lock: AbstractContextManager[object] | None = None
    ) -> list[tuple[StreamPolicy, list[Caption]]]:
        """After a failed batch: decode each job alone; a job that fails again is given up.

        ``lock`` guards the policies (not the decodes), for the engine thread.
        """
        guard = lock if lock is not None else nullcontext()
        outputs = []
        for a in batch:
            try:
                [result] = self.decode([a])
            except Exception:
                log.exception("decode failed twice; giving up this %s job", a.job.kind.value)
                with guard:
                    outputs.append((a.policy, self.fail(a)))
            else:
                with guard:
                    outputs.append((a.policy, self._apply(a, result)))
        return outputs

    def _stamp(self, batch: list[Assignment]) -> list[Assignment]:
        """Round-robin bookkeeping (settled jobs use no compute and are not stamped)."""
        for a in batch:
            self._tick += 1
            a.policy.last_decode_at = self._tick
        return batch
