// The benchmarked tables (deployments, deployment_events, operations) as drizzle-orm schemas, for
// bench/orm-trial.js. drizzle has one table builder per dialect, so both databases need their own
// copy; the tables themselves still come from the TypeORM migrations (no indexes declared here).
const s = require('drizzle-orm/sqlite-core');
const p = require('drizzle-orm/pg-core');

/** JSON kept in a text column (TypeORM's `simple-json`); SQLite's builder has this mode built in. */
const jsonText = p.customType({
  dataType: () => 'text',
  toDriver: (value) => JSON.stringify(value),
  fromDriver: (value) => JSON.parse(value),
});

const sqlite = {
  deployments: s.sqliteTable('deployments', {
    id: s.text('id').primaryKey(),
    service: s.text('service').notNull(),
    version: s.text('version').notNull(),
    environment: s.text('environment').notNull(),
    status: s.text('status').notNull(),
    description: s.text('description'),
    createdBy: s.text('created_by').notNull(),
    createdByKeyId: s.text('created_by_key_id').notNull(),
    createdAt: s.text('created_at').notNull(),
    startedAt: s.text('started_at'),
    finishedAt: s.text('finished_at'),
    operationId: s.text('operation_id').notNull(),
    rollbackOf: s.text('rollback_of'),
  }),
  deploymentEvents: s.sqliteTable('deployment_events', {
    id: s.integer('id').primaryKey({ autoIncrement: true }),
    deploymentId: s.text('deployment_id').notNull(),
    status: s.text('status').notNull(),
    message: s.text('message').notNull(),
    at: s.text('at').notNull(),
  }),
  operations: s.sqliteTable('operations', {
    id: s.text('id').primaryKey(),
    type: s.text('type').notNull(),
    status: s.text('status').notNull(),
    progress: s.integer('progress').notNull().default(0),
    targetType: s.text('target_type').notNull(),
    targetId: s.text('target_id').notNull(),
    scope: s.text('scope').notNull(),
    message: s.text('message'),
    errorCode: s.text('error_code'),
    errorMessage: s.text('error_message'),
    result: s.text('result', { mode: 'json' }),
    cancelRequested: s.integer('cancel_requested', { mode: 'boolean' }).notNull().default(false),
    runnerId: s.text('runner_id'),
    heartbeatAt: s.text('heartbeat_at'),
    createdAt: s.text('created_at').notNull(),
    startedAt: s.text('started_at'),
    updatedAt: s.text('updated_at').notNull(),
    finishedAt: s.text('finished_at'),
  }),
};

const postgres = {
  deployments: p.pgTable('deployments', {
    id: p.varchar('id', { length: 36 }).primaryKey(),
    service: p.varchar('service', { length: 63 }).notNull(),
    version: p.varchar('version', { length: 128 }).notNull(),
    environment: p.varchar('environment', { length: 63 }).notNull(),
    status: p.varchar('status', { length: 16 }).notNull(),
    description: p.text('description'),
    createdBy: p.varchar('created_by', { length: 100 }).notNull(),
    createdByKeyId: p.varchar('created_by_key_id', { length: 36 }).notNull(),
    createdAt: p.varchar('created_at', { length: 24 }).notNull(),
    startedAt: p.varchar('started_at', { length: 24 }),
    finishedAt: p.varchar('finished_at', { length: 24 }),
    operationId: p.varchar('operation_id', { length: 36 }).notNull(),
    rollbackOf: p.varchar('rollback_of', { length: 36 }),
  }),
  deploymentEvents: p.pgTable('deployment_events', {
    id: p.serial('id').primaryKey(),
    deploymentId: p.varchar('deployment_id', { length: 36 }).notNull(),
    status: p.varchar('status', { length: 16 }).notNull(),
    message: p.text('message').notNull(),
    at: p.varchar('at', { length: 24 }).notNull(),
  }),
  operations: p.pgTable('operations', {
    id: p.varchar('id', { length: 36 }).primaryKey(),
    type: p.varchar('type', { length: 64 }).notNull(),
    status: p.varchar('status', { length: 16 }).notNull(),
    progress: p.integer('progress').notNull().default(0),
    targetType: p.varchar('target_type', { length: 64 }).notNull(),
    targetId: p.varchar('target_id', { length: 36 }).notNull(),
    scope: p.varchar('scope', { length: 64 }).notNull(),
    message: p.text('message'),
    errorCode: p.varchar('error_code', { length: 64 }),
    errorMessage: p.text('error_message'),
    result: jsonText('result'),
    cancelRequested: p.boolean('cancel_requested').notNull().default(false),
    runnerId: p.varchar('runner_id', { length: 64 }),
    heartbeatAt: p.varchar('heartbeat_at', { length: 24 }),
    createdAt: p.varchar('created_at', { length: 24 }).notNull(),
    startedAt: p.varchar('started_at', { length: 24 }),
    updatedAt: p.varchar('updated_at', { length: 24 }).notNull(),
    finishedAt: p.varchar('finished_at', { length: 24 }),
  }),
};

module.exports = { sqlite, postgres };
