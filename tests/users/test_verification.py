"""Verification codes at the service level: hashing, expiry, attempts, single use, delivery after commit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from apps.core.errors import CodeCooldown, CodeInvalid, InvalidParameter
from apps.users.models import CodePurpose, VerificationCode
from apps.users.sms import InMemorySmsBackend
from apps.users.verification import code_check, code_consume, code_send, target_normalize
from tests.users import helpers
from tests.users.helpers import last_code

sms_outbox = helpers.sms_outbox  # shared fixture


def test_phone_and_email_normalization():
    assert target_normalize(" A@B.COM ") == "a@b.com"
    assert target_normalize("+86 138-0000-0000") == "+8613800000000"
    with pytest.raises(InvalidParameter):
        target_normalize("12ab")


@pytest.mark.django_db(transaction=True)
def test_delivery_happens_only_after_commit(org, sms_outbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        code_send(organization=org, target="+821011112222", purpose=CodePurpose.REGISTER)
        raise RuntimeError("rolled back")
    assert sms_outbox == [] and not VerificationCode.objects.exists()
    code_send(organization=org, target="+821011112222", purpose=CodePurpose.REGISTER)
    assert len(InMemorySmsBackend.outbox) == 1
    code = last_code("+821011112222")
    row = code_check(organization_id=org.pk, target="+821011112222", purpose=CodePurpose.REGISTER, code=code)
    code_consume(row)
    with pytest.raises(CodeInvalid):
        code_consume(row)


@pytest.mark.django_db
def test_a_new_code_replaces_the_old_one(org, settings, django_capture_on_commit_callbacks):
    settings.VERIFICATION_CODE_RESEND_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        code_send(organization=org, target="a@example.com", purpose=CodePurpose.REGISTER)
    first = last_code("a@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        code_send(organization=org, target="a@example.com", purpose=CodePurpose.REGISTER)
    second = last_code("a@example.com")
    assert len(mail.outbox) == 2
    if first != second:
        with pytest.raises(CodeInvalid):
            code_check(organization_id=org.pk, target="a@example.com", purpose=CodePurpose.REGISTER, code=first)
    code_check(organization_id=org.pk, target="a@example.com", purpose=CodePurpose.REGISTER, code=second)


@pytest.mark.django_db
def test_cooldown_and_purpose_isolation(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        code_send(organization=org, target="a@example.com", purpose=CodePurpose.REGISTER)
    code = last_code("a@example.com")
    with pytest.raises(CodeCooldown):
        code_send(organization=org, target="a@example.com", purpose=CodePurpose.REGISTER)
    with pytest.raises(CodeInvalid):  # a register code is not a reset code
        code_check(organization_id=org.pk, target="a@example.com", purpose=CodePurpose.RESET_PASSWORD, code=code)
    VerificationCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    code_send(organization=org, target="a@example.com", purpose=CodePurpose.REGISTER)
