/** Ask: question box, streamed answer, citation chips that open the source page, feedback, history, filters. */
import { useEffect, useRef, useState } from 'react';
import type { AppStatus, DocType, Outputs } from '../../../src-preload/contract';
import { api, errorText } from '../api';
import { CitationViewer } from '../components/CitationViewer';
import { useT } from '../i18n';

type Answer = Outputs['ask'];

interface Turn {
  question: string;
  streamed: string;
  /** Passages sent before generation (shown while the answer streams). */
  passages: Answer['citations'];
  answer: Answer | null;
  error: string | null;
}

function pageLabel(page: number | null, t: ReturnType<typeof useT>): string {
  return page === null ? '' : `${t.page} ${page}`;
}

function AnswerText({ text, onCite }: { text: string; onCite: (n: number) => void }) {
  // Turn [n] markers into buttons that open the cited source.
  const parts = text.split(/(\[\d+\])/g);
  return (
    <div className="answer-text">
      {parts.map((p, i) => {
        const m = /^\[(\d+)\]$/.exec(p);
        return m ? (
          <button key={i} className="cite-inline" onClick={() => onCite(Number(m[1]))}>
            {p}
          </button>
        ) : (
          <span key={i}>{p}</span>
        );
      })}
    </div>
  );
}

function Feedback({ answerId }: { answerId: number }) {
  const t = useT();
  const [rating, setRating] = useState<'up' | 'down' | null>(null);
  const [correction, setCorrection] = useState('');
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const send = async (r: 'up' | 'down', text?: string): Promise<void> => {
    try {
      await api.sendFeedback({ answerId, rating: r, ...(text ? { correction: text } : {}) });
      setSent(true);
    } catch (err) {
      setError(errorText(err));
    }
  };
  if (sent) return <p className="muted">{t.thanks}</p>;
  return (
    <div className="feedback">
      <button className="big-button" aria-pressed={rating === 'up'} onClick={() => void send('up')}>
        ✓ {t.helpful}
      </button>
      <button className="big-button" aria-pressed={rating === 'down'} onClick={() => setRating('down')}>
        ✗ {t.notHelpful}
      </button>
      {rating === 'down' && (
        <div className="correction">
          <textarea
            aria-label={t.correctionPlaceholder}
            placeholder={t.correctionPlaceholder}
            value={correction}
            onChange={(e) => setCorrection(e.target.value)}
          />
          <button className="big-button primary" onClick={() => void send('down', correction.trim())}>
            {t.sendFeedback}
          </button>
        </div>
      )}
      {error && <p className="error-text">{error}</p>}
    </div>
  );
}

