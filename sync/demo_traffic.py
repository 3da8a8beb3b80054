"""The demo's scenery: the area around Sergels Torg the demo items fall in, their notes, and
small real JPEGs for their photos (``sync.client.demo_item`` builds the items from these)."""

from __future__ import annotations

import io
import random

# Around Sergels Torg and Plattan (WGS 84): the square, Drottninggatan and Hötorget.
AREA = {"lat": (59.3314, 59.3360), "lon": (18.0590, 18.0668)}
NOTES = (
    "Full papperskorg vid trappan ner till Plattan",
    "Glas vid glasobelisken",
    "Klotter på pelaren vid Kulturhuset",
    "Trasig belysning i gången mot T-centralen",
    "Dumpade kartonger vid Drottninggatan",
    "",
)


def demo_photo(rng: random.Random) -> bytes:
    """A small real JPEG (a coloured scene with a random block), so the demo's photos decode
    and are sanitised like a phone's; Pillow is the service's own dependency."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    x, y = rng.randrange(280), rng.randrange(200)
    draw.rectangle((x, y, x + 40, y + 40), fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()
