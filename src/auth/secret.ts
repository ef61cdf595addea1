import { createHash, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'fdk_';
const SHOWN_PREFIX_LENGTH = 12;

/** A new key secret: `fdk_` and 32 random bytes in base64url. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The part of a secret that may be shown again, to tell keys apart. */
export function shownPrefix(secret: string): string {
  return secret.slice(0, SHOWN_PREFIX_LENGTH);
}
