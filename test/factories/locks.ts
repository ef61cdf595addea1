import { Lock } from '../../src/locks/lock.entity';
import { ADMIN_KEY, bearer, TestApp } from '../helpers/test-app';

export interface LockInput {
  environment: string;
  service?: string;
  reason?: string;
  expires_at?: string;
}

/** POSTs a lock and returns the response (201 or the error). */
export function requestLock(t: TestApp, input: LockInput, secret = ADMIN_KEY) {
  return t
    .http()
    .post('/api/v1/locks')
    .set(bearer(secret))
    .send({ reason: 'Testing on this environment, keep off', ...input });
}

/** Takes a lock and returns its body; throws unless it was created. */
export async function takeLock(
  t: TestApp,
  input: LockInput,
  secret = ADMIN_KEY,
): Promise<Record<string, any>> {
  const res = await requestLock(t, input, secret);
  if (res.status !== 201) throw new Error(`lock answered ${res.status}: ${res.text}`);
  return res.body;
}

export const releaseLock = (t: TestApp, id: string, secret = ADMIN_KEY) =>
  t.http().delete(`/api/v1/locks/${id}`).set(bearer(secret));

/** The lock's row, as stored (ended ones too). */
export const lockRow = (t: TestApp, id: string) =>
  t.dataSource.getRepository(Lock).findOneByOrFail({ id });

/** Moves a lock's `expires_at` into the past, as if it had been taken with a short one. */
export async function backdateExpiry(t: TestApp, id: string, msAgo = 60_000): Promise<string> {
  const expiresAt = new Date(Date.now() - msAgo).toISOString();
  await t.dataSource.getRepository(Lock).update({ id }, { expiresAt });
  return expiresAt;
}

export const inOneHour = () => new Date(Date.now() + 3600_000).toISOString();
