"""Django's en-AU formats, with the time zone's abbreviation on every time (AEDT/AEST), so the
records site and every `|date` without a format say which zone they are in."""

from django.conf.locale.en_AU.formats import *  # noqa: F403

TIME_FORMAT = "H:i T"
DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATETIME_FORMAT = "d/m/Y H:i T"
