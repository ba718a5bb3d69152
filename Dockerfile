# volley's image: the CLI as ENTRYPOINT. Used by deploy/kubernetes/ (see docs/distributed.md).
#   docker build -t volley .
#   docker run --rm -v "$PWD:/work" -w /work volley run scenarios/echo.yaml --quiet

# Build: full install (the `prepare` script compiles TypeScript into dist/).
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
RUN npm ci

# Runtime: production dependencies and the compiled CLI only.
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY scenarios ./scenarios
RUN chmod +x bin/volley.js && ln -s /app/bin/volley.js /usr/local/bin/volley
USER node
ENTRYPOINT ["volley"]
CMD ["--help"]
