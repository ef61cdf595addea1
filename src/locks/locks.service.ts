import { Injectable } from '@nestjs/common';
import type { AuditNote } from '../audit/audit-note';
import { AuditService } from '../audit/audit.service';
import { Permission } from '../auth/permission.enum';
import {
  assertEnvironmentAllowed,
  canAccessEnvironment,
  Principal,
  visibleEnvironments,
} from '../auth/principal';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code.enum';
import { nowIso } from '../database/columns';
import { Database, isUniqueViolation } from '../database/database';
import { GateDecisionsRepository } from '../gates/gate-decisions.repository';
import { CreateLockDto } from './dto/create-lock.dto';
import { LockListResponseDto } from './dto/lock-response.dto';
import { ListLocksQueryDto } from './dto/list-locks-query.dto';
import { Lock } from './lock.entity';
import { toLockResponse, toNewLock } from './lock.mapper';
import { LocksRepository } from './locks.repository';

/** Whether a lock has stopped applying by `at` (its `expires_at` has come). */
export const hasExpired = (lock: Lock, at: string): boolean =>
  lock.expiresAt !== null && lock.expiresAt <= at;

/** Whether a lock stops rollouts of `service`: it is on that service, or on every service. */
const covers = (lock: Lock, service: string): boolean =>
  lock.service === null || lock.service === service;

/**
 * Locks: taking, listing, releasing, and finding those that stop a rollout. A lock past its
 * `expires_at` applies to nobody; the first transaction that meets it (a gate decision, a new lock
 * in its place) ends it as of its `expires_at` and records `lock.expired` in the audit log.
 */
@Injectable()
export class LocksService {
  constructor(
    private readonly locks: LocksRepository,
    private readonly db: Database,
    private readonly decisions: GateDecisionsRepository,
    private readonly audit: AuditService,
  ) {}

  async create(principal: Principal, dto: CreateLockDto, note: AuditNote): Promise<Lock> {
    assertEnvironmentAllowed(principal, dto.environment);
    if (dto.expires_at !== undefined && dto.expires_at <= nowIso()) {
      const message = 'expires_at must be in the future';
      throw ApiError.validation(message, [{ field: 'expires_at', message }]);
    }
    const service = dto.service ?? null;
    try {
      return await this.db.transaction(async () => {
        // After every gate decision in flight, before any that follows (across replicas).
        await this.decisions.holdForChange();
        const now = nowIso();
        const held = await this.locks.findUnendedFor(dto.environment, service);
        if (held && hasExpired(held, now)) await this.endExpired(held, note.requestId);
        const lock = toNewLock(dto, principal, now);
        // A lock already holding the place: the unique index refuses this one.
        await this.locks.insert(lock);
        return lock;
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const existing = await this.locks.findUnendedFor(dto.environment, service);
      const what = service
        ? `${service} in ${dto.environment}`
        : `every service in ${dto.environment}`;
      throw ApiError.conflict(
        `${what} is already locked${existing ? ` by ${existing.createdByName} (lock ${existing.id}): "${existing.reason}"` : ''}`,
        existing ? { lock: toLockResponse(existing) } : undefined,
      );
    }
  }

  /**
   * The locks in force in the key's environments, newest first; `service` keeps those that stop
   * it (on it, or on every service).
   */
  async list(principal: Principal, query: ListLocksQueryDto): Promise<LockListResponseDto> {
    const visible = visibleEnvironments(principal);
    const environments = query.environment
      ? canAccessEnvironment(principal, query.environment)
        ? [query.environment]
        : []
      : visible;
    const now = nowIso();
    const locks = (await this.locks.findUnended(environments)).filter(
      (lock) => !hasExpired(lock, now) && (!query.service || covers(lock, query.service)),
    );
    return { locks: locks.map(toLockResponse) };
  }

  /**
   * Releases a lock in force: its creator may, and so may a key with `deployments:override`. One
   * unknown, outside the key's environments, or already ended: 404.
   */
  async release(principal: Principal, id: string, note: AuditNote): Promise<void> {
    const lock = await this.locks.findById(id);
    if (!lock || !canAccessEnvironment(principal, lock.environment))
      throw ApiError.notFound('Lock', id);
    note.environment = lock.environment;
    if (lock.endedAt !== null || hasExpired(lock, nowIso())) {
      throw new ApiError(
        ErrorCode.ResourceNotFound,
        `Lock ${id} is no longer in force (it ${lock.endReason === 'released' ? 'was released' : 'expired'} at ${lock.endedAt ?? lock.expiresAt})`,
      );
    }
    if (
      lock.createdByKeyId !== principal.keyId &&
      !principal.permissions.includes(Permission.DeploymentsOverride)
    ) {
      throw ApiError.forbidden(
        `Lock ${id} was taken by ${lock.createdByName}: only that key, or a key with ${Permission.DeploymentsOverride}, may release it`,
      );
    }
    const released = await this.db.transaction(async () => {
      await this.decisions.holdForChange();
      return this.locks.release(id, nowIso(), principal.keyId);
    });
    if (!released) throw ApiError.notFound('Lock', id); // released meanwhile
  }

  /**
   * The locks that apply at `at` to rollouts and rollbacks of `service` in `environment`. Inside a
   * transaction (a gate decision), those found past their `expires_at` are ended in it, each with
   * its `lock.expired` audit event; outside one (a preflight), they are only left out.
   */
  async covering(
    environment: string,
    service: string,
    at: string,
    requestId = 'unknown',
  ): Promise<Lock[]> {
    const found = (await this.locks.findUnended([environment])).filter((l) => covers(l, service));
    const expired = found.filter((lock) => hasExpired(lock, at));
    // Ending one changes no decision (it applies to nobody already): no holdForChange, which a
    // decision holding the shared side could not take without deadlocking with another.
    if (this.db.inTransaction()) for (const lock of expired) await this.endExpired(lock, requestId);
    return found.filter((lock) => !hasExpired(lock, at));
  }

  /** Ends a lock found expired, and records it, in the current transaction. */
  private async endExpired(lock: Lock, requestId: string): Promise<void> {
    const ended = await this.locks.endExpired(lock);
    if (!ended) return; // another transaction met it first
    await this.audit.recordInTransaction({
      requestId,
      action: 'lock.expired',
      targetType: 'lock',
      targetId: lock.id,
      environment: lock.environment,
      details: { service: lock.service, reason: lock.reason, expired_at: lock.expiresAt },
    });
  }
}
