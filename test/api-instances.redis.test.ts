import { apiInstancesSuite } from './support/api-instances-suite.js';
import { redisUrlForTests } from './support/redis.js';

// Revocation and the rate per key across two instances on the Redis bus, so the rate is counted in Redis.
apiInstancesSuite('redis', redisUrlForTests);
