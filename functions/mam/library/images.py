"""The checks of a query image, made before any Twelve Labs call: JPEG or PNG by its magic bytes, at most 5 MB,
at least 64x64 pixels read from the file's own header (PNG IHDR, JPEG SOFn), no image library needed."""
from __future__ import annotations

import struct
from dataclasses import dataclass

MAX_BYTES = 5 * 1024 * 1024
MIN_SIDE = 64
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
# JPEG start-of-frame markers that carry the picture's size (C4 DHT, C8 JPG and CC DAC are not frames)
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RSTn: markers without a length


class ImageRefused(ValueError):
    """A query image we do not send: `status` and `code` for the answer, `message` a sentence for people."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class QueryImage:
    kind: str  # "png" | "jpeg"
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return "image/png" if self.kind == "png" else "image/jpeg"


TOO_LARGE = ImageRefused(413, "image_too_large", "This picture is larger than 5 MB. Use a smaller picture, or save "
                                                "it with lower quality, and try again.")
UNREADABLE = ImageRefused(400, "image_unreadable", "This image could not be read; it may be damaged. Try another "
                                                    "picture, saved as JPEG or PNG.")


def kind_of(data: bytes) -> str | None:
    """"png" or "jpeg" by the file's first bytes, else None."""
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    return None


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first."""
    if len(data) < 24 or data[12:16] != b"IHDR" or struct.unpack(">I", data[8:12])[0] != 13:
        raise UNREADABLE
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from the first start-of-frame segment, walking the segments from SOI."""
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            raise UNREADABLE
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE:
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            raise UNREADABLE
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if length < 2 or i + 2 + length > n:
            raise UNREADABLE
        if marker in _SOF:
            if length < 7:
                raise UNREADABLE
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    raise UNREADABLE


def check(data: bytes | None) -> QueryImage:
    """The checked image, or ImageRefused (missing 400, type 415, too large 413, too small 400, unreadable 400)."""
    if not data:
        raise ImageRefused(400, "image_missing", "Choose or paste a picture to search with.")
    kind = kind_of(data)
    if kind is None:
        raise ImageRefused(415, "image_type", "Only JPEG and PNG pictures can be searched with. Save the picture as "
                                              "JPEG or PNG and try again.")
    if len(data) > MAX_BYTES:
        raise TOO_LARGE
    width, height = png_size(data) if kind == "png" else jpeg_size(data)
    if width == 0 or height == 0:
        raise UNREADABLE
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageRefused(400, "image_too_small", f"This picture is {width}×{height} pixels; a picture to search "
                                                   f"with must be at least {MIN_SIDE}×{MIN_SIDE}. Use a larger one.")
    return QueryImage(kind, width, height)
