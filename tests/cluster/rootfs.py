"""The image's root filesystem, as a folder (no Docker engine here), built
the way the Dockerfile describes its final stage on
gcr.io/distroless/cc-debian12:nonroot: the binary at /usr/local/bin, the
shared libraries it links (from `ldd`), the DejaVu fonts, the CA
certificates, /etc/passwd and /etc/group with the non-root user 65532, the
bundled test images; and the command that runs it read-only, chrooted, as
that user."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NONROOT = 65532
BINARY = "/usr/local/bin/renditiond"
FONTS = Path("/usr/share/fonts/truetype/dejavu")
CA_CERTIFICATES = Path("/etc/ssl/certs/ca-certificates.crt")
# Where the Wagtail site's database folder is mounted (read-only).
WAGTAIL_MOUNT = "/srv/wagtail"
DEVICES = ("null", "zero", "random", "urandom")

# The users of distroless's nonroot images (no passwords: "x").
PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"  # noqa: S105
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
)
GROUP = """root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
"""

# Mounts the folder read-only in a private mount namespace (with /proc and
# a few devices, as a container runtime gives), then runs the binary in it
# as the image's user. Arguments: the folder, the Wagtail database folder.
LAUNCH = """set -eu
root="$1"; wagtail="$2"
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
for device in null zero random urandom; do mount --bind "/dev/$device" "$root/dev/$device"; done
mount --bind "$wagtail" "$root/srv/wagtail"
mount -o remount,bind,ro "$root/srv/wagtail"
exec chroot --userspec=65532:65532 "$root" /usr/local/bin/renditiond serve
"""


def shared_libraries(binary: Path) -> list[Path]:
    """The libraries `ldd` says the binary loads, the loader included."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True, timeout=30).stdout
    libraries = []
    for line in out.splitlines():
        match = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if match:
            libraries.append(Path(match.group(1)))
    return libraries


def _place(source: Path, root: Path, target: str, mode: int = 0o644) -> Path:
    """Copies `source` (symlinks followed) to `target` inside `root`."""
    dest = root / target.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest, follow_symlinks=True)
    dest.chmod(mode)
    return dest


def _link_or_copy(source: Path, dest: Path) -> None:
    """A hard link where the file system allows it (the binary is large)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)
    dest.chmod(0o755)


def build(root: Path, binary: Path) -> Path:
    """Builds the image's root filesystem in `root`; returns it."""
    root.mkdir(parents=True)
    _link_or_copy(binary, root / BINARY.lstrip("/"))
    for library in shared_libraries(binary):
        _place(library, root, str(library), 0o755)
    for font in sorted(FONTS.glob("*.ttf")):
        _place(font, root, str(font))
    _place(CA_CERTIFICATES, root, str(CA_CERTIFICATES))
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    shutil.copytree(ROOT / "test-images", root / "srv" / "renditiond" / "test-images")
    for folder in ("proc", "dev", "tmp", "home/nonroot", WAGTAIL_MOUNT.lstrip("/")):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for device in DEVICES:
        (root / "dev" / device).touch()
    for path in [root, *root.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
        elif not os.access(path, os.X_OK):
            path.chmod(0o644)
    (root / "tmp").chmod(0o1777)
    os.chown(root / "home" / "nonroot", NONROOT, NONROOT)
    return root


def launch_argv(root: Path, wagtail: Path) -> list[str]:
    """The command that runs the image from `root` (in a namespace)."""
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        LAUNCH,
        "sh",
        str(root),
        str(wagtail),
    ]


def contents(root: Path) -> list[str]:
    """The image's files, for the report."""
    return sorted("/" + str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
