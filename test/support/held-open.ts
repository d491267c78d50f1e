import { StreamService } from '../../src/notifications/stream.service.js';
import type { TestApp } from './app.js';
import { openStream, type SseConnection } from './sse.js';

/**
 * Starts a stream open and resolves once it is held in the window between its lookup (session,
 * user, starting point) and its registration with the hub; `release` lets it go on.
 */
export async function heldOpen(
  t: TestApp,
  cookie: string,
  options: { lastEventId?: string } = {},
): Promise<{ opening: Promise<SseConnection>; release: () => void }> {
  const streams = t.app.get(StreamService);
  let release!: () => void;
  let reached!: () => void;
  const inWindow = new Promise<void>((resolve) => (reached = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  streams.beforeRegister = async () => {
    streams.beforeRegister = null;
    reached();
    await gate;
  };
  const opening = openStream(t.baseUrl, cookie, options);
  await inWindow;
  return { opening, release };
}
