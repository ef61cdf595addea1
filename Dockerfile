# Flightdeck's image: Node, the shared libraries it loads, and Flightdeck with its production
# dependencies. No shell, no npm, no package manager. Runs as user 10001; SQLite file in /data.
#   docker build -t flightdeck .
# BASE: any Debian bookworm with Node 24 in /usr/local (bin/node, include/node) and npm.
ARG BASE=node:24-bookworm-slim

# 1. TypeScript to dist/, with every dependency (no install scripts: compiling needs no addon).
FROM ${BASE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only. better-sqlite3 compiles here when no prebuilt binary can be
#    downloaded, against the base's own Node headers (node-gyp's nodedir, set as npm 11 wants).
#    --omit=optional leaves out typescript and ts-node (dev dependencies that TypeORM names as
#    optional peers) and bullmq's msgpackr-extract (it has a JavaScript fallback). Then what Node
#    never loads goes: types, TypeScript sources, source maps, docs, the addon's sources and objects.
FROM ${BASE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm_package_config_node_gyp_nodedir=/usr/local npm ci --omit=dev --omit=optional --no-audit --no-fund \
 && find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' \
      -o -name '*.map' -o -iname '*.md' \) -delete \
 && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
 && find node_modules/better-sqlite3/build -type f ! -name better_sqlite3.node -delete

# 3. The runtime file system: node, every library that it and the addon link (ldd), the app,
#    a user, name lookup as in Debian (hosts file, then DNS), /tmp, and /data owned by the user
#    (a new volume takes its owner from the image).
FROM deps AS rootfs
COPY --from=build /app/dist /rootfs/app/dist
RUN mkdir -p /rootfs/usr/local/bin /rootfs/etc /rootfs/tmp /rootfs/data \
 && cp /usr/local/bin/node /rootfs/usr/local/bin/ \
 && cp -a package.json node_modules /rootfs/app/ \
 && for f in /usr/local/bin/node $(find node_modules -name '*.node'); do ldd "$f"; done \
      | grep -o '/[^ ]*' | sort -u | xargs -I{} cp -L --parents {} /rootfs \
 && echo 'flightdeck:x:10001:10001:Flightdeck:/data:/nonexistent' > /rootfs/etc/passwd \
 && echo 'flightdeck:x:10001:' > /rootfs/etc/group \
 && echo 'hosts: files dns' > /rootfs/etc/nsswitch.conf \
 && chmod 1777 /rootfs/tmp \
 && chown 10001:10001 /rootfs/data

# 4. The image.
FROM scratch
COPY --from=rootfs /rootfs /
ENV PATH=/usr/local/bin \
    NODE_ENV=production \
    DATABASE_URL=sqlite:/data/flightdeck.db
WORKDIR /app
USER 10001:10001
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 and gets SIGTERM itself: it drains requests and running operations, then exits 0.
# Give it longer than FLIGHTDECK_SHUTDOWN_GRACE_MS (10 s): docker stop -t 30, compose stop_grace_period.
CMD ["node", "dist/main.js"]
