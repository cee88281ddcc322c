"""The request limits the bot and the engine both apply, defined once: the defaults of
ENGINE_MAX_DESCRIPTION_CHARS / BOT_MAX_DESCRIPTION_CHARS, of the candidates and top asked
for, and the most of each a request may ask for."""

MAX_DESCRIPTION_CHARS = 1000
DEFAULT_CANDIDATES = 8
MAX_CANDIDATES = 16
DEFAULT_TOP = 3
MAX_TOP = 4
