"""The map's JavaScript and CSS, from the vendored copies in ``static/vendor`` — never from a CDN.

Folium loads Leaflet, jQuery, Bootstrap and Font Awesome from CDNs. The coverage map needs only
Leaflet and Leaflet.markercluster, which ``static/vendor`` holds (MIT, licences beside them). The app
points the page at them where Streamlit serves ``static/`` (``/app/static``); the standalone page
(:func:`standalone_html`) inlines them, so it opens offline from a file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import folium

from towncover import settings

__all__ = ["VENDOR_CSS", "VENDOR_JS", "APP_STATIC_URL", "localise_assets", "standalone_html"]

#: Local copies of the map's JavaScript (name as folium calls it → path under ``static/``).
VENDOR_JS = {
    "leaflet": "vendor/leaflet-1.9.3/leaflet.js",
    "markerclusterjs": "vendor/leaflet.markercluster-1.1.0/leaflet.markercluster.js",
}
#: Local copies of the map's stylesheets.
VENDOR_CSS = {
    "leaflet_css": "vendor/leaflet-1.9.3/leaflet.css",
    "markerclustercss": "vendor/leaflet.markercluster-1.1.0/MarkerCluster.css",
    "markerclusterdefaultcss": "vendor/leaflet.markercluster-1.1.0/MarkerCluster.Default.css",
}
#: Where Streamlit serves ``static/`` (``server.enableStaticServing``).
APP_STATIC_URL = "/app/static"
_INLINE = "towncover-inline:"


def _walk(element: Any) -> Iterator[Any]:
    yield element
    for child in getattr(element, "_children", {}).values():  # branca elements of any kind; leaves have none
        yield from _walk(child)


def localise_assets(fmap: folium.Map, base_url: str = APP_STATIC_URL) -> folium.Map:
    """Point a folium map's scripts and stylesheets at the vendored copies; drop the ones it does not need.

    Parameters
    ----------
    fmap : folium.Map
        Changed in place (instance-level ``default_js`` / ``default_css``); calling it again with
        another base moves the links there.
    base_url : str, default "/app/static"
        Where ``static/`` is served.

    Returns
    -------
    folium.Map
        The same map.
    """
    base = base_url if base_url.endswith(":") else base_url.rstrip("/") + "/"
    for element in _walk(fmap):
        # Only folium's resource-carrying element classes declare these; the walk meets every kind.
        js = getattr(element, "default_js", None)
        css = getattr(element, "default_css", None)
        if js is not None:
            element.default_js = [(n, f"{base}{VENDOR_JS[n]}") for n, _ in js if n in VENDOR_JS]
        if css is not None:
            element.default_css = [(n, f"{base}{VENDOR_CSS[n]}") for n, _ in css if n in VENDOR_CSS]
    return fmap


def standalone_html(fmap: folium.Map) -> str:
    """The map as one HTML page with Leaflet and markercluster inlined: it opens offline from a file.

    Parameters
    ----------
    fmap : folium.Map

    Returns
    -------
    str
        A complete HTML document that loads nothing from the network (tile layers, when chosen,
        are the only requests; the offline background needs none).
    """
    localise_assets(fmap, _INLINE)
    page = fmap.get_root().render()
    static = settings.STATIC_DIR

    def script(match: re.Match[str]) -> str:
        text = (static / match.group(1)).read_text(encoding="utf-8").replace("</script", "<\\/script")
        return f"<script>{text}</script>"

    def style(match: re.Match[str]) -> str:
        return f"<style>{(static / match.group(1)).read_text(encoding='utf-8')}</style>"

    page = re.sub(rf'<script src="{_INLINE}([^"]+)"></script>', script, page)
    return re.sub(rf'<link rel="stylesheet" href="{_INLINE}([^"]+)"\s*/>', style, page)
