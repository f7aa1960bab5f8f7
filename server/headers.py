"""The headers every response carries, pages and errors alike, and those only the call pages differ in."""

from __future__ import annotations

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

# Powerful browser features none of our pages use: off for every document, and for anything it might embed.
# Only features Chromium knows are named: an unknown one is a console error on every page.
_OFF = ("accelerometer", "display-capture", "encrypted-media", "geolocation", "gyroscope", "hid", "idle-detection",
        "magnetometer", "midi", "payment", "picture-in-picture", "publickey-credentials-get", "screen-wake-lock",
        "serial", "usb", "xr-spatial-tracking")
# The two call pages need the camera and microphone, for themselves only (no frame of another origin).
CALL_PAGES = ("/facilitator", "/join")


def permissions_policy(path: str) -> str:
    media = "(self)" if path in CALL_PAGES else "()"
    return ", ".join([f"camera={media}", f"microphone={media}", *(f"{name}=()" for name in _OFF)])


def security_headers(path: str, status: int = 200) -> dict[str, str]:
    """For a response to `path`. Pages, API answers and errors are never stored; scripts and styles may be kept but
    are checked every time."""
    static = status < 400 and path.startswith(("/static/", "/vendor/"))
    return {
        "Content-Security-Policy": CSP,
        "Permissions-Policy": permissions_policy(path),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache" if static else "no-store",
    }
