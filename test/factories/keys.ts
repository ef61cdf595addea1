import { randomBytes } from 'node:crypto';
import { ADMIN_KEY, bearer, TestApp } from '../helpers/test-app';

/**
 * Creates an API key with the admin key and returns its secret and id. Unnamed keys get a name of
 * their own: names are unique among active keys.
 */
export async function createKey(
  t: TestApp,
  body: { permissions: string[]; environments?: string[]; name?: string; expires_at?: string },
): Promise<{ id: string; secret: string }> {
  const res = await t
    .http()
    .post('/api/v1/auth/keys')
    .set(bearer(ADMIN_KEY))
    .send({ name: `test-key-${randomBytes(6).toString('hex')}`, environments: ['*'], ...body });
  if (res.status !== 201) throw new Error(`create key answered ${res.status}: ${res.text}`);
  return { id: res.body.id, secret: res.body.secret };
}
