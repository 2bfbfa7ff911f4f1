from django.urls import re_path
from wagtail.images.views.serve import ServeView

urlpatterns = [
    re_path(r"^images/([^/]*)/(\d*)/([^/]*)/[^/]*$", ServeView.as_view(), name="wagtailimages_serve"),
]
