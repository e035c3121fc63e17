import type { RequestId } from './wire-request.js';

/**
 * Is `raw` longer than `limit` bytes once encoded as UTF-8? Decides from the
 * string's length alone when it can (a UTF-16 unit takes one to three UTF-8
 * bytes) and counts the bytes only in between.
 */
export function exceedsBytes(raw: string, limit: number): boolean {
  if (raw.length > limit) return true;
  if (raw.length * 3 <= limit) return false;
  return Buffer.byteLength(raw, 'utf8') > limit;
}

/** Where an error reply to a message too big to parse can go, when it says. */
export interface ReplyAddress {
  replyTo: string | null;
  requestId: RequestId | null;
}

/** Characters read at each end of a message; the rest is never looked at. */
const WINDOW = 4096;
/** The longest `reply_to` or `request_id` string taken, in characters of JSON text. */
const MAX_VALUE = 512;

const QUOTE = 34; // "
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;

/**
 * Finds the top-level `reply_to` and `request_id` of a JSON object without
 * parsing it: a scan of the first and the last {@link WINDOW} characters that
 * tracks strings and nesting, so keys inside the payload are not taken for the
 * envelope's. Work is bounded whatever the message's size; invalid JSON just
 * finds nothing. A key found near the end wins, as it does in `JSON.parse`
 * (Python callers put `reply_to` after `payload`).
 */
export function peekReplyAddress(raw: string): ReplyAddress {
  const head = scanHead(raw);
  const tail = raw.length > WINDOW ? scanTail(raw) : head;
  const replyTo = tail.reply_to ?? head.reply_to;
  const requestId = tail.request_id ?? head.request_id;
  return {
    replyTo: typeof replyTo === 'string' && replyTo !== '' ? replyTo : null,
    requestId:
      typeof requestId === 'string' || (typeof requestId === 'number' && Number.isFinite(requestId))
        ? requestId
        : null,
  };
}

/** The envelope fields one scan found. */
interface Found {
  reply_to?: unknown;
  request_id?: unknown;
}

/** Decodes one JSON string or number token; undefined when it is not one or is too long. */
function token(text: string): unknown {
  if (text.length === 0 || text.length > MAX_VALUE) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'string' || typeof value === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

function record(found: Found, key: string, value: unknown, keepFirst: boolean): void {
  if (value === undefined || (key !== 'reply_to' && key !== 'request_id')) return;
  if (keepFirst && found[key] !== undefined) return;
  found[key] = value;
}

function isNumberChar(code: number): boolean {
  // 0-9 - + . e E
  return (
    (code >= 48 && code <= 57) || code === 45 || code === 43 || code === 46 || (code | 32) === 101
  );
}

/** Scans forwards from the start: `"key": value` pairs at depth 1. */
function scanHead(raw: string): Found {
  const found: Found = {};
  const end = Math.min(raw.length, WINDOW);
  let depth = 0;
  let key: string | null = null;
  let afterColon = false;
  let i = 0;
  while (i < end) {
    const code = raw.charCodeAt(i);
    if (code === QUOTE) {
      let j = i + 1;
      while (j < end && raw.charCodeAt(j) !== QUOTE) j += raw.charCodeAt(j) === BACKSLASH ? 2 : 1;
      if (j >= end) break;
      if (depth === 1) {
        const text = raw.slice(i, j + 1);
        if (afterColon && key !== null) {
          record(found, key, token(text), false);
          key = null;
          afterColon = false;
        } else {
          const name = token(text);
          key = typeof name === 'string' ? name : null;
        }
      }
      i = j + 1;
      continue;
    }
    if (depth === 1 && afterColon && key !== null && isNumberChar(code)) {
      let j = i;
      while (j < end && isNumberChar(raw.charCodeAt(j))) j++;
      if (j >= end) break;
      record(found, key, token(raw.slice(i, j)), false);
      key = null;
      afterColon = false;
      i = j;
      continue;
    }
    if (code === 123 || code === 91)
      depth++; // { [
    else if (code === 125 || code === 93)
      depth--; // } ]
    else if (depth === 1 && code === COLON) afterColon = key !== null;
    else if (depth === 1 && code === COMMA) {
      key = null;
      afterColon = false;
    }
    if (code === 123 || code === 91) afterColon = false;
    i++;
  }
  return found;
}

/** True when the quote at `i` is escaped (an odd run of backslashes before it, read down to `stop`). */
function escaped(raw: string, i: number, stop: number): boolean {
  let n = 0;
  for (let j = i - 1; j >= stop && raw.charCodeAt(j) === BACKSLASH; j--) n++;
  return n % 2 === 1;
}

/** Scans backwards from the end: `value`, then `:`, then `"key"` at depth 1. */
function scanTail(raw: string): Found {
  const found: Found = {};
  const stop = Math.max(0, raw.length - WINDOW);
  let depth = 0;
  let value: unknown;
  let sawColon = false;
  let i = raw.length - 1;
  while (i >= stop) {
    const code = raw.charCodeAt(i);
    if (code === QUOTE) {
      let j = i - 1;
      while (j >= stop && !(raw.charCodeAt(j) === QUOTE && !escaped(raw, j, stop))) j--;
      if (j < stop) break;
      if (depth === 1) {
        const text = raw.slice(j, i + 1);
        if (sawColon && value !== undefined) {
          const name = token(text);
          if (typeof name === 'string') record(found, name, value, true);
          value = undefined;
          sawColon = false;
        } else {
          value = token(text);
          sawColon = false;
        }
      }
      i = j - 1;
      continue;
    }
    if (depth === 1 && isNumberChar(code)) {
      let j = i;
      while (j >= stop && isNumberChar(raw.charCodeAt(j))) j--;
      if (j < stop) break;
      value = token(raw.slice(j + 1, i + 1));
      sawColon = false;
      i = j;
      continue;
    }
    if (code === 125 || code === 93) {
      depth++; // } ]: a nested value ends here (reading backwards)
      value = undefined;
      sawColon = false;
    } else if (code === 123 || code === 91) depth--;
    else if (depth === 1 && code === COLON) sawColon = value !== undefined;
    else if (depth === 1 && code === COMMA) {
      value = undefined;
      sawColon = false;
    }
    i--;
  }
  return found;
}
