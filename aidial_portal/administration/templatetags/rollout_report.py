"""`{{ rollout|rollout_cell:row.account }}`: one account's rollout columns in the report."""

from __future__ import annotations

from django import template

from aidial_portal.accounts.models import Account
from aidial_portal.administration.rollout_report import RolloutCell, RolloutColumns

register = template.Library()


@register.filter
def rollout_cell(columns: RolloutColumns, account: Account) -> RolloutCell:
    return columns.cell(account)
