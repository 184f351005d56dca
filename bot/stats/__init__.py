"""Counts for supervisors: messages, workers, intents, handoffs; never words."""
