# The remaster builder: Node, the system tools remaster calls, and the project built.
# BASE_IMAGE: any Debian/Ubuntu image with Node >= 20.19 (default node:22-bookworm).
ARG BASE_IMAGE=node:22-bookworm
FROM ${BASE_IMAGE}
WORKDIR /opt/remaster
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY test ./test
COPY templates ./templates
COPY isolinux ./isolinux
RUN ./scripts/setup.sh && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["node", "/opt/remaster/dist/src/cli/main.js"]
