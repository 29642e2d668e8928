"""Hub reads under faults (tests/fakehub.py servers with fault hooks); fixtures in conftest.py."""
