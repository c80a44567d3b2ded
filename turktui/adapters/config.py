"""Where turktui keeps things (platformdirs) and the optional TOML config file.

Config example (`turktui paths` prints where it lives):

    # ~/.config/turktui/config.toml
    profile = "mturk-ops"
    environment = "sandbox"     # or "production"
    endpoint_url = ""           # overrides environment when set
    confirm_custom = true       # a non-loopback endpoint_url gets the production confirmation
    read_only = false
    auto_refresh = 60           # seconds; 0 turns it off
    demo_hits = 200
    history_url = ""            # postgresql://…: one shared history for a team (default: a file)
    operator = ""               # who your records are made by (default: user@host)
    lease_seconds = 60          # shared history: a silent process's records are live this long
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from turktui.domain.errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

APP_NAME = "turktui"


@dataclass(frozen=True, slots=True)
class Paths:
    config_file: Path
    data_dir: Path
    history_db: Path
    log_dir: Path
    #: a postgresql:// URL: the shared history (team mode) instead of history_db; see
    #: choose_history_url. Holds a password when the URL does: show `redact(...)` only.
    history_url: str | None = None

    @property
    def demo_history_db(self) -> Path:
        """Demo records live apart, so a production audit never mixes with play."""
        return self.history_db.with_name("history-demo.sqlite3")

    @property
    def history(self) -> Path | str:
        """Where the history is: the shared database's URL when one is set, else the file."""
        return self.history_url or self.history_db

    def history_for(self, env_kind: str) -> Path | str:
        """The history for records of this environment kind: demo records always in their own
        local file (play never reaches a team's shared history), the others in `history`."""
        return self.demo_history_db if env_kind == "demo" else self.history

    @classmethod
    def default(cls) -> Paths:
        import platformdirs

        config_override = os.environ.get("TURKTUI_CONFIG")
        try:
            config_dir = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
            data_dir = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
            log_dir = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
        except (RuntimeError, KeyError, OSError) as exc:
            # No HOME and no passwd entry (e.g. a container with an arbitrary uid):
            # platformdirs cannot place anything. Say so instead of a traceback.
            raise ConfigurationError(
                "cannot find your home directory to keep the config, history and logs in: "
                f"set HOME (or XDG_CONFIG_HOME, XDG_DATA_HOME and XDG_STATE_HOME) ({exc})"
            ) from exc
        for where in (config_dir, data_dir, log_dir):
            if not where.is_absolute():  # "~" left unexpanded: never write under the cwd
                raise ConfigurationError(
                    f"cannot find your home directory (got {str(where)!r}): set HOME (or "
                    "XDG_CONFIG_HOME, XDG_DATA_HOME and XDG_STATE_HOME)"
                )
        return cls(
            config_file=Path(config_override) if config_override else config_dir / "config.toml",
            data_dir=data_dir,
            history_db=data_dir / "history.sqlite3",
            log_dir=log_dir,
        )


