"""Shared parts of the function platform: settings, wire records, stack files and the CLI."""

__version__ = "0.1.0"
