import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, loadConfig } from './config.js';
import { InvalidArgument } from './errors.js';

test('defaults, then environment, then flags (flags win)', () => {
  const { config } = loadConfig({
    argv: ['--port', '6000', '--log-level=debug', '--device', 'CUDA'],
    env: { MODELOPT_PORT: '5000', MODELOPT_NATS_URL: 'nats://nats:4222', MODELOPT_STORE_ROOT: 'store', MODELOPT_METRICS_PORT: '9464' },
    defaults: { port: 50052 },
  });
  assert.equal(config.port, 6000);
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.device, 'cuda');
  assert.equal(config.natsUrl, 'nats://nats:4222');
  assert.equal(config.metricsPort, 9464);
  assert.equal(config.storeRoot, path.resolve('store'));
  assert.equal(config.host, '0.0.0.0');
  assert.equal(loadConfig({ argv: [], env: {}, defaults: { port: 50052 } }).config.port, 50052);
  assert.equal(loadConfig({ argv: [], env: {} }).config.device, 'auto');
});

test('invalid values raise ConfigError naming the source and the value', () => {
  const bad: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--port', '70000'], {}, /option --port: port must be in 0\.\.65535, got 70000/],
    [['--port', 'abc'], {}, /option --port: expected a port number, got "abc"/],
    [[], { MODELOPT_PORT: '-1' }, /environment variable MODELOPT_PORT: expected a port number/],
    [['--device', 'tpu'], {}, /device must be one of cpu\|cuda\|auto, got "tpu"/],
    [['--log-level', 'loud'], {}, /log level must be one of/],
    [['--nats-url', 'http://x:4222'], {}, /unsupported scheme "http:"/],
    [['--nats-url', 'not a url'], {}, /not a URL/],
    [['--max-message-bytes', '12'], {}, /must be in 1024\.\./],
    [['--bogus'], {}, /unknown option "--bogus"/],
    [['--port'], {}, /option --port needs a value/],
  ];
  for (const [argv, env, re] of bad) {
    assert.throws(() => loadConfig({ argv, env }), (e: unknown) => {
      assert.ok(e instanceof ConfigError && e instanceof InvalidArgument, String(e));
      assert.match(e.message, re);
      return true;
    });
  }
});

test('allowUnknown returns the unconsumed arguments', () => {
  const { config, rest } = loadConfig({ argv: ['--base-port', '0', '--host', '127.0.0.1', 'x'], env: {}, allowUnknown: true });
  assert.equal(config.host, '127.0.0.1');
  assert.deepEqual(rest, ['--base-port', '0', 'x']);
});
