/**
 * Typed errors with user-facing words in zh-TW and English.
 * The UI, the CLI and the HTTP bridge all show the same message and hint.
 */

interface ErrorText {
  en: string;
  zh: string;
  hintEn: string;
  hintZh: string;
}

const ERROR_TABLE = {
  PATH_NOT_FOUND: {
    en: 'File or folder not found',
    zh: '找不到檔案或資料夾',
    hintEn: 'Check the path and that the USB drive or share is connected.',
    hintZh: '請確認路徑正確，以及 USB 隨身碟或網路磁碟已連接。',
  },
  FILE_UNREADABLE: {
    en: 'The file cannot be read (permission denied or locked)',
    zh: '無法讀取檔案（權限不足或被其他程式鎖定）',
    hintEn: 'Close the file in other programs or ask IT for read permission.',
    hintZh: '請關閉開啟此檔案的其他程式，或請 IT 開放讀取權限。',
  },
  FILE_CHANGED: {
    en: 'The file on disk is not the one that was indexed (changed, replaced or a link)',
    zh: '磁碟上的檔案已不是建立索引時的檔案（已變更、被取代或為連結）',
    hintEn: 'Ask a reviewer to re-index the document from its original file.',
    hintZh: '請審核人員以原始檔案重新建立此文件的索引。',
  },
  FILE_EMPTY: {
    en: 'The file is empty (0 bytes)',
    zh: '檔案是空的（0 位元組）',
    hintEn: 'Copy the file again from its source; the copy may have failed.',
    hintZh: '請從來源重新複製檔案，先前的複製可能失敗。',
  },
  FILE_TOO_LARGE: {
    en: 'The file is larger than the allowed size',
    zh: '檔案超過允許的大小',
    hintEn: 'Split the document or ask an administrator to raise the size limit in Settings.',
    hintZh: '請分割文件，或請管理員在設定中提高大小上限。',
  },
  UNSUPPORTED_TYPE: {
    en: 'This file type is not supported',
    zh: '不支援此檔案類型',
    hintEn: 'Supported: PDF, Word (.docx), text (.txt), Markdown (.md) and images (PNG, JPEG, TIFF; read by OCR).',
    hintZh: '支援的格式：PDF、Word（.docx）、純文字（.txt）、Markdown（.md）與圖片（PNG、JPEG、TIFF，以 OCR 辨識）。',
  },
  LEGACY_DOC: {
    en: 'Old Word format (.doc) is not supported',
    zh: '不支援舊版 Word 格式（.doc）',
    hintEn: 'Open it in Word and save it as .docx, then add it again.',
    hintZh: '請用 Word 開啟並另存為 .docx 後再加入。',
  },
  WRONG_EXTENSION: {
    en: 'The file content does not match its extension',
    zh: '檔案內容與副檔名不符',
    hintEn: 'The file was probably renamed. Use the original file.',
    hintZh: '檔案可能被改過副檔名，請使用原始檔案。',
  },
  ARCHIVE_ENCRYPTED: {
    en: 'The file is a password-protected ZIP archive, not a Word document',
    zh: '此檔案是受密碼保護的 ZIP 壓縮檔，不是 Word 文件',
    hintEn: 'Unpack it with its password and add the documents inside.',
    hintZh: '請以密碼解壓縮後，再加入其中的文件。',
  },
  PDF_CORRUPT: {
    en: 'The PDF is damaged and cannot be opened',
    zh: 'PDF 檔案已損壞，無法開啟',
    hintEn: 'Copy it again or export it again from the original program.',
    hintZh: '請重新複製，或從原始程式重新匯出 PDF。',
  },
  PDF_ENCRYPTED: {
    en: 'The PDF is password-protected',
    zh: 'PDF 受密碼保護',
    hintEn:
      'Enter its password (Library: "Enter password"; command line: fieldbook ingest --password), or ask the owner for an unprotected copy.',
    hintZh: '請輸入密碼（文件庫：「輸入密碼」；命令列：fieldbook ingest --password），或向文件負責人索取未加密的版本。',
  },
  PDF_WRONG_PASSWORD: {
    en: 'The password for this PDF is wrong',
    zh: '此 PDF 的密碼不正確',
    hintEn: 'Check the password (capital letters, keyboard layout) and enter it again.',
    hintZh: '請確認密碼（大小寫、鍵盤輸入法）後再輸入一次。',
  },
  PDF_NO_TEXT: {
    en: 'The PDF has no text layer (scanned); it needs OCR',
    zh: 'PDF 沒有文字層（掃描檔），需要 OCR 文字辨識',
    hintEn: 'Ask an administrator to turn OCR on in Settings and add it again, or ask for a text-based PDF.',
    hintZh: '請管理員在設定中開啟 OCR 後重新加入，或索取可選取文字的 PDF。',
  },
  PDF_OCR_NO_TEXT: {
    en: 'No text was found in the PDF, not even by OCR',
    zh: 'PDF 中找不到文字，OCR 文字辨識也辨識不到',
    hintEn:
      'The pages may be blank, drawings or too faint. Check the file; scan it again at 300 dpi, or check the OCR languages in Settings.',
    hintZh: '頁面可能是空白、圖面或字跡太淡。請檢查檔案，以 300 dpi 重新掃描，或確認設定中的 OCR 語言。',
  },
  PDF_PAGES_UNREADABLE: {
    en: 'No page of the PDF could be read',
    zh: 'PDF 的每一頁都無法讀取',
    hintEn: 'The file is damaged. Export or print it to PDF again from the original program.',
    hintZh: '檔案已損壞，請從原始程式重新匯出或列印成 PDF。',
  },
  PDF_TOO_MANY_PAGES: {
    en: 'The PDF has more pages than allowed',
    zh: 'PDF 頁數超過上限',
    hintEn: 'Split the document or raise the page limit in Settings.',
    hintZh: '請分割文件，或在設定中提高頁數上限。',
  },
  IMAGE_CORRUPT: {
    en: 'The image is damaged or incomplete and cannot be read',
    zh: '圖片檔已損壞或不完整，無法讀取',
    hintEn: 'Copy it again from the scanner or camera, or scan the page again.',
    hintZh: '請從掃描器或相機重新複製，或重新掃描該頁。',
  },
  IMAGE_TOO_LARGE: {
    en: 'The image is too large to read safely',
    zh: '圖片過大，無法安全讀取',
    hintEn: 'Scan it again at 300 dpi or less, or split a multi-page TIFF into smaller files.',
    hintZh: '請以 300 dpi 以下重新掃描，或將多頁 TIFF 分割成較小的檔案。',
  },
  IMAGE_NO_TEXT: {
    en: 'No text was recognised in the image',
    zh: '圖片中辨識不到文字',
    hintEn: 'Check that it shows a document, sharp and upright, and that the OCR languages in Settings match it.',
    hintZh: '請確認圖片是清晰、方向正確的文件，且設定中的 OCR 語言與文件相符。',
  },
  OCR_PAGES_NOT_READ: {
    en: 'OCR did not read the pages of this file: they are too large, or past what OCR reads of one file',
    zh: 'OCR 未讀取此檔案的頁面：頁面過大，或超出單一檔案的 OCR 讀取上限',
    hintEn: 'Split the file into smaller files, or scan the pages again at a normal paper size and resolution.',
    hintZh: '請將檔案拆成較小的檔案，或以一般紙張尺寸與解析度重新掃描。',
  },
  OCR_DISABLED: {
    en: 'Images are read by OCR, which is turned off',
    zh: '圖片需要 OCR 文字辨識，但 OCR 已關閉',
    hintEn: 'An administrator can turn OCR on in Settings; then add the image again.',
    hintZh: '請由管理員在設定中開啟 OCR，再重新加入圖片。',
  },
  DOCX_ENCRYPTED: {
    en: 'The Word document is password-protected',
    zh: 'Word 文件受密碼保護',
    hintEn: 'Remove the password in Word (File › Info › Protect Document) and add it again.',
    hintZh: '請在 Word 中移除密碼（檔案 › 資訊 › 保護文件）後再加入。',
  },
  DOCX_CORRUPT: {
    en: 'The Word document is damaged',
    zh: 'Word 文件已損壞',
    hintEn: 'Open it in Word and save it again, or copy it again.',
    hintZh: '請用 Word 開啟後重新儲存，或重新複製檔案。',
  },
  DOCX_TOO_LARGE_UNPACKED: {
    en: 'The Word document unpacks to an unsafe size (possible zip bomb)',
    zh: 'Word 文件解壓縮後過大（疑似壓縮炸彈）',
    hintEn: 'Do not use this file; report it to IT.',
    hintZh: '請勿使用此檔案，並通報 IT。',
  },
  DOCUMENT_EMPTY: {
    en: 'The document contains no text',
    zh: '文件中沒有文字內容',
    hintEn: 'Check that this is the right file.',
    hintZh: '請確認檔案是否正確。',
  },
  PARSE_TIMEOUT: {
    en: 'Reading the document took too long and was stopped',
    zh: '讀取文件時間過長，已停止',
    hintEn: 'The file may be damaged or very complex. Split it or raise the time limit.',
    hintZh: '檔案可能損壞或過於複雜，請分割檔案或提高時間上限。',
  },
  PARSE_CRASHED: {
    en: 'The document reader stopped on this file (too complex, damaged or hostile)',
    zh: '讀取此檔案時讀取程式停止（檔案過於複雜、已損壞或含惡意內容）',
    hintEn:
      'Other files were not affected. Try a copy exported again from the original program; an administrator can raise the reader memory limit in Settings.',
    hintZh: '其他檔案不受影響。請改用從原始程式重新匯出的檔案；管理員可在設定中提高讀取程式的記憶體上限。',
  },
  PARSE_OUT_OF_MEMORY: {
    en: 'Reading the document needed more memory than allowed and was stopped',
    zh: '讀取文件所需的記憶體超過上限，已停止',
    hintEn:
      'The file may be damaged or built in an unusual way. Try a copy exported again from the original program; an administrator can raise the reader memory limit in Settings.',
    hintZh: '檔案可能損壞或結構特殊。請改用從原始程式重新匯出的檔案；管理員可在設定中提高讀取程式的記憶體上限。',
  },
  PARSE_FAILED: {
    en: 'The document could not be read',
    zh: '無法讀取文件',
    hintEn:
      'Export or save the file again from its original program and add it again; if it still fails, give the file to IT.',
    hintZh: '請從原始程式重新匯出或儲存檔案後再加入；若仍失敗，請將檔案交給 IT。',
  },
  INGEST_CANCELLED: {
    en: 'Adding documents was stopped',
    zh: '已停止加入文件',
    hintEn: 'The files not yet read stay pending: add them again (or resume the import) to finish.',
    hintZh: '尚未讀取的檔案會保留為待處理：再次加入（或繼續匯入）即可完成。',
  },
  DOCUMENT_NOT_FOUND: {
    en: 'No such document in the knowledge base',
    zh: '知識庫中沒有此文件',
    hintEn: 'It may have been removed or replaced. Refresh the document list or ask again.',
    hintZh: '文件可能已被移除或更新，請重新整理文件清單或重新提問。',
  },
  INVALID_INPUT: {
    en: 'Invalid input',
    zh: '輸入內容無效',
    hintEn: 'Check the command or form values.',
    hintZh: '請檢查指令或表單內容。',
  },
  EMBEDDING_MODEL_INVALID: {
    en: 'The embedding model folder is incomplete or invalid',
    zh: '向量模型資料夾不完整或無效',
    hintEn: 'A model folder needs config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx.',
    hintZh: '模型資料夾需包含 config.json、tokenizer.json、tokenizer_config.json 與 onnx/model.onnx。',
  },
  MODEL_NOT_APPROVED: {
    en: 'The model file is not approved (its SHA-256 is unknown or changed)',
    zh: '模型檔案未經核准（SHA-256 未知或已變更）',
    hintEn: 'An administrator must approve the model file before it is used.',
    hintZh: '模型檔案需先由管理員核准才能使用。',
  },
  LLM_LOAD_FAILED: {
    en: 'The language model could not be loaded',
    zh: '無法載入語言模型',
    hintEn: 'Check that the .gguf file is complete and fits in memory; answers use extractive mode meanwhile.',
    hintZh: '請確認 .gguf 檔案完整且記憶體足夠；在此期間改用摘錄模式回答。',
  },
  LLM_CRASHED: {
    en: 'The language model stopped unexpectedly',
    zh: '語言模型意外停止',
    hintEn: 'It restarts on the next question; this answer uses extractive mode.',
    hintZh: '下一個問題會自動重新啟動；本次改用摘錄模式回答。',
  },
  CONVERSATION_NOT_FOUND: {
    en: 'No such conversation',
    zh: '找不到此對話',
    hintEn: 'Start a new conversation.',
    hintZh: '請開始新的對話。',
  },
  BUNDLE_INVALID: {
    en: 'The update bundle is incomplete or invalid',
    zh: '更新包不完整或無效',
    hintEn: 'Copy the bundle to the USB drive again from the master workstation.',
    hintZh: '請從主工作站重新複製更新包到 USB 隨身碟。',
  },
  BUNDLE_BAD_SIGNATURE: {
    en: 'The update bundle signature is missing or wrong',
    zh: '更新包的簽章遺失或不正確',
    hintEn: 'Do not use this bundle; it may have been changed. Ask for a newly signed one.',
    hintZh: '請勿使用此更新包，內容可能遭修改，請索取重新簽署的版本。',
  },
  BUNDLE_UNKNOWN_SIGNER: {
    en: 'The update bundle was signed by a key this PC does not trust',
    zh: '更新包的簽署金鑰不在本機信任清單中',
    hintEn: "An administrator must add the publisher's key to the trusted publishers first.",
    hintZh: '需先由管理員把發布者的金鑰加入信任的發布者。',
  },
  BUNDLE_HASH_MISMATCH: {
    en: 'A file in the update bundle does not match its recorded hash',
    zh: '更新包中的檔案與記錄的雜湊值不符',
    hintEn: 'The copy is damaged or was tampered with. Copy the bundle again.',
    hintZh: '複製可能損壞或遭竄改，請重新複製更新包。',
  },
  BUNDLE_UNSAFE: {
    en: 'The update bundle contains an unsafe entry',
    zh: '更新包含有不安全的項目',
    hintEn: 'Do not use this bundle; report it to IT.',
    hintZh: '請勿使用此更新包，並通報 IT。',
  },
  BUNDLE_OLD_VERSION: {
    en: 'The update bundle is older than what this PC already has',
    zh: '更新包的版本比本機現有的版本舊',
    hintEn: 'Versions only move forward; an administrator can roll back instead.',
    hintZh: '版本只能往前更新；如需退回請由管理員執行回復。',
  },
  BUNDLE_TRUNCATED: {
    en: 'The update bundle file is cut off',
    zh: '更新包檔案不完整（被截斷）',
    hintEn: 'The copy to the USB drive did not finish. Copy the bundle again and eject the drive safely.',
    hintZh: '複製到 USB 隨身碟時未完成，請重新複製並安全移除隨身碟。',
  },
  BUNDLE_BUSY: {
    en: 'Another update, rollback or import is running',
    zh: '另一個更新、回復或匯入正在進行中',
    hintEn: 'Wait until it finishes, then apply again.',
    hintZh: '請等待完成後再套用一次。',
  },
  BUNDLE_BASE_MISMATCH: {
    en: 'This incremental update does not fit the version on this PC',
    zh: '此增量更新包與本機的知識庫版本不符',
    hintEn: 'Import the missing updates first, or ask for a full bundle.',
    hintZh: '請先匯入中間缺少的更新包，或索取完整更新包。',
  },
  BUNDLE_COPY_FAILED: {
    en: 'The update could not be copied on this PC',
    zh: '無法在本機複製更新內容',
    hintEn: 'Check that the disk has free space and the data folder is writable, then try again.',
    hintZh: '請確認磁碟仍有空間且資料資料夾可寫入，然後再試一次。',
  },
  BUNDLE_WRONG_PUBLISHER: {
    en: 'This knowledge base comes from another publisher',
    zh: '此知識庫來自另一個發布者',
    hintEn:
      'Only the key that first published a knowledge base may update it. Do not use this bundle; report it to IT.',
    hintZh: '只有最初發布此知識庫的金鑰可以更新它。請勿使用此更新包，並通報 IT。',
  },
  UI_SESSION_REQUIRED: {
    en: 'This browser tab was not opened from the address Fieldbook printed',
    zh: '此瀏覽器分頁不是從 Fieldbook 顯示的網址開啟的',
    hintEn: 'Open the address "npm run serve" printed (it ends in #session=…); after a restart, use the new one.',
    hintZh: '請開啟「npm run serve」顯示的網址（結尾為 #session=…）；重新啟動後請使用新的網址。',
  },
  ACCESS_DENIED: {
    en: 'Your role is not allowed to do this',
    zh: '您的角色無權執行此操作',
    hintEn: 'Ask a reviewer or administrator, or switch role with their passphrase.',
    hintZh: '請洽審核人員或管理員，或以其通行密碼切換角色。',
  },
  PASSPHRASE_WRONG: {
    en: 'The passphrase is wrong, or none is set for this role',
    zh: '通行密碼錯誤，或此角色尚未設定通行密碼',
    hintEn: 'Check the passphrase (and Caps Lock) and try again. After 5 wrong tries in a row you must wait.',
    hintZh: '請確認通行密碼（及大寫鎖定）後再試一次。連續錯誤 5 次後需等待一段時間。',
  },
  ELEVATION_LOCKED: {
    en: 'Too many wrong passphrases in a row',
    zh: '通行密碼連續錯誤太多次',
    hintEn: 'Wait at least 30 seconds, then try again; each further wrong passphrase adds 30 seconds.',
    hintZh: '請至少等待 30 秒後再試；之後每再錯一次，等待時間增加 30 秒。',
  },
  DATABASE_NEWER: {
    en: 'The knowledge base was created by a newer version of Fieldbook',
    zh: '知識庫由較新版本的 Fieldbook 建立',
    hintEn: 'Update Fieldbook before opening this knowledge base.',
    hintZh: '請先更新 Fieldbook 再開啟此知識庫。',
  },
  DATABASE_CORRUPT: {
    en: 'The knowledge base database failed its integrity check',
    zh: '知識庫資料庫完整性檢查失敗',
    hintEn: 'Restore the latest backup or re-import the documents.',
    hintZh: '請還原最近的備份，或重新匯入文件。',
  },
  ROLLBACK_NO_SNAPSHOT: {
    en: 'There is no saved copy of that knowledge-base version',
    zh: '沒有該知識庫版本的保存副本',
    hintEn: 'Choose one of the versions listed under USB Import → History.',
    hintZh: '請從「USB 匯入 → 歷史紀錄」列出的版本中選擇。',
  },
  ROLLBACK_BUSY: {
    en: 'An import or update is running',
    zh: '正在匯入文件或套用更新',
    hintEn: 'Wait until it has finished, then restore the version again.',
    hintZh: '請等它完成後，再執行還原。',
  },
} as const satisfies Record<string, ErrorText>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export type Locale = 'en' | 'zh-TW';

