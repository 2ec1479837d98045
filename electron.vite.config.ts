/**
 * electron-vite build of the desktop app: main process (plus the parser and LLM process
 * entries it starts with utilityProcess), the sandboxed preload (CommonJS), and the renderer.
 */
import path from 'node:path';
import { defineConfig } from 'electron-vite';
import { rendererConfig } from './src-renderer/vite.config';

const root = import.meta.dirname;

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: path.join(root, 'src-main/index.ts'),
          'parser-process': path.join(root, 'src-main/core/ingest/parser-process.ts'),
          'llm-process': path.join(root, 'src-main/core/llm/llm-process.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: path.join(root, 'src-preload/index.ts') },
        // A sandboxed preload must be a single CommonJS file.
        output: { format: 'cjs', entryFileNames: '[name].cjs', inlineDynamicImports: true },
      },
      externalizeDeps: false,
    },
  },
  renderer: rendererConfig,
});
