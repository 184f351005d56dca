"""What can go wrong with staff accounts, as kinds of the one error tree (`core.errors`)."""

from __future__ import annotations

from core.errors import Forbidden
from core.translation import N_


class TwoFactorSetupRequired(Forbidden):
    """A console sign-in of a role that must use two-factor sign-in, not set up yet:
    it reaches only the setup page until it is."""

    default = N_("Set up two-factor sign-in first.")
