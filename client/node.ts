/** The client for Node (and bundlers): everything in index.ts plus the fetch transport. */
export * from './index.js';
export { fetchTransport, type FetchTransportOptions } from './fetch-transport.js';
