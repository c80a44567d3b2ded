"""The one way tests run turktui's command line.

- `run_cli(env, *args)` runs `turktui ARGS` **in this process** (the default): the same `main()`
  the console script calls, with `env` as the whole environment, stdin/stdout/stderr replaced by
  pipes of bytes (encoded as `PYTHONIOENCODING` in `env` says, as a child's would be; no
  terminal size), and every process-wide thing the command touches (signal handlers, the
  request log's handlers, the environment, the time zone) put back afterwards. It returns what
  `subprocess.run` would: `returncode`, `stdout`, `stderr` (text).
- `run_process(env, *args)` runs `python -m turktui ARGS` as a real child process, for the tests
  whose subject is the process itself: SIGKILL after a send (the crash seam), exit codes of
  the interpreter, crash logs written by a dying process. `start_process(env, *args)` starts
  one without waiting, for a test that signals it while it runs.
- `cli_environment(home, keys=True, **extra)` is the environment of a command: hermetic under
  `home`, dummy keys (none with `keys=False`, others through `extra`); the `cli_env` fixture
  is `cli_environment(tmp_path)`.

Both take the same arguments, so a test moves between them by name alone.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: The signals a command may install handlers for (lifecycle.install_command_signals).
_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
#: One in-process command at a time: the environment and the standard streams are global.
_LOCK = threading.Lock()

#: Dummy keys: botocore signs requests to the emulator with them (never real ones).
TEST_KEYS = {"AWS_ACCESS_KEY_ID": "AKIDTESTTESTTEST0000", "AWS_SECRET_ACCESS_KEY": "test-secret"}


@dataclass
class Ran:
    """What `subprocess.run(..., capture_output=True, text=True)` returns, for both runners."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    extra: dict[str, str] = field(default_factory=dict)

    def check_returncode(self) -> None:
        if self.returncode:
            raise AssertionError(
                f"turktui {' '.join(self.args)} exited {self.returncode}\n"
                f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}"
            )


class _Stream(io.TextIOWrapper):
    """A text stream over bytes, like a pipe: not a terminal, in the encoding a child process
    would get (`PYTHONIOENCODING`, else UTF-8)."""

    def __init__(self, data: bytes = b"", encoding: str = "utf-8", errors: str = "strict") -> None:
        super().__init__(io.BytesIO(data), encoding=encoding, errors=errors, write_through=True)

    def isatty(self) -> bool:
        return False

    def text(self) -> str:
        self.flush()
        raw = self.buffer.getvalue()  # type: ignore[attr-defined]
        return raw.decode("utf-8", errors="replace")


def _io_encoding(env: Mapping[str, str]) -> tuple[str, str]:
    """The standard streams' encoding and error handler, as Python reads `PYTHONIOENCODING`
    ("encoding[:errors]") at start-up; UTF-8 without it (this project's tests' locale)."""
    encoding, _, errors = env.get("PYTHONIOENCODING", "").partition(":")
    return encoding or "utf-8", errors or "strict"


def _no_terminal_size(fd: int = 1) -> os.terminal_size:
    raise OSError(f"fd {fd} is a pipe, not a terminal")


@contextlib.contextmanager
def _process_state(env: Mapping[str, str]) -> Iterator[None]:
    saved_env = dict(os.environ)
    saved_signals = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_size = os.get_terminal_size
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    # Output goes to a pipe: no terminal size to ask for (argparse then wraps help at
    # $COLUMNS or 80, as in a child process), even when pytest itself runs in a terminal.
    os.get_terminal_size = _no_terminal_size
    try:
        yield
    finally:
        os.get_terminal_size = saved_size
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        for sig, handler in saved_signals.items():
            if handler is not None:
                signal.signal(sig, handler)
        from turktui.adapters import requestlog

        requestlog.teardown()
        os.environ.clear()
        os.environ.update(saved_env)
        time.tzset()


