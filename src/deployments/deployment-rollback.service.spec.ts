import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code.enum';
import { assertCanBeRolledBack } from './deployment-rollback.service';
import { Deployment, DeploymentStatus } from './deployment.entity';

function deployment(status: DeploymentStatus): Deployment {
  return Object.assign(new Deployment(), {
    id: '01900000-0000-7000-8000-00000000d001',
    service: 'payments',
    version: '2.3.1',
    environment: 'production',
    status,
    description: null,
    createdBy: 'ci',
    createdByKeyId: '01900000-0000-7000-8000-00000000k001',
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    operationId: '01900000-0000-7000-8000-00000000o001',
    rollbackOf: null,
  });
}

function refusal(status: DeploymentStatus): ApiError {
  try {
    assertCanBeRolledBack(deployment(status));
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error(`expected a ${status} deployment to be refused a rollback`);
}

describe('assertCanBeRolledBack', () => {
  it('should allow rolling back a successful deployment', () => {
    expect(() => assertCanBeRolledBack(deployment(DeploymentStatus.Successful))).not.toThrow();
  });

  it('should refuse a failed deployment with deployment_failed, naming it and its version', () => {
    const error = refusal(DeploymentStatus.Failed);

    expect(error.code).toBe(ErrorCode.DeploymentFailed);
    expect(error.message).toContain('01900000-0000-7000-8000-00000000d001');
    expect(error.message).toContain('2.3.1');
  });

  it.each([
    [DeploymentStatus.Cancelled],
    [DeploymentStatus.Pending],
    [DeploymentStatus.InProgress],
    [DeploymentStatus.RolledBack],
  ])('should refuse a %s deployment with conflict, naming the deployment', (status) => {
    const error = refusal(status);

    expect(error.code).toBe(ErrorCode.Conflict);
    expect(error.message).toContain('01900000-0000-7000-8000-00000000d001');
  });

  it.each([[DeploymentStatus.Pending], [DeploymentStatus.InProgress]])(
    'should tell the caller which operation to cancel when the deployment is still %s',
    (status) => {
      const error = refusal(status);

      expect(error.message).toContain(status);
      expect(error.message).toContain('01900000-0000-7000-8000-00000000o001');
    },
  );

  it('should refuse every status other than successful', () => {
    const allowed = Object.values(DeploymentStatus).filter((status) => {
      try {
        assertCanBeRolledBack(deployment(status));
        return true;
      } catch {
        return false;
      }
    });

    expect(allowed).toEqual([DeploymentStatus.Successful]);
  });
});
