"""Workers, their conversations with the hotline, and every message in them."""
