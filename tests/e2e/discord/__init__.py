"""End-to-end tests of the Discord adapter against the fake Discord (and the real CLI)."""
