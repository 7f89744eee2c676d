"""The Telegram bot: officers and the public report from their phones; units act from their chat.

A client of the backend's HTTP API (never of the database), so the bot and the browser
extension share the one intake path. Not written yet: `wildflag bot` arrives with it.
"""
