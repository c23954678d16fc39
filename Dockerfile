# syntax=docker/dockerfile:1.7
# One build for the whole monorepo, one small image per app:
#   docker build --target orchestrator -t orderflow/orchestrator .   (likewise order, inventory,
#   notification, and tools for `node dist/tools/main.js migrate|seed`).
# Every target is the shared `runtime` stage plus its own CMD, EXPOSE and HEALTHCHECK, so building all
# five costs one build and they share every layer. tools/deploy-check checks this file against the
# apps' config, docker-compose.yml, k8s/ and CI.

ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=node:24-alpine

# ---- build: install everything, generate the proto code, bundle the apps with esbuild -------------
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# Manifests first, so the `npm ci` layer stays cached until the lock file or a workspace changes.
COPY package.json package-lock.json ./
COPY apps/orchestrator/package.json apps/orchestrator/
COPY apps/order/package.json apps/order/
COPY apps/inventory/package.json apps/inventory/
COPY apps/notification/package.json apps/notification/
COPY libs/config/package.json libs/config/
COPY libs/db/package.json libs/db/
COPY libs/domain/package.json libs/domain/
COPY libs/messaging/package.json libs/messaging/
COPY libs/platform/package.json libs/platform/
COPY libs/proto/package.json libs/proto/
COPY libs/testing/package.json libs/testing/
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.base.json buf.yaml buf.gen.yaml ./
COPY proto/ proto/
COPY scripts/ scripts/
COPY libs/ libs/
COPY apps/ apps/
COPY tools/ tools/
# buf ships its binary in the @bufbuild/buf npm package; the generated code is never committed.
# Only what the image runs (the apps bring dist/tracing along), not the dev tools such as the bench.
RUN bash scripts/proto.sh && node scripts/build.mjs orchestrator order inventory notification tools

# ---- runtime: production dependencies, the bundles and the migrations; no sources, no dev tools -----
FROM ${RUNTIME_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/orchestrator/package.json apps/orchestrator/
COPY apps/order/package.json apps/order/
COPY apps/inventory/package.json apps/inventory/
COPY apps/notification/package.json apps/notification/
COPY libs/config/package.json libs/config/
COPY libs/db/package.json libs/db/
COPY libs/domain/package.json libs/domain/
COPY libs/messaging/package.json libs/messaging/
COPY libs/platform/package.json libs/platform/
COPY libs/proto/package.json libs/proto/
COPY libs/testing/package.json libs/testing/
# --ignore-scripts: no production dependency needs an install script (they only print or phone home).
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
# nx.json marks /app as the repository root, so db/ and var/ resolve whatever the working directory.
COPY nx.json ./
COPY db/ db/
# The .proto files: the gRPC servers offer them through the reflection service (grpcurl list/describe).
COPY proto/ proto/
COPY docker/healthcheck.cjs docker/
COPY --from=build /src/dist/ dist/
# The only directory the apps write to (notification's .eml files when SMTP_URL is unset); a volume
# goes here under docker compose and an emptyDir under Kubernetes (read-only root filesystem).
RUN mkdir -p var/mail && chown 1000:1000 var/mail
# The image's `node` user, by number so Kubernetes can verify runAsNonRoot. Node runs as PID 1 and
# handles SIGTERM itself (it drains, then exits 0); nothing else runs in the container.
USER 1000:1000

# ---- one target per process --------------------------------------------------------------------------
FROM runtime AS tools
HEALTHCHECK NONE
CMD ["node", "dist/tools/main.js", "migrate"]

FROM runtime AS order
EXPOSE 50051 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["node", "docker/healthcheck.cjs", "/healthz", "8081"]
CMD ["node", "--enable-source-maps", "--max-old-space-size=160", "--max-semi-space-size=16", "dist/order/main.js"]

FROM runtime AS inventory
EXPOSE 50052 8082
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["node", "docker/healthcheck.cjs", "/healthz", "8082"]
CMD ["node", "--enable-source-maps", "--max-old-space-size=160", "--max-semi-space-size=16", "dist/inventory/main.js"]

FROM runtime AS notification
ENV MAIL_DIR=/app/var/mail
EXPOSE 8083
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["node", "docker/healthcheck.cjs", "/healthz", "8083"]
CMD ["node", "--enable-source-maps", "--max-old-space-size=160", "--max-semi-space-size=16", "dist/notification/main.js"]

# Last, so a plain `docker build .` gives the public API. 8080 serves the API only; /healthz, /readyz,
# /status and /metrics are on the ops port 8084 (OPS_PORT).
FROM runtime AS orchestrator
EXPOSE 8080 8084
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["node", "docker/healthcheck.cjs", "/healthz", "OPS_PORT=8084"]
CMD ["node", "--enable-source-maps", "--max-old-space-size=160", "--max-semi-space-size=16", "dist/orchestrator/main.js"]
