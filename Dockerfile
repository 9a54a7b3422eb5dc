# syntax=docker/dockerfile:1
# Build: compile TypeScript with the dev dependencies, then ship only dist/ and production deps.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
# git (and ssh for ssh:// repos) are the only tools the operator runs, always with argument arrays.
RUN apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
USER 1000:1000
ENV NODE_ENV=production GSO_WORK_DIR=/work
EXPOSE 8080
ENTRYPOINT ["node", "/app/bin/git-sync-operator.js"]
CMD ["run"]
