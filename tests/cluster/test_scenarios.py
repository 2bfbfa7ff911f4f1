"""The multi-host scenarios, in order, on one cluster (see README, "Tests",
"Multi-host test"). Each prints its figures at the end of the run."""

from __future__ import annotations

import io
import signal
import time
from collections import Counter
from concurrent.futures import Future
from urllib.parse import urlsplit

import client
from client import Response
from cluster import (
    INSTANCES,
    LEASE_STALE_AFTER,
    ORIGINAL_SETS,
    RENDER_TIMEOUT,
    STORAGE_TIMEOUT,
    TEST_IMAGES,
    VERSION_TTL,
    Cluster,
    rendition_path,
)
from processes import wait_for
from report import figure
from services import BUCKET, ORIGINALS, RENDITIONS, S3_PORT

LEASES = f"{RENDITIONS}/leases/"
# 4 originals x 50 specs.
BURST_SPECS = [f"fill-{90 + i}x{70 + i}" for i in range(25)] + [
    f"width-{150 + i}|format-png" for i in range(25)
]
COPIES = 6
CACHED_SPECS = [
    "width-200",
    "fill-100x100",
    "max-160x160",
    "height-90",
    "fill-64x48|format-webp",
    "width-120",
]
# Chrome's Accept for images.
CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
# A render that takes seconds: longer than the shutdown delay.
SLOW_SPEC = "width-{width}|format-avif"
LOAD_THREADS = 6


def renditions_stored(cluster: Cluster) -> set[str]:
    return {k for k in cluster.keys(f"{RENDITIONS}/") if not k.startswith(LEASES)}


def cached_urls(cluster: Cluster) -> list[str]:
    """The load's cached URLs, asked for once first."""
    urls = [rendition_path(spec, f"load/{name}") for name in ORIGINAL_SETS["load"] for spec in CACHED_SPECS]
    for url in urls:
        r = cluster.get(cluster.haproxy.target, url)
        assert r.status == 200, (url, r.status, r.body[:200])
    return urls


def cold_urls(phase: int) -> list[str]:
    """URLs no one asked for before: a quality of their own per phase."""
    jpegs = [n for n in ORIGINAL_SETS["load"] if n.endswith(".jpg")]
    return [
        rendition_path(f"width-{width}|jpegquality-{20 + phase}", f"load/{name}")
        for width in range(40, 1040)
        for name in jpegs
    ]


def summary(load: dict[str, object]) -> str:
    failures = load["failures"]
    assert isinstance(failures, list)
    return (
        f"{load['requests']} requests ({load['cold']} cold) in {load['seconds']:.1f} s, "
        f"{len(failures)} failed, statuses {load['statuses']}, by instance {load['servers']}, "
        f"slowest {load['max_seconds']:.2f} s, keep-alive reconnects {load['reconnects']}"
    )


def timed_fetch(target: str, path: str, timeout: float) -> tuple[Response | None, str, float]:
    """A request; its answer (or the error) and the monotonic time it ended."""
    try:
        return client.fetch(target, path, timeout=timeout), "", time.monotonic()
    except OSError as error:
        return None, repr(error), time.monotonic()


# ---------------------------------------------------------------- 1


