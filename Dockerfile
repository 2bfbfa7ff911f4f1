# syntax=docker/dockerfile:1
# renditiond: build with the codec prerequisites, ship a small non-root image.

FROM rust:1.95-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# libjpeg-turbo, libaom and libheif are built from source: they need cmake,
# nasm, a C++ compiler and pkg-config; libheif decodes HEVC with libde265
# and encodes it with x265 (which needs libnuma).
# The DejaVu fonts are copied into the image for text in rasterized SVGs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake=3.25.* nasm=2.16.* fonts-dejavu-core=2.37-* \
        g++=4:12.* pkg-config=1.8.* libde265-dev=1.0.* libx265-dev=3.5-* libnuma-dev=2.0.* \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY src ./src
COPY benches ./benches
COPY tests ./tests
RUN cargo build --release --locked --bin renditiond
# The shared libraries the runtime image lacks: the HEVC codecs and C++'s.
RUN mkdir /runtime-libs \
    && ldd target/release/renditiond | awk '/=> \// {print $3}' \
        | grep -E 'libde265|libx265|libnuma|libstdc\+\+' | xargs -I{} cp -L {} /runtime-libs/

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/renditiond /usr/local/bin/renditiond
COPY --from=build /runtime-libs/ /usr/lib/
COPY --from=build /usr/share/fonts/truetype/dejavu /usr/share/fonts/truetype/dejavu
COPY test-images /srv/renditiond/test-images
WORKDIR /srv/renditiond
# Every setting is a RENDITIOND_* variable (see README); these make the image
# listen on all interfaces and serve the bundled test images out of the box.
ENV RENDITIOND_LISTEN=0.0.0.0:8080 \
    RENDITIOND_ORIGINALS=/srv/renditiond/test-images
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/renditiond"]
CMD ["serve"]
