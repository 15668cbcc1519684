"""Every component id used by OneGrid's pages, in one place."""

# app shell
URL = "url"
LANG = "lang"
LANG_SWITCH = "lang-switch"
REFRESH = "refresh"
CLOCK = "clock"
CLOCK_TICK = "clock-tick"
TITLE = "title"
SUBTITLE_STATIC = "subtitle-static"
# the refusal shown instead of a page the signed-in account may not open
FORBIDDEN = "page-forbidden"
SUBTITLE = "subtitle"
REGION_NAME = "region-name"
TIMEZONE = "timezone"
SIGN_OUT = "sign-out"  # the header's sign-out form (POSTs /logout with a CSRF token)
SIGN_OUT_BUTTON = "sign-out-button"

# the wall (page "/")
VIEW = "view"  # dcc.Store: the prescribed view (scope, level, metric, window, tour)
URL_LANG = "url-lang"  # dcc.Store: ?lang= of the URL the page was opened with
TOUR = "tour"  # dcc.Interval cycling the counties in tour mode
METRIC = "metric"
WINDOW = "window"
BREADCRUMB = "breadcrumb"
CELL_MAP = "cell-map"
MAP_Z = "map-z"  # dcc.Store: the values the map shows now (the base of each diff)
MAP_DIFF = "map-diff"  # dcc.Store: one refresh's changed values, applied in the browser
MAP_LABELS = "map-labels"  # dcc.Store: area names drawn over the map (HTML, no glyphs needed)
MAP_LABEL_LAYER = "map-label-layer"  # the HTML layer assets/wall.js draws the names in
LABELS_SINK = "labels-sink"  # dcc.Store: output of the clientside label placer
URL_SINK = "url-sink"  # dcc.Store: output of the clientside address-bar sync
LEGEND = "legend"
KPI_TILES = "kpi-tiles"
TICKER = "ticker"
# dcc.Store: per part of the wall (map, kpi, ticker, crumb, warnings) the signature of what the
# screen shows, so a refresh sends only the parts that changed
WALL_SHOWN = "wall-shown"
CELL_PANEL = "cell-panel"
CELL_TITLE = "cell-title"
CELL_EVENTS = "cell-events"
CELL_CLOSE = "cell-close"
WARNINGS = "warnings-panel"
RESPONSE = "response-panel"
WARNINGS_BODY = "warnings-panel-body"  # filled by the wall's panel callback
RESPONSE_BODY = "response-panel-body"
RESPONSE_REFRESH = "response-refresh"  # dcc.Interval: the response panel's slower timer
WARN_MARKS = "warn-marks"  # dcc.Store: red/orange cells to mark over the map
WARN_MARK_LAYER = "warn-mark-layer"  # the HTML layer assets/wall.js draws the marks in

# the wall on a past period and its after-action review (复盘, page "/")
PERIOD_DAY = "period-day"  # dcc.Input (date): the first day of the period to review
PERIOD_KIND = "period-kind"  # dcc.RadioItems: a day or a week
PERIOD_GO = "period-go"  # show the period
PERIOD_LIVE = "period-live"  # back to the live wall
PERIOD_NOTE = "period-note"  # why a period in the URL could not be shown
REPLAY = "replay"  # the replay bar (shown on a period)
REPLAY_SLIDER = "replay-slider"  # dcc.Slider: the moment shown, in steps over the period
REPLAY_PLAY = "replay-play"  # play / pause
REPLAY_SPEED = "replay-speed"  # dcc.RadioItems: steps per refresh (1, 4, 16)
REPLAY_TICK = "replay-tick"  # dcc.Interval: one play step per refresh
REPLAY_TIME = "replay-time"  # the moment shown, local time

# pattern-matching id types
I18N = "i18n"  # {"type": I18N, "key": <translation key>}: static text, translated on switch
CRUMB = "crumb"  # {"type": CRUMB, "level": <level>}
KPI_VALUE = "kpi-value"  # {"type": ..., "source": <source>}
KPI_DELTA = "kpi-delta"
KPI_RATE = "kpi-rate"
KPI_STATE = "kpi-state"
KPI_TILE = "kpi-tile"