def test_shared_work(cluster: Cluster) -> None:
    """200 cold renditions, each asked 6 times at once through HAProxy over
    three instances: one render each in all, identical answers, one stored
    object each, no lease left."""
    cluster.heal()
    urls = [rendition_path(spec, f"burst/{name}") for name in ORIGINAL_SETS["burst"] for spec in BURST_SPECS]
    assert len(set(urls)) == 200
    renders_before = cluster.metric_sum("renditiond_render_duration_seconds_count")
    leases_before = cluster.by_label("renditiond_render_leases_total", "outcome")
    stored_before = renditions_stored(cluster)

    result = cluster.burst(urls, COPIES)

    renders = cluster.metric_sum("renditiond_render_duration_seconds_count") - renders_before
    leases_after = cluster.by_label("renditiond_render_leases_total", "outcome")
    leases = {k: int(v - leases_before.get(k, 0)) for k, v in sorted(leases_after.items())}
    stored = renditions_stored(cluster) - stored_before
    left = cluster.keys(LEASES)
    answers = result["answers"]
    statuses = Counter(str(a.get("status", a.get("error"))) for copies in answers.values() for a in copies)
    servers = Counter(a.get("server") for copies in answers.values() for a in copies)
    spread = Counter(len({a.get("server") for a in copies}) for copies in answers.values())
    differing = [url for url, copies in answers.items() if len({a.get("digest") for a in copies}) != 1]
    figure(
        "1 shared work",
        f"{len(urls)} renditions x {COPIES} copies in {result['seconds']:.1f} s: "
        f"{int(renders)} renders ({renders / len(urls):.2f} per rendition), statuses {dict(statuses)}",
    )
    figure(
        "1 shared work", f"answers by instance {dict(servers)}; URLs by instances answering {dict(spread)}"
    )
    figure("1 shared work", f"render leases by outcome {leases}")
    figure("1 shared work", f"{len(stored)} renditions stored, {len(left)} lease objects left")

    assert statuses == {"200": len(urls) * COPIES}
    assert set(servers) == set(INSTANCES), servers
    assert not differing, f"{len(differing)} URLs got different bytes, e.g. {differing[:3]}"
    assert renders == len(urls), f"{renders} renders for {len(urls)} renditions"
    assert len(stored) == len(urls)
    assert left == []


# ---------------------------------------------------------------- 2


def test_rolling_restart(cluster: Cluster) -> None:
    """SIGTERM to each instance in turn under steady load: HAProxy marks it
    down before its listener closes, a slow render in flight finishes, no
    client sees a failure; each is back before the next."""
    cluster.heal()
    load = cluster.load(cached_urls(cluster), cold_urls(2), LOAD_THREADS)
    problems: list[str] = []
    try:
        time.sleep(1.5)
        for i, name in enumerate(INSTANCES):
            instance = cluster.instances[name]
            assert instance.process is not None
            slow_path = rendition_path(SLOW_SPEC.format(width=3000 + i), "slow/large.jpg")
            slow: Future[tuple[Response | None, str, float]] = cluster.client.threads().submit(
                timed_fetch, instance.target, slow_path, 60
            )
            time.sleep(0.3)  # sent, and rendering
            logged = len(instance.log_lines())
            term = time.monotonic()
            instance.signal(signal.SIGTERM)
            marked_down = closed = None
            for _ in range(600):  # at most about 30 s
                now = time.monotonic() - term
                if marked_down is None and cluster.haproxy.status(name).startswith("DOWN"):
                    marked_down = now
                if closed is None and cluster.refuses(instance.target):
                    closed = now
                if (marked_down is not None and closed is not None) or now > 30:
                    break
                time.sleep(0.05)
            status = instance.process.wait(40)
            exited = time.monotonic() - term
            answer, error, ended = slow.result(timeout=70)
            finished = ended - term
            in_log = instance.listener_closed_after(logged)
            ready, back = cluster.restart(name)
            since_term = time.monotonic() - term
            figure(
                "2 rolling restart",
                f"{name}: marked down {marked_down and round(marked_down, 2)} s after SIGTERM, "
                f"listener closed {closed and round(closed, 2)} s (log: {in_log} s), exit {status} at "
                f"{exited:.2f} s; slow render {(answer and answer.status) or error} "
                f"({answer and len(answer.body)} bytes) at {finished:.2f} s; back: ready {ready:.2f} s "
                f"and UP in HAProxy {back:.2f} s after its start ({since_term:.2f} s after SIGTERM)",
            )
            if marked_down is None or closed is None or marked_down >= closed:
                problems.append(f"{name}: marked down at {marked_down}, listener closed at {closed}")
            if in_log is None or marked_down is None or marked_down >= in_log:
                problems.append(f"{name}: marked down at {marked_down}, listener closed at {in_log} (log)")
            if status != 0:
                problems.append(f"{name}: exit status {status}\n{instance.process.log_tail()}")
            if answer is None or answer.status != 200:
                problems.append(f"{name}: slow render {answer and answer.status} {error}")
            elif closed is not None and finished < closed:
                problems.append(
                    f"{name}: the slow render ended ({finished:.2f} s) before the listener closed"
                )
    finally:
        result = load.stop()
    figure("2 rolling restart", summary(result))
    figure("2 rolling restart", f"failures: {result['failures'][:5]}")
    assert result["failures"] == [], f"{len(result['failures'])} failed requests: {result['failures'][:5]}"
    assert not problems, "\n".join(problems)
    assert result["ok"] > 0 and result["cold"] > 0


