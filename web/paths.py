"""The URL prefix of the machine-to-machine API, in one place.

Every API blueprint is mounted under it; sign-in leaves it to the API's own Bearer tokens, the
page hooks (the validation layout, the screens' thread priority) skip it.
"""

API_PREFIX = "/api"
# a request path inside the API (the prefix alone, "/api", is not one of its routes)
API_PATHS = API_PREFIX + "/"
