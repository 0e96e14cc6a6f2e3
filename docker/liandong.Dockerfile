# The liandong service: node 20 with espeak-ng and sox for the spoken prompts.
# Build context: the repository root (see docker-compose.yml); liandong.Dockerfile.dockerignore
# keeps node_modules, data and secrets out of it.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Compilers only for better-sqlite3 when no prebuilt binary matches; not in the final image.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends espeak-ng sox \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Templates, so `node dist/src/cli.js asterisk render --profile production --out DIR` also works inside this image.
COPY --from=build /app/dialplans ./dialplans
RUN mkdir -p /app/data && chown node:node /app/data
USER node
CMD ["node", "dist/src/main.js"]
