/** Where a document came from: a local file, or a USB bundle (its version, publisher and knowledge base). */
import type { Outputs } from '../../../src-preload/contract';
import { useT } from '../i18n';

export type Origin = Outputs['listDocuments']['documents'][number]['origin'];

export function OriginText({ origin }: { origin: Origin }) {
  const t = useT();
  if (origin.kind === 'local') return <span className="origin">{t.originLocal}</span>;
  const bundle = [t.originBundle, origin.version !== null ? `v${origin.version}` : null, origin.signer]
    .filter((part): part is string => part !== null)
    .join(' · ');
  return (
    <span className="origin" title={`${t.originKb} ${origin.kb}`}>
      {bundle}
      <span className="muted path">
        {' '}
        · {t.originKb} {origin.kb.slice(0, 8)}
      </span>
    </span>
  );
}
