import { v7 as uuidv7 } from 'uuid';
import type { Caller } from '../common/request-context';
import type { CreateLockDto } from './dto/create-lock.dto';
import type { LockHolderDto, LockResponseDto } from './dto/lock-response.dto';
import { Lock } from './lock.entity';

/** Locks as the API shows them, and a requested one as the row it becomes. */

export function toNewLock(requested: CreateLockDto, by: Caller, now: string): Lock {
  return Object.assign(new Lock(), {
    id: uuidv7(),
    environment: requested.environment,
    service: requested.service ?? null,
    reason: requested.reason,
    createdByKeyId: by.keyId,
    createdByName: by.name,
    createdAt: now,
    expiresAt: requested.expires_at ?? null,
    endedAt: null,
    endReason: null,
    endedByKeyId: null,
  });
}

export function toLockHolder(lock: Lock): LockHolderDto {
  return { key_id: lock.createdByKeyId, name: lock.createdByName };
}

export function toLockResponse(lock: Lock): LockResponseDto {
  return {
    id: lock.id,
    environment: lock.environment,
    service: lock.service,
    reason: lock.reason,
    created_by: toLockHolder(lock),
    created_at: lock.createdAt,
    expires_at: lock.expiresAt,
  };
}
