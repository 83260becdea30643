// Build config: relative asset URLs (base "./") so the same dist/ works at any path of the bucket/CDN.
import { defineConfig } from 'vite'

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    target: 'es2022',
    sourcemap: false,
    // Uppy is loaded only on the upload page (dynamic import) and is the largest chunk by design.
    chunkSizeWarningLimit: 600,
  },
  server: { host: '127.0.0.1', port: 8000, strictPort: true },
  preview: { host: '127.0.0.1', port: 8000, strictPort: true },
})
