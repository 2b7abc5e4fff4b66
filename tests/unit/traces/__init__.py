"""Tests of the trace analysis engine and its commands."""
