import { isPublicAddress, validateWebhookUrl } from './address-guard';

describe('webhook address guard', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    '2002:a00:1::1',
  ])('refuses %s', (address) => expect(isPublicAddress(address)).toBe(false));

  it.each(['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8'])('accepts the public address %s', (address) =>
    expect(isPublicAddress(address)).toBe(true),
  );

  const strict = { allowPrivate: false };
  it('refuses http, credentials, fragments and private or loopback hosts when subscribing', async () => {
    await expect(validateWebhookUrl('http://8.8.8.8/hook', strict)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: 'url: must be https' });
    await expect(validateWebhookUrl('https://user:pw@8.8.8.8/hook', strict)).rejects.toThrow('credentials');
    await expect(validateWebhookUrl('https://8.8.8.8/hook#x', strict)).rejects.toThrow('fragment');
    await expect(validateWebhookUrl('https://127.0.0.1/hook', strict)).rejects.toThrow('not a public address');
    await expect(validateWebhookUrl('https://[::1]:8443/hook', strict)).rejects.toThrow('not a public address');
    await expect(validateWebhookUrl('https://169.254.169.254/latest/meta-data', strict)).rejects.toThrow('not a public address');
    await expect(validateWebhookUrl('https://localhost/hook', strict)).rejects.toThrow('loopback');
    await expect(validateWebhookUrl('ftp://8.8.8.8/hook', strict)).rejects.toThrow('https');
    await expect(validateWebhookUrl('not a url', strict)).rejects.toThrow('absolute URL');
  });

  it('accepts https to a public address, and a name that does not resolve yet (deliveries check again)', async () => {
    await expect(validateWebhookUrl('https://8.8.8.8/hook', strict)).resolves.toBe('https://8.8.8.8/hook');
    await expect(validateWebhookUrl('https://partner.invalid/hook', strict)).resolves.toBe('https://partner.invalid/hook');
  });

  it('accepts http and private addresses when WEBHOOK_ALLOW_PRIVATE is set', async () => {
    await expect(validateWebhookUrl('http://127.0.0.1:9999/hook', { allowPrivate: true })).resolves.toBe('http://127.0.0.1:9999/hook');
    await expect(validateWebhookUrl('http://localhost:9999/hook', { allowPrivate: true })).resolves.toBe('http://localhost:9999/hook');
  });
});