# cases (pages "/cases", "/report", "/metrics"; docs/CASES.md)
CASES_DEPT = "cases-dept"  # the department whose board is shown (the lead binds it to the user)
CASES_GRID = "cases-grid"
CASES_REASON = "cases-reason"
CASES_TARGET = "cases-target"  # department(s) to dispatch / reassign / jointly dispatch to
CASES_EXTENSION = "cases-extension"
CASES_MSG = "cases-msg"
CASES_INBOX = "cases-inbox"
CASES_HISTORY = "cases-history"
CASES_VERSION = "cases-version"  # dcc.Store bumped by each action: refreshes the board
# dcc.Store: the selected case's board row as a digest; the detail is drawn again only when it
# changes (a case changed by someone else), not on every refresh tick
CASES_SHOWN = "cases-shown"
CASES_NEW_CATEGORY = "cases-new-category"
CASES_NEW_CELL = "cases-new-cell"
CASES_NEW_TITLE = "cases-new-title"
CASES_NEW_BTN = "cases-new-btn"
CASE_ACTION = "case-action"  # {"type": CASE_ACTION, "action": <action>}
REPORT_CATEGORY = "report-category"
REPORT_TEXT = "report-text"
REPORT_MAP = "report-map"
REPORT_LON = "report-lon"
REPORT_LAT = "report-lat"
REPORT_SUBMIT = "report-submit"
REPORT_MSG = "report-msg"
METRICS_DEPT_GRID = "metrics-dept-grid"
METRICS_COUNTY_GRID = "metrics-county-grid"
METRICS_DETAIL_DEPT = "metrics-detail-dept"
METRICS_DETAIL = "metrics-detail"
METRICS_HEAD = "metrics-head"
# the metrics page (/metrics): its period, trend charts, department detail and tile ids
METRICS_PERIOD = "metrics-period"  # dcc.Store: {"since", "until"} (ISO, UTC) the page reads
METRICS_PERIOD_PICKER = "metrics-period-picker"
METRICS_URL_SINK = "metrics-url-sink"  # dcc.Store: output of the clientside address-bar sync
METRICS_MSG = "metrics-msg"
METRICS_WINDOW = "metrics-window"  # {"type": METRICS_WINDOW, "days": n}: a rolling window
METRICS_REFRESH = "metrics-refresh"  # dcc.Interval: the page's own slower timer
METRICS_TREND = "metrics-trend"
METRICS_DETAIL_TREND = "metrics-detail-trend"
METRICS_DETAIL_GRID = "metrics-detail-grid"  # the department's overdue cases
METRICS_TILE_PREFIX = "metric-"  # + a tile's name (metric-on_time, metric-closed, ...)
METRICS_DEPT_TILE_PREFIX = "metric-dept-"  # + a tile's name, in the department detail
RESPONSE_GAUGE = "response-gauge"

# the warnings analyst page (/warnings) and the wall's warnings panel
WARN_LEVELS = "warn-levels"  # filter: level names
WARN_RULES = "warn-rules"  # filter: rule ids
WARN_STATES = "warn-states"  # filter: states
WARN_AREA = "warn-area"  # filter: area code
WARN_COUNTS = "warn-counts"
WARN_GRID = "warn-grid"  # dash-ag-grid: the list
WARN_SELECTED = "warn-selected"  # dcc.Store: the selected warning's id
WARN_VERSION = "warn-version"  # dcc.Store bumped by each action: refreshes list and detail
WARN_TITLE = "warn-title"
WARN_SUMMARY = "warn-summary"
WARN_FIGURE = "warn-figure"  # evidence chart
WARN_EVENTS = "warn-events"  # dash-ag-grid: the events behind the warning
WARN_HISTORY = "warn-history"
WARN_COMMENT = "warn-comment"
WARN_ACK = "warn-ack"
WARN_REASON = "warn-reason"
WARN_CLEAR = "warn-clear"
WARN_DISPATCH = "warn-dispatch"  # make the warning a case, routed by the responsibility list
WARN_MESSAGE = "warn-message"
WARN_EVALUATE = "warn-evaluate"  # button: evaluate the rules now
WARN_PANEL = "warn-panel"  # the wall's panel root

