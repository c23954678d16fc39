// What `make bench-compare` needs from each system it compares: start it fresh for a round, drive it
// over the same REST contract (PUT /v1/admin/products/{sku}, POST /v1/orders with a bearer JWT and an
// Idempotency-Key), kill and restart it mid-run, and read back from its own databases what the
// invariant checks and the timings need. One adapter per system: orderflow.ts, floor/adapter.ts,
// dbos/adapter.ts.

export type Role = 'customer' | 'admin';

/** One order line as stored: an order with several lines has several rows. */
export interface OrderLine {
  id: string;
  status: string;
  sku: string;
  quantity: number;
}

/** When an accepted order was placed (its saga or workflow created) and when it became terminal. */
export interface OrderTiming {
  id: string;
  placedAt: Date;
  /** Null while the order is not terminal. */
  finishedAt: Date | null;
  /** CONFIRMED, REJECTED or CANCELLED once terminal. */
  outcome: string | null;
}

export interface StockRow {
  sku: string;
  onHand: number;
  reserved: number;
}

export interface RoundOptions {
  /** Short unique label for this round's databases, directories and processes. */
  label: string;
  /** Environment every app process of the round gets on top of the harness's own (LOG_LEVEL=warn, OTEL_SDK_DISABLED=true). */
  env: Record<string, string>;
}

export interface BenchTarget {
  /** `orderflow`, `floor` or `dbos`: the report's row name. */
  name: string;
  /** One line for the report: what runs and the one tuning applied beyond its defaults. */
  description: string;
  /** Shared infrastructure it uses besides Postgres (`kafka`, `rabbitmq`, `redis`); the rest idles beside it and is reported apart. */
  infrastructure?: string[];
  start(options: RoundOptions): Promise<RunningTarget>;
}

export interface RunningTarget {
  /** Base URL of the REST API. */
  url: string;
  /** The round's Postgres databases: their commits are the system's (other databases on the server are not). */
  databases: string[];
  /** A JWT the system accepts (HS256 with the round's secret). */
  sign(sub: string, role: Role): string;
  /** Live app processes: report group name → pid (Postgres and the brokers are found by the harness). */
  appPids(): Map<string, number>;
  /** SIGKILLs the system's app process(es) and starts them again; resolves once it answers again. */
  killAndRestart(): Promise<void>;
  /** Stops the processes (SIGTERM) and waits until they have exited (their Postgres statistics are then flushed). */
  stop(): Promise<void>;
  /** After `stop`: removes the round's databases and files. */
  cleanup(): Promise<void>;
  /** Timing of each of these orders (missing ones are not returned). */
  timings(ids: string[]): Promise<OrderTiming[]>;
  orderLines(ids: string[]): Promise<OrderLine[]>;
  stock(skus: string[]): Promise<StockRow[]>;
  /** E-mails written (durably, once per order is the invariant) per order id. */
  emailsPerOrder(ids: string[]): Promise<Map<string, number>>;
  /** Stored Idempotency-Keys of callers whose id starts with `callerPrefix`, and the distinct orders they name. */
  idempotencyKeys(callerPrefix: string): Promise<{ keys: number; distinctOrders: number }>;
}
