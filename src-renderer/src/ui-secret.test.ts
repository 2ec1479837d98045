// @vitest-environment happy-dom
/** Issue 14.7: the renderer takes the HTTP bridge's per-launch secret from the address and keeps it for the tab. */
import { describe, expect, it } from 'vitest';
import { takeUiSecret } from './api';

describe('issue 14.7: UI secret in the browser', () => {
  it('takes #session= from the address, removes it from the address bar and keeps it for reloads', () => {
    window.sessionStorage.clear();
    window.history.replaceState(null, '', '/library?x=1#session=s3cr3t-AbC_123');
    expect(takeUiSecret(window.location, window.sessionStorage, window.history)).toBe('s3cr3t-AbC_123');
    expect(window.location.href).toBe(`${window.location.origin}/library?x=1`);
    // A reload (no fragment any more) still has it for this tab.
    expect(takeUiSecret(window.location, window.sessionStorage, window.history)).toBe('s3cr3t-AbC_123');
    // A newer launch's address replaces it.
    window.history.replaceState(null, '', '/#session=next-launch');
    expect(takeUiSecret(window.location, window.sessionStorage, window.history)).toBe('next-launch');
  });

  it('has no secret when the address never carried one (every call is then refused by the bridge)', () => {
    window.sessionStorage.clear();
    window.history.replaceState(null, '', '/');
    expect(takeUiSecret(window.location, window.sessionStorage, window.history)).toBe('');
  });
});