@dataclass(frozen=True, slots=True)
class Settings:
    profile: str | None = None
    environment: str = "sandbox"
    endpoint_url: str | None = None
    confirm_custom: bool = True
    read_only: bool = False
    auto_refresh: float = 0.0
    demo_hits: int = 200
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    #: overall bound of one request to MTurk (connect + retries + whole answer); 0 = none
    request_deadline: float = 20.0
    #: a command's large group of writes (a thousand approvals) shared with a forked child
    #: process, so both cores send (Linux; adapters/offload.py); false: one process sends
    second_sender: bool = True
    #: a postgresql:// URL: the shared history (see choose_history_url)
    history_url: str | None = None
    #: who records are made by (default user@host)
    operator: str | None = None
    #: a shared history: a record whose holder stopped renewing its lease this long ago no
    #: longer counts as live (the database's clock decides)
    lease_seconds: float = 60.0

    def merged(self, **overrides: Any) -> Settings:
        """Command-line values win over the file; None means 'not given'."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


_TYPES: dict[str, tuple[type, ...]] = {
    "profile": (str,),
    "environment": (str,),
    "endpoint_url": (str,),
    "confirm_custom": (bool,),
    "read_only": (bool,),
    "auto_refresh": (int, float),
    "demo_hits": (int,),
    "connect_timeout": (int, float),
    "read_timeout": (int, float),
    "request_deadline": (int, float),
    "second_sender": (bool,),
    "history_url": (str,),
    "operator": (str,),
    "lease_seconds": (int, float),
}

#: URL schemes of a shared history (libpq's): anything else is refused.
DATABASE_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(where: object) -> bool:
    """Is this history location a PostgreSQL URL (rather than a file)?"""
    return isinstance(where, str) and where.strip().lower().startswith(DATABASE_SCHEMES)


def history_label(where: Path | str) -> str:
    """Which history this is, fit to show anywhere (`turktui paths`, the banner): a file's
    path, or "shared PostgreSQL history " and the URL without its password."""
    from turktui.domain.text import one_line, redact

    if is_database_url(where):
        return f"shared PostgreSQL history {one_line(redact(where))}"
    return str(where)


def check_history_url(url: str, source: str) -> str:
    """A usable postgresql:// URL, as given (libpq resolves the rest: PGHOST, PGSERVICE,
    ~/.pgpass, sslmode); ConfigurationError naming `source` otherwise (never its password)."""
    from urllib.parse import urlsplit

    from turktui.domain.text import one_line, redact

    text = url.strip()
    shown = one_line(redact(text), max_length=120)
    if not is_database_url(text):
        raise ConfigurationError(
            f"{source}: not a PostgreSQL URL ({shown!r}): give "
            "postgresql://[user@]host[:port]/database, or leave it out for the local file"
        )
    try:
        urlsplit(text).port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError as exc:
        raise ConfigurationError(f"{source}: not a usable URL ({shown!r}): {exc}") from None
    return text


def choose_history_url(
    flag: str | None, environ: dict[str, str] | os._Environ[str], settings: Settings, config: Path
) -> str | None:
    """The shared history's URL: --history-url > TURKTUI_HISTORY_URL > the config's
    history_url > none (the local file). An empty variable or setting counts as unset; an
    empty flag is refused (it must not silently mean "some other history")."""
    if flag is not None:
        if not flag.strip():
            raise ConfigurationError(
                "--history-url is empty: give a postgresql:// URL, or leave it out"
            )
        return check_history_url(flag, "--history-url")
    variable = environ.get("TURKTUI_HISTORY_URL", "")
    if variable.strip():
        return check_history_url(variable, "TURKTUI_HISTORY_URL")
    if settings.history_url and settings.history_url.strip():
        return check_history_url(settings.history_url, f"config file {config}: history_url")
    return None


#: The most HITs the demo service is seeded with (config `demo_hits`, `--demo-hits`).
DEMO_HITS_MAX = 100_000
#: A config file larger than this is refused (a config is a few lines).
CONFIG_MAX_BYTES = 1_000_000


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """The bytes of the regular file `path`, at most `limit`; OSError (one line) for a FIFO,
    a device (/dev/zero), a directory or a larger file. Opening never blocks (a FIFO with
    no writer) and reading never eats memory."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{what} {path} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(f"{what} {path} is larger than {limit:,} bytes")
    return data


def load_settings(path: Path) -> Settings:
    """Read the config file if it exists. Any problem → ConfigurationError (one line)."""
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(
            read_bounded(path, CONFIG_MAX_BYTES, "config file").decode("utf-8-sig")
        )
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"config file {path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc}") from exc
    except OSError as exc:  # read_bounded's own refusals name the file already
        text = (
            str(exc) if exc.strerror is None else f"cannot read config file {path}: {exc.strerror}"
        )
        raise ConfigurationError(text) from exc
    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigurationError(
                f"config file {path}: unknown key {key!r} (known: {', '.join(sorted(known))})"
            )
        allowed = _TYPES[key]
        if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
            kind = " or ".join(t.__name__ for t in allowed)
            raise ConfigurationError(f"config file {path}: {key} must be a {kind}")
        values[key] = value
    if values.get("environment", "sandbox") not in ("sandbox", "production"):
        raise ConfigurationError(
            f'config file {path}: environment must be "sandbox" or "production"'
        )
    if values.get("endpoint_url") == "":
        values["endpoint_url"] = None
    if values.get("profile") == "":
        values["profile"] = None
    if values.get("history_url") == "":
        values["history_url"] = None
    if "operator" in values and not values["operator"].strip():
        values["operator"] = None
    if "lease_seconds" in values and not 5 <= values["lease_seconds"] <= 86_400:
        raise ConfigurationError(f"config file {path}: lease_seconds must be 5 to 86400")
    for key in ("auto_refresh", "connect_timeout", "read_timeout", "request_deadline"):
        if key in values and not 0 <= values[key] < float("inf"):  # also NaN
            raise ConfigurationError(
                f"config file {path}: {key} must not be negative (nor NaN or infinite)"
            )
    if not 0 <= values.get("demo_hits", 0) <= DEMO_HITS_MAX:
        raise ConfigurationError(f"config file {path}: demo_hits must be 0 to {DEMO_HITS_MAX:,}")
    return Settings(**values)
