"""Priors of the scores, for what was stored without them."""

UNKNOWN_READABILITY = 2.5  # CNN scale 0..5: the prior of a rated diagram stored without one
