"""Connection options shared by the app and every command that talks to MTurk."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, replace
from typing import Any

from turktui.adapters.config import (
    DEMO_HITS_MAX,
    Paths,
    Settings,
    choose_history_url,
    load_settings,
)
from turktui.domain.environment import Environment, EnvKind, parse_endpoint, resolve_environment
from turktui.domain.errors import ConfigurationError


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= DEMO_HITS_MAX:
        raise argparse.ArgumentTypeError(f"must be 0 to {DEMO_HITS_MAX}")
    return value


def add_sending_options(parser: argparse.ArgumentParser) -> None:
    """What every command that sends shares: --yes, --json and the connection options."""
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_connection_options(parser, suppress=True)


def add_connection_options(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """Add --demo/--profile/--sandbox/--production/--endpoint-url/--read-only.

    Subcommands pass suppress=True so that an option given before the command name is
    not overwritten by the subparser's default (an argparse quirk).
    """
    default: Any = argparse.SUPPRESS if suppress else None
    flag_default: Any = argparse.SUPPRESS if suppress else False
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--demo",
        action="store_true",
        default=flag_default,
        help="use an embedded, seeded MTurk-compatible service on loopback (no AWS needed)",
    )
    group.add_argument(
        "--demo-hits",
        metavar="N",
        type=_non_negative_int,
        default=default,
        help="how many HITs the demo service is seeded with (default 200; 0-100000)",
    )
    group.add_argument(
        "--profile",
        metavar="NAME",
        default=default,
        help="AWS profile to use (default: boto3's credential chain, AWS_PROFILE, ...)",
    )
    env = group.add_mutually_exclusive_group()
    env.add_argument(
        "--sandbox",
        action="store_true",
        default=flag_default,
        help="use the MTurk requester sandbox (the default)",
    )
    env.add_argument(
        "--production",
        action="store_true",
        default=flag_default,
        help="use the real MTurk marketplace: real workers, real money (with --endpoint-url: "
        "that endpoint is treated as production in every respect)",
    )
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        default=default,
        help="talk to this endpoint instead (e.g. a local emulator); MTurk's production host "
        "is production however it is written; a non-loopback endpoint asks before spending",
    )
    group.add_argument(
        "--history-url",
        metavar="URL",
        default=default,
        help="keep the request history in this PostgreSQL database, shared by a team "
        "(postgresql://…; default: TURKTUI_HISTORY_URL, the config's history_url, or a file)",
    )
    group.add_argument(
        "--read-only",
        action="store_true",
        default=flag_default,
        help="never change anything: the app removes its changing actions; extend, expire "
        "and resolve refuse (exit 2)",
    )


@dataclass
class Connection:
    """What a command needs to talk to MTurk; `close()` stops an embedded demo service."""

    env: Environment
    settings: Settings
    paths: Paths
    demo_server: Any = None

    def service(self) -> Any:
        """The MTurk service; changing calls and their outcomes go to the request log."""
        from turktui.adapters.mturk import MTurkService
        from turktui.adapters.requestlog import LoggedService

        return LoggedService(
            MTurkService(
                self.env,
                connect_timeout=self.settings.connect_timeout,
                read_timeout=self.settings.read_timeout,
                request_deadline=self.settings.request_deadline,
                # a command's large group of writes may use both cores (adapters.offload)
                second_sender=self.settings.second_sender,
            ),
            self.env,
        )

    def close(self) -> None:
        if self.demo_server is not None:
            self.demo_server.stop()
            self.demo_server = None


def load_config(args: argparse.Namespace) -> tuple[Settings, Paths]:
    given = getattr(args, "endpoint_url", None)
    if given is not None and not given.strip():
        # An empty URL must never fall back to the configured environment (maybe production).
        raise ConfigurationError(
            "--endpoint-url is empty: give a URL (e.g. http://127.0.0.1:8443) or leave it out"
        )
    paths = Paths.default()
    settings = load_settings(paths.config_file)
    url = choose_history_url(
        getattr(args, "history_url", None), os.environ, settings, paths.config_file
    )
    paths = replace(paths, history_url=url)
    settings = settings.merged(
        profile=getattr(args, "profile", None),
        endpoint_url=getattr(args, "endpoint_url", None),
        demo_hits=getattr(args, "demo_hits", None),
        auto_refresh=getattr(args, "auto_refresh", None),
    )
    if getattr(args, "read_only", False):
        settings = settings.merged(read_only=True)
    return settings, paths


def open_connection(args: argparse.Namespace, *, start_demo: bool = True) -> Connection:
    """Resolve the environment from options + config; start the demo service if asked."""
    settings, paths = load_config(args)
    demo = getattr(args, "demo", False)
    if demo and (getattr(args, "production", False) or getattr(args, "endpoint_url", None)):
        raise ConfigurationError("--demo cannot be combined with --production or --endpoint-url")
    server = None
    demo_url = None
    if demo and start_demo:
        from turktui.emulator import EmulatorServer

        server = EmulatorServer(host="127.0.0.1", port=0, hits=settings.demo_hits, seed=1)
        server.start()
        demo_url = server.url
    try:
        env = resolve_environment(
            demo_url=demo_url,
            sandbox=getattr(args, "sandbox", False),
            production=getattr(args, "production", False),
            endpoint_url=settings.endpoint_url,
            # The profile boto3 will use, as recorded with every request (resolve signs
            # with it): --profile or the config's, else AWS_PROFILE.
            profile=settings.profile or os.environ.get("AWS_PROFILE") or None,
            read_only=settings.read_only,
            default=settings.environment,
            confirm_custom=settings.confirm_custom,
        )
    except ValueError as exc:
        if server is not None:
            server.stop()
        raise ConfigurationError(f"{_where_url(args, exc)}{exc}") from exc
    if settings.endpoint_url and not demo and parse_endpoint(settings.endpoint_url).had_userinfo:
        print(
            "turktui: note: the user:password part of the endpoint URL is not used, stored "
            "or shown",
            file=sys.stderr,
            flush=True,
        )
    from turktui.adapters import requestlog

    if requestlog.setup(paths.log_dir) is not None:
        command = getattr(args, "command", None) or "app"
        requestlog.note(
            env,
            f"turktui {command}"
            + (" (read-only)" if env.read_only else "")
            + (" (each record at its own endpoint)" if command == "resolve" else ""),
        )
    if env.kind is EnvKind.DEMO:
        # Demo records live in their own file: a production audit never mixes with play.
        paths = replace(paths, history_db=paths.demo_history_db, history_url=None)
    return Connection(env=env, settings=settings, paths=paths, demo_server=server)


def _where_url(args: argparse.Namespace, exc: ValueError) -> str:
    if not str(exc).startswith("the endpoint URL"):
        return ""
    if getattr(args, "endpoint_url", None):
        return "--endpoint-url: "
    return "config endpoint_url: "
