import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The Rust server (`chainwatch serve`) listens on 127.0.0.1:7777 by default; in
// development Vite serves the app and forwards the API and the socket to it.
const server = "http://127.0.0.1:7777";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/api": { target: server, changeOrigin: false },
      "/ws": { target: server, ws: true, changeOrigin: false },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // No source maps in the build: the server embeds dist/ in its binary.
    sourcemap: false,
    // Keep every asset a file: no `data:` URLs, so a strict CSP (no inline anything)
    // needs no exceptions.
    assetsInlineLimit: 0,
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx", "tests/unit/**/*.test.ts"],
  },
});
