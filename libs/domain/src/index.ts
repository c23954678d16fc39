/** Shared domain types and rules; pure, no I/O. */
// zod 3's wording of validation messages, for every schema of the process (see zod-messages.ts).
import './zod-messages';
export {
  FACT_TYPES,
  createEvent,
  cloudEventSchema,
  cloudEventSchemaOf,
  traceparentSchema,
  wireTraceparentSchema,
  type FactType,
  type CloudEvent,
  type CreateEventInput,
} from './envelope';
export { AppError, isAppError, type ErrorCode } from './errors';
export { encodePageCursor, decodePageCursor, type PagePosition } from './page-cursor';
export { addCents, formatCents, type Cents } from './money';
export { ORDER_STATUSES, canTransition, isTerminal, orderTotal, type Order, type OrderItem, type OrderStatus, type RejectionReason } from './order';
export { skuSchema, orderLineSchema, ORDER_LIMITS } from './catalog';
export { EMAIL_TEMPLATES, notificationTaskSchema, type EmailTemplate, type NotificationTask } from './notification-task';
export {
  ORDER_EVENTS,
  INVENTORY_EVENTS,
  NOTIFICATION_SEND,
  WEBHOOK_DELIVER,
  TASK_QUEUES,
  RETRY_DELAYS_MS,
  dlqTopic,
  topicNames,
  consumerGroup,
  taskTopology,
  failureRoutingKey,
  type TopicNames,
  type TaskTopology,
  type TaskQueue,
} from './messaging-contract';
