from typing import Any

from django.core.management.base import CommandError, CommandParser

from apps.accounts.models import AccountType
from apps.accounts.services import manual_credit
from apps.core.management.base import JsonCommand
from apps.users.models import Organization
from apps.users.selectors import user_get_by_uid


class Command(JsonCommand):
    help = (
        "Manual deposit through the ledger: the organization's CUSTODY account → a user's account "
        '(--user) or → its OPERATING account (--org --operating). Prints {"transaction_id": …}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", type=int, help="User uid")
        parser.add_argument("--account", choices=["spot", "funding"], default="spot")
        parser.add_argument("--org", type=int, help="Organization id (with --operating)")
        parser.add_argument("--operating", action="store_true")
        parser.add_argument("--token", required=True)
        parser.add_argument("--amount", required=True, help="A decimal string, e.g. 1.5")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--idempotency-key", default=None, help="Repeat-safe key: the same key credits once")

    def run(self, **options: Any) -> dict[str, Any]:
        token = options["token"].upper()
        if options["user"] is not None:
            user = user_get_by_uid(uid=options["user"])
            if user is None:
                raise CommandError(f"No user with uid {options['user']}")
            tx = manual_credit(
                user=user,
                account_type=AccountType.SPOT if options["account"] == "spot" else AccountType.FUNDING,
                token_id=token,
                amount=options["amount"],
                reason=options["reason"],
                idempotency_key=options["idempotency_key"],
            )
        elif options["org"] is not None and options["operating"]:
            organization = Organization.objects.filter(pk=options["org"]).first()
            if organization is None:
                raise CommandError(f"No organization {options['org']}")
            tx = manual_credit(
                organization=organization,
                token_id=token,
                amount=options["amount"],
                reason=options["reason"],
                idempotency_key=options["idempotency_key"],
            )
        else:
            raise CommandError("Give --user UID, or --org ORG_ID --operating")
        return {"transaction_id": tx.pk}
