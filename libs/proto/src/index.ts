/** gRPC contracts (generated from proto/ by `make proto`) and the plumbing every gRPC app and client shares. */
export {
  OrderServiceService,
  OrderServiceClient,
  type OrderServiceServer,
  Order,
  OrderItem,
  OrderStatus,
  CreateOrderRequest,
  GetOrderRequest,
  ListOrdersRequest,
  ListOrdersResponse,
  ConfirmOrderRequest,
  RejectOrderRequest,
  CancelOrderRequest,
  CreateOrdersRequest,
  ConfirmOrdersRequest,
  OrderError,
  OrderResult,
  OrderResults,
} from './gen/orderflow/order/v1/order';
export {
  InventoryServiceService,
  InventoryServiceClient,
  type InventoryServiceServer,
  Product,
  GetProductsRequest,
  GetProductsResponse,
  UpsertProductRequest,
  UpsertProductResponse,
  StockItem,
  ReserveStockRequest,
  ReserveStockResponse,
  Shortage,
  ReleaseStockRequest,
  ReleaseStockResponse,
  Reservation,
  ReserveStockBatchRequest,
  ReserveStockBatchResponse,
} from './gen/orderflow/inventory/v1/inventory';
export {
  HealthService,
  HealthClient,
  type HealthServer,
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from './gen/grpc/health/v1/health';

export {
  createGrpcServer,
  serveGrpc,
  startGrpcServer,
  stopGrpcServer,
  type GrpcServerOptions,
  type GrpcServiceOptions,
  type RunningGrpcService,
} from './server';
export { grpcServerMetrics } from './metrics';
export { createHealthService, type GrpcHealth } from './health';
export {
  createGrpcClient,
  callUnary,
  deadline,
  grpcHealthCheck,
  type GrpcClientConstructor,
  type GrpcClientOptions,
  type UnaryMethod,
  type UnaryCallOptions,
} from './client';
export { grpcError, toGrpcError, grpcStatusFor, grpcStatusOf, errorCodeOf, isRetryableGrpcError, ERROR_CODE_TRAILER } from './status';
export { unaryHandler, type CallContext } from './handler';
