"""The structure of a JPEG, read without decoding a pixel (ITU-T T.81, the JPEG standard).

Walks the markers: the frame header (SOF) gives the size and the colour components, every
scan (SOS) is counted and its entropy-coded data measured, and the file must reach its end
marker (EOI). What this refuses, and why it cannot be left to the decoder:

- More scans than ``MAX_SCANS``: libjpeg walks every block once per scan, so thousands of
  (near-empty) scans cost seconds of CPU for a file of 100 KB; Pillow has no scan limit.
- Less entropy-coded data than the declared size needs. Every block (8 x 8 samples of one
  component) costs at least 2 bits in a sequential scan (a DC code and an end-of-block code,
  each a Huffman code of at least 1 bit) and at least 1 bit in a progressive DC scan. A header
  claiming 7000 x 7000 over the data of a 16 x 16 image is refused here; libjpeg would pad the
  missing blocks with grey and only warn, and Pillow drops libjpeg's warnings.
- Missing restart markers (a scan with a restart interval has one per interval).
- A progression libjpeg would only warn about: AC before DC, a refinement that does not follow
  the scan it refines, a component that never gets its DC scan (it would decode grey).
- Codings phones never write: arithmetic, lossless, hierarchical, 12-bit samples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from media.budget import Budget
from media.errors import MediaError

MAX_SCANS = 32
"""Scans a JPEG may have. Phone cameras write baseline JPEGs (1 scan); libjpeg's standard
progressive script writes 10 for a colour photo, 14 for RGB and 18 for CMYK. 32 leaves room for
hand-tuned scan scripts and bounds the job's decode: a 50 MP progressive JPEG with 32 scans
decodes in 0.7 s of CPU against 0.6 s with 10, where the 2000 x 2000 file with 5000 scans of
the issue took 18 s. (libjpeg-turbo's TurboJPEG API has an opt-in scan limit for this exploit,
TJFLAG_LIMITSCANS; Pillow's decoder sets none.)"""

MAX_SEGMENTS = 4096
"""Marker segments besides scans. A phone photo has about ten; 25 MiB of 64 KB metadata
segments (extended XMP, ICC profile parts, MPF) is 400. Bounds the marker walk's loop."""

DECODER_TAIL = b"\x00" * 16
"""What the decoder gets after a sequential single-scan image's data (what cameras write)
instead of its end marker: bytes that are not a marker, and then the end of the input. A
complete scan leaves them unread (the decoder looks ahead 8 bytes at most), a scan that ends
early reads on into the end of the input, and Pillow then refuses the file as truncated
instead of padding it with grey (measured: a scan missing 2 bytes or more is refused)."""

_SOF_ACCEPTED = {0xC0: "baseline", 0xC1: "extended sequential", 0xC2: "progressive"}
_SOF_REFUSED = {
    0xC3: "lossless",
    0xC5: "hierarchical",
    0xC6: "hierarchical progressive",
    0xC7: "hierarchical lossless",
    0xC9: "arithmetic",
    0xCA: "arithmetic progressive",
    0xCB: "arithmetic lossless",
    0xCD: "hierarchical arithmetic",
    0xCE: "hierarchical arithmetic progressive",
    0xCF: "hierarchical arithmetic lossless",
}
_SOI, _EOI, _SOS, _DRI, _TEM = 0xD8, 0xD9, 0xDA, 0xDD, 0x01
# A marker candidate: 0xFF, then a byte that is neither 0x00 (a stuffed data byte) nor a
# restart marker (0xD0-0xD7, which occur inside scans). Starting with a literal byte lets the
# regex engine skip to each 0xFF at C speed (13x faster than a pattern starting with \xff+).
_CANDIDATE = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_FILL = re.compile(rb"\xff+")


@dataclass(frozen=True)
class Component:
    id: int
    h: int
    v: int


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    coding: str
    components: int
    scans: int
    scan_data_end: int
    """Offset just past the last scan's entropy-coded data."""
    end: int
    """Offset just past the end marker; anything after it (an MPF second image, a phone's
    trailer) is not part of the image."""

    def decoder_input(self, data: bytes) -> bytes:
        """The bytes to give the decoder so that an early end of the image data is an error."""
        if self.scans == 1 and self.coding != "progressive":
            return data[: self.scan_data_end] + DECODER_TAIL
        # With several scans, or any progressive one, libjpeg reads the whole file up to the
        # end marker before it produces a line, so the end marker must stay; the structural
        # checks are what there is (Pillow drops libjpeg's "premature end" warnings).
        return data[: self.end]


def _corrupt(detail: str) -> MediaError:
    return MediaError("corrupt_image", f"The JPEG is broken: {detail}.", status=422)


def _truncated() -> MediaError:
    return MediaError(
        "corrupt_image",
        "The JPEG is truncated: its image data ends before the image does.",
        status=422,
    )


def _unsupported(what: str) -> MediaError:
    return MediaError(
        "unsupported_format",
        f"This JPEG uses {what}, which cameras do not write and this service does not accept; "
        "send a baseline or progressive JPEG.",
        status=415,
    )


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class _Frame:
    def __init__(self, coding: str, width: int, height: int, components: list[Component]):
        self.coding = coding
        self.progressive = coding == "progressive"
        self.width, self.height = width, height
        self.components = {c.id: c for c in components}
        self.hmax = max(c.h for c in components)
        self.vmax = max(c.v for c in components)
        # Progressive: per component and coefficient, the last successive-approximation bit
        # decoded (-1: none yet), as libjpeg tracks it. Sequential: scans seen per component.
        self.coef_bits = {c.id: [-1] * 64 for c in components}
        self.seen = dict.fromkeys(self.components, 0)
        self.fault: str | None = None

    def blocks(self, comp: Component) -> int:
        across = _ceil_div(_ceil_div(self.width * comp.h, self.hmax), 8)
        down = _ceil_div(_ceil_div(self.height * comp.v, self.vmax), 8)
        return across * down

    def units(self, ids: list[int]) -> tuple[int, int]:
        """(restart units, blocks) of a scan over components ``ids``: a non-interleaved scan
        goes block by block, an interleaved one by MCU (T.81 A.2)."""
        if len(ids) == 1:
            blocks = self.blocks(self.components[ids[0]])
            return blocks, blocks
        mcus = _ceil_div(self.width, 8 * self.hmax) * _ceil_div(self.height, 8 * self.vmax)
        return mcus, mcus * sum(self.components[i].h * self.components[i].v for i in ids)

    def _fault(self, what: str) -> None:
        # Kept, not raised: the walk goes on so that a file with too many scans is refused as
        # such (the cheaper, clearer reason) even when its scans are also out of order.
        if self.fault is None:
            self.fault = what

    def progression(self, ids: list[int], ss: int, se: int, ah: int, al: int) -> int:
        """Check one progressive scan's place in the progression (libjpeg's checks, with its
        warnings as refusals); returns the minimum bits per block of the scan."""
        # DC scans (first or refinement) code every block with at least one bit; AC scans can
        # cover thousands of empty blocks with one end-of-band run.
        bits_per_block = 1 if ss == 0 else 0
        valid = se == 0 if ss == 0 else ss <= se <= 63 and len(ids) == 1
        if not valid or (ah != 0 and al != ah - 1) or al > 13:
            self._fault("a progressive scan has invalid parameters")
            return bits_per_block
        for cid in ids:
            bits = self.coef_bits[cid]
            if ss > 0 and bits[0] < 0:
                self._fault("a progressive scan refines detail before the base image")
            for k in range(ss, se + 1):
                if ah != max(bits[k], 0):
                    self._fault("the progressive scans are out of order or repeated")
                bits[k] = al
        return bits_per_block

    def sequential(self, ids: list[int]) -> int:
        for cid in ids:
            self.seen[cid] += 1
            if self.seen[cid] > 1:
                self._fault("a colour component is coded twice")
        return 2

    def finish(self) -> None:
        if self.fault is not None:
            raise _corrupt(self.fault)
        if self.progressive:
            complete = all(bits[0] >= 0 for bits in self.coef_bits.values())
        else:
            complete = all(self.seen.values())
        if not complete:
            raise _corrupt("a colour component has no image data")


def _frame(code: int, body: bytes, max_pixels: int) -> _Frame:
    if code in _SOF_REFUSED:
        raise _unsupported(f"{_SOF_REFUSED[code]} coding")
    if len(body) < 6:
        raise _corrupt("the frame header is too short")
    precision = body[0]
    height = int.from_bytes(body[1:3], "big")
    width = int.from_bytes(body[3:5], "big")
    count = body[5]
    if precision != 8:
        raise _unsupported(f"{precision}-bit samples")
    if height == 0:
        raise _unsupported("a height given after the image data (DNL)")
    if width == 0:
        raise _corrupt("the frame header gives a width of 0")
    if count not in (1, 3, 4):
        raise _unsupported(f"{count} colour components")
    if len(body) < 6 + 3 * count:
        raise _corrupt("the frame header is too short")
    components = []
    for i in range(count):
        cid, sampling = body[6 + 3 * i], body[7 + 3 * i]
        h, v = sampling >> 4, sampling & 0x0F
        if not (1 <= h <= 4 and 1 <= v <= 4):
            raise _corrupt("a colour component has an invalid sampling factor")
        components.append(Component(cid, h, v))
    if len({c.id for c in components}) != count:
        raise _corrupt("two colour components have the same id")
    if width * height > max_pixels:
        raise MediaError(
            "too_many_pixels",
            f"The image is too large ({width} x {height}); "
            f"at most {max_pixels} pixels are accepted.",
            status=422,
        )
    return _Frame(_SOF_ACCEPTED[code], width, height, components)


def _scan_header(frame: _Frame, body: bytes) -> tuple[list[int], int, int, int, int]:
    count = body[0] if body else 0
    if not 1 <= count <= 4 or len(body) < 4 + 2 * count:
        raise _corrupt("a scan header is invalid")
    ids = [body[1 + 2 * i] for i in range(count)]
    if len(set(ids)) != count or any(cid not in frame.components for cid in ids):
        raise _corrupt("a scan names a colour component the frame does not have")
    ss, se, approx = body[1 + 2 * count], body[2 + 2 * count], body[3 + 2 * count]
    return ids, ss, se, approx >> 4, approx & 0x0F


def _next_marker(data: bytes, pos: int, budget: Budget) -> tuple[int, int]:
    """(where the next marker at or after ``pos`` starts, where its code byte is), skipping
    what libjpeg skips: bytes that are no marker, and 0xFF fill bytes before one."""
    while True:
        found = _CANDIDATE.search(data, pos)
        if found is None:
            raise _truncated()
        code_at = found.end() - 1
        fill = _FILL.match(data, code_at)  # 0xFF fill bytes before the code
        if fill is not None:
            code_at = fill.end()
        if code_at >= len(data):
            raise _truncated()
        code = data[code_at]
        if code != 0x00 and not 0xD0 <= code <= 0xD7:
            return found.start(), code_at
        pos = code_at + 1  # fill bytes before a stuffed zero or a restart marker: data
        budget.check()


def _scan(
    frame: _Frame, data: bytes, header: bytes, pos: int, restart_interval: int, budget: Budget
) -> int:
    """Check the scan whose header is ``header`` and whose data starts at ``pos``; returns
    where its entropy-coded data ends."""
    ids, ss, se, ah, al = _scan_header(frame, header)
    if frame.progressive:
        bits_per_block = frame.progression(ids, ss, se, ah, al)
    else:
        bits_per_block = frame.sequential(ids)
    end, _ = _next_marker(data, pos, budget)
    units, blocks = frame.units(ids)
    if (end - pos) * 8 < bits_per_block * blocks:
        raise MediaError(
            "corrupt_image",
            f"The JPEG is truncated or its header is wrong: {end - pos} bytes of image data "
            f"cannot hold a {frame.width} x {frame.height} image.",
            status=422,
        )
    if restart_interval:
        # Every 0xFF in entropy-coded data is a stuffed byte (0xFF00) or a restart marker.
        restarts = data.count(b"\xff", pos, end) - data.count(b"\xff\x00", pos, end)
        if restarts < _ceil_div(units, restart_interval) - 1:
            raise _truncated()
    return end


def _too_many(what: str, limit: int, usual: str) -> MediaError:
    code = "too_many_scans" if what == "scans" else "photo_too_complex"
    return MediaError(code, f"The JPEG has more than {limit} {what}; {usual}.", status=422)


def parse(data: bytes, max_pixels: int, max_scans: int, budget: Budget) -> Layout:
    """The layout of the JPEG ``data`` (which starts with SOI), or MediaError."""
    pos = 2
    frame: _Frame | None = None
    restart_interval = scans = segments = scan_data_end = 0
    while True:
        budget.check()
        _, code_at = _next_marker(data, pos, budget)
        code, pos = data[code_at], code_at + 1
        if code == _EOI:
            break
        if code == _TEM:
            continue
        if code == _SOI or code < 0xC0:
            raise _corrupt("it has a marker where none may be")
        segments += 1
        if segments > MAX_SEGMENTS:
            raise _too_many("marker segments", MAX_SEGMENTS, "a camera photo has a few dozen")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if pos + max(length, 2) > len(data):
            raise _truncated()
        if length < 2:
            raise _corrupt("a marker segment has an invalid length")
        start, pos = pos + 2, pos + length
        if 0xC0 <= code <= 0xCF and code not in (0xC4, 0xC8, 0xCC):
            if frame is not None:
                raise _corrupt("it has two frame headers")
            frame = _frame(code, data[start:pos], max_pixels)
        elif code == _DRI:
            if length < 4:
                raise _corrupt("the restart interval segment is too short")
            restart_interval = int.from_bytes(data[start : start + 2], "big")
        elif code == _SOS:
            if frame is None:
                raise _corrupt("image data comes before the frame header")
            scans += 1
            if scans > max_scans:
                raise _too_many(
                    "scans",
                    max_scans,
                    "cameras and editors write at most about 20: save it again as a baseline JPEG",
                )
            pos = scan_data_end = _scan(frame, data, data[start:pos], pos, restart_interval, budget)
    if frame is None or scans == 0:
        raise _corrupt("it has no image data")
    frame.finish()
    return Layout(
        width=frame.width,
        height=frame.height,
        coding=frame.coding,
        components=len(frame.components),
        scans=scans,
        scan_data_end=scan_data_end,
        end=pos,
    )
