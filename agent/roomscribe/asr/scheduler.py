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
``max_failures`` times in a row is finalized with the text it showed and
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


@dataclass(frozen=True, slots=True)
class SchedulerOptions:
    max_batch: int = 8
    """Most decodes run through the model in one batched call."""
    interim_slowdown: float = 0.25
    """Each further stream talking at once stretches everyone's interim refresh
    interval by this share, so the model keeps time for final decodes."""
    interims_with_finals: bool = False
    """Let interim refreshes ride along in a batch that carries final decodes."""
    max_busy_for_context: int = 2
    """Final decodes hear the speech before their segment again (more accurate,
    about twice the work) while at most this many streams are busy (talking
    or waiting for a final); under more load they decode just the segment."""
    max_talking_to_hold_at_pauses: int = 2
    """While at most this many streams talk, no interim refresh starts at the
    beginning of a pause (it would delay the final decode the pause brings).
    Under more load the refreshes are spaced out anyway, and holding them
    measured worse: base x4 final p90 1.45 s against 1.18-1.27 s, tiny.en x8
    first shown p50 0.68 s against 0.50 s."""
    max_failures: int = 3
    """A stream whose jobs fail this many times in a row is given up."""
    revise_while_talking: bool = False
    """Let a revision start while some stream talks (its interims and final may
    wait for it); by default revisions use only the pauses of every stream."""
    revise_early_in_utterance_s: float = 1.5
    """Also let a short revision (at most ``max_window_in_utterance_s`` of audio,
    context included) start while one stream talks, if its utterance began less
    than this ago (or later, see ``revision_margin_s``): its final is then most
    likely further away than the revision takes. A speaker with few pauses
    otherwise waits long for revisions. Measured (base, allison-b, one stream,
    ``--pace cpu``): revision lag p90 17.2 s without, 10.4 s with a 1.0 s limit
    (the final decode of the previous sentence often used that first second up),
    6.8 s with 1.5 s; live final p90 0.60 / 0.60 / 0.59 s. 0: never."""
    max_window_in_utterance_s: float = 10.0
    """Most audio a revision started while someone talks covers, and any
    revision while several streams share the model (a pause of all of them
    ends any time). Measured at tiny.en x8: live final p90 1.81 s with 28 s
    windows in shared pauses, 1.49 s with 10 s (one run each)."""
    max_talkers_to_revise: int = 2
    """Revisions start only while at most this many streams spoke in the last
    ``talker_recent_s``: with more talkers, a pause of all of them ends any
    moment and several finals then wait for the revision, so the model has no
    spare capacity for it. Measured (``--streams N``, real time, N copies of
    allison-a, one run each, revisions on / off): tiny.en x8 live final p90
    1.79 / 1.42 s, and the revisions changed 5 of 392 segments (311 dropped);
    base x4 1.63-1.89 / 1.55 s."""
    talker_recent_s: float = 5.0
    """How recently a stream must have spoken to count for ``max_talkers_to_revise``."""
    revision_overdue_s: float = 2.0
    """When the one stream that talks has a revision due this long (stream
    seconds since its oldest unrevised segment was followed by its right
    context), the revision goes before that stream's interim refresh, up to
    ``overdue_extra_s`` past the early limit into its utterance (a short
    window, as early in an utterance; never while a final waits): the
    speaker's own live captions pay for it. A speaker who talks on with short
    pauses otherwise leaves no room for revisions: on a slow machine each
    final decode ends when the next sentence is already past the early limit.
    Measured (base, one stream, ``--pace simulated``: the decodes' wall time;
    two runs each, interleaved): revision lag p90 allison-b 16.6 / 18.4 s
    without (17-21 s between revisions while the speaker talked on), 8.2 / 8.3
    s with 4 s; allison-a 9.1 / 9.4 s, 7.7 / 8.2 s; live final p90 a 0.97 /
    0.96 s against 0.96 / 1.17 s, b 1.19 / 1.14 s against 1.08 / 1.03 s.
    2 s against 4 s (2026-12-04, one hour, one run each unless two are given):
    lag p90 Spanish 10.6 / 9.5 s against 11.7 / 12.8 / 11.7 s, vocabulary-en
    10.6 s against 13.0 / 16.7 s, French 10.5 s against 10.3 / 11.3 s,
    allison-b 9.1 s against 9.3 s; live final p90 Spanish 1.52 / 1.25 s
    against 1.76 / 1.23 / 1.45 s, French 1.37 s against 1.36-1.60 s,
    allison-b 1.06 s against 1.03 s. 0 s (as soon as due) cut the lag further
    (Spanish p90 4.2 s, French 8.6 s, allison-b 7.7 s) but delayed the first
    caption of an utterance behind the revision (allison-b first shown p50
    0.60 s against 0.02-0.04 s) and its live final p90 (1.21 s)."""
    overdue_extra_s: float = 1.0
    """How much further into an utterance than the early limit an overdue
    revision may start: after a final decode the next sentence is often
    1.8-2 s in (base, allison-b), while a revision started deeper into a long
    sentence makes its final wait (French near the machine's limit: live
    final p90 1.61 / 2.04 s without the overdue rule, 1.74 / 2.60 / 2.88 s
    with it and no such limit, 2.16 s with this one in the hour of the 2.04 /
    2.88 s runs); with 3 s past the early limit instead of 1 s the revision
    lag stayed (French p90 10.6 / 12.2 s)."""
    late_revision_overdue_s: float = 0.0
    """A lone talker's revision overdue this long may start anywhere in its
    utterance (a short window, never while a final waits): the transcript of
    record before the speaker's own live finals. 0 (the default): never, the
    live path comes first. ``--revisions record-first`` sets
    :data:`RECORD_FIRST_OVERDUE_S`. Speakers whose long sentences follow each
    other closely otherwise leave no pause for a revision early enough in an
    utterance. Measured at 4 s (base, one stream, ``--pace simulated``,
    2026-12-04, one hour): revision lag p90 French 8.6-8.8 s in six runs
    against 10.3-12.2 s in five, vocabulary-en 8.8 s against 12.9 / 15.4 s,
    Spanish 8.2 s, allison-b 8.1 s; but French live final p90 1.48-1.72 s
    against 1.24-1.42 s (interleaved: 1.61 / 1.54 s against 1.33 / 1.42 s),
    as their finals wait for those revisions. Again at 4 s (2026-12-05, eight
    interleaved pairs): lag p90 7.9-8.7 s against 9.0-12.2 s on French,
    Spanish, vocabulary-en and allison-b; live final p90 French 1.30-1.47 s
    against 1.39-1.62 s, the others the same or better; first shown p50
    French 0.81-0.94 s against 0.45-0.75 s (the revision takes the talker's
    interim refresh); French revised WER 15.8 % against 15.6 % (3 runs each:
    windows placed elsewhere read one word as the live finals did)."""
    revision_margin_s: float = 1.5
    """A speaker whose shorter segments (:attr:`StreamPolicy.short_segment_s`)
    last longer than the early limit may have a short revision start later in
    an utterance: until this margin before such a segment would end. Long
    sentences with short pauses between them (the French and Spanish sets)
    otherwise leave revisions no time at all. Measured at 1.0 (base, one
    stream, ``--pace cpu``, three runs): Spanish revision lag p90 9.7 s against
    11.2 s, but its live final p90 1.15 s against 1.01 s (allison-b 0.76 s
    against 0.62 s): a sentence that ends sooner waits for the revision."""


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
        context = busy <= self._opts.max_busy_for_context
        for policy in by_age:
            if len(batch) >= self._opts.max_batch:
                break
            self._plan(batch, policy, partial(policy.final_job, context=context, sharing=busy))
        if batch and not self._opts.interims_with_finals:
            self._count_skipped(batch)
            return settled + self._stamp(batch)
        talkers = [p for p in self._streams if p.speaking]
        if len(talkers) == 1 and talkers[0].revision_overdue_s >= self._opts.revision_overdue_s:
            self._plan_revision(batch, talkers, overdue=talkers[0])
            if batch:
                self._count_skipped(batch)
                return settled + batch
        talking = len(talkers)
        slowdown = 1.0 + self._opts.interim_slowdown * max(0, talking - 1)
        hold = talking <= self._opts.max_talking_to_hold_at_pauses
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
        ``max_talkers_to_revise`` spoke lately, and no stream talks (unless allowed).
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
        if talking and not opts.revise_while_talking:
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
        """Give up a job that failed for good; the stream too after ``max_failures`` in a row.

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
        """Count a failed job; past ``max_failures`` in a row, give the stream up."""
        self.failed_jobs += 1
        policy.failed_jobs += 1
        policy.consecutive_failures += 1
        if policy.failed or policy.consecutive_failures < self._opts.max_failures:
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
