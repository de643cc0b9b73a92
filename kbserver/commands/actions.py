"""The one action table of `kb`: each verb's parser carries the function that runs it, and `kb` calls that."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from kbserver.services import Services
from kbserver.settings import Settings

Result = tuple[int, str]  # the exit code, and the text for standard output
Verbs = argparse._SubParsersAction  # what add_subparsers returns
SettingsAction = Callable[[Settings, argparse.Namespace], Result]
ServicesAction = Callable[[Services, argparse.Namespace], Result]


def verb(verbs: Verbs[Any], name: str, action: ServicesAction, **options: Any) -> argparse.ArgumentParser:
    """Add the verb name, run by action with the service's parts open (and closed after it)."""

    def with_services(settings: Settings, args: argparse.Namespace) -> Result:
        services = Services.open(settings)
        try:
            return action(services, args)
        finally:
            services.close()

    return settings_verb(verbs, name, with_services, **options)


def settings_verb(
    verbs: Verbs[Any], name: str, action: SettingsAction, **options: Any
) -> argparse.ArgumentParser:
    """Add the verb name, run by action with the settings alone (it opens what it needs, or nothing)."""
    parser: argparse.ArgumentParser = verbs.add_parser(name, **options)
    parser.set_defaults(run=action)
    return parser


def run(args: argparse.Namespace, settings: Settings) -> Result:
    """Run the action of the verb that args were parsed for."""
    action: SettingsAction = args.run
    return action(settings, args)
