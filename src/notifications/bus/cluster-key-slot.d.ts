// cluster-key-slot (the hash-slot function ioredis' Cluster client routes by) ships no types.
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0–16383) of a key or channel name, honouring a {hash tag}. */
  export default function calculateSlot(key: string | Buffer): number;
}
