import { randomBytes, randomUUID } from 'node:crypto';
import { Deployment, DeploymentStatus } from '../../src/deployments/deployment.entity';
import { ADMIN_KEY, bearer, TestApp, waitForOperation } from '../helpers/test-app';

/** A service name no other test uses. */
export const uniqueService = (prefix = 'svc') => `${prefix}-${randomBytes(4).toString('hex')}`;

/** A complete successful deployment row, of a service no other test uses, for writing directly. */
export function deploymentRow(overrides: Partial<Deployment> = {}): Deployment {
  return Object.assign(new Deployment(), {
    id: randomUUID(),
    service: uniqueService(),
    version: '1.0.0',
    environment: 'staging',
    status: DeploymentStatus.Successful,
    description: null,
    createdBy: 'admin',
    createdByKeyId: randomUUID(),
    createdAt: new Date().toISOString(),
    startedAt: null,
    finishedAt: null,
    operationId: randomUUID(),
    rollbackOf: null,
    overrideReason: null,
    approvalsRequired: null,
    approvalsReceived: null,
    approvalExpiresAt: null,
    ...overrides,
  });
}

export interface DeployInput {
  service: string;
  version: string;
  environment?: string;
  description?: string;
}

/** POSTs a deployment and returns the response (not waiting). */
export function requestDeployment(t: TestApp, input: DeployInput, secret = ADMIN_KEY) {
  return t
    .http()
    .post('/api/v1/deployments')
    .set(bearer(secret))
    .send({ environment: 'staging', ...input });
}

/** Deploys and waits for the rollout to finish; returns the deployment as it ended. */
export async function deployAndWait(
  t: TestApp,
  input: DeployInput,
  secret = ADMIN_KEY,
): Promise<Record<string, any>> {
  const created = await requestDeployment(t, input, secret);
  if (created.status !== 201) throw new Error(`deploy answered ${created.status}: ${created.text}`);
  await waitForOperation(t, created.body.operation_id);
  const res = await t.http().get(`/api/v1/deployments/${created.body.id}`).set(bearer(ADMIN_KEY));
  return res.body;
}
