"""``RenditiondRendition``: what templates, rich text and the API see of a
rendition renditiond makes. It has no file and no database row; its
template-facing members are Wagtail's own (``AbstractRendition``'s), so
``alt``, ``attrs``, ``img_tag`` and the rest are exactly what Wagtail writes."""

from __future__ import annotations

from typing import Any

from wagtail.images.models import AbstractRendition

#: The members of ``AbstractRendition`` a rendition object takes over as they are.
BORROWED = (
    "alt",
    "attrs",
    "attrs_dict",
    "full_url",
    "filter",
    "focal_point",
    "background_position_style",
    "background_position_x",
    "background_position_y",
    "img_tag",
    "__html__",
)


class RenditiondRendition:
    """A rendition served by renditiond at ``url``, of ``width`` by ``height``."""

    id = None
    pk = None

    def __init__(
        self, image: Any, filter_spec: str, focal_point_key: str, width: float, height: float, url: str
    ) -> None:
        self.image = image
        self.image_id = image.pk
        self.filter_spec = filter_spec
        self.focal_point_key = focal_point_key
        self.width = width
        self.height = height
        self.url = url

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RenditiondRendition):
            return NotImplemented
        return (self.image_id, self.filter_spec, self.url, self.width, self.height) == (
            other.image_id,
            other.filter_spec,
            other.url,
            other.width,
            other.height,
        )

    def __hash__(self) -> int:
        return hash((self.image_id, self.filter_spec, self.url))

    def __repr__(self) -> str:
        return f"<RenditiondRendition {self.filter_spec} of image {self.image_id}: {self.url}>"

    def __str__(self) -> str:
        # As Django writes an unsaved model instance.
        return f"{self.image.get_rendition_model().__name__} object (None)"


for _name in BORROWED:
    if _name in AbstractRendition.__dict__:
        _member = AbstractRendition.__dict__[_name]
        setattr(RenditiondRendition, _name, _member)
        if hasattr(_member, "__set_name__"):
            _member.__set_name__(RenditiondRendition, _name)
