/** What an API key may do; each route declares the one it needs. */
export enum Permission {
  DeploymentsRead = 'deployments:read',
  DeploymentsCreate = 'deployments:create',
  DeploymentsRollback = 'deployments:rollback',
  OperationsRead = 'operations:read',
  OperationsCancel = 'operations:cancel',
  KeysManage = 'keys:manage',
  AuditRead = 'audit:read',
  LocksManage = 'locks:manage',
  FreezesManage = 'freezes:manage',
  DeploymentsApprove = 'deployments:approve',
  DeploymentsOverride = 'deployments:override',
  WebhooksManage = 'webhooks:manage',
}

export const ALL_PERMISSIONS = Object.values(Permission);
export const ALL_ENVIRONMENTS = '*';
