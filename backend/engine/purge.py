"""Sign-in nonces and wallet sessions past their expiry are deleted, so that neither table grows
with every sign-in for good."""

from __future__ import annotations

import time

from sqlalchemy.orm import sessionmaker

from backend.services.auth import purge_expired

EVERY_SECONDS = 60.0


class ExpiredCredentials:
    """A worker part: deletes what expired, at most once every `every` seconds per worker."""

    def __init__(self, sessions: sessionmaker, every: float = EVERY_SECONDS) -> None:
        self.sessions, self.every, self._due = sessions, every, 0.0

    def step(self) -> int:
        if time.monotonic() < self._due:
            return 0
        self._due = time.monotonic() + self.every
        with self.sessions() as session:
            return purge_expired(session)
