"""Logistics API: centre-admin network management and dispatch, checkout quotes, tracking, pickup at points."""

from __future__ import annotations

from logistics.controllers.admin import LogisticsAdminController
from logistics.controllers.public import LogisticsController

route_handlers = [LogisticsAdminController, LogisticsController]
