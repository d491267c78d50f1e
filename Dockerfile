# The app image: one instance per container, behind deploy/nginx.
FROM node:24-bookworm-slim
WORKDIR /app
# The lockfile's install-script approvals (package.json "allowScripts") are an npm 11 feature.
RUN npm install -g npm@11 --no-audit --no-fund
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

ENV NODE_ENV=production \
    PORT=3000
EXPOSE 3000
USER node
# node directly (not npm start): it receives SIGTERM itself, closes its
# listening socket, ends streams and exits 0.
CMD ["node", "dist/src/main.js"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:3000/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