# ---------------------------------------------------------------- 3


def test_losing_a_pod(cluster: Cluster) -> None:
    """SIGKILL to one instance under load: HAProxy retries what it was
    answering or it fails fast, the others carry on; then it comes back."""
    cluster.heal()
    name = "r2"
    instance = cluster.instances[name]
    assert instance.process is not None
    # The survivors' leases (the killed instance's counters die with it).
    survivors = [i for n, i in cluster.instances.items() if n != name]
    leases_before = cluster.by_label("renditiond_render_leases_total", "outcome", survivors)
    # A rendition the killed instance is rendering, under its lease.
    orphan = rendition_path(SLOW_SPEC.format(width=3100), "slow/large.jpg")
    threads = cluster.client.threads()
    load = cluster.load(cached_urls(cluster), cold_urls(3), LOAD_THREADS)
    try:
        time.sleep(1)
        doomed = threads.submit(timed_fetch, instance.target, orphan, 60)
        time.sleep(1)  # the lease is taken, the render runs
        killed = time.time()
        kill = time.monotonic()
        instance.signal(signal.SIGKILL)
        assert instance.process.wait(10) is not None
        # The same rendition from another instance: it finds the dead lease.
        adopted = threads.submit(timed_fetch, cluster.haproxy.target, orphan, 2 * RENDER_TIMEOUT + 30)
        cluster.haproxy_wait_down(name)
        marked_down = time.monotonic() - kill
        time.sleep(3)  # the others carry on
    finally:
        result = load.stop()
    cut_off = doomed.result(timeout=70)
    answer, error, ended = adopted.result(timeout=2 * RENDER_TIMEOUT + 40)
    waited = ended - kill
    _, back = cluster.restart(name)
    leases_after = cluster.by_label("renditiond_render_leases_total", "outcome", survivors)
    leases = {k: int(v - leases_before.get(k, 0)) for k, v in sorted(leases_after.items())}
    failures = result["failures"]
    since_kill = int(killed - result["started"])
    carried_on = [result["ok_by_second"].get(str(s), 0) for s in range(since_kill + 1, since_kill + 4)]
    figure("3 losing a pod", summary(result))
    figure(
        "3 losing a pod",
        f"{name} killed: marked down after {marked_down:.2f} s; {len(failures)} failed requests "
        f"(bound {LOAD_THREADS}: one in flight per client thread); answers in the 3 s after: {carried_on}; "
        f"back (UP) {back:.2f} s after restart; the others' leases by outcome {leases}",
    )
    figure(
        "3 losing a pod",
        f"the rendition {name} was rendering: its own client got {cut_off[1] or cut_off[0]}; asked again "
        f"through HAProxy, {(answer and answer.status) or error} after {waited:.2f} s "
        f"(lease stale after {LEASE_STALE_AFTER} s, render timeout {RENDER_TIMEOUT} s)",
    )
    figure("3 losing a pod", f"failures: {failures[:5]}")
    # The dead holder's lease stops changing: another instance takes it over
    # after LEASE_STALE_AFTER, and renders it (under one render timeout).
    assert answer is not None and answer.status == 200, error
    assert waited <= LEASE_STALE_AFTER + RENDER_TIMEOUT + 5, waited
    assert leases.get("took_over", 0) >= 1, leases
    assert len(failures) <= LOAD_THREADS, failures
    assert all(f["seconds"] < 5 for f in failures), failures
    assert all(n > 0 for n in carried_on), carried_on