export class FieldbookError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly file: string | undefined;

  constructor(code: ErrorCode, opts: { detail?: string; file?: string; cause?: unknown } = {}) {
    const text = ERROR_TABLE[code];
    const where = opts.file ? `${opts.file}: ` : '';
    const detail = opts.detail ? ` (${opts.detail})` : '';
    super(`${where}${text.en}${detail}`, { cause: opts.cause });
    this.name = 'FieldbookError';
    this.code = code;
    this.detail = opts.detail;
    this.file = opts.file;
  }
}

export interface ErrorReport {
  code: ErrorCode;
  message: string;
  hint: string;
  file?: string;
  detail?: string;
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_TABLE, value);
}

/** Render an error for people: the same words in the CLI, the UI and the HTTP bridge. */
export function describeError(err: unknown, locale: Locale = 'en'): ErrorReport {
  const fbErr =
    err instanceof FieldbookError
      ? err
      : new FieldbookError('PARSE_FAILED', { detail: err instanceof Error ? err.message : String(err) });
  const text = ERROR_TABLE[fbErr.code];
  const report: ErrorReport = {
    code: fbErr.code,
    message: locale === 'zh-TW' ? text.zh : text.en,
    hint: locale === 'zh-TW' ? text.hintZh : text.hintEn,
  };
  if (fbErr.file) report.file = fbErr.file;
  if (fbErr.detail) report.detail = fbErr.detail;
  return report;
}

/** Rebuild a FieldbookError from a report that crossed a process boundary. */
export function errorFromReport(report: { code: string; detail?: string; file?: string }): FieldbookError {
  const code: ErrorCode = isErrorCode(report.code) ? report.code : 'PARSE_FAILED';
  const opts: { detail?: string; file?: string } = {};
  if (report.detail !== undefined) opts.detail = report.detail;
  if (report.file !== undefined) opts.file = report.file;
  return new FieldbookError(code, opts);
}
