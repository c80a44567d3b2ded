"""The request history: a SQLite store under the user data dir."""
