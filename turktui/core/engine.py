"""The request lifecycle: plan → record → send → record outcome → resolve."""
