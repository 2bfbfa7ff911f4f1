from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wagtail_renditiond import client
from wagtail_renditiond.conf import get_settings
from wagtail_renditiond.warming import Tally, warm_images


class Command(BaseCommand):
    help = (
        "Asks renditiond to render the given specs of every image (or of a collection or tag) "
        "that it has not cached yet. Resumes where an interrupted run stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--spec",
            action="append",
            dest="specs",
            default=[],
            help="a filter spec to warm (repeatable; default: RENDITIOND_WARM_SPECS)",
        )
        parser.add_argument("--collection", help="only images in this collection (id or name)")
        parser.add_argument("--tag", help="only images with this tag")
        parser.add_argument(
            "--chunk-size", type=int, default=20, help="images per call to renditiond (default: %(default)s)"
        )
        parser.add_argument(
            "--state-file",
            help="where progress is kept between runs (default: .renditiond-warm-<digest>.json here)",
        )
        parser.add_argument("--restart", action="store_true", help="start again from the first image")

    def handle(self, *args: Any, **options: Any) -> None:
        from wagtail.images import get_image_model

        settings = get_settings()
        if not settings.enabled:
            raise CommandError("RENDITIOND_ENABLED is False: there is no renditiond to warm", returncode=2)
        specs = options["specs"] or list(settings.warm_specs)
        if not specs:
            raise CommandError("no spec: give --spec, or set RENDITIOND_WARM_SPECS", returncode=2)
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be 1 or more", returncode=2)
        images = get_image_model().objects.order_by("pk")
        if options["collection"]:
            collection = options["collection"]
            images = (
                images.filter(collection_id=int(collection))
                if collection.isdigit()
                else images.filter(collection__name=collection)
            )
        if options["tag"]:
            images = images.filter(tags__name=options["tag"])
        formats = list(settings.warm_formats)
        scope = json.dumps([specs, options["collection"], options["tag"]] + ([formats] if formats else []))
        state = Path(
            options["state_file"]
            or f".renditiond-warm-{hashlib.sha256(scope.encode()).hexdigest()[:12]}.json"
        )
        after = 0 if options["restart"] else self.resumed_after(state, scope)
        pks = list(images.filter(pk__gt=after).values_list("pk", flat=True).distinct())
        total = len(pks)
        if after:
            self.stdout.write(f"Resuming after image {after}: {total} images to go.")
        tally = Tally()
        started = time.monotonic()
        tty = self.stdout.isatty() and options["verbosity"] >= 1
        for done in range(0, total, options["chunk_size"]):
            chunk = pks[done : done + options["chunk_size"]]
            try:
                warm_images(get_image_model().objects.filter(pk__in=chunk).order_by("pk"), specs, tally)
            except client.RenditiondUnavailable as error:
                raise CommandError(
                    f"renditiond does not answer ({error}); run again to resume", returncode=1
                ) from error
            state.write_text(json.dumps({"scope": scope, "after": chunk[-1]}))
            self.progress(done + len(chunk), total, tally, started, tty)
        if tty:
            self.stdout.write("")
        state.unlink(missing_ok=True)
        summary = f"{tally.rendered} rendered, {tally.cached} already cached, {len(tally.failed)} failed."
        for failure in tally.failed:
            self.stderr.write(failure)
        if tally.failed:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))

    def resumed_after(self, state: Path, scope: str) -> int:
        """The last image a run over the same images and specs finished."""
        try:
            saved = json.loads(state.read_text())
        except (OSError, ValueError):
            return 0
        if (
            not isinstance(saved, dict)
            or saved.get("scope") != scope
            or not isinstance(saved.get("after"), int)
        ):
            return 0
        return saved["after"]

    def progress(self, done: int, total: int, tally: Tally, started: float, tty: bool) -> None:
        elapsed = max(time.monotonic() - started, 1e-6)
        line = (
            f"{done}/{total} images, {tally.rendered} rendered, {tally.cached} cached, "
            f"{len(tally.failed)} failed, {done / elapsed:.1f} images/s"
        )
        if tty:
            width = 30
            filled = width * done // max(total, 1)
            self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {line}", ending="")
            self.stdout.flush()
        else:
            self.stdout.write(line)
