/**
 * Opens a citation: PDFs render at the cited page with pdf.js (eval disabled, local
 * character maps) and the passage boxed; Word/text documents show the passage in context,
 * highlighted.
 */
import { useEffect, useRef, useState } from 'react';
import * as pdfjs from 'pdfjs-dist';
import workerUrl from 'pdfjs-dist/build/pdf.worker.min.mjs?url';
import type { CitationView } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { useT } from '../i18n';

pdfjs.GlobalWorkerOptions.workerSrc = workerUrl;

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function PdfPage({ view }: { view: CitationView }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [scale, setScale] = useState(1.4);
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Open where the passage's text actually is (a passage may start with overlap from the page before).
  const [page, setPage] = useState(view.boxes[0]?.page ?? view.page ?? 1);
  const firstBox = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let cancelled = false;
    let doc: pdfjs.PDFDocumentProxy | null = null;
    (async () => {
      try {
        const file = await api.getDocumentFile({ docId: view.docId });
        const base = new URL('./pdfjs/', window.location.href).href;
        doc = await pdfjs.getDocument({
          data: base64ToBytes(file.base64),
          isEvalSupported: false,
          cMapUrl: `${base}cmaps/`,
          cMapPacked: true,
          standardFontDataUrl: `${base}standard_fonts/`,
        }).promise;
        const p = await doc.getPage(page);
        const viewport = p.getViewport({ scale });
        const canvas = canvasRef.current;
        if (!canvas || cancelled) return;
        canvas.width = viewport.width;
        canvas.height = viewport.height;
        setSize({ w: viewport.width, h: viewport.height });
        await p.render({ canvas, viewport }).promise;
        firstBox.current?.scrollIntoView({ block: 'center' });
      } catch (err) {
        if (!cancelled) setError(errorText(err));
      }
    })();
    return () => {
      cancelled = true;
      void doc?.destroy();
    };
  }, [view.docId, page, scale]);

  const boxes = view.boxes.filter((b) => b.page === page);
  return (
    <div className="pdf-view">
      <div className="viewer-tools">
        <button className="big-button" disabled={page <= 1} onClick={() => setPage((p) => p - 1)}>
          ◀
        </button>
        <span data-testid="viewer-page">
          {page} / {view.pages ?? '?'}
        </span>
        <button
          className="big-button"
          disabled={view.pages !== null && page >= view.pages}
          onClick={() => setPage((p) => p + 1)}
        >
          ▶
        </button>
        <button className="big-button" onClick={() => setScale((s) => Math.min(3, s + 0.2))}>
          ＋
        </button>
        <button className="big-button" onClick={() => setScale((s) => Math.max(0.6, s - 0.2))}>
          －
        </button>
      </div>
      {error && <div className="banner error">{error}</div>}
      <div className="pdf-canvas-wrap" style={size ? { width: size.w, height: size.h } : undefined}>
        <canvas ref={canvasRef} />
        {boxes.map((b, i) => (
          <div
            key={i}
            ref={i === 0 ? firstBox : undefined}
            className="highlight-box"
            data-testid="highlight-box"
            style={{ left: b.x * scale - 4, top: b.y * scale - 4, width: b.w * scale + 8, height: b.h * scale + 8 }}
          />
        ))}
      </div>
    </div>
  );
}

function TextView({ view }: { view: CitationView }) {
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    ref.current?.scrollIntoView({ block: 'center' });
  }, [view.chunkId]);
  const text = view.documentText ?? view.text;
  const [a, b] = view.highlight ?? [0, 0];
  return (
    <div className="text-view">
      <span>{text.slice(0, a)}</span>
      <mark ref={ref} data-testid="highlight-text">
        {text.slice(a, b)}
      </mark>
      <span>{text.slice(b)}</span>
    </div>
  );
}

export function CitationViewer({ chunkId, onClose }: { chunkId: number; onClose: () => void }) {
  const t = useT();
  const [view, setView] = useState<CitationView | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.openCitation({ chunkId }).then(setView, (err: unknown) => setError(errorText(err)));
  }, [chunkId]);
  return (
    <div className="viewer" role="dialog" aria-modal="true" aria-label={view?.title ?? t.openSource}>
      <div className="viewer-head">
        <h2>
          {view?.title}
          {view?.page ? ` — ${t.page} ${view.page}` : ''}
        </h2>
        <button className="big-button" onClick={onClose}>
          ✕ {t.close}
        </button>
      </div>
      {error && <div className="banner error">{error}</div>}
      {view && <p className="muted path">{view.sourcePath}</p>}
      {view && (view.type === 'pdf' ? <PdfPage view={view} /> : <TextView view={view} />)}
    </div>
  );
}