# the audit trail page (/audit, admins only)
AUDIT_ACTOR = "audit-actor"  # filter: who
AUDIT_ACTION = "audit-action"  # filter: what (action prefix)
AUDIT_PERIOD = "audit-period"  # filter: how far back
AUDIT_OBJECT = "audit-object"  # filter: text in the object's type or id
AUDIT_GRID = "audit-grid"  # dash-ag-grid: the rows
AUDIT_COUNT = "audit-count"
AUDIT_EXPORT = "audit-export"  # link: the same rows as CSV (/audit/export.csv)
AUDIT_EXPORT_XLSX = "audit-export-xlsx"  # link: the same rows as Excel (/audit/export.xlsx)

# --- archived briefings (page /briefings) ------------------------------------------------------
BRIEFINGS_GRID = "briefings-grid"  # dash-ag-grid: the archived briefings, each with its link
BRIEFINGS_COUNT = "briefings-count"
BRIEFINGS_SCHEDULE = "briefings-schedule"  # when briefings are written

# the targeted inspection lists page (/inspections)
INSPECT_PERIOD = "inspect-period"  # dcc.DatePickerRange: the period (end day included)
INSPECT_QUERY = "inspect-query"  # dcc.Store: the period as the address's since/until (local days)
INSPECT_URL_SYNC = "inspect-url-sync"  # dcc.Store: output of the clientside address update
INSPECT_LEVEL = "inspect-level"  # dropdown: county, township, community or department
INSPECT_CSV = "inspect-csv"  # link: the list as CSV (/api/inspections)
INSPECT_XLSX = "inspect-xlsx"  # link: the list as Excel
INSPECT_SUMMARY = "inspect-summary"
INSPECT_GRID = "inspect-grid"  # dash-ag-grid: the ranked list with reasons
INSPECT_EXEMPT_GRID = "inspect-exempt-grid"  # dash-ag-grid: exempt this period, with why

# the figures builder (/figures): indicators x areas x period -> table, chart, files
FIG_INDICATORS = "figures-indicators"  # multi-select: catalogue ids
FIG_AREAS = "figures-areas"  # multi-select: area codes (any level, inside the user's scope)
# dcc.Store: indicators, areas and comparison to choose (from a link or a saved request), set
# together with the options that hold them (Dash 4's dropdown drops a value its options lack)
FIG_FORM = "figures-form"
FIG_PERIOD = "figures-period"  # date range: the period (last day included)
FIG_COMPARE = "figures-compare"  # none | previous | same_last_year | custom
FIG_COMPARE_PERIOD = "figures-compare-period"  # date range: a custom comparison period
FIG_RUN = "figures-run"
FIG_MSG = "figures-msg"
FIG_GRID = "figures-grid"  # dash-ag-grid: the table
FIG_CHART = "figures-chart"
FIG_REQUEST = "figures-request"  # dcc.Store: the request the table answers
FIG_QUERY = "figures-query"  # dcc.Store: that request as the address's query string
FIG_URL_SYNC = "figures-url-sync"  # dcc.Store: output of the clientside address update
FIG_EXPORT_CSV = "figures-export-csv"
FIG_EXPORT_XLSX = "figures-export-xlsx"
FIG_EXPORT_DOCX = "figures-export-docx"
FIG_DOWNLOAD = "figures-download"  # dcc.Download
FIG_SAVE_NAME = "figures-save-name"
FIG_SAVE = "figures-save"
FIG_SAVED = "figures-saved"  # dropdown: the user's saved requests
FIG_SAVED_RUN = "figures-saved-run"
FIG_SAVED_NEXT = "figures-saved-next"  # run it for the next period
FIG_SAVED_DELETE = "figures-saved-delete"
FIG_SAVED_VERSION = "figures-saved-version"  # dcc.Store bumped by save/delete: reloads the list

