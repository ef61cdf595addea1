import type { Response } from 'supertest';
import { AuditEvent } from '../../src/audit/audit-event.entity';
import { ADMIN_KEY, bearer, eventually, TestApp } from './test-app';

export const listAuditEvents = (
  t: TestApp,
  query: Record<string, string | number>,
  secret = ADMIN_KEY,
) => t.http().get('/api/v1/audit-events').query(query).set(bearer(secret));

/** The audit event of a response, read through the API once written (just after the answer). */
export async function auditEventOf(t: TestApp, res: Response): Promise<Record<string, any>> {
  const requestId = res.headers['x-request-id'];
  expect(requestId).toEqual(expect.any(String));
  let found: Record<string, any> | undefined;
  await eventually(async () => {
    const page = await listAuditEvents(t, { per_page: 100 });
    expect(page.status).toBe(200);
    found = page.body.audit_events.find((e: { request_id: string }) => e.request_id === requestId);
    return found !== undefined;
  }, 5000);
  expect(await t.dataSource.getRepository(AuditEvent).countBy({ requestId })).toBe(1);
  return found!;
}
