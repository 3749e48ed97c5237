# Build the single-file binary, then ship it alone on a small glibc base.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && mkdir -p /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
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
