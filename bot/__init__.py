"""The Telegram bot: officers and the public report from their phones.

A client of the backend's HTTP API (never of the database or the backend's code), so the
bot and the browser extension share the one intake path. `wildflag bot` runs it in polling
mode (see `bot.app.run_polling`); `bot.app.build_application` wires it for tests.
"""
