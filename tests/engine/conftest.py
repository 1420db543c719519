"""Tests of the chain engine (backend/engine/): indexer, automation, relayer, deliveries.

Fixtures used only here go in this file; shared ones stay in tests/conftest.py and the support
modules beside it."""
