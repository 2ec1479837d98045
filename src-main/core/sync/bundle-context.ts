/** What reading a bundle's documents (preview, apply) needs from an open Fieldbook. */
import type { Fieldbook } from '../fieldbook';
import type { BundleReadDeps } from './bundle-import';

export function bundleContext(fb: Fieldbook): BundleReadDeps {
  const settings = fb.settings();
  return {
    db: fb.db,
    home: fb.home,
    parser: fb.parsers(),
    limits: settings.limits,
    chunking: settings.chunk,
    ocr: settings.ocr,
  };
}
