import { defineConfig } from "vitest/config";

// The portal is a static single-page app served by the meshplane server
// (portal/portal.go); `npm run dev` proxies the API to a local server.
export default defineConfig({
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 800,
    // No inline modulepreload polyfill: the Content-Security-Policy forbids inline script.
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      "/meshplane.v1.": "http://127.0.0.1:8080",
      "/auth": "http://127.0.0.1:8080",
      "/graphql": "http://127.0.0.1:8080",
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
