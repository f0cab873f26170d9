import { defineConfig } from "vitest/config";

// The portal is a static single-page app served by the meshplane server
// (portal/portal.go); `npm run dev` proxies the API to a local server.
declare const process: { env: Record<string, string | undefined> };
const api = process.env.MESHPLANE_URL ?? "http://127.0.0.1:8080";

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
    rollupOptions: {
      onwarn(warning, warn) {
        // React Server Components directives mean nothing in a browser bundle.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: {
      // Keep the browser's Host: the server refuses cross-origin sign-in.
      "/meshplane.v1.": { target: api, changeOrigin: false },
      "/auth": { target: api, changeOrigin: false },
      "/graphql": { target: api, changeOrigin: false },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
