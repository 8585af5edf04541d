"""End-to-end tests of the Telegram adapter against the fake Bot API server."""
