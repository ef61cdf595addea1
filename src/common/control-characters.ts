// No imports: the CLI uses this too, and loads nothing of the server with it.

/**
 * What has no place in one line of text: C0 controls (newlines, tab, ESC, …), DEL, C1 controls,
 * Unicode's line and paragraph separators (U+2028, U+2029), and its bidirectional overrides and
 * isolates (U+202A–U+202E, U+2066–U+2069), which reorder what a terminal or a browser shows.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/u;