# ---------------------------------------------------------------- 4


def test_losing_the_store(cluster: Cluster) -> None:
    """SeaweedFS cut off at its veth: the instances stay in HAProxy's
    rotation and serve what they hold in memory, also once the originals'
    versions have expired; cold renditions answer 503 with Retry-After
    within one storage timeout; once the link is back, cold renditions work
    again without a restart."""
    cluster.heal()
    served = rendition_path("fill-120x90", "outage/photo-baseline.jpg")
    for name in INSTANCES:
        assert cluster.get(cluster.instances[name].target, served).status == 200
    r1 = cluster.instances["r1"]
    cluster.topology.set_link("s3", False)
    try:
        # Cold: of an original whose version r1 knows, and of one it never saw.
        known = cluster.get(r1.target, rendition_path("fill-121x91", "outage/photo-baseline.jpg"), timeout=30)
        unseen = cluster.get(r1.target, rendition_path("fill-120x90", "outage/photo-444.jpg"), timeout=30)
        # Past RENDITIOND_VERSION_TTL, and past HAProxy's time to mark a
        # server down: the last known versions stand in, nobody is down.
        time.sleep(VERSION_TTL + 0.5)
        memory = [cluster.get(cluster.haproxy.target, served, timeout=30) for _ in INSTANCES]
        readyz = cluster.get(r1.target, "/readyz", timeout=30)
        statuses = {name: cluster.haproxy.status(name) for name in INSTANCES}
    finally:
        cluster.topology.set_link("s3", True)
    attempts = 0

    def cold_works() -> bool:
        """A cold rendition from every instance (each tries its store again
        within a pause of the last timeout)."""
        nonlocal attempts
        attempts += 1
        path = rendition_path(f"fill-{200 + attempts}x150", "outage/photo-baseline.jpg")
        targets = [cluster.instances[name].target for name in INSTANCES]
        return all(cluster.get(target, path, timeout=30).status == 200 for target in targets)

    recovered = wait_for("cold renditions from every instance after the link is back", cold_works, 60, 0.25)
    cluster.wait_all_up()
    figure(
        "4 losing the store",
        f"in memory through HAProxy, versions expired: {[r.status for r in memory]} in at most "
        f"{max(r.elapsed for r in memory):.2f} s; cold (known original): {known.status} "
        f"Retry-After {known.headers.get('retry-after')} in {known.elapsed:.2f} s; cold (unseen original): "
        f"{unseen.status} Retry-After {unseen.headers.get('retry-after')} in {unseen.elapsed:.2f} s "
        f"(storage timeout {STORAGE_TIMEOUT} s); /readyz {readyz.status}; HAProxy: {statuses}",
    )
    figure(
        "4 losing the store",
        f"link up: cold renditions work again on every instance after {recovered:.2f} s "
        f"({attempts} tries), no restart",
    )
    # Served: at worst after one storage timeout, the instance's first look
    # at the store since the cut (then the store is paused, and the last
    # known version stands in at once).
    assert all(r.status == 200 and r.elapsed <= STORAGE_TIMEOUT + 1.5 for r in memory), [
        (r.status, r.elapsed) for r in memory
    ]
    # Each cold request costs at most one storage timeout: the first call
    # that gets no answer pauses the store (both stores: one service).
    for what, answer in (("unseen", unseen), ("known", known)):
        assert answer.status == 503 and answer.headers.get("retry-after"), (what, answer.status)
        bound = STORAGE_TIMEOUT + 1.5
        assert answer.elapsed <= bound, f"cold ({what} original): {answer.elapsed:.2f} s > {bound} s"
    assert readyz.status == 200
    assert all(status == "UP" for status in statuses.values()), statuses


