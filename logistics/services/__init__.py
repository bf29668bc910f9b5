"""Logistics use cases (丽水山递), one module per concern."""

from __future__ import annotations

from logistics.services.csv_import import PointImporter
from logistics.services.delivery import LogisticsDelivery
from logistics.services.dispatch import list_batches, plan_day
from logistics.services.network import NetworkService
from logistics.services.returns import return_uncollected
from logistics.services.shipments import create_shipments_for_order, order_tracking

__all__ = [
    "LogisticsDelivery",
    "NetworkService",
    "PointImporter",
    "create_shipments_for_order",
    "list_batches",
    "order_tracking",
    "plan_day",
    "return_uncollected",
]
