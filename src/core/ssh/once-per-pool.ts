import type { SshPool } from './pool.js';

/**
 * Memoises `make` per connection pool and key (a host, say): what one process learns of a host
 * through its pool is asked once, however many agents need it at once. A failure is forgotten,
 * so the next caller asks again.
 */
export function oncePerPool<T>(cache: WeakMap<SshPool, Map<string, Promise<T>>>, pool: SshPool, key: string, make: () => Promise<T>): Promise<T> {
  let perKey = cache.get(pool);
  if (!perKey) cache.set(pool, (perKey = new Map()));
  let value = perKey.get(key);
  if (!value) {
    value = make();
    value.catch(() => perKey.delete(key));
    perKey.set(key, value);
  }
  return value;
}
