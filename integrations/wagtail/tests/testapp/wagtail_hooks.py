"""An operation of the site's own, which renditiond does not have."""

from wagtail import hooks
from wagtail.images.image_operations import FilterOperation


class GreyOperation(FilterOperation):
    def construct(self) -> None:
        pass

    def run(self, willow, image, env):  # type: ignore[no-untyped-def]
        return willow.set_background_color_rgb((128, 128, 128))


@hooks.register("register_image_operations")
def register_image_operations():  # type: ignore[no-untyped-def]
    return [("grey", GreyOperation)]
