"""Shared pytest configuration for the Passerelle test suite."""
