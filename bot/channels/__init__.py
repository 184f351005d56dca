"""Channel adapters: web chat, LINE and Telegram, behind one interface."""
