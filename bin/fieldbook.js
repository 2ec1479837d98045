#!/usr/bin/env node
// Installed `fieldbook` command: runs the TypeScript CLI through tsx (no build step needed).
import { tsImport } from 'tsx/esm/api';

await tsImport('../src-main/cli.ts', import.meta.url);
