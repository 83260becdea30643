// Build config: relative asset URLs (base "./") so the same dist/ works at any path of the bucket/CDN.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { defineConfig, type Plugin } from 'vite'

/**
 * The local runner writes dist/config.json at start; a rebuild empties dist/. Keep that file across builds so
 * `npm run build` while the stack runs does not leave the site without its config.
 */
function keepRuntimeConfig(): Plugin {
  const file = resolve(import.meta.dirname, 'dist', 'config.json')
  let saved: string | null = null
  return {
    name: 'keep-runtime-config',
    apply: 'build',
    buildStart() {
      saved = existsSync(file) ? readFileSync(file, 'utf8') : null
    },
    closeBundle() {
      if (saved != null && !existsSync(file)) writeFileSync(file, saved)
    },
  }
}

export default defineConfig({
  base: './',
  plugins: [keepRuntimeConfig()],
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
