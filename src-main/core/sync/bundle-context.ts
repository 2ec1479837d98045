/** What reading a bundle's documents (preview, apply) needs from an open Fieldbook. */
import type { Fieldbook } from '../fieldbook';
import type { PreviewDeps } from './bundle-preview';

export function bundleContext(fb: Fieldbook): PreviewDeps {
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
