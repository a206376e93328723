from typing import Any

from django.core.management.base import CommandError, CommandParser

from apps.accounts.funding import deposit_simulate
from apps.core.management.base import JsonCommand
from apps.users.selectors import user_get_by_uid


class Command(JsonCommand):
    help = (
        "Simulate an incoming deposit to a user's address (CUSTODY_BACKEND=simulated). Without "
        "--confirmations the chain's required count is used, so the deposit is credited at once; repeat "
        'with the same --txid and a higher count to advance one. Prints {"deposit_id": …, "status": …}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", type=int, required=True, help="User uid")
        parser.add_argument("--token", required=True)
        parser.add_argument("--amount", required=True, help="A decimal string, e.g. 1.5")
        parser.add_argument("--chain", default=None, help="Chain name; optional when the token has one chain")
        parser.add_argument("--confirmations", type=int, default=None)
        parser.add_argument("--txid", default=None, help="Defaults to a random simulated txid")

    def run(self, **options: Any) -> dict[str, Any]:
        user = user_get_by_uid(uid=options["user"])
        if user is None:
            raise CommandError(f"No user with uid {options['user']}")
        deposit = deposit_simulate(
            user=user,
            token_id=options["token"].upper(),
            amount=options["amount"],
            chain=options["chain"],
            confirmations=options["confirmations"],
            txid=options["txid"],
        )
        return {
            "deposit_id": deposit.pk,
            "status": deposit.status,
            "txid": deposit.txid,
            "confirmations": deposit.confirmations,
            "confirmations_required": deposit.confirmations_required,
        }
