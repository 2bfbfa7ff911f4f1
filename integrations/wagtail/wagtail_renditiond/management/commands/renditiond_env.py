from __future__ import annotations

import json
import shlex
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wagtail_renditiond.environment import environment


class Command(BaseCommand):
    help = (
        "Prints the environment renditiond needs to stand in for this site: originals, "
        "secret key, database, image table and API token. Secrets are hidden unless asked for."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format",
            choices=["env", "json"],
            default="env",
            help="KEY=value lines, or one JSON object (default: %(default)s)",
        )
        parser.add_argument("--show-secrets", action="store_true", help="print secret values as they are")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            env = environment(show_secrets=options["show_secrets"])
        except ValueError as error:
            raise CommandError(str(error), returncode=2) from error
        if options["format"] == "json":
            self.stdout.write(json.dumps(env, indent=2))
        else:
            for name, value in env.items():
                self.stdout.write(f"{name}={shlex.quote(value)}")
