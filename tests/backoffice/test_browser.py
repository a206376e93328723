"""Browser tests of the staff admin: Playwright driving Debian's chromium (headless) against
pytest-django's live server, with the TOTP sign-in on.

Each test saves screenshots under ``var/test-output/<test name>/``. Data that emits events (users,
applications, orders) is made by fixtures listed before ``browser``: in-process event delivery uses
``async_to_sync``, which cannot run in a thread where Playwright's event loop is running. Run them with
``pytest tests/backoffice/test_browser.py``; they skip when ``/usr/bin/chromium`` is missing (and fail
under ``REQUIRE_SERVICES=1``, as in CI, which installs it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.accounts import funding
from apps.accounts.models import Withdrawal, WithdrawalStatus
from apps.content.models import Announcement
from apps.kyc.models import KycApplication, KycCountry, KycState
from apps.kyc.services import kyc_application_submit
from apps.tokens.models import Symbol
from apps.trading.models import Order, OrderStatus
from tests.accounts.test_funding_fixtures import FUND_PASSWORD, totp_code
from tests.backoffice.conftest import Staff, throttle_reset, totp_now
from tests.conftest import require

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = Path("/usr/bin/chromium")
BTC_ADDRESS = "bc1qexampleaddress000000000000000000000"


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    path = Path(settings.BASE_DIR) / "var" / "test-output" / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch, otp_on: None) -> Iterator[Any]:
    require(CHROMIUM.exists(), "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
    # plain synchronous code, so Django's async-safety guard is lifted for the test only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


def signed_in_page(browser: Any, live_server: Any, staff: Staff) -> Any:
    """A new browser context signed in as ``staff``: username, password, then the TOTP code."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", staff.user.username)
    page.fill("#id_password", staff.password)
    page.fill("#id_otp_token", totp_now(staff.user))
    page.click("#login-form input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def run_action(page: Any, action: str, selected: list[Any], reason: str = "") -> None:
    """Tick rows on the current changelist, choose an action, give a reason, press Go."""
    for pk in selected:
        page.check(f"input[name=_selected_action][value='{pk}']")
    page.select_option("select[name=action]", action)
    if reason:
        page.fill("input[name=reason]", reason)
    with page.expect_navigation():
        page.click("button[name=index]")


@pytest.fixture
def activity(traders: Any, place: Any) -> None:
    """A trade and the statistics tables refreshed, so the dashboard has something to chart."""
    from apps.backoffice.services import statistics_refresh

    alice, bob = traders
    place(alice, "sell", price="100", quantity="2")
    place(bob, "buy", price="100", quantity="2")
    statistics_refresh(days=1)


def test_staff_signs_in_with_totp(activity, browser, live_server, make_staff_member, output_dir):
    staff = make_staff_member("support")
    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", staff.user.username)
    page.fill("#id_password", staff.password)
    page.fill("#id_otp_token", "000000" if totp_now(staff.user) != "000000" else "111111")
    page.click("#login-form input[type=submit]")
    assert page.locator(".errornote").count() >= 1  # a wrong code keeps the door shut
    page.screenshot(path=str(output_dir / "wrong-code.png"))
    throttle_reset(staff.user)

    page = signed_in_page(browser, live_server, staff)
    assert page.locator("#backoffice-dashboard").is_visible()
    assert page.locator("#chart-users").is_visible()
    assert "BTCUSDT" in page.locator("#symbol-totals").inner_text()
    page.screenshot(path=str(output_dir / "dashboard.png"))  # the charts, above the app list


@pytest.fixture
def kyc_application(make_user: Any) -> KycApplication:
    KycCountry.objects.create(code="SG", name="Singapore")
    return kyc_application_submit(
        user=make_user(), level=1, country_code="SG", first_name="Ada", last_name="L", id_type="passport", id_number="1"
    )


@pytest.fixture
def withdrawal(withdrawer: Any) -> Withdrawal:
    return funding.withdrawal_request(
        user=withdrawer,
        token_id="BTC",
        amount="0.5",
        address=BTC_ADDRESS,
        fund_password=FUND_PASSWORD,
        totp_code=totp_code(withdrawer),
    )


@pytest.fixture
def resting(traders: Any, place: Any) -> list[Order]:
    alice, bob = traders
    return [place(alice, "buy", price="90", quantity="1"), place(bob, "sell", price="110", quantity="1")]


def test_kyc_reviewer_approves_an_application(kyc_application, browser, live_server, make_staff_member, output_dir):
    application = kyc_application
    user = application.user
    reviewer = make_staff_member("kyc-reviewer")
    page = signed_in_page(browser, live_server, reviewer)
    page.click("#queue-kyc_pending")
    page.wait_for_url("**/admin/kyc/kycapplication/?state__exact=submitted")
    assert page.locator("#result_list tbody tr").count() == 1
    run_action(page, "approve_selected", [application.pk])
    page.screenshot(path=str(output_dir / "kyc-approved.png"), full_page=True)
    assert page.locator(".messagelist").inner_text().startswith("Approved 1 application")
    application.refresh_from_db()
    user.refresh_from_db()
    assert application.state == KycState.APPROVED and application.reviewer_id == reviewer.user.pk
    assert user.kyc_level == 1 and KycApplication.objects.filter(state=KycState.SUBMITTED).count() == 0


def test_withdrawal_approver_approves_and_support_cannot(
    withdrawal, browser, live_server, make_staff_member, output_dir
):
    assert withdrawal.status == WithdrawalStatus.REVIEWING

    support = signed_in_page(browser, live_server, make_staff_member("support"))
    support.click("#queue-withdrawals_reviewing")
    support.wait_for_url("**/admin/accounts/withdrawal/?status__exact=reviewing")
    options = support.locator("select[name=action] option").all_inner_texts()
    assert not any("Approve" in text for text in options)
    support.screenshot(path=str(output_dir / "support-no-approve.png"), full_page=True)
    # Even a hand-made POST of the action is refused: the action is not offered to this role.
    support.goto(f"{live_server.url}/admin/accounts/withdrawal/{withdrawal.pk}/change/")
    assert support.locator("input[type=submit][name=_save]").count() == 0

    approver = make_staff_member("withdrawal-approver")
    page = signed_in_page(browser, live_server, approver)
    page.click("#queue-withdrawals_reviewing")
    page.wait_for_url("**/admin/accounts/withdrawal/?status__exact=reviewing")
    run_action(page, "approve_selected", [withdrawal.pk])
    page.screenshot(path=str(output_dir / "withdrawal-approved.png"), full_page=True)
    assert page.locator(".messagelist").inner_text().startswith("Approved 1 item")
    page.goto(f"{live_server.url}/admin/accounts/withdrawal/{withdrawal.pk}/change/")
    page.screenshot(path=str(output_dir / "withdrawal-page.png"), full_page=True)
    assert approver.user.username in page.locator("#content-main").inner_text()  # approvals and audit rows
    withdrawal.refresh_from_db()
    assert withdrawal.status in (WithdrawalStatus.APPROVED, WithdrawalStatus.BROADCAST, WithdrawalStatus.COMPLETED)
    assert list(withdrawal.approvals.values_list("staff_id", flat=True)) == [approver.user.pk]


def test_listing_manager_delists_a_symbol(resting, browser, live_server, make_staff_member, output_dir):
    assert {Order.objects.get(pk=o.pk).status for o in resting} == {OrderStatus.NEW}
    page = signed_in_page(browser, live_server, make_staff_member("listing-manager"))
    page.goto(f"{live_server.url}/admin/tokens/symbol/")
    run_action(page, "delist_symbols", ["BTCUSDT"], reason="project abandoned")
    assert re.search(r"1 symbol\(s\) set to off", page.locator(".messagelist").inner_text())
    page.screenshot(path=str(output_dir / "symbol-delisted.png"), full_page=True)
    assert Symbol.objects.get(pk="BTCUSDT").status == "off"
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in resting])} == {OrderStatus.CANCELED}
    assert not Order.objects.filter(symbol_id="BTCUSDT", status__in=["pending", "new", "partially_filled"]).exists()


def test_content_editor_publishes_an_announcement(org, browser, live_server, make_staff_member, output_dir):
    page = signed_in_page(browser, live_server, make_staff_member("content-editor"))
    page.goto(f"{live_server.url}/admin/content/announcement/add/")
    page.select_option("#id_organization", str(org.pk))
    page.fill("#id_title", "Scheduled maintenance")
    page.fill("#id_body", "Trading pauses on Sunday 02:00–03:00 UTC.")
    page.select_option("#id_language", "en")
    page.fill("#id_publish_at_0", "2026-01-01")
    page.fill("#id_publish_at_1", "00:00:00")
    page.check("#id_publish")
    with page.expect_navigation():
        page.click("input[name=_save]")
    assert page.locator(".messagelist .success").count() == 1, page.content()[:2000]
    page.screenshot(path=str(output_dir / "announcement-published.png"), full_page=True)
    announcement = Announcement.objects.get(title="Scheduled maintenance")
    assert announcement.status == "published" and announcement.language == "en"
    assert os.path.exists(output_dir / "announcement-published.png")
