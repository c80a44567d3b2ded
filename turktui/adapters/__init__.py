"""Adapters to the outside world: the MTurk client (the only boto3 importer), the
request history (SQLite), the HIT loader process, config files and the request log."""
