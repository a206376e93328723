from typing import Any

from django.core.management.base import CommandParser

from apps.accounts.reconcile import reconcile
from apps.core.management.base import JsonCommand


class Command(JsonCommand):
    help = "Recompute every balance from the postings; print a JSON summary; exit 1 on any difference."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--max-items", type=int, default=100)

    def run(self, **options: Any) -> dict[str, Any]:
        report = reconcile(max_items=options["max_items"])
        self.exit_code = 0 if report["ok"] else 1
        return report
