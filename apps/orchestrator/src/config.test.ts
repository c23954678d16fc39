import { loadOrchestratorConfig } from './config';

describe('orchestrator config', () => {
  const secret = 'a-real-secret-of-at-least-32-characters!';

  it('needs a JWT_SECRET or a JWT_PUBLIC_KEY', () => {
    expect(() => loadOrchestratorConfig({})).toThrow(/JWT_SECRET: set JWT_SECRET \(HS256\) or JWT_PUBLIC_KEY/);
    expect(loadOrchestratorConfig({ JWT_SECRET: secret }).JWT_SECRET).toBe(secret);
  });

  it('refuses a short secret', () => {
    expect(() => loadOrchestratorConfig({ JWT_SECRET: 'short' })).toThrow(/at least 32 characters/);
  });

  it('refuses the published development secret unless told it is a dev machine', () => {
    const dev = 'dev-only-secret-change-me-0123456789abcdef';
    expect(() => loadOrchestratorConfig({ JWT_SECRET: dev })).toThrow(/public development secret/);
    expect(loadOrchestratorConfig({ JWT_SECRET: dev, ALLOW_DEV_SECRET: 'true' }).JWT_SECRET).toBe(dev);
  });
});
