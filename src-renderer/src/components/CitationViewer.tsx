/**
 * Opens a citation: PDFs render at the cited page with pdf.js (eval disabled, local
 * character maps) and the passage boxed; images (PNG/JPEG/TIFF pages read by OCR) show the
 * page with the passage boxed; Word/text documents show the passage in context, highlighted.
 * It is a modal dialog: focus moves in, Tab stays inside, Escape or Close return to the chip.
 */
import { useEffect, useRef, useState } from 'react';
import * as pdfjs from 'pdfjs-dist';
import workerUrl from 'pdfjs-dist/build/pdf.worker.min.mjs?url';
import type { CitationView } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { useT } from '../i18n';
import { Modal } from './Modal';

pdfjs.GlobalWorkerOptions.workerSrc = workerUrl;

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Page navigation and zoom, shared by the PDF and image views. */
function PageTools(props: {
  page: number;
  pages: number | null;
  setPage: (update: (p: number) => number) => void;
  zoom: (factor: number) => void;
}) {
  const { page, pages, setPage, zoom } = props;
  return (
    <div className="viewer-tools">
      <button className="big-button" disabled={page <= 1} onClick={() => setPage((p) => p - 1)}>
        ◀
      </button>
      <span data-testid="viewer-page">
        {page} / {pages ?? '?'}
      </span>
      <button className="big-button" disabled={pages !== null && page >= pages} onClick={() => setPage((p) => p + 1)}>
        ▶
      </button>
      <button className="big-button" onClick={() => zoom(1.15)}>
        ＋
      </button>
      <button className="big-button" onClick={() => zoom(1 / 1.15)}>
        －
      </button>
    </div>
  );
}

/** The cited passage's boxes on one page; `scale` maps box units (PDF points, image pixels) to screen pixels. */
function HighlightBoxes({ view, page, scale }: { view: CitationView; page: number; scale: number }) {
  const first = useRef<HTMLDivElement>(null);
  useEffect(() => {
    first.current?.scrollIntoView({ block: 'center' });
  }, [page, scale]);
  return (
    <>
      {view.boxes
        .filter((b) => b.page === page)
        .map((b, i) => (
          <div
            key={i}
            ref={i === 0 ? first : undefined}
            className="highlight-box"
            data-testid="highlight-box"
            style={{ left: b.x * scale - 4, top: b.y * scale - 4, width: b.w * scale + 8, height: b.h * scale + 8 }}
          />
        ))}
    </>
  );
}

/** Open where the passage's text actually is (a passage may start with overlap from the page before). */
function firstPage(view: CitationView): number {
  return view.boxes[0]?.page ?? view.page ?? 1;
}

function PdfPage({ view }: { view: CitationView }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [scale, setScale] = useState(1.4);
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [page, setPage] = useState(firstPage(view));
  const [rendered, setRendered] = useState(false);

  useEffect(() => {
    let cancelled = false;
    let doc: pdfjs.PDFDocumentProxy | null = null;
    setRendered(false);
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
        if (!cancelled) setRendered(true);
      } catch (err) {
        if (!cancelled) setError(errorText(err));
      }
    })();
    return () => {
      cancelled = true;
      void doc?.destroy();
    };
  }, [view.docId, page, scale]);

  return (
    <div className="pdf-view">
      <PageTools
        page={page}
        pages={view.pages}
        setPage={setPage}
        zoom={(f) => setScale((s) => Math.min(3, Math.max(0.6, s * f)))}
      />
      {error && <div className="banner error">{error}</div>}
      <div className="pdf-canvas-wrap" style={size ? { width: size.w, height: size.h } : undefined}>
        <canvas ref={canvasRef} />
        {rendered && <HighlightBoxes view={view} page={page} scale={scale} />}
      </div>
    </div>
  );
}

/** An image document (PNG/JPEG/TIFF page) with the passage boxed; boxes are in the page's pixels. */
function ImagePage({ view }: { view: CitationView }) {
  const [page, setPage] = useState(firstPage(view));
  const [image, setImage] = useState<{ src: string; w: number; h: number } | null>(null);
  const [zoom, setZoom] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    setImage(null);
    api.getDocumentFile({ docId: view.docId, page }).then(
      (file) => {
        if (cancelled || !file.pageSize) return;
        setImage({ src: `data:${file.mime};base64,${file.base64}`, w: file.pageSize.w, h: file.pageSize.h });
      },
      (err: unknown) => {
        if (!cancelled) setError(errorText(err));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [view.docId, page]);

  // Fit the page's width to the dialog at first (scans are thousands of pixels wide).
  const scale = zoom ?? (image ? Math.min(1, 900 / image.w) : 1);
  return (
    <div className="pdf-view">
      <PageTools
        page={page}
        pages={view.pages}
        setPage={setPage}
        zoom={(f) => setZoom(Math.min(3, Math.max(0.05, scale * f)))}
      />
      {error && <div className="banner error">{error}</div>}
      {image && (
        <div className="pdf-canvas-wrap" style={{ width: image.w * scale, height: image.h * scale }}>
          <img
            className="page-image"
            src={image.src}
            alt={`${view.title} — ${page}`}
            width={image.w * scale}
            height={image.h * scale}
            data-testid="viewer-image"
          />
          <HighlightBoxes view={view} page={page} scale={scale} />
        </div>
      )}
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
    <Modal label={view?.title ?? t.openSource} onClose={onClose}>
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
      {view &&
        (view.type === 'pdf' ? (
          <PdfPage view={view} />
        ) : view.type === 'image' ? (
          <ImagePage view={view} />
        ) : (
          <TextView view={view} />
        ))}
    </Modal>
  );
}
