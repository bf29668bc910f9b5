"""The streamer studio pages (主播工作台): week view, booking, the go-live screen and reports."""

from __future__ import annotations

from livestream.pages import reports, schedule, session

route_handlers = [*schedule.route_handlers, *session.route_handlers, *reports.route_handlers]
