"""Fakes at the wire: real servers on 127.0.0.1 and helpers to drive the real Claude CLI."""
