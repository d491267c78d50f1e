import { redisUrlForTests } from './support/redis.js';
import { userCacheSuite } from './support/user-cache-suite.js';

// Real processes on the Redis bus (TEST_REDIS_URL or REDIS_URL; fails when unreachable).
userCacheSuite('redis', redisUrlForTests);
