import { redisUrlForTests } from './support/redis.js';
import { scaleoutSuite } from './support/scaleout-suite.js';

// Real processes on the Redis bus (TEST_REDIS_URL or REDIS_URL; fails when unreachable).
scaleoutSuite('redis', redisUrlForTests);
