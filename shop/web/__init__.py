"""Server-rendered pages (Jinja + htmx): storefront, kiosk, streamer studio, statements, centre admin.

The pages call the same services as the API; nothing here holds a rule of its own. `templating` renders a page with
the common context (caller, language, CSRF token), `i18n` translates (zh-CN first, English switch), `csrf` guards
cookie-authenticated writes.
"""
