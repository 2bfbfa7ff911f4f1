"""A site's own image model, with the adapter's mixin."""

from django.db import models
from wagtail.images.models import AbstractImage, AbstractRendition, Image

from wagtail_renditiond.mixins import RenditiondImageMixin


class CustomImage(RenditiondImageMixin, AbstractImage):
    caption = models.CharField(max_length=255, blank=True)
    admin_form_fields = (*Image.admin_form_fields, "caption")


class CustomRendition(AbstractRendition):
    image = models.ForeignKey(CustomImage, on_delete=models.CASCADE, related_name="renditions")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=("image", "filter_spec", "focal_point_key"), name="unique_rendition"
            )
        ]
