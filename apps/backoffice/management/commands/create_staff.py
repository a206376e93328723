"""Create a staff member in one role, with a TOTP device for the admin sign-in.

Prints ``{"username", "password", "totp_uri", "totp_secret"}``: add ``totp_uri`` (or the secret) to an
authenticator app; the admin asks for its six-digit code after the password.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from apps.backoffice.roles import ROLES
from apps.backoffice.services import staff_create, staff_login_dict
from apps.core.management.base import JsonCommand


class Command(JsonCommand):
    help = "Create a staff member in a role (" + ", ".join(r.slug for r in ROLES) + "); prints the login and TOTP URI."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--group", required=True, help="Role slug or group name, e.g. kyc-reviewer")
        parser.add_argument("--email", default="")

    def run(self, **options: Any) -> dict[str, Any]:
        login = staff_create(username=options["username"], group=options["group"], email=options["email"])
        return staff_login_dict(login)
