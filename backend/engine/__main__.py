"""`python -m backend.engine worker` runs a worker until interrupted; `python -m backend.engine
rebuild` reconstructs the chain-derived tables from the chain's events alone."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from attestpay.process import restore_recursion_limit
from backend.chain import connect
from backend.db.migrate import upgrade
from backend.db.session import make_engine
from backend.engine.worker import Worker
from backend.services.sessions import make_sessionmaker
from backend.settings import get_settings


def main() -> None:
    restore_recursion_limit()
    parser = argparse.ArgumentParser(prog="python -m backend.engine", description=__doc__)
    parser.add_argument("command", choices=("worker", "rebuild"))
    command = parser.parse_args().command
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    if settings.migrate_on_start:
        upgrade(settings.database_url)
    worker = Worker(settings, make_sessionmaker(make_engine(settings.database_url)), connect(settings))
    if command == "rebuild":
        print(f"rebuilt from the chain's events: {worker.indexer.rebuild()} blocks indexed")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker.run(stop)


if __name__ == "__main__":
    main()
