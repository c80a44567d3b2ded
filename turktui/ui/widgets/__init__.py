"""Widgets of the main screen, split by domain."""
