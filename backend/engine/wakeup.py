"""What an idle worker sleeps on: its poll interval at most, cut short when work arrives in the
database (`backend.services.wakeup`): a NOTIFY from any process (PostgreSQL), or the in-process
event, which the worker's indexer also sets on a new block. The poll stays the fallback: a wake-up
lost with a dropped connection costs one interval, and correctness never depends on one (the work
is in the database)."""

from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy.engine import make_url

from backend.services.wakeup import CHANNEL, LOCAL
from backend.settings import Settings

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 5.0  # a lost LISTEN connection is opened again after this; the poll covers the gap


class Wakeup:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def listen(self, stop: threading.Event) -> None:
        """On PostgreSQL, a thread that listens until `stop` is set (a daemon: it holds no work)."""
        url = make_url(self.settings.database_url)
        if url.get_backend_name() == "postgresql":
            conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
            threading.Thread(target=self._listen, args=(conninfo, stop), name="attestpay-listen", daemon=True).start()

    def wait(self) -> None:
        """Until woken or `poll_seconds` have passed."""
        LOCAL.wait(self.settings.poll_seconds)
        LOCAL.clear()  # work that arrives during the next turn sets it again: nothing is missed

    def _listen(self, conninfo: str, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    LOCAL.set()  # whatever was notified while not listening
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            LOCAL.set()
            except psycopg.Error as exc:
                log.warning("not listening for work (%s); polling every %s s", exc, self.settings.poll_seconds)
                stop.wait(RECONNECT_SECONDS)
