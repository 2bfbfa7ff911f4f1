# syntax=docker/dockerfile:1
# renditiond: build with the codec prerequisites, ship a small non-root image.

FROM rust:1.95-bookworm AS build
# libjpeg-turbo and libaom are built from source: they need cmake and nasm.
# The DejaVu fonts are copied into the image for text in rasterized SVGs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake=3.25.* nasm=2.16.* fonts-dejavu-core=2.37-* \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY src ./src
COPY benches ./benches
COPY tests ./tests
RUN cargo build --release --locked --bin renditiond

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/renditiond /usr/local/bin/renditiond
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
