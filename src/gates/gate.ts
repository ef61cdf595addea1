import type { Principal } from '../auth/principal';

/** The gates, in the order every rollout and rollback passes them. */
export const GATE_ORDER = ['lock', 'freeze', 'promotion', 'approval'] as const;
export type GateType = (typeof GATE_ORDER)[number];

/** What the gates are asked: may `principal` start this rollout or rollback at `at`? */
export interface GateRequest {
  principal: Principal;
  service: string;
  version: string;
  environment: string;
  kind: 'rollout' | 'rollback';
  /** Now, as an RFC 3339 UTC string: one instant for every gate of a request. */
  at: string;
  /** The request being decided, to name in audit events a gate records (a lock found expired). */
  requestId?: string;
}

/**
 * One gate's answer. `blocked` stops the request (unless overridden), `pending` makes it wait
 * (approval). `details` are the type's extra fields, named as the contract names them
 * (`lock_id`, `freeze_id`, `ends_at`, …).
 */
export interface GateVerdict {
  type: GateType;
  status: 'passed' | 'blocked' | 'pending';
  reason: string;
  details?: Record<string, unknown>;
}

/**
 * A gate: a small class answering for one concern. It runs inside the transaction that would
 * write the deployment, so what it reads and what gets written are one decision.
 */
export interface Gate {
  readonly type: GateType;
  /** Whether requests of this kind pass through it at all (rollbacks pass only the lock gate). */
  appliesTo(kind: GateRequest['kind']): boolean;
  /** Every verdict of this gate: one `passed`, or one per thing that blocks or holds the request. */
  check(request: GateRequest): Promise<GateVerdict[]>;
}
