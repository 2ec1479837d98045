/**
 * Audit: list (within the reader's clearance), verify the chain, export with the head.
 */
import { exportAudit, listAudit, verifyAudit } from '../core/audit/audit-log';
import type { ApiContext, HandlerGroup } from './api-context';

export function auditHandlers(ctx: ApiContext): HandlerGroup<'auditList' | 'auditVerify' | 'auditExport'> {
  const { fb } = ctx;
  return {
    async auditList(input, s) {
      s.require('reviewer', 'Reading the audit log');
      // Entries about documents or answers above the reader's clearance are left out.
      const q: Parameters<typeof listAudit>[1] = { maxSensitivity: s.clearance() };
      if (input.action) q.action = input.action;
      if (input.limit) q.limit = input.limit;
      return listAudit(fb.db, q);
    },
    async auditVerify(_input, s) {
      s.require('reviewer', 'Checking the audit log');
      return verifyAudit(fb.db);
    },
    async auditExport(input, s) {
      s.require('admin', 'Exporting the audit log');
      return { text: exportAudit(fb.db, input.format) };
    },
  };
}
