"""Every component id used by OneGrid's pages, in one place."""

# app shell
URL = "url"
LANG = "lang"
LANG_SWITCH = "lang-switch"
REFRESH = "refresh"
CLOCK = "clock"
TITLE = "title"

# the live city page
FEED_TILES = "feed-tiles"
CELL_MAP = "cell-map"
