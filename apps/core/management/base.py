"""Management commands for scripts: each prints exactly one JSON object on stdout.

On a domain error the object is ``{"error": CODE, "msg": …}`` and the exit status is 1, so a script
can branch on either.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import BrokerError


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dump(obj: Any) -> str:
    return json.dumps(obj, default=_default, sort_keys=False)


class JsonCommand(BaseCommand):
    exit_code = 0

    def run(self, **options: Any) -> dict[str, Any]:
        raise NotImplementedError  # every subclass defines run()

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = self.run(**options)
        except BrokerError as exc:
            self.stdout.write(dump({"error": exc.code, "msg": exc.message}))
            sys.exit(1)
        except CommandError as exc:
            self.stdout.write(dump({"error": "COMMAND_ERROR", "msg": str(exc)}))
            sys.exit(1)
        self.stdout.write(dump(result))
        if self.exit_code:
            sys.exit(self.exit_code)
