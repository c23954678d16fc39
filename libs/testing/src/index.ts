export { testInfra, type TestInfra } from './infra';
export { uniqueName } from './isolation';
export { failureOf, waitFor, type WaitOptions } from './wait';
export { createTestDatabase, type TestDatabase } from './database';
export { startSmtpSink, parseRfc5322, type SmtpSink } from './smtp-sink';
export { rawGrpcClient, CLIENT_STATUSES, fuzzText, fuzzInt32, fuzzInt64 } from './grpc-fuzz';
export { freePort } from './ports';
export { startFreezableProxy, type FreezableProxy } from './freezable-proxy';
export { startSilentServer, type SilentServer } from './silent-server';
