"""Pure domain: MTurk's rules, fees, parsing, HIT and request/record types. No I/O:
never imports sqlite3, subprocess, socket, boto3 or textual (import-linter contracts)."""
