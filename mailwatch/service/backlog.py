"""The backlog policy: what was already waiting too long when mailwatch first started.

On a first start over a mailbox with old unanswered mail, an automatic acknowledgment for
every old thread would flood the approval queue, and acknowledging a three-week-old message
is wrong. Threads whose client had already waited more than ``ACK_BACKLOG_LIMIT`` business days
at the first start are left to a person: the digest counts them, and the web page drafts
acknowledgments for all of them at once on request.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.store.db import transaction
from mailwatch.store.models import ServiceState
from mailwatch.views.backlog import STARTED_KEY, read_started_at

log = logging.getLogger(__name__)


def first_started_at(factory: sessionmaker[Session], now: datetime) -> datetime:
    """When the scheduler first ran on this database; recorded by the first caller."""
    try:
        with transaction(factory) as session:
            state = session.get(ServiceState, STARTED_KEY, with_for_update=True)
            if state is not None and state.value:
                return datetime.fromisoformat(state.value)
            session.add(ServiceState(key=STARTED_KEY, value=now.isoformat(), updated_at=now))
    except IntegrityError:  # recorded by another caller at the same moment
        with factory() as session:
            started = read_started_at(session)
        return started or now
    log.info("first start on this database: mail waiting since before %s is the backlog", now)
    return now
