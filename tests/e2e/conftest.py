"""Tests of whole-system runs: the demo and the soak, as processes.

Fixtures used only here go in this file; shared ones stay in tests/conftest.py and the support
modules beside it."""
