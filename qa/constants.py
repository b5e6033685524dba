"""Names the app uses in several places, defined once.

No imports: run.py reads this file before it monkey-patches, without importing the qa package.
"""

# Server concurrency models run.py can start (QA_ASYNC_MODE).
ASYNC_MODES = ("eventlet", "gevent", "threading")
DEFAULT_ASYNC_MODE = "eventlet"

# Who a Socket.IO client is in an event.
ROLES = ("participant", "moderator", "screen")

# The languages the pages speak; the first is the default. An event's texts may be translated
# into the others (its own text is the original).
LANGUAGES = ("en", "fr", "es")
TRANSLATED = ("fr", "es")

# A question's life: awaiting moderation, published, answered, or not published.
QUESTION_STATUSES = ("pending", "approved", "answered", "rejected")
PUBLIC_STATUSES = ("approved", "answered")  # what participants and the screen see

# An event's life.
EVENT_STATUSES = ("draft", "open", "closed", "archived")
