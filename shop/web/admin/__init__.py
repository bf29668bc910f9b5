"""Centre admin pages (中心管理): workshops and star ratings, pickup points, month close and statements, synonyms."""

from __future__ import annotations

from shop.web.admin import months, pickup, synonyms, workshops

route_handlers = [*workshops.route_handlers, *pickup.route_handlers, *months.route_handlers, *synonyms.route_handlers]