export function AskPage({ status }: { status: AppStatus | null }) {
  const t = useT();
  const [question, setQuestion] = useState('');
  const [turns, setTurns] = useState<Turn[]>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const [conversationId, setConversationId] = useState<number | undefined>(undefined);
  const [viewing, setViewing] = useState<number | null>(null);
  const [line, setLine] = useState('');
  const [type, setType] = useState<DocType | ''>('');
  const [history, setHistory] = useState<Outputs['listConversations']>([]);
  const [copied, setCopied] = useState<number | null>(null);
  const endRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const off = api.onEvent((e) => {
      if (e.type !== 'answer-token' && e.type !== 'answer-passages') return;
      setTurns((ts) =>
        ts.map((turn, i) =>
          i !== ts.length - 1 || turn.answer
            ? turn
            : e.type === 'answer-token'
              ? { ...turn, streamed: turn.streamed + e.text }
              : { ...turn, passages: e.passages },
        ),
      );
    });
    void api.listConversations({}).then(setHistory, () => undefined);
    return off;
  }, []);

  useEffect(() => {
    // Block body: newer Chromium returns a promise from scrollIntoView, which must not become the effect's cleanup.
    endRef.current?.scrollIntoView({ block: 'end' });
  }, [turns]);

  const ask = async (): Promise<void> => {
    const q = question.trim();
    if (!q || busy) return;
    const requestId = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
    setBusy(requestId);
    setQuestion('');
    setTurns((ts) => [...ts, { question: q, streamed: '', passages: [], answer: null, error: null }]);
    try {
      const filters: { tags?: Record<string, string>; types?: DocType[] } = {};
      if (line) filters.tags = { line };
      if (type) filters.types = [type];
      const answer = await api.ask({
        question: q,
        requestId,
        ...(conversationId !== undefined ? { conversationId } : {}),
        ...(Object.keys(filters).length ? { filters } : {}),
      });
      setConversationId(answer.conversationId);
      setTurns((ts) => ts.map((turn, i) => (i === ts.length - 1 ? { ...turn, answer } : turn)));
      void api.listConversations({}).then(setHistory, () => undefined);
    } catch (err) {
      setTurns((ts) => ts.map((turn, i) => (i === ts.length - 1 ? { ...turn, error: errorText(err) } : turn)));
    } finally {
      setBusy(null);
    }
  };

  const openConversation = async (id: number): Promise<void> => {
    const answers = await api.getConversation({ id });
    setConversationId(id);
    setCopied(null);
    setTurns(
      answers.map((a) => ({
        question: a.question,
        streamed: a.answer,
        passages: [],
        // The safety rules shown with the answer come back with it (answers saved before they were stored have none).
        answer: { ...a, invalidCitations: [], safetyRules: a.safety.rules ?? [], notice: null, stopReason: null },
        error: null,
      })),
    );
  };

  const modeLabel = (a: Answer): string =>
    a.mode === 'generative' ? t.modeGenerative : a.mode === 'extractive' ? t.modeExtractive : t.modeNotFound;

  return (
    <div className="ask-layout">
      <aside className="sidebar">
        <button
          className="big-button"
          onClick={() => {
            setTurns([]);
            setConversationId(undefined);
            setCopied(null);
          }}
        >
          ＋ {t.newConversation}
        </button>
        <h2>{t.history}</h2>
        <ul className="history">
          {history.map((c) => (
            <li key={c.id}>
              <button
                className={`history-item${c.id === conversationId ? ' active' : ''}`}
                onClick={() => void openConversation(c.id)}
              >
                {c.title}
              </button>
            </li>
          ))}
        </ul>
        <h2>{t.filters}</h2>
        <label className="field">
          {t.filterLine}
          <input value={line} onChange={(e) => setLine(e.target.value)} placeholder={t.any} />
        </label>
        <label className="field">
          {t.filterType}
          <select value={type} onChange={(e) => setType(e.target.value as DocType | '')}>
            <option value="">{t.any}</option>
            {(Object.keys(t.docTypes) as DocType[]).map((d) => (
              <option key={d} value={d}>
                {t.docTypes[d]}
              </option>
            ))}
          </select>
        </label>
      </aside>
      <section className="conversation">
        {turns.length === 0 && (
          <div className="empty">
            <h2>{t.emptyAskTitle}</h2>
            <p>{status && status.documents === 0 ? t.emptyLibraryForAsk : t.emptyAskBody}</p>
          </div>
        )}
        {turns.map((turn, i) => (
          <article key={i} className="turn">
            <p className="question">{turn.question}</p>
            {turn.error && <div className="banner error">{turn.error}</div>}
            {!turn.answer && !turn.error && (
              <div className="answer streaming" aria-busy="true">
                <div className="progress indeterminate" role="progressbar" aria-label={t.working} />
                <AnswerText text={turn.streamed} onCite={() => undefined} />
                {turn.passages.length > 0 && (
                  <div className="citations" data-testid="passages">
                    <h3>{t.sources}</h3>
                    {turn.passages.map((c) => (
                      <button key={c.n} className="chip" onClick={() => setViewing(c.chunkId)}>
                        <strong>[{c.n}]</strong> {c.docTitle} {pageLabel(c.page, t)}
                      </button>
                    ))}
                  </div>
                )}
              </div>
            )}
            {turn.answer && (
              <div className={`answer ${turn.answer.mode}`} data-testid="answer">
                <div className="answer-meta">
                  <span className={`badge ${turn.answer.mode}`}>{modeLabel(turn.answer)}</span>
                  <span className="muted">
                    {t.confidence} {turn.answer.confidence.toFixed(2)}
                  </span>
                </div>
                {turn.answer.needsReview && <div className="banner warn">⚠ {t.needsReview}</div>}
                <AnswerText
                  text={turn.answer.answer}
                  onCite={(n) => {
                    const c = turn.answer?.citations.find((x) => x.n === n);
                    if (c) setViewing(c.chunkId);
                  }}
                />
                {turn.answer.citations.length > 0 && (
                  <div className="citations">
                    <h3>{t.sources}</h3>
                    {turn.answer.citations.map((c) => (
                      <button
                        key={c.n}
                        className={`chip${c.supported ? '' : ' unsupported'}`}
                        onClick={() => setViewing(c.chunkId)}
                      >
                        <strong>[{c.n}]</strong> {c.docTitle} {pageLabel(c.page, t)}
                        {c.headingPath.length > 0 && <span className="muted"> · {c.headingPath.at(-1)}</span>}
                        {!c.supported && <span className="warn-text"> · {t.unsupported}</span>}
                        {c.ocrConfidence !== undefined && c.ocrConfidence !== null && (
                          <span className="muted"> · OCR {Math.round(c.ocrConfidence)}%</span>
                        )}
                      </button>
                    ))}
                  </div>
                )}
                {turn.answer.safetyRules.length > 0 && (
                  <div className="safety">
                    <h3>⚠ {t.safetyRules}</h3>
                    {turn.answer.safetyRules.map((r) => (
                      <button key={r.chunkId} className="chip safety-chip" onClick={() => setViewing(r.chunkId)}>
                        {r.docTitle} {pageLabel(r.page, t)} — {r.snippet}
                      </button>
                    ))}
                  </div>
                )}
                <div className="answer-actions">
                  <button
                    className="big-button"
                    onClick={() => {
                      void navigator.clipboard?.writeText(turn.answer?.answer ?? '');
                      setCopied(i);
                    }}
                  >
                    {copied === i ? t.copied : t.copy}
                  </button>
                  {/* Keyed by answer: another conversation's answer never inherits this one's feedback state. */}
                  {turn.answer.mode !== 'not-found' && <Feedback key={turn.answer.id} answerId={turn.answer.id} />}
                </div>
              </div>
            )}
          </article>
        ))}
        <div ref={endRef} />
        <form
          className="ask-box"
          onSubmit={(e) => {
            e.preventDefault();
            void ask();
          }}
        >
          <textarea
            aria-label={t.askPlaceholder}
            placeholder={t.askPlaceholder}
            value={question}
            onChange={(e) => setQuestion(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault();
                void ask();
              }
            }}
          />
          {busy ? (
            <button type="button" className="big-button danger" onClick={() => void api.cancelAsk({ requestId: busy })}>
              {t.cancel}
            </button>
          ) : (
            <button type="submit" className="big-button primary" disabled={!question.trim()}>
              {t.askButton}
            </button>
          )}
        </form>
      </section>
      {viewing !== null && <CitationViewer chunkId={viewing} onClose={() => setViewing(null)} />}
    </div>
  );
}
