"""Local stand-ins for the LINE and Telegram HTTP APIs.

They speak the part of each platform's API the hotline uses, record every
request, and can be told to fail (5xx, 429 with a wait, slow answers), so
the real SDKs can be pointed at them through the base-URL settings.
"""
