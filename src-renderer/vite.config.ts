/**
 * The renderer's Vite config, used by electron-vite (desktop) and by `npm run build:renderer`
 * (the HTTP bridge / browser). pdf.js character maps and standard fonts are copied next to
 * the bundle so Chinese PDFs render without any network access.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const pdfjsRoot = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));

function pdfjsAssets(): Plugin {
  return {
    name: 'fieldbook-pdfjs-assets',
    generateBundle() {
      for (const dir of ['cmaps', 'standard_fonts']) {
        for (const file of fs.readdirSync(path.join(pdfjsRoot, dir))) {
          this.emitFile({
            type: 'asset',
            fileName: `pdfjs/${dir}/${file}`,
            source: fs.readFileSync(path.join(pdfjsRoot, dir, file)),
          });
        }
      }
    },
  };
}

export const rendererConfig = {
  root: here,
  base: './',
  plugins: [react(), pdfjsAssets()],
  build: {
    outDir: path.resolve(here, '..', 'out', 'renderer'),
    emptyOutDir: true,
    target: 'chrome120',
    rollupOptions: { input: path.join(here, 'index.html') },
    chunkSizeWarningLimit: 2000,
  },
};

export default defineConfig(rendererConfig);
