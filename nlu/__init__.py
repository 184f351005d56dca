"""The engine's own NLU components, loaded by Rasa from `nlu/config.yml`."""
