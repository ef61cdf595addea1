import { CONTROL_CHARACTER } from '../common/control-characters';

const EVERY_CONTROL_CHARACTER = new RegExp(CONTROL_CHARACTER.source, 'gu');

/** `\u001b` for ESC: what a character that could drive the terminal looks like when shown. */
const escaped = (character: string) =>
  character === '\t'
    ? character // moves the cursor to the next tab stop, nothing more
    : `\\u${character.codePointAt(0)!.toString(16).padStart(4, '0')}`;

/**
 * What the server sent, safe to print: every string in it with its control characters and
 * bidirectional overrides written out (`\u001b[2J`, `\u202e`) instead of acting on the terminal.
 * Values stored before the server refused them, a deploy script's coloured output or a hostile
 * server all reach the screen this way.
 */
export function visible<T>(value: T): T {
  if (typeof value === 'string') return value.replace(EVERY_CONTROL_CHARACTER, escaped) as T;
  if (Array.isArray(value)) return value.map(visible) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [visible(key), visible(inner)]),
    ) as T;
  return value;
}
