"""The storefront's page routes, gathered for `CONTROLLER_MODULES` (each area keeps its handlers in its module)."""

from __future__ import annotations

from shop.web.storefront import browse, cart, checkout, orders

route_handlers = [*browse.route_handlers, *cart.route_handlers, *checkout.route_handlers, *orders.route_handlers]
