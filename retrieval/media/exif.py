"""What photo users filter on, read from a photo's EXIF: capture time (with its UTC offset), camera, GPS."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4


@dataclass(frozen=True)
class PhotoFacts:
    """Catalog fields of a photo; each is None when the file does not record it."""

    taken_at: dt.datetime | None = None
    """Capture time as the camera's clock showed it (EXIF DateTimeOriginal, else DateTime)."""
    taken_offset: str | None = None
    """That clock's UTC offset, e.g. '+02:00' (EXIF OffsetTimeOriginal), when recorded."""
    camera_make: str | None = None
    camera_model: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None

    def fields(self) -> dict[str, Any]:
        """The catalog columns, by name."""
        return asdict(self)


def photo_facts(image: "Image.Image") -> PhotoFacts:
    """The EXIF facts of an opened image (nothing is decoded); malformed tags are treated as absent."""
    try:
        exif = image.getexif()
        sub = exif.get_ifd(_EXIF_IFD)
        gps = exif.get_ifd(_GPS_IFD)
    except (OSError, ValueError, SyntaxError, KeyError, TypeError):
        return PhotoFacts()
    offset = _text(sub.get(_OFFSET_TIME_ORIGINAL))
    return PhotoFacts(
        taken_at=_exif_time(sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)),
        taken_offset=offset if offset and len(offset) == 6 and offset[0] in "+-" else None,
        camera_make=_text(exif.get(_MAKE)),
        camera_model=_text(exif.get(_MODEL)),
        gps_lat=_degrees(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "S", 90),
        gps_lon=_degrees(gps.get(_GPS_LON), gps.get(_GPS_LON_REF), "W", 180),
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = (value.decode(errors="replace") if isinstance(value, bytes) else str(value)).strip("\x00 ")
    return text[:200] or None


def _exif_time(value: object) -> dt.datetime | None:
    """EXIF's 'YYYY:MM:DD HH:MM:SS'; None when blank, zeroed or malformed."""
    text = _text(value)
    try:
        return dt.datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S") if text else None
    except ValueError:
        return None


def _degrees(value: object, ref: object, negative: str, limit: float) -> float | None:
    """(degrees, minutes, seconds) rationals and an N/S or E/W reference -> signed decimal degrees."""
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        return None
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60 + s / 3600
    if _text(ref) == negative:
        degrees = -degrees
    return round(degrees, 7) if abs(degrees) <= limit else None
