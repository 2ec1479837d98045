/** Messages between the ingest pipeline and the parser process. */
import type { ChunkSettings, IngestLimits, OcrSettings } from '../config';
import type { ErrorReport } from '../errors';
import type { ParseResult } from './types';

export interface ParseRequest {
  id: number;
  file: string;
  limits: IngestLimits;
  chunk: ChunkSettings;
  ocr?: OcrSettings;
  /** The password for this one file (a protected PDF); never stored or logged. */
  password?: string;
  /** The file's bytes, read by the caller: the parser process has no access to the user's files. */
  data: Uint8Array;
}

export interface ParseProgress {
  page: number;
  pages: number;
}

export type ParseResponse =
  | { id: number; progress: ParseProgress }
  | { id: number; ok: true; result: ParseResult }
  | { id: number; ok: false; error: Pick<ErrorReport, 'code' | 'detail' | 'file'> };

export function isParseRequest(msg: unknown): msg is ParseRequest {
  return (
    typeof msg === 'object' &&
    msg !== null &&
    'id' in msg &&
    'file' in msg &&
    'limits' in msg &&
    'chunk' in msg &&
    'data' in msg &&
    msg.data instanceof Uint8Array
  );
}
