import type { OperationLogsResponseDto } from './dto/operation-logs.dto';
import type { OperationResponseDto } from './dto/operation-response.dto';
import type { OperationLogLine } from './operation-log-line.entity';
import type { Operation } from './operation.entity';

/** Operations and their log lines as the API shows them (plain objects, in the contract's field order). */

export function toOperationResponse(op: Operation): OperationResponseDto {
  return {
    id: op.id,
    type: op.type,
    status: op.status,
    progress: op.progress,
    message: op.message,
    target: { type: op.targetType, id: op.targetId },
    cancel_requested: op.cancelRequested,
    created_at: op.createdAt,
    started_at: op.startedAt,
    updated_at: op.updatedAt,
    finished_at: op.finishedAt,
    error: op.errorCode ? { code: op.errorCode, message: op.errorMessage ?? '' } : null,
    result: op.result,
  };
}

/** A log line without its row id and operation id (`GET …/logs` and the SSE `log` event). */
export function toLogLineResponse({
  n,
  at,
  stream,
  text,
}: OperationLogLine): Pick<OperationLogLine, 'n' | 'at' | 'stream' | 'text'> {
  return { n, at, stream, text };
}

/** A page of an operation's log (`lines`, `next`, `dropped`), with the operation's status. */
export function toOperationLogsResponse(
  page: Omit<OperationLogsResponseDto, 'status'>,
  op: Operation,
): OperationLogsResponseDto {
  return { ...page, status: op.status };
}
