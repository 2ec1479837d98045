/**
 * Settings: anyone may change the language; everything else needs an admin and is audited.
 */
import type { Fieldbook } from '../core/fieldbook';
import type { ApiContext, HandlerGroup } from './api-context';

export function settingsHandlers(ctx: ApiContext): HandlerGroup<'getSettings' | 'updateSettings'> {
  const { fb, audit } = ctx;
  return {
    async getSettings() {
      return fb.settings();
    },
    async updateSettings(input, s) {
      if (Object.keys(input).some((k) => k !== 'locale')) s.require('admin', 'Changing settings');
      const patch: Parameters<Fieldbook['updateSettings']>[0] = {};
      if (input.locale) patch.locale = input.locale;
      if (input.chunk) patch.chunk = input.chunk;
      if (input.search) patch.search = input.search;
      if (input.answer) patch.answer = input.answer;
      if (input.ocr) patch.ocr = input.ocr;
      const next = fb.updateSettings(patch);
      audit(s, 'settings.change', null, { patch });
      return next;
    },
  };
}
