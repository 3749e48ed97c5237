# Build the single-file binary, then ship it alone on a small glibc base.
# Base images are pinned by digest, so a rebuild starts from the bytes that
# were reviewed; the tag says what the digest is. Node 24 is the LTS line
# (Node 20 reached end of life in April 2026); the digest is the one
# docker-library/repo-info records for node:24.19.0-bookworm-slim.
FROM node:24.19.0-bookworm-slim@sha256:cd84903a12dbd26b46f1f3b8144a2568c41c5d37ddd0c7a80a34c7a19786b35f AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && mkdir -p /out/data

FROM gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f
COPY --from=build /src/dist/gatehouse /usr/local/bin/gatehouse
ENV GATEHOUSE_DATA_DIR=/data \
    GATEHOUSE_HOST=0.0.0.0 \
    PORT=8080
# distroless :nonroot runs as uid 65532; the volume is created owned by it.
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME ["/data"]
EXPOSE 8080
USER nonroot
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/gatehouse", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve"]
