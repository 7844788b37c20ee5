import { defineConfig } from "vite";

// The app is served by the TradeCraft binary at `/`; `npm run dev` proxies the API to a
// server on 127.0.0.1:8080.
export default defineConfig({
  base: "/",
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 600 },
  server: {
    proxy: {
      "/v1": { target: "http://127.0.0.1:8080", ws: true },
      "/health": "http://127.0.0.1:8080",
    },
  },
});
