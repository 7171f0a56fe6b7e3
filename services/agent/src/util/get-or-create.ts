/** The value `map` holds for `key`; when it holds none, `create(key)`'s, which is kept for next time. */
export function getOrCreate<K, V>(map: Map<K, V>, key: K, create: (key: K) => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create(key);
    map.set(key, value);
  }
  return value;
}
