# The remaster builder: Node, the system tools remaster calls, and the project built; entrypoint `remaster`.
# BASE_IMAGE: any Debian/Ubuntu image with Node >= 20.19 and npm. The default needs Docker Hub; without it,
# scripts/compose-base.sh makes one locally and prints its tag (REMASTER_BASE_IMAGE=$(scripts/compose-base.sh)).
ARG BASE_IMAGE=node:22-bookworm
FROM ${BASE_IMAGE}
# Lets the compose test prune the images its own rebuilds left untagged, and nothing else.
LABEL org.remaster.image=builder
WORKDIR /opt/remaster
# System packages first: this layer stays cached while only the project's sources change.
COPY scripts/setup.sh ./scripts/setup.sh
RUN ./scripts/setup.sh --runtime --packages-only && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY templates ./templates
COPY isolinux ./isolinux
# Every command remaster runs inside a root goes through it.
COPY scripts/in-root ./scripts/in-root
COPY docker/builder-entrypoint.sh /usr/local/bin/remaster-entrypoint
RUN npm run build && npm prune --omit=dev --no-audit --no-fund --loglevel=error \
  && chmod +x dist/src/cli/main.js && ln -s /opt/remaster/dist/src/cli/main.js /usr/local/bin/remaster \
  && remaster --version
WORKDIR /out
ENTRYPOINT ["remaster-entrypoint"]
