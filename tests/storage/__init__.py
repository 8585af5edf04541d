"""Tests of the storage package, each against a real SQLite file in tmp_path."""