# the hall's console (/console) and the walls that follow its channels (?channel=<name>)
CHANNEL_POLL = "channel-poll"  # dcc.Interval on a following wall: asks for the channel's view
CHANNEL_SEEN = "channel-seen"  # dcc.Store: the channel version the wall shows
CONSOLE_CHANNEL = "console-channel"  # text input (with the known channels listed)
CONSOLE_CHANNELS = "console-channels"  # datalist: the known channels
CONSOLE_COUNTY = "console-county"  # segmented choice: the whole area or one county
CONSOLE_LEVEL = "console-level"
CONSOLE_METRIC = "console-metric"
CONSOLE_WINDOW = "console-window"
CONSOLE_SEND = "console-send"  # button: give the channel this view
CONSOLE_MSG = "console-msg"
CONSOLE_STATE = "console-state"  # the channel's view now, who set it and when
CONSOLE_LINK = "console-link"  # the address a wall opens to follow the channel
# the console's review period (a past period the following walls show; empty: live)
CONSOLE_SINCE = "console-since"  # text input: ISO date (local midnight) or time with offset
CONSOLE_UNTIL = "console-until"  # text input: exclusive end
CONSOLE_LIVE = "console-live"  # button: clear the period and send (walls back to live)

# the phone-sized field report (/report): location, photos, the reporter's own reports
REPORT_LOCATE = "report-locate"  # button: use the phone's location
REPORT_GEO_MSG = "report-geo-msg"  # what the location request gave
REPORT_GEO_TEXT = "report-geo-text"  # dcc.Store: the location messages in the page's language
REPORT_PHOTOS = "report-photos"  # dcc.Upload: up to three photos
REPORT_PHOTO_NOTE = "report-photo-note"
REPORT_MINE = "report-mine"  # the reporter's latest reports and their cases' state
# drafting a feed's field mapping from a sample (/feeds/new, administrators only)
FEEDNEW_UPLOAD = "feednew-upload"  # dcc.Upload: the sample file (size-limited)
FEEDNEW_INFO = "feednew-info"  # the sample's name, format, columns and rows, or why not
FEEDNEW_GRID = "feednew-grid"  # dash-ag-grid: the sample's first rows
FEEDNEW_NAME = "feednew-name"  # the mapping's name (its file's stem)
FEEDNEW_SOURCE = "feednew-source"
FEEDNEW_ID = "feednew-id"  # column pickers ...
FEEDNEW_TIME = "feednew-time"
FEEDNEW_TIME_FORMAT = "feednew-time-format"  # "iso" or a strptime format
FEEDNEW_TIMEZONE = "feednew-timezone"  # zone of naive times
FEEDNEW_LON = "feednew-lon"
FEEDNEW_LAT = "feednew-lat"
FEEDNEW_CATEGORY = "feednew-category"
FEEDNEW_CATEGORY_MAP = "feednew-category-map"  # dash-ag-grid: value -> category code (editable)
FEEDNEW_CATEGORY_DEFAULT = "feednew-category-default"
FEEDNEW_SEVERITY = "feednew-severity"
FEEDNEW_VALUE = "feednew-value"
FEEDNEW_TEXT = "feednew-text"
FEEDNEW_PREVIEW = "feednew-preview"  # button: the dry run
FEEDNEW_RESULT = "feednew-result"  # the reconciliation and the mapping's text
FEEDNEW_N_READ = "feednew-n-read"  # ... its figures: rows read
FEEDNEW_N_ACCEPTED = "feednew-n-accepted"
FEEDNEW_N_DUPLICATES = "feednew-n-duplicates"
FEEDNEW_N_QUARANTINED = "feednew-n-quarantined"
FEEDNEW_N_OUTSIDE = "feednew-n-outside"
FEEDNEW_TOML = "feednew-toml"  # the mapping file's text
FEEDNEW_SAVE = "feednew-save"
FEEDNEW_SAVED = "feednew-saved"  # where it was saved, or why not
# --- the rules page (/rules, administrators): edit a rule, backtest it, save; learning state ---
WARN_LEARNING = "warn-learning"  # "learning: N days of history" on the warnings page and wall
RULES_LIST = "rules-list"  # dash-ag-grid: every rule of the running engine
RULES_PICK = "rules-pick"  # dropdown: the rule to edit (or a new one)
RULES_TEXT = "rules-text"  # textarea: the rule's [[rule]] table as TOML
RULES_SINCE = "rules-since"  # backtest period start (date)
RULES_UNTIL = "rules-until"  # backtest period end (date)
RULES_STEP = "rules-step"  # backtest step, minutes
RULES_BACKTEST = "rules-backtest"  # button: run the backtest
RULES_RESULT = "rules-result"  # the backtest's counts per level, per area and examples
RULES_SAVE = "rules-save"  # button: save the rule into the rules file and reload the engine
RULES_MESSAGE = "rules-message"
RULES_VERSION = "rules-version"  # dcc.Store bumped by a save: reloads the list
# Search page (/search): one box over events, cases and warnings
SEARCH_TEXT = "search-text"  # the search box
SEARCH_KIND = "search-kind"  # events | cases | warnings
SEARCH_PERIOD = "search-period"  # date range (last day included); empty: the last 7 days
SEARCH_AREA = "search-area"  # an area at any level inside the user's scope
SEARCH_SOURCE = "search-source"
SEARCH_CATEGORY = "search-category"
SEARCH_SEVERITY = "search-severity"  # an event's 1..5, a warning's colour
SEARCH_STATE = "search-state"  # a case's or a warning's state
SEARCH_SUMMARY = "search-summary"
SEARCH_GRID = "search-grid"  # dash-ag-grid: the newest matches
SEARCH_MAP = "search-map"
SEARCH_HISTOGRAM = "search-histogram"
SEARCH_CSV = "search-csv"  # link: the read API's CSV of the same search
SEARCH_XLSX = "search-xlsx"
SEARCH_QUERY = "search-query"  # dcc.Store: the search as the address's query string
SEARCH_URL_SYNC = "search-url-sync"  # dcc.Store: output of the clientside address update

