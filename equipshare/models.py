"""Import every feature's models so the metadata is complete (Alembic, create_all)."""

from equipshare.accounts.models import *  # noqa: F401,F403
from equipshare.billing.models import *  # noqa: F401,F403
from equipshare.booking.models import *  # noqa: F401,F403
from equipshare.calendars.models import *  # noqa: F401,F403
from equipshare.catalogue.models import *  # noqa: F401,F403
from equipshare.notifications.models import *  # noqa: F401,F403
