import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Gate, GateRequest, GateVerdict } from '../gates/gate';
import { GatesService } from '../gates/gates.service';
import type { Lock } from './lock.entity';
import { toLockHolder } from './lock.mapper';
import { LocksService } from './locks.service';

/**
 * The lock gate: a rollout or rollback of a service is blocked by every lock on it, or on its
 * whole environment, taken by another key. The key that took a lock goes on deploying.
 */
@Injectable()
export class LockGate implements Gate, OnModuleInit {
  readonly type = 'lock' as const;

  constructor(
    private readonly gates: GatesService,
    private readonly locks: LocksService,
  ) {}

  onModuleInit(): void {
    this.gates.register(this);
  }

  /** Locks stop rollbacks too: "keep off" means everyone else. */
  appliesTo(): boolean {
    return true;
  }

  async check(request: GateRequest): Promise<GateVerdict[]> {
    const { environment, service, principal } = request;
    const locks = await this.locks.covering(environment, service, request.at, request.requestId);
    const others = locks.filter((lock) => lock.createdByKeyId !== principal.keyId);
    if (others.length > 0) return others.map(blocked);
    const reason =
      locks.length > 0
        ? `${where(locks[0])} is locked by this key (${principal.name}), which may deploy there`
        : `No lock on ${service} in ${environment}`;
    return [{ type: 'lock', status: 'passed', reason }];
  }
}

function where(lock: Lock): string {
  return lock.service
    ? `${lock.service} in ${lock.environment}`
    : `Every service in ${lock.environment}`;
}

function blocked(lock: Lock): GateVerdict {
  const until = lock.expiresAt ? ` until ${lock.expiresAt}` : '';
  return {
    type: 'lock',
    status: 'blocked',
    reason: `${where(lock)} is locked by ${lock.createdByName}${until}: "${lock.reason}"`,
    details: {
      lock_id: lock.id,
      created_by: toLockHolder(lock),
      expires_at: lock.expiresAt,
    },
  };
}
