"""Screens: the HIT list (main), one HIT's detail, and the key help."""