# the desk pages' light / dark theme (the header's switch; layouts/shell.py, callbacks/shell.py)
THEME = "theme"  # dcc.Store (localStorage): "dark" or "light", kept per browser
THEME_SWITCH = "theme-switch"

# the warnings page's and the case board's period and exports, the metrics tables' exports
# (deskperiod: /warnings, /cases, /metrics)
WARN_PERIOD = "warn-period"  # date range (last day included); empty: the page as live
WARN_CSV = "warn-csv"  # link: the read API's CSV of the list's filters
WARN_XLSX = "warn-xlsx"
WARN_QUERY = "warn-query"  # dcc.Store: the period as the address's query string
WARN_URL_SYNC = "warn-url-sync"  # dcc.Store: output of the clientside address update
CASES_PERIOD = "cases-period"  # date range of creation (last day included); empty: the board
CASES_CSV = "cases-csv"  # link: the read API's CSV of the board's filters
CASES_XLSX = "cases-xlsx"
CASES_QUERY = "cases-query"  # dcc.Store: the period as the address's query string
CASES_URL_SYNC = "cases-url-sync"  # dcc.Store: output of the clientside address update
METRICS_DEPT_CSV = "metrics-dept-csv"  # links: a ranking or the department detail as a file
METRICS_DEPT_XLSX = "metrics-dept-xlsx"
METRICS_COUNTY_CSV = "metrics-county-csv"
METRICS_COUNTY_XLSX = "metrics-county-xlsx"
METRICS_DETAIL_CSV = "metrics-detail-csv"
METRICS_DETAIL_XLSX = "metrics-detail-xlsx"