# ---------------------------------------------------------------- 5


def rendition_requests(cluster: Cluster, instances: list[object] | None = None) -> float:
    return cluster.metric_sum(
        "renditiond_http_requests_total",
        instances,  # type: ignore[arg-type]
        route=("rendition", "images"),
    )


def is_hit(r: Response) -> bool:
    """Varnish's X-Varnish names two requests on a hit."""
    return len(r.headers.get("x-varnish", "").split()) == 2


def test_behind_the_cdn(cluster: Cluster) -> None:
    """Varnish in front: hits never reach renditiond, ETags revalidate,
    redirects are cached and point into the bucket, errors are not cached,
    a moved focal point gives a new URL and a new crop."""
    from PIL import Image, ImageChops, ImageStat

    from services import REDIRECT_HOST

    cluster.heal()
    cdn = cluster.varnish.target
    path = rendition_path("fill-160x120", "cdn/photo-baseline.jpg")

    # A hit: renditiond sees one request.
    first = cluster.get(cdn, path)
    before = rendition_requests(cluster)
    second = cluster.get(cdn, path)
    after = rendition_requests(cluster)
    revalidated = cluster.get(cdn, path, {"If-None-Match": first.headers["etag"]})
    after_revalidation = rendition_requests(cluster)
    figure(
        "5 behind the CDN",
        f"first {first.status} (X-Varnish {first.headers.get('x-varnish')}), second {second.status} "
        f"(X-Varnish {second.headers.get('x-varnish')}, Age {second.headers.get('age')}); "
        f"renditiond requests {before:.0f} -> {after:.0f}; If-None-Match {revalidated.status}, "
        f"requests -> {after_revalidation:.0f}",
    )
    assert first.status == 200 and second.status == 200 and second.body == first.body
    assert is_hit(second) and after == before
    assert revalidated.status == 304 and after_revalidation == before

    # Accept negotiation: the CDN keys on the normalised Accept, so each
    # format is rendered once and other headers of its bucket are hits.
    negotiated = rendition_path("fill-140x100", "cdn/photo-baseline.jpg")
    buckets = {
        "image/avif": [CHROME, "image/webp,image/avif,image/jxl,image/heic,*/*;q=0.5"],
        "image/webp": ["image/webp,*/*", "image/webp,image/apng,*/*;q=0.8"],
        "image/jpeg": ["", "*/*"],
    }
    before_negotiation = rendition_requests(cluster)
    answers = {
        mime: [cluster.get(cdn, negotiated, {"Accept": a} if a else None) for a in accepts]
        for mime, accepts in buckets.items()
    }
    after_negotiation = rendition_requests(cluster)

    def seen(r: Response) -> str:
        return f"{r.status} {r.headers.get('content-type')} Vary {r.headers.get('vary')} hit={is_hit(r)}"

    figure(
        "5 behind the CDN",
        "negotiation: "
        + "; ".join(f"{mime}: {', '.join(seen(r) for r in rs)}" for mime, rs in answers.items())
        + f"; renditiond requests {before_negotiation:.0f} -> {after_negotiation:.0f}",
    )
    for mime, (first_of, second_of) in answers.items():
        for r in (first_of, second_of):
            assert r.status == 200 and r.headers.get("content-type") == mime, (mime, r.status, r.headers)
            assert r.headers.get("vary") == "Accept", (mime, r.headers)
        assert is_hit(second_of) and second_of.body == first_of.body, mime
    assert after_negotiation == before_negotiation + 3

    # Redirect mode: the 302 is cached, its target comes from the bucket.
    assert cluster.redirect is not None
    moved = rendition_path("fill-150x100", "cdn/photo-444.jpg")
    host = {"Host": REDIRECT_HOST}
    redirect_before = rendition_requests(cluster, [cluster.redirect])
    found = cluster.get(cdn, moved, host)
    redirect_mid = rendition_requests(cluster, [cluster.redirect])
    found_again = cluster.get(cdn, moved, host)
    redirect_after = rendition_requests(cluster, [cluster.redirect])
    location = found.headers.get("location", "")
    from_bucket = cluster.get_url(location)
    served = cluster.get(cdn, moved)
    figure(
        "5 behind the CDN",
        f"redirect: {found.status} -> {location} ({redirect_before:.0f} -> {redirect_mid:.0f} requests), "
        f"again {found_again.status} hit={is_hit(found_again)} (-> {redirect_after:.0f}); the bucket through "
        f"the CDN: {from_bucket.status}, {from_bucket.headers.get('content-type')}, "
        f"{len(from_bucket.body)} bytes, Cache-Control {from_bucket.headers.get('cache-control')!r}; "
        f"same bytes as serve mode: {from_bucket.body == served.body}",
    )
    assert found.status == 302 and location.startswith(cluster.varnish.public_url + "/")
    assert redirect_mid == redirect_before + 1
    assert found_again.status == 302 and found_again.headers.get("location") == location
    assert is_hit(found_again) and redirect_after == redirect_mid
    assert from_bucket.status == 200 and served.status == 200 and from_bucket.body == served.body
    # The bucket lets anyone read renditions, and nothing else.
    store = cluster.topology["s3"].address
    bucket_path = urlsplit(location).path
    anonymous = cluster.get(f"{store}:{S3_PORT}", f"/{BUCKET}{bucket_path}")
    original = cluster.get(f"{store}:{S3_PORT}", f"/{BUCKET}/{ORIGINALS}/cdn/photo-444.jpg")
    figure("5 behind the CDN", f"anonymous reads: rendition {anonymous.status}, original {original.status}")
    assert (anonymous.status, original.status) == (200, 403)

    # An error is not cached beyond its Cache-Control.
    late = rendition_path("fill-100x80", "late/photo.jpg")
    missing = cluster.get(cdn, late)
    cluster.put_original("late/photo.jpg", (TEST_IMAGES / "photo-baseline.jpg").read_bytes())
    present = cluster.get(cdn, late)
    figure(
        "5 behind the CDN",
        f"missing original: {missing.status} Cache-Control {missing.headers.get('cache-control')!r}; "
        f"uploaded, then the same URL: {present.status}",
    )
    assert missing.status == 404 and present.status == 200

    # The focal point moves in Wagtail: a new URL, a new crop.
    image = cluster.wagtail_image["id"]
    spec = "fill-200x200-c100"
    old = cluster.wagtail("url", str(image), spec)
    old_image = cluster.get_url(old["url"])
    new = cluster.wagtail("move", str(image), "120,250,60,60", spec)
    new_image = cluster.get_url(new["url"])

    def pixels(r: Response) -> Image.Image:
        return Image.open(io.BytesIO(r.body)).convert("RGB")

    assert old_image.status == 200 and new_image.status == 200, (old_image.status, new_image.status)
    a, b = pixels(old_image), pixels(new_image)
    difference = sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3 if a.size == b.size else -1
    figure(
        "5 behind the CDN",
        f"focal point {old['focal_point']} -> {new['focal_point']}: URL changed {old['url'] != new['url']}, "
        f"sizes {a.size} / {b.size} (Wagtail {old['wagtail_size']} / {new['wagtail_size']}), "
        f"mean pixel difference {difference:.1f}",
    )
    assert new["url"] != old["url"]
    assert list(a.size) == old["wagtail_size"] == [old["width"], old["height"]]
    assert list(b.size) == new["wagtail_size"] == [new["width"], new["height"]]
    assert difference > 10, difference
