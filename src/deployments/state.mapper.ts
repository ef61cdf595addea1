import type { Lock } from '../locks/lock.entity';
import { toLockResponse } from '../locks/lock.mapper';
import type { PairState } from './deployments.repository';
import type { DeployedVersionDto, StateRowDto } from './dto/state.dto';

/** What `GET /state` says of a service and environment besides its deployments. */
export interface PairGuards {
  lock: Lock | null;
  frozen: boolean;
}

/** A row of `GET /state`, from its kept state, its in-flight operation's progress and its guards. */
export function toStateRowResponse(
  pair: PairState,
  progressByOperation: ReadonlyMap<string, number>,
  guards: PairGuards,
): StateRowDto {
  const { inFlight } = pair;
  return {
    service: pair.service,
    environment: pair.environment,
    current: toDeployedVersion(pair.current),
    previous: toDeployedVersion(pair.previous),
    in_flight: inFlight && {
      deployment_id: inFlight.id,
      version: inFlight.version,
      status: inFlight.status,
      operation_id: inFlight.operationId,
      progress: progressByOperation.get(inFlight.operationId) ?? 0,
    },
    lock: guards.lock && toLockResponse(guards.lock),
    frozen: guards.frozen,
  };
}

function toDeployedVersion(deployment: PairState['current']): DeployedVersionDto | null {
  return (
    deployment && {
      deployment_id: deployment.id,
      version: deployment.version,
      finished_at: deployment.finishedAt,
      created_by: deployment.createdBy,
    }
  );
}
