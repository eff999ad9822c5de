"""The scheduler every worker runs: a small asyncio loop per job over claimed slots.

A job's schedule is a series of **slots** that every worker computes alike: an interval job's
slots are aligned to the epoch (``every 60 s`` -> each minute at :00), the daily digest's are
``DIGEST_AT`` on each work day in the mailboxes' time zone. When a slot comes, each worker
claims it in the database (mailwatch.store.claims: ``INSERT … ON CONFLICT DO NOTHING`` on job
and slot) and only the winner runs it: each due run happens once across workers, with no
leader to elect or take over. Slots are in the jobs' timeline (:mod:`mailwatch.clock`), so a
simulated week runs its digest at its simulated hour.

Why not APScheduler any more: its persistent job store was rewritten by every start anyway
(``replace_existing``), its interval triggers start from each process's start time (two
workers' runs never line up on one key), its shutdown cancelled a running job with a
traceback, and it logged ``Adding job tentatively`` at every start. What it still did for us,
a timer per job and a thread to run it in, is the fifty lines below.

A sync pass that brought news asks for the checks at once (:meth:`Scheduler.wake`): such a
run is claimed too (reason ``wake``, its slot the instant it was asked for), so it never
overlaps a run of the same job on another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from sqlalchemy.orm import Session, sessionmaker

from mailwatch import clock
from mailwatch.store import claims

log = logging.getLogger("mailwatch.service")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_SLEEP = 30.0  # real seconds: the loop looks at the clock at least this often
RETRY_BUSY = 1.0  # real seconds before a wake-up that found the job running elsewhere retries
RETRY_ERROR = 5.0  # real seconds before a claim that failed (database down) is tried again


@dataclass(frozen=True)
class Every:
    """An interval job: slots at every multiple of ``period`` since the epoch."""

    job: str
    period: timedelta

    def latest(self, now: datetime) -> datetime | None:
        """The last slot at or before ``now`` (a late loop runs only the latest: coalesced)."""
        step = _micros(self.period)
        return EPOCH + timedelta(microseconds=(_micros(now - EPOCH) // step) * step)

    def after(self, moment: datetime) -> datetime:
        """The first slot after ``moment``."""
        step = _micros(self.period)
        return EPOCH + timedelta(microseconds=(_micros(moment - EPOCH) // step + 1) * step)


@dataclass(frozen=True)
class Daily:
    """A job at ``at`` local time on ``days`` (0 = Monday); a slot missed by less than
    ``grace`` (the service was down) is still run, once."""

    job: str
    at: time
    days: frozenset[int]
    tz: tzinfo
    grace: timedelta = timedelta(hours=1)

    def _slot(self, day: datetime) -> datetime:
        return datetime.combine(day.date(), self.at, tzinfo=self.tz).astimezone(UTC)

    def latest(self, now: datetime) -> datetime | None:
        today = now.astimezone(self.tz)
        for back in range(8):
            day = today - timedelta(days=back)
            slot = self._slot(day)
            if day.weekday() in self.days and slot <= now:
                return slot if now - slot <= self.grace else None
        return None

    def after(self, moment: datetime) -> datetime:
        today = moment.astimezone(self.tz)
        for ahead in range(9):
            day = today + timedelta(days=ahead)
            slot = self._slot(day)
            if day.weekday() in self.days and slot > moment:
                return slot
        return moment + timedelta(days=7)  # no work day at all: look again in a week


Entry = Every | Daily


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class Scheduler:
    """Runs ``run(job)`` for each slot of each entry that this worker's claim wins.

    ``ready(job)``: False while a job must not run here yet (the checks wait for this
    worker's first sync passes): it then claims nothing, so another worker runs the slot.
    Runs happen in a thread each (jobs block: IMAP, SMTP, SQL); a job runs once at a time.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        owner: str,
        entries: Sequence[Entry],
        run: Callable[[str], None],
        ready: Callable[[str], bool] = lambda _job: True,
        shared: bool = True,
    ) -> None:
        self.factory = factory
        # False on SQLite: one process per database (an OS lock), so a slot needs no claim in
        # the database; three writes a run would only compete with the sync for its writer.
        self.shared = shared
        self.owner = owner
        self.entries = list(entries)
        self.run = run
        self.ready = ready
        self.stopping = False
        self.running: dict[str, datetime] = {}  # job -> the slot it is running now
        self._woken: set[str] = set()
        self._pokes = {entry.job: asyncio.Event() for entry in self.entries}

    def jobs(self) -> list[str]:
        return [entry.job for entry in self.entries]

    def wake(self, jobs: Iterable[str]) -> None:
        """Run these jobs now (in the event loop's thread): a sync pass brought news."""
        for job in jobs:
            if job in self._pokes:
                self._woken.add(job)
                self._pokes[job].set()

    async def serve(self) -> None:
        """Every job's loop, until :meth:`stop`; a running job is waited for, never cancelled."""
        await asyncio.gather(*(self._loop(entry) for entry in self.entries))

    def stop(self) -> None:
        self.stopping = True
        for poke in self._pokes.values():
            poke.set()

    async def _loop(self, entry: Entry) -> None:
        job, poke = entry.job, self._pokes[entry.job]
        attempted: datetime | None = None  # the last due slot we asked for
        retry_lost = False
        while not self.stopping:
            pause: float | None = None
            try:
                now = clock.now()
                slot = entry.latest(now)
                if slot is not None and self.ready(job):
                    if attempted is None or slot > attempted:
                        self._woken.discard(job)  # this run reads the news as well
                        outcome = await self._claim_and_run(job, slot, "due")
                        attempted, retry_lost = slot, outcome in ("lost", "busy")
                    elif retry_lost and slot == attempted:  # its claimer may have died
                        outcome = await self._claim_and_run(job, slot, "due")
                        retry_lost = outcome in ("lost", "busy")
                if job in self._woken and self.ready(job) and not self.stopping:
                    self._woken.discard(job)
                    if await self._claim_and_run(job, clock.now(), "wake") == "busy":
                        self._woken.add(job)  # running elsewhere: ask again shortly
                        pause = RETRY_BUSY
            except Exception as exc:  # the database is briefly unreachable: try again
                log.warning("job %s: could not claim its run (%s); retrying", job, exc)
                pause = RETRY_ERROR
            if self.stopping:
                break
            now = clock.now()
            upcoming = entry.after(max(now, attempted or now))
            wait = (upcoming - now).total_seconds() / clock.speed()
            # At most MAX_SLEEP: a lost daily slot is asked again meanwhile (its claimer may
            # die), and a clock set forward is noticed.
            wait = min(max(wait, 0.01), MAX_SLEEP if pause is None else pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(poke.wait(), wait)
            poke.clear()

    async def _claim_and_run(self, job: str, slot: datetime, reason: str) -> claims.Outcome:
        outcome: claims.Outcome = "won"
        if self.shared:
            outcome = await asyncio.to_thread(
                claims.claim, self.factory, job, slot, self.owner, reason
            )
        if outcome not in ("won", "takeover"):
            return outcome
        log.debug("job %s: running its %s run of %s (%s)", job, reason, slot.isoformat(), outcome)
        self.running[job] = slot
        try:
            await _in_thread(job, self.run)
        finally:
            self.running.pop(job, None)
        if not self.shared:
            return outcome
        try:
            await asyncio.to_thread(claims.finish, self.factory, job, slot, self.owner)
        except Exception as exc:  # left unfinished: it blocks the job elsewhere at most BUSY_FOR
            log.warning("job %s: could not mark its run done (%s)", job, exc)
        return outcome


async def _in_thread(job: str, run: Callable[[str], None]) -> None:
    """``run(job)`` in a daemon thread of its own: awaited, never cancelled half-way, and a
    job still running when the process must exit does not hold the exit up."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def finished() -> None:
        if not done.done():
            done.set_result(None)

    def target() -> None:
        try:
            run(job)
        except Exception:  # the entry points log their own failures; this is a last resort
            log.exception("job %s failed", job)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(finished)

    threading.Thread(target=target, name=f"job-{job}", daemon=True).start()
    await done


def period(seconds: float) -> timedelta:
    """A job's interval in the jobs' timeline: ``seconds``, or longer when a simulated clock
    runs so fast that it would be under half a real second (mailwatch.clock.interval)."""
    return timedelta(seconds=clock.interval(seconds) * clock.speed())
