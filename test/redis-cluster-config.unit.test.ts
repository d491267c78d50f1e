import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../src/config/env.js';
import { CLUSTER_CHANNELS, clusterChannels } from '../src/notifications/bus/redis-cluster.bus.js';

const base = { SESSION_SECRET: 's'.repeat(32) };

describe('REDIS_CLUSTER_NODES', () => {
  it('takes host:port seeds: names, IPv4 and [IPv6] addresses, spaces around commas', () => {
    const config = loadConfig({ ...base, REDIS_CLUSTER_NODES: 'redis-1.internal:7000, 127.0.0.2:7001 ,[::1]:7002' });
    expect(config.redisClusterNodes).toStrictEqual([
      { host: 'redis-1.internal', port: 7000 },
      { host: '127.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(config.redisUrl).toBeUndefined();
    expect(loadConfig(base).redisClusterNodes).toBeUndefined();
  });

  it('refuses anything else, and REDIS_URL beside it, with one line naming the variable', () => {
    for (const bad of [
      'redis-1',
      'redis-1:',
      ':7000',
      'redis-1:70000',
      'redis-1:0',
      'redis://redis-1:7000',
      'a:1,,b:2',
      '[zz]:7000',
      '-x:1',
    ]) {
      const load = () => loadConfig({ ...base, REDIS_CLUSTER_NODES: bad });
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/^REDIS_CLUSTER_NODES must be comma-separated host:port pairs/); // bad
      expect(load).not.toThrow(/\n/);
    }
    const both = () => loadConfig({ ...base, REDIS_CLUSTER_NODES: 'r:7000', REDIS_URL: 'redis://r:6379' });
    expect(both).toThrow(/^REDIS_CLUSTER_NODES and REDIS_URL are both set/);
  });
});

describe('the cluster bus channels', () => {
  it('are named after the database, and the same on every instance (their slots: redis-cluster.redis)', () => {
    const channels = clusterChannels('postgres://db.internal:5432/shop');
    expect(channels.length).toBe(CLUSTER_CHANNELS);
    expect(new Set(channels).size).toBe(CLUSTER_CHANNELS);
    for (const channel of channels) expect(channel.startsWith('notifications-bus:db.internal:5432/shop#')).toBeTruthy();
    expect(clusterChannels('postgres://db.internal:5432/shop')).toStrictEqual(channels);
    expect(clusterChannels('postgres://db.internal:5432/other')).not.toContain(channels[0]);
  });
});
