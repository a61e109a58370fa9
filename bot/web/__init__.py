"""The admin console: server-rendered pages under ``/admin/`` on the callback server.

    sign-in (NEWSBRIEF_ADMIN__TOKEN) -> signed session cookie -> pages (overview, feeds, topics,
    subscribers, outbox, robots); every form carries a CSRF token; every change is logged.

``auth`` holds the pure parts (tokens, cookies, CSRF, the sign-in limiter), ``app`` the aiohttp
sub-application and its middleware, ``pages/`` one module per page (its routes and its words).
"""
