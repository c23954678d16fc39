// Composition root of the notification worker: config → database → mailer → task consumer + ops HTTP → shutdown.
import { databaseName } from '@orderflow/config';
import { createPool, createRetentionJob, databaseUrl, postgresHealthCheck, requiredSchemaVersion, schemaCheck } from '@orderflow/db';
import { taskTopology } from '@orderflow/domain';
import { amqpHealthCheck, registerQueueDepthMetrics } from '@orderflow/messaging';
import { bootMain, createMetricsRegistry, serveOps, waitForDependencies } from '@orderflow/platform';
import { loadNotificationConfig, postgresConnections } from './config';
import { createEmailLog } from './db/email-log';
import { createMailer } from './mail';
import { createNotificationMetrics } from './metrics';
import { retentionPolicies } from './retention';
import { createSendNotifications } from './send-notification';
import { createNotificationWorker } from './worker';

bootMain('notification', loadNotificationConfig, async (config, logger) => {
  const pool = createPool(databaseUrl(config.DATABASE_URL, databaseName('notification', config.RESOURCE_PREFIX)), postgresConnections().pool, config);
  const postgresCheck = postgresHealthCheck(pool);
  await waitForDependencies([postgresCheck, amqpHealthCheck(config.AMQP_URL), schemaCheck(pool, requiredSchemaVersion)], config.STARTUP_TIMEOUT_MS, logger);

  const registry = createMetricsRegistry('notification');
  const metrics = createNotificationMetrics(registry);
  const queueDepth = registerQueueDepthMetrics(registry, {
    url: config.AMQP_URL,
    topology: taskTopology(config.RESOURCE_PREFIX),
    prefix: config.RESOURCE_PREFIX,
  });
  const mailer = createMailer(config);
  const sendNotifications = createSendNotifications({ emailLog: createEmailLog(pool), mailer, from: config.MAIL_FROM });
  const worker = createNotificationWorker({
    amqpUrl: config.AMQP_URL,
    prefix: config.RESOURCE_PREFIX,
    prefetch: config.TASK_PREFETCH,
    logger,
    sendNotifications,
    metrics,
  });
  await worker.start();
  const retention = createRetentionJob({ pool, jobs: retentionPolicies(config), intervalMs: config.RETENTION_INTERVAL_SECONDS * 1_000, logger, registry });
  retention.start();

  const ops = await serveOps({
    service: 'notification',
    // The worker's own connection answers for RabbitMQ: no connection is opened per check.
    checks: [postgresCheck, { name: 'rabbitmq', check: worker.check }],
    registry,
    logger,
    config,
    port: config.HTTP_PORT,
    sources: { queues: queueDepth.read },
  });
  logger.info({ httpPort: ops.port, mail: config.SMTP_URL ? 'smtp' : config.MAIL_DIR }, 'notification worker ready');

  return {
    async stop() {
      ops.stopAccepting();
      await retention.stop();
      await worker.stop();
      await ops.close();
      await queueDepth.close();
      mailer.close();
      await pool.end();
    },
  };
});
