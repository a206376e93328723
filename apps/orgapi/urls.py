"""Routes of the Org API under ``/api/v2/org/`` (seed 001 §3; docs/orgapi.md)."""

from typing import Any

from django.urls import path

from apps.orgapi.views import account, events, files, finance, org, statistics, trade, user

urlpatterns: list[Any] = [
    # 3.1 organization
    path("getInfo", org.OrgInfoApi.as_view(), name="orgapi-org-info"),
    path("getTokens", org.OrgTokensApi.as_view(), name="orgapi-org-tokens"),
    path("getSymbols", org.OrgSymbolsApi.as_view(), name="orgapi-org-symbols"),
    path("updateSettings", org.OrgUpdateSettingsApi.as_view(), name="orgapi-org-settings"),
    # 3.2 users
    path("user/registerUser", user.RegisterUserApi.as_view(), name="orgapi-user-register"),
    path("user/login", user.LoginApi.as_view(), name="orgapi-user-login"),
    path("user/getInfo", user.UserInfoApi.as_view(), name="orgapi-user-info"),
    path("user/updateInfo", user.UpdateInfoApi.as_view(), name="orgapi-user-update"),
    path("user/updateKYCInfo", user.UpdateKycInfoApi.as_view(), name="orgapi-user-kyc-update"),
    path("user/getLoginHistory", user.LoginHistoryApi.as_view(), name="orgapi-user-logins"),
    path("user/getInviteList", user.InviteListApi.as_view(), name="orgapi-user-invites"),
    path("user/frozenUser", user.FrozenUserApi.as_view(), name="orgapi-user-freeze"),
    path("user/getFrozenUserList", user.FrozenUserListApi.as_view(), name="orgapi-user-frozen-list"),
    path("user/verifyKYC", user.VerifyKycApi.as_view(), name="orgapi-user-kyc-verify"),
    path("user/updateFavorite", user.UpdateFavoriteApi.as_view(), name="orgapi-user-favorite-update"),
    path("user/getFavoriteList", user.FavoriteListApi.as_view(), name="orgapi-user-favorites"),
    path("user/createOpenAPI", user.CreateOpenApiKeyApi.as_view(), name="orgapi-user-openapi"),
    path("user/sendNotice", user.SendNoticeApi.as_view(), name="orgapi-user-notice"),
    # 3.3 accounts
    path("account/frozenUser", account.AccountFreezeApi.as_view(), name="orgapi-account-freeze"),
    path("account/getInfo", account.AccountInfoApi.as_view(), name="orgapi-account-info"),
    path("account/getAsset", account.AssetApi.as_view(), name="orgapi-account-asset"),
    path("account/getBalanceFlow", account.BalanceFlowApi.as_view(), name="orgapi-account-flow"),
    path("account/getDepositAddress", account.DepositAddressApi.as_view(), name="orgapi-account-deposit-address"),
    path("account/getDepositHistory", account.DepositHistoryApi.as_view(), name="orgapi-account-deposits"),
    path("account/getWithdrawQuota", account.WithdrawQuotaApi.as_view(), name="orgapi-account-withdraw-quota"),
    path("account/createWithdraw", account.CreateWithdrawApi.as_view(), name="orgapi-account-withdraw"),
    path("account/getWithdrawHistory", account.WithdrawHistoryApi.as_view(), name="orgapi-account-withdrawals"),
    # 3.4 trading
    path("trade/frozenUser", trade.TradeFreezeApi.as_view(), name="orgapi-trade-freeze"),
    path("trade/spot/createOrder", trade.CreateOrderApi.as_view(), name="orgapi-order-create"),
    path("trade/spot/cancelOrder", trade.CancelOrderApi.as_view(), name="orgapi-order-cancel"),
    path("trade/spot/getOpenOrderList", trade.OpenOrderListApi.as_view(), name="orgapi-orders-open"),
    path("trade/spot/getHistoryOrderList", trade.HistoryOrderListApi.as_view(), name="orgapi-orders-history"),
    path("trade/spot/getTradeDetailList", trade.TradeDetailListApi.as_view(), name="orgapi-trades"),
    # 3.5 finance
    path("finance/airdrop", finance.AirdropApi.as_view(), name="orgapi-finance-airdrop"),
    path("finance/getAirdrop", finance.AirdropInfoApi.as_view(), name="orgapi-finance-airdrop-info"),
    path("finance/lock", finance.LockApi.as_view(), name="orgapi-finance-lock"),
    path("finance/unlock", finance.UnlockApi.as_view(), name="orgapi-finance-unlock"),
    path("finance/convert", finance.ConvertApi.as_view(), name="orgapi-finance-convert"),
    path("finance/mapping", finance.MappingApi.as_view(), name="orgapi-finance-mapping"),
    # 3.6 statistics
    path("statistics/user", statistics.UserStatisticsApi.as_view(), name="orgapi-statistics-user"),
    path("statistics/token", statistics.TokenStatisticsApi.as_view(), name="orgapi-statistics-token"),
    path("statistics/symbol", statistics.SymbolStatisticsApi.as_view(), name="orgapi-statistics-symbol"),
    # 3.7 uploads
    path("pic/upload", files.PicUploadApi.as_view(), name="orgapi-pic-upload"),
    path("file/upload", files.FileUploadApi.as_view(), name="orgapi-file-upload"),
    path("files/<int:file_id>/<str:name>", files.upload_download, name="orgapi-file"),
    # §4 event feed (REST long-poll; the websocket is /api/v2/org/ws) and webhooks
    path("events", events.events_poll, name="orgapi-events"),
    path("webhook/create", events.WebhookCreateApi.as_view(), name="orgapi-webhook-create"),
    path("webhook/list", events.WebhookListApi.as_view(), name="orgapi-webhook-list"),
    path("webhook/update", events.WebhookUpdateApi.as_view(), name="orgapi-webhook-update"),
    path("webhook/delete", events.WebhookDeleteApi.as_view(), name="orgapi-webhook-delete"),
]