def run_cli(
    env: Mapping[str, str] | None,
    *args: str,
    extra: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float | None = None,
) -> Ran:
    """`turktui ARGS` in this process. `env` is the whole environment (None: this process's);
    `extra` is added to it. `timeout` is accepted for symmetry with `run_process` (the test's
    own pytest-timeout bounds an in-process command)."""
    del timeout
    from tests.seams import CRASH_AFTER_SEND_ENV
    from turktui.cli import main

    full = _merged(env, extra)
    if full.get(CRASH_AFTER_SEND_ENV):
        raise ValueError("the crash-after-send seam SIGKILLs a child process: use run_process")
    argv = [str(a) for a in args]
    encoding, errors = _io_encoding(full)
    out, err = _Stream(b"", encoding, errors), _Stream(b"", encoding, "backslashreplace")
    with _LOCK, _process_state(full):
        sys.stdin = _Stream((stdin or "").encode(encoding), encoding, errors)
        sys.stdout, sys.stderr = out, err
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int | type(None)):
                print(exc.code, file=sys.stderr)
        stdout, stderr = out.text(), err.text()
    return Ran(argv, int(code or 0), stdout, stderr, dict(extra or {}))


def run_aws(env: Mapping[str, str] | None, *args: str) -> Ran:
    """The real AWS CLI (`aws ARGS`, awscli's own `main`), in this process, like `run_cli`:
    a fresh driver per call, the environment and the standard streams its own. Another
    implementation of the MTurk client than turktui's, without a Python start-up per call."""
    import awscli
    from awscli.clidriver import create_clidriver

    argv = [str(a) for a in args]
    out, err = _Stream(), _Stream(b"", "utf-8", "backslashreplace")
    # What `import awscli` puts in the environment of the process that runs it: its own data.
    own = {"AWS_DATA_PATH": str(Path(awscli.__file__).parent / "data")}
    with _LOCK, _process_state(_merged(env, own)):
        sys.stdin = _Stream()
        sys.stdout, sys.stderr = out, err
        try:
            code = create_clidriver().main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        stdout, stderr = out.text(), err.text()
    return Ran(argv, int(code or 0), stdout, stderr)


def run_process(
    env: Mapping[str, str] | None,
    *args: str,
    extra: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 90,
) -> Ran:
    """`python -m turktui ARGS` as a child process (SIGKILL after a send, crash logs, the
    interpreter's own exit codes), awaited."""
    argv = [str(a) for a in args]
    proc = subprocess.run(
        _child_command(argv),
        env=_merged(env, extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin or "",
    )
    return Ran(argv, proc.returncode, proc.stdout, proc.stderr, dict(extra or {}))


def start_process(
    env: Mapping[str, str] | None, *args: str, extra: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """`python -m turktui ARGS` started and not awaited, for a test that signals or kills it
    while it runs: stdin empty, stdout/stderr pipes (read them with `communicate`)."""
    return subprocess.Popen(
        _child_command([str(a) for a in args]),
        env=_merged(env, extra),
        text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
    )


def default_sigint() -> None:
    """In a child before exec: the default SIGINT disposition. A test runner started in the
    background (as CI may be) passes SIGINT ignored to its children, and turktui keeps an
    ignored SIGINT on purpose (`nohup`, background jobs)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _child_command(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "turktui", *argv]


def _merged(env: Mapping[str, str] | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    full = dict(os.environ if env is None else env)
    full.update(extra or {})
    return full


def cli_environment(home: Path, *, keys: bool = True, **extra: str) -> dict[str, str]:
    """A hermetic environment under `home` for a command (dummy keys unless `keys=False`)."""
    from tests.conftest import subprocess_env

    base = dict(TEST_KEYS) if keys else {}
    base.update({"NO_PROXY": "*", "no_proxy": "*"})
    base.update(extra)
    return subprocess_env(home, **base)


def config_path(home: Path) -> Path:
    """The config file a command run with `cli_environment(home)` reads."""
    return home / "config" / "turktui" / "config.toml"


def write_config(home: Path, text: str) -> Path:
    """Write `config_path(home)`."""
    path = config_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def history_path(home: Path) -> Path:
    """The history file of a command run with `cli_environment(home)`."""
    return home / "data" / "turktui" / "history.sqlite3"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment for `run_cli`/`run_process`: hermetic under tmp_path, dummy keys."""
    return cli_environment(tmp_path)
