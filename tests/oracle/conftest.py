"""Tests of the oracle (oracle/): specs, sources, measurement, signing, anchoring, its service and CLI.

Fixtures used only here go in this file; shared ones stay in tests/conftest.py and the support
modules beside it."""
