"""``/api/v2/oauth2/``: the OAuth 2.0 endpoints and the OAuth resource API (docs/oauth.md)."""

from django.urls import path

from apps.oauth import resources, views

urlpatterns = [
    # OAuth 2.0 (seed 001 "OAuth 자체인증 endpoint"), plus revocation (RFC 7009)
    path("authorize", views.AuthorizeView.as_view(), name="oauth-authorize"),
    path("login", views.LoginView.as_view(), name="oauth-login"),
    path("token", views.TokenView.as_view(), name="oauth-token"),
    path("refresh_token", views.RefreshTokenView.as_view(), name="oauth-refresh-token"),
    path("revoke_token", views.RevokeTokenView.as_view(), name="oauth-revoke-token"),
    path("check_token", views.CheckTokenView.as_view(), name="oauth-check-token"),
    path("error", views.ErrorPageView.as_view(), name="oauth-error"),
    # resource API, one scope per group
    path("user/getInfo", resources.UserInfoApi.as_view(), name="oauth-user-info"),
    path("account/getInfo", resources.AccountInfoApi.as_view(), name="oauth-account-info"),
    path("account/getAsset", resources.AssetApi.as_view(), name="oauth-account-asset"),
    path("account/getDepositAddress", resources.DepositAddressApi.as_view(), name="oauth-deposit-address"),
    path("account/getBalanceFlow", resources.BalanceFlowApi.as_view(), name="oauth-balance-flow"),
    path("account/getDepositHistory", resources.DepositHistoryApi.as_view(), name="oauth-deposit-history"),
    path("account/getWithdrawHistory", resources.WithdrawHistoryApi.as_view(), name="oauth-withdraw-history"),
    path("trade/spot/getOpenOrderList", resources.OpenOrderListApi.as_view(), name="oauth-open-orders"),
    path("trade/spot/getHistoryOrderList", resources.HistoryOrderListApi.as_view(), name="oauth-history-orders"),
    path("trade/spot/getTradeDetailList", resources.TradeDetailListApi.as_view(), name="oauth-trades"),
    path("trade/spot/placeOrder", resources.PlaceOrderApi.as_view(), name="oauth-place-order"),
    path("trade/spot/cancelOrder", resources.CancelOrderApi.as_view(), name="oauth-cancel-order"),
]
