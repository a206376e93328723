from django.urls import path

from apps.webapi import views

urlpatterns = [
    path("time", views.ServerTimeApi.as_view(), name="webapi-time"),
    path("account/balances", views.BalanceListApi.as_view(), name="webapi-balances"),
]
