import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.core import errors
from apps.users.security import fund_password_set, fund_password_verify, totp_verify

pytestmark = pytest.mark.django_db


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def test_fund_password(make_user):
    user = make_user()
    with pytest.raises(errors.FundPasswordRequired):
        fund_password_verify(user=user, password="anything")
    with pytest.raises(errors.InvalidParameter):
        fund_password_set(user=user, password="correct horse battery staple")  # the login password
    fund_password_set(user=user, password="another long secret 42")
    fund_password_verify(user=user, password="another long secret 42")
    with pytest.raises(errors.WrongFundPassword):
        fund_password_verify(user=user, password="wrong")


def test_totp_accepts_a_code_once(make_user):
    user = make_user()
    with pytest.raises(errors.SecondFactorRequired):
        totp_verify(user=user, code="123456")
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    code = current_code(device)
    totp_verify(user=user, code=code)
    with pytest.raises(errors.WrongSecondFactor):
        totp_verify(user=user, code=code)  # replay of the same code
    with pytest.raises(errors.WrongSecondFactor):
        totp_verify(user=user, code="not-a-code")
