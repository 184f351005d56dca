"""What the engine understood of each worker message: intent, confidence, entities."""
